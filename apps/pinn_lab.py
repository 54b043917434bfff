"""PINN Lab: train a PINN live on a real PDE; the whole experiment is in the URL.

Run with ``panel serve apps/pinn_lab.py`` (or ``explorer serve``).
"""

from explorer.ui.panel import pinn_lab_page

pinn_lab_page().servable(title="Neural PDE Explorer — PINN Lab")

"""Landscape Lab: edge of stability, Hessian spectra and lazy training of small MLPs.

Run with ``panel serve apps/landscape_lab.py`` (or ``explorer serve``).
"""

from explorer.ui.panel import landscape_lab_page

landscape_lab_page().servable(title="Neural PDE Explorer — Landscape Lab")

"""Operator Lab: learn a solution operator (FNO, DeepONet, U-Net) from solver data.

Run with ``panel serve apps/operator_lab.py`` (or ``explorer serve``).
"""

from explorer.ui.panel import operator_lab_page

operator_lab_page().servable(title="Neural PDE Explorer — Operator Lab")

"""The notebook front end: ipywidgets bound to the state layer, and ``Session``."""

from explorer.ui.notebook.bind import knob_box, knob_widget
from explorer.ui.notebook.session import Session
from explorer.ui.notebook.view import FIGURES, SessionView

__all__ = ["FIGURES", "Session", "SessionView", "knob_box", "knob_widget"]

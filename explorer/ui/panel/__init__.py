"""Panel dashboards: ``pn.viewable.Viewer`` classes over ``explorer.state`` objects."""

from explorer.ui.panel.apps import (
    APPS,
    gallery_page,
    landscape_lab_page,
    operator_lab_page,
    pinn_lab_page,
)
from explorer.ui.panel.compare import CompareView
from explorer.ui.panel.gallery import Gallery
from explorer.ui.panel.landscape_lab import LandscapeLab
from explorer.ui.panel.operator_lab import OperatorLab
from explorer.ui.panel.pinn_lab import PINNLab

__all__ = [
    "APPS",
    "CompareView",
    "Gallery",
    "LandscapeLab",
    "OperatorLab",
    "PINNLab",
    "gallery_page",
    "landscape_lab_page",
    "operator_lab_page",
    "pinn_lab_page",
]

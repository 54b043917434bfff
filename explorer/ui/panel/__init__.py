"""Panel dashboards: ``pn.viewable.Viewer`` classes over ``explorer.state`` objects."""

from explorer.ui.panel.apps import APPS, gallery_page
from explorer.ui.panel.gallery import Gallery

__all__ = ["APPS", "Gallery", "gallery_page"]

"""Gallery dashboard: pick a PDE, move its parameters, watch the reference solution.

Run with ``panel serve apps/gallery.py`` (or ``explorer serve``).
"""

from explorer.ui.panel import gallery_page

gallery_page().servable(title="Neural PDE Explorer — Gallery")

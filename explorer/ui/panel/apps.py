"""The dashboards `explorer serve` serves: name -> a builder of one session's page.

Each call builds fresh state, so every browser session has its own.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn

from explorer.state import ProblemState
from explorer.ui.panel.gallery import Gallery

__all__ = ["APPS", "gallery_page"]

TITLE = "Neural PDE Explorer"


def gallery_page() -> pn.viewable.Viewable:
    """The Gallery: pick a PDE, move its parameters, watch the reference solution."""
    pn.extension("katex")
    gallery = Gallery(ProblemState())
    return pn.template.FastListTemplate(
        title=f"{TITLE} — Gallery",
        sidebar=[gallery.sidebar],
        main=[gallery.main],
        sidebar_width=360,
    )


APPS: dict[str, Callable[[], pn.viewable.Viewable]] = {"gallery": gallery_page}

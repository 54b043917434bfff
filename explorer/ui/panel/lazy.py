"""Tabs whose hidden views join the page when first opened.

Every Bokeh model on a page costs at its first load: the server builds it, sends it,
and the browser lays it out. A tab's view is built as a Python object up front (its
watchers and state work at once) but enters the page, and so gets its Bokeh models,
only when its tab first opens; from then on it is an ordinary child. Panel's own
``Tabs(dynamic=True)`` re-renders a tab on every switch and, in Panel 1.9, loses
later plot swaps inside it.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

__all__ = ["lazy_tabs"]


def lazy_tabs(*items: tuple[str, pn.viewable.Viewable], **kwargs: Any) -> pn.Tabs:
    """``pn.Tabs(*items, **kwargs)`` whose tabs after the first join on first open."""
    later = {i: view for i, (_, view) in enumerate(items) if i > 0}
    tabs = pn.Tabs(
        items[0],
        *(
            (title, pn.Column(sizing_mode="stretch_width", margin=0))
            for title, _ in items[1:]
        ),
        **kwargs,
    )

    def join(event: param.parameterized.Event) -> None:
        view = later.pop(event.new, None)
        if view is not None:
            tabs[event.new].objects = [view]

    tabs.param.watch(join, "active")
    return tabs

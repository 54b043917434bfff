"""LivePlot: a plot pane that streams new frames into the figure on screen.

A new frame whose elements, axes kinds and colour maps match the figure on screen is
streamed into it (bokeh patches its data sources: cheap for the server and the
browser); anything else gets a new figure. Ranges, colour limits, ticks and titles
follow every frame (``framewise``); a frame identical to the one on screen is not
sent at all. Before the first frame, or when a plot does not apply, the pane shows a
short text instead.
"""

from __future__ import annotations

import hashlib
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn

__all__ = ["LivePlot", "panels"]

# Per-frame options: a change of these streams into the same figure.
_PER_FRAME = {"title", "xlim", "ylim", "clim", "yticks", "xticks"}


def _options(element: hv.Dimensioned, group: str) -> tuple:
    kwargs = hv.Store.lookup_options("bokeh", element, group).kwargs
    kept = {k: v for k, v in kwargs.items() if k not in _PER_FRAME}
    # Fixed ticks and automatic ones are different axis models: a switch rebuilds.
    kept["fixed_yticks"] = kwargs.get("yticks") is not None
    return tuple(sorted((k, repr(v)) for k, v in kept.items()))


def signature(view: hv.Dimensioned) -> tuple:
    """Everything about a view but its values and per-frame ranges and titles."""
    parts = [(type(view), _options(view, "plot"))]
    for el in view.traverse(lambda e: e, [hv.Element]):
        parts.append(
            (
                type(el),
                el.label,
                str(el.dimensions()),
                _options(el, "plot"),
                _options(el, "style"),
            )
        )
    return tuple(parts)


def _content(view: hv.Dimensioned) -> str:
    """A digest of a view's values and per-frame options: equal means nothing new."""
    digest = hashlib.blake2b(digest_size=16)
    for el in [view, *view.traverse(lambda e: e, [hv.Element])]:
        kwargs = hv.Store.lookup_options("bokeh", el, "plot").kwargs
        digest.update(repr(sorted((k, kwargs.get(k)) for k in _PER_FRAME)).encode())
        if isinstance(el, hv.Element):
            for dim in el.dimensions():
                values = np.ascontiguousarray(el.dimension_values(dim, flat=False))
                digest.update(values.tobytes() if values.dtype != object else b"")
                digest.update(repr(values.dtype).encode())
    return digest.hexdigest()


def _framewise(view: hv.Dimensioned) -> hv.Dimensioned:
    # On an Overlay alone, framewise leaves its members' ranges frozen at frame 1.
    return view.map(lambda el: el.opts(framewise=True), [hv.Element])


def _responsive(view: hv.Dimensioned) -> bool:
    """Whether the figure fills its width (an overlay takes its members' sizing)."""
    return any(
        hv.Store.lookup_options("bokeh", el, "plot").kwargs.get("responsive")
        for el in [view, *view.traverse(lambda e: e, [hv.Element])]
    )


def panels(view: hv.Dimensioned | None) -> list[hv.Dimensioned | None]:
    """The panels of a Layout (a DynamicMap holds one panel), or ``[view]``."""
    if isinstance(view, hv.Layout):
        return list(view.values())
    return [view]


class LivePlot(pn.viewable.Viewer):
    """One figure that follows :meth:`show`; see the module docstring.

    Args:
        placeholder: the text shown before the first frame.
        height: the height of responsive plots (px); fixed-size plots keep theirs.
        css_class: a class on the plot's container (for page styles and tests).
    """

    def __init__(
        self,
        placeholder: str = "",
        height: int = 300,
        css_class: str = "",
        **params: Any,
    ):
        super().__init__(**params)
        self.height = height
        self.pane = pn.pane.HoloViews(sizing_mode="stretch_width")
        self.note = pn.pane.Markdown(
            placeholder, sizing_mode="stretch_width", styles={"color": "#666"}
        )
        # The pane is swapped in and out, never hidden: toggling a served HoloViews
        # pane's `visible` fails in Panel 1.9 (it re-validates its stylesheets).
        self.layout = pn.Column(
            self.note,
            sizing_mode="stretch_width",
            margin=0,
            css_classes=[css_class] if css_class else [],
        )
        self._pipe: hv.streams.Pipe | None = None
        self._signature: tuple = ()
        self._frame: hv.Dimensioned | None = None
        self._content = ""
        self.frames = 0  # frames shown (new figures and streamed ones)
        self.figures = 0  # new figures built

    @property
    def view(self) -> hv.Dimensioned | None:
        """The frame on screen (None while the text shows)."""
        return self._frame if self.pane in self.layout else None

    def show(self, view: hv.Dimensioned | None, note: str | None = None) -> None:
        """Show ``view``, streamed when it fits the figure on screen; None shows
        ``note`` (or the placeholder) instead."""
        if view is None:
            if note is not None:
                self.note.object = note
            if self.note not in self.layout:
                self.layout.objects = [self.note]
            return
        view = _framewise(view)
        responsive = _responsive(view)
        if responsive:
            view = view.opts(height=self.height)
        sig = signature(view)
        content = _content(view)
        same = sig == self._signature and content == self._content
        if same and self.pane in self.layout:
            return  # the same picture (e.g. the reference): nothing to send
        self._frame, self._content = view, content
        self.frames += 1
        if sig == self._signature and self._pipe is not None:
            self._pipe.send(view)
        else:
            self._signature = sig
            self.figures += 1
            # A fixed-size figure in a stretching pane is stretched too, and bokeh
            # then sized its colour bar's labels too small ("12" showed as "1").
            self.pane.sizing_mode = "stretch_width" if responsive else "fixed"
            self._pipe = hv.streams.Pipe(data=view)
            self.pane.object = hv.DynamicMap(lambda data: data, streams=[self._pipe])
        if self.pane not in self.layout:
            self.layout.objects = [self.pane]

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

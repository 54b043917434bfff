"""What the PINN Lab and the Operator Lab share as served pages: polling from a
periodic callback, the experiment in the URL, and the redraw ration."""

from __future__ import annotations

import urllib.parse
from typing import Any

import panel as pn

from explorer.ui.panel.widgets import escape_markdown

POLL_MS = 250  # status refresh period; plots redraw less often (see draw_gap)
# Redraws cost the server (and the browser beside it on a 2-core box) more than
# their own time: at 10% and at most 5 s apart, a served Burgers run kept 0.78 of
# the headless speed in bench/pinn_lab.py (0.58 s redraws); at 7% and 8 s, 0.92.
_DRAW_SHARE = 0.07  # at most this share of wall time goes to redrawing plots
_MIN_DRAW_GAP = 0.5  # s between redraws, however cheap
_MAX_DRAW_GAP = 8.0  # s between redraws, however costly (new figures cost most)


def draw_gap(seconds: float) -> float:
    """Seconds to wait after a redraw that took ``seconds``."""
    return min(max(_MIN_DRAW_GAP, seconds / _DRAW_SHARE), _MAX_DRAW_GAP)


def query_of(location: Any) -> dict[str, str]:
    """A location's query string as a dict."""
    return dict(urllib.parse.parse_qsl(location.search.lstrip("?")))


class ServedLab:
    """Mixin for a lab with ``session`` (``to_query``/``from_query``), ``location``,
    ``notices``, ``poll()`` and ``close()``; ``_callback`` starts as None."""

    _callback: Any

    def start(self, period_ms: int = POLL_MS) -> None:
        """Poll from a periodic callback and close on tab close (served pages only)."""
        if pn.state.curdoc is None or self._callback is not None:
            return
        self._callback = pn.state.add_periodic_callback(self.poll, period=period_ms)
        pn.state.on_session_destroyed(lambda _: self.close())

    def load_url(self) -> list[str]:
        """Apply the location's query to the session; show notices for bad entries."""
        query = query_of(self.location)
        notices = self.session.from_query(query) if query else []
        if notices:
            text = "Ignored from the URL:\n" + "\n".join(
                f"- {escape_markdown(n)}" for n in notices
            )
            self.notices.param.update(object=text, visible=True)
        return notices

    def _sync_url(self) -> None:
        if self.location is None:
            return
        query = self.session.to_query()
        if query_of(self.location) != query:
            self.location.search = "?" + urllib.parse.urlencode(query)

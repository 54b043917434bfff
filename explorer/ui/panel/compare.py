"""CompareView: two runs of the lab's settings, identical but for one, side by side.

A thin view over :class:`~explorer.state.CompareSession`: pick the setting (adaptive
RAD off/on, causal weighting off/on, Fourier features off/on, ...), train both on the
same seed, and watch their error curves on one plot and their error fields side by
side. The pair is copied from the lab's session when training starts; changed lab
settings (or another setting to compare) make the next "Train both" start afresh.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import panel as pn
import xarray as xr

from explorer.plotting import compare_curves, compare_fields
from explorer.state import COMPARISONS, CompareSession, PINNSession
from explorer.ui.panel.live import LivePlot, panels
from explorer.ui.panel.widgets import escape_markdown

__all__ = ["CompareView"]

_NOT_YET = "No comparison yet: press **Train both**."


def _label(name: str) -> str:
    key, a, b = COMPARISONS[name]
    return f"{key.rpartition('.')[2]}: {a} vs {b}"


def _identical(histories: dict[str, xr.Dataset]) -> bool:
    """Two histories past one snapshot, with equal losses at equal steps."""
    if len(histories) != 2:
        return False
    a, b = histories.values()
    return (
        a.sizes["step"] > 1
        and np.array_equal(a["step"].values, b["step"].values)
        and np.array_equal(a["loss"].values, b["loss"].values)
    )


class CompareView(pn.viewable.Viewer):
    """The Compare tab of the PINN Lab; see the module docstring.

    Args:
        base: the lab's session, copied (every knob, the seed included) per pair.
    """

    def __init__(self, base: PINNSession, **params: Any) -> None:
        super().__init__(**params)
        self.base = base
        self.pair: CompareSession | None = None
        self._built_from: tuple[str, dict[str, str]] | None = None
        self._seen = -1
        self.setting = pn.widgets.Select(
            label="Setting to compare",
            options={_label(n): n for n in COMPARISONS},
            value="adaptive",
            description="the one setting that differs between the two runs; "
            "everything else, the seed included, is the lab's",
            width=320,
        )
        self.train_button = pn.widgets.Button(
            label="▶ Train both", color="primary", width=120, align="end"
        )
        self.pause_button = pn.widgets.Button(label="Pause", width=90, align="end")
        self.reset_button = pn.widgets.Button(label="Reset", width=90, align="end")
        self.train_button.on_click(lambda _: self.train())
        self.pause_button.on_click(lambda _: self.pause())
        self.reset_button.on_click(lambda _: self.reset())
        self.status = pn.pane.Alert(
            _NOT_YET, alert_type="light", sizing_mode="stretch_width"
        )
        self.curves = LivePlot(_NOT_YET)
        self.fields = [LivePlot(""), LivePlot("")]
        self.layout = pn.Column(
            pn.Row(
                self.setting,
                self.train_button,
                self.pause_button,
                self.reset_button,
            ),
            self.status,
            self.curves,
            pn.Row(*self.fields, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    # ---- actions ---------------------------------------------------------------------
    def _fresh_pair(self) -> CompareSession | None:
        """The pair for the current setting and lab knobs (rebuilt when they moved)."""
        wanted = (self.setting.value, self.base.to_query())
        if self.pair is not None and self._built_from == wanted:
            return self.pair
        if self.base.error:
            self._say(f"The lab's settings make no valid run: {self.base.error}")
            return None
        try:
            pair = CompareSession(self.base, self.setting.value)
        except ValueError as err:  # e.g. the setting does not apply to this problem
            self._say(f"Cannot compare {_label(self.setting.value)}: {err}")
            return None
        self.close()
        self.pair, self._built_from = pair, wanted
        self._seen = -1
        return pair

    def train(self) -> bool:
        """Train both runs (pausing the lab's own run: they share the CPU)."""
        pair = self._fresh_pair()
        if pair is None:
            return False
        self.base.pause()
        started = pair.train()
        self.poll(draw=False)
        return started

    def pause(self) -> None:
        if self.pair is not None:
            self.pair.pause()
        self.poll(draw=False)

    def reset(self) -> None:
        """Drop the pair; the next train builds it afresh from the lab's knobs."""
        self.close()
        self.pair, self._built_from = None, None
        self.curves.show(None, _NOT_YET)
        for f in self.fields:
            f.show(None, "")
        self.status.param.update(object=_NOT_YET, alert_type="light")

    def close(self) -> None:
        if self.pair is not None:
            self.pair.close()

    @property
    def running(self) -> bool:
        return self.pair is not None and self.pair.running

    # ---- reading ---------------------------------------------------------------------
    def _say(self, text: str, kind: str = "danger") -> None:
        self.status.param.update(object=escape_markdown(text), alert_type=kind)

    def poll(self, draw: bool = True) -> float:
        """Update the status (and the plots when ``draw``) if the pair moved.

        Returns the seconds spent drawing (0 when nothing was drawn).
        """
        pair = self.pair
        self.train_button.disabled = self.running
        self.pause_button.disabled = not self.running
        if pair is None or pair.version == self._seen:
            return 0.0
        lines = [f"{k}: {s}" for k, s in pair.statuses.items()]
        if pair.error:
            lines.append(pair.error)
        bad = pair.error or any(
            s.state in ("diverged", "error") for s in pair.statuses.values()
        )
        if not draw:
            self._show_status(lines, bad)
            return 0.0
        self._seen = pair.version
        start = time.perf_counter()
        histories = {k: h for k, h in pair.histories.items() if h is not None}
        if _identical(histories):
            lines.append(
                f"The two runs are identical so far: {pair.setting} has not changed "
                "the training yet (adaptive refinement, for one, acts only every "
                "'Adaptive every' steps)."
            )
        self._show_status(lines, bad)
        if histories:
            self.curves.show(compare_curves(histories, "rel_l2"))
            views = panels(compare_fields(histories))
            for slot, view in zip(self.fields, views, strict=False):
                slot.show(view)
        return time.perf_counter() - start

    def _show_status(self, lines: list[str], bad: bool) -> None:
        kind = "danger" if bad else "info" if self.running else "light"
        self.status.param.update(
            object="  \n".join(escape_markdown(x) for x in lines), alert_type=kind
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

"""A PINN run's scalars against training step: losses, weights, gradients, errors.

Each function takes a run history (:func:`explorer.training.snapshot.concat_history`)
and returns a HoloViews overlay with a log y axis, bokeh options and bokeh's default
toolbar (its "save" tool is the PNG export). Pure: no torch, no widgets, no param.
"""

from __future__ import annotations

from collections.abc import Mapping

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import (
    CURVE,
    check_history,
    check_runs,
    log_axis,
    log_safe,
    prefixed,
    require,
    scalar_names,
    step_series,
)
from explorer.plotting.fields import _PALETTE, _bokeh

__all__ = [
    "compare_curves",
    "error_curves",
    "gradnorm_curves",
    "loss_curves",
    "weight_curves",
]


def _step_curves(
    history: xr.Dataset,
    series: Mapping[str, str],
    *,
    title: str,
    ylabel: str,
    colors: Mapping[str, str] | None = None,
    logy: bool = True,
) -> hv.Overlay:
    """One curve per ``label: variable`` of ``series``, against step."""
    steps = history["step"].values
    ydim = hv.Dimension("value", label=ylabel)
    items: list[hv.Element] = []
    for i, (label, var) in enumerate(series.items()):
        values = history[var].values.astype(float)
        color = (colors or {}).get(label, _PALETTE[i % len(_PALETTE)])
        shown = log_safe(values) if logy else values
        items += step_series(steps, shown, label, color, ydim)
    every = np.concatenate([history[v].values.ravel() for v in series.values()])
    return hv.Overlay(items).opts(
        logy=logy,
        **(log_axis(every) if logy else {}),
        title=title,
        legend_position="right",
        show_legend=True,
        **CURVE,
    )


def _term_colors(history: xr.Dataset) -> dict[str, str]:
    """One colour per loss term, the same in the loss, weight and gradnorm plots."""
    terms = [
        str(v).split("_", 1)[1]
        for v in history.data_vars
        if str(v).startswith(("loss_", "weight_", "gradnorm_"))
    ]
    unique = list(dict.fromkeys(terms))
    return {t: _PALETTE[(i + 1) % len(_PALETTE)] for i, t in enumerate(unique)}


def loss_curves(history: xr.Dataset) -> hv.Overlay:
    """Every loss term ``loss_<term>`` and the weighted total ``loss`` against step."""
    _bokeh()
    check_history(history)
    terms = prefixed(history, "loss_")
    require(history, ["loss"], "history")
    colors = {**_term_colors(history), "total (weighted)": "black"}
    series = {t: f"loss_{t}" for t in terms} | {"total (weighted)": "loss"}
    return _step_curves(
        history, series, title="Loss terms", ylabel="loss (mean square)", colors=colors
    )


def weight_curves(history: xr.Dataset) -> hv.Overlay:
    """The loss-term weights ``weight_<term>`` against step."""
    _bokeh()
    check_history(history)
    series = {t: f"weight_{t}" for t in prefixed(history, "weight_")}
    return _step_curves(
        history,
        series,
        title="Loss-term weights λ",
        ylabel="weight λ",
        colors=_term_colors(history),
    )


def gradnorm_curves(history: xr.Dataset) -> hv.Overlay:
    """‖∇θ L_term‖ of each loss term against step."""
    _bokeh()
    check_history(history)
    series = {t: f"gradnorm_{t}" for t in prefixed(history, "gradnorm_")}
    return _step_curves(
        history,
        series,
        title="Gradient norm of each loss term",
        ylabel="‖∇θ L‖",
        colors=_term_colors(history),
    )


def error_curves(history: xr.Dataset) -> hv.Overlay:
    """Relative L² error and max |error| on the evaluation grid against step."""
    _bokeh()
    check_history(history)
    require(history, ["rel_l2", "max_error"], "history")
    series = {"relative L²": "rel_l2", "max |error|": "max_error"}
    return _step_curves(
        history,
        series,
        title="Error against the reference",
        ylabel="error (relative L²; max in field units)",
    )


def compare_curves(
    histories: Mapping[str, xr.Dataset], variable: str = "rel_l2"
) -> hv.Overlay:
    """One curve of ``variable`` per run, labelled by the mapping's keys.

    The y axis is logarithmic unless some value is zero or negative.
    """
    _bokeh()
    runs = check_runs(histories)
    for label, h in runs.items():
        if variable not in h:
            raise ValueError(
                f"variable = {variable!r} is not in run {label!r}; per-step scalars "
                f"there: {', '.join(scalar_names(h))}"
            )
        if h[variable].dims != ("step",):
            raise ValueError(
                f"variable = {variable!r} is a field {h[variable].dims}, not a "
                f"per-step scalar; scalars: {', '.join(scalar_names(h))}"
            )
    values = np.concatenate([h[variable].values.ravel() for h in runs.values()])
    finite = values[np.isfinite(values)]
    logy = bool(finite.size) and bool(np.all(finite > 0))
    ydim = hv.Dimension(variable, label=variable)
    items: list[hv.Element] = []
    for i, (label, h) in enumerate(runs.items()):
        y = h[variable].values.astype(float)
        color = _PALETTE[i % len(_PALETTE)]
        items += step_series(
            h["step"].values, log_safe(y) if logy else y, label, color, ydim
        )
    return hv.Overlay(items).opts(
        logy=logy,
        **(log_axis(values) if logy else {}),
        title=f"{variable} by run",
        legend_position="right",
        show_legend=True,
        **CURVE,
    )

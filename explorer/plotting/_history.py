"""Shared pieces of the run-history plots: argument checks, log axes, step curves.

A history is what :func:`explorer.training.snapshot.concat_history` returns: an
``xr.Dataset`` with dim ``step``. Checks raise ``ValueError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting.fields import HEIGHT

__all__ = [
    "CURVE",
    "STEP",
    "at_step",
    "check_history",
    "check_runs",
    "log_axis",
    "log_safe",
    "prefixed",
    "require",
    "scalar_names",
    "step_series",
]

STEP = hv.Dimension("step", label="training step")
CURVE = {"responsive": True, "height": HEIGHT, "tools": ["hover"], "framewise": True}


def check_history(history: object, name: str = "history") -> xr.Dataset:
    if not isinstance(history, xr.Dataset) or "step" not in history.dims:
        raise ValueError(
            f"{name} must be a run history (an xarray Dataset with a 'step' dim, as "
            f"concat_history returns), got {type(history).__name__}"
        )
    if history.sizes["step"] == 0:
        raise ValueError(f"{name} holds no snapshots (its 'step' dim is empty)")
    return history


def require(history: xr.Dataset, names: Sequence[str], arg: str) -> None:
    missing = [n for n in names if n not in history]
    if missing:
        raise ValueError(
            f"{arg}: the history has no variable {', '.join(map(repr, missing))}; "
            f"it has {', '.join(sorted(map(str, history.data_vars)))}"
        )


def prefixed(history: xr.Dataset, prefix: str) -> list[str]:
    """Names after ``prefix`` of the per-step scalars (``loss_ic`` -> ``ic``)."""
    names = [
        str(v)[len(prefix) :]
        for v in history.data_vars
        if str(v).startswith(prefix) and history[v].dims == ("step",)
    ]
    if not names:
        raise ValueError(
            f"history has no {prefix}<term> variables; "
            f"it has {', '.join(sorted(map(str, history.data_vars)))}"
        )
    return names


def at_step(history: xr.Dataset, step: int | None) -> xr.Dataset:
    """The snapshot at ``step`` (default: the last one), without the step dim."""
    steps = history["step"].values
    if step is None:
        return history.isel(step=-1)
    hits = np.nonzero(steps == step)[0]
    if hits.size == 0:
        shown = ", ".join(str(s) for s in steps[:8]) + (
            ", ..." if steps.size > 8 else ""
        )
        raise ValueError(
            f"step = {step!r} is not in the history; its {steps.size} snapshots are "
            f"at steps {shown} (last {steps[-1]})"
        )
    return history.isel(step=int(hits[-1]))


def log_safe(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros, negatives and non-finite values become gaps."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def log_axis(values: np.ndarray) -> dict:
    """``ylim`` (and ``yticks``) of a log y axis around the positive values.

    The range is set explicitly because bokeh pads a constant series (equal weights)
    down to zero. Below two decades bokeh switches to linear ticks, which leave the
    lower decade unlabelled: there, ticks at 1-2-5 (or 1…9) per decade instead.
    """
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return {}
    lo, hi = np.log10(positive.min()), np.log10(positive.max())
    pad = max(0.05 * (hi - lo), 0.15)
    lo, hi = lo - pad, hi + pad
    options: dict = {"ylim": (float(10**lo), float(10**hi))}
    if hi - lo < 2:
        decades = range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
        for mantissas in ((1, 2, 5), range(1, 10)):
            ticks = [m * 10.0**e for e in decades for m in mantissas]
            ticks = [t for t in ticks if lo <= np.log10(t) <= hi]
            if len(ticks) >= 3:
                options["yticks"] = [(t, f"{t:.3g}") for t in ticks]
                break
    return options


def step_series(
    steps: np.ndarray, values: np.ndarray, label: str, color: str, ydim: hv.Dimension
) -> list[hv.Element]:
    # Markers as well as the line: a history of one snapshot is a single point.
    curve = hv.Curve((steps, values), STEP, ydim, label=label)
    dots = hv.Scatter((steps, values), STEP, ydim, label=label)
    return [
        curve.opts(color=color, line_width=2, tools=["hover"]),
        dots.opts(color=color, size=4, tools=["hover"]),
    ]


def check_runs(histories: object) -> dict[str, xr.Dataset]:
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(
            "histories must be a non-empty mapping of run label to history, got "
            f"{histories!r:.80}"
        )
    return {str(k): check_history(h, f"histories[{k!r}]") for k, h in histories.items()}


def scalar_names(history: xr.Dataset) -> list[str]:
    return sorted(str(v) for v in history.data_vars if history[v].dims == ("step",))

"""The regression playground's own views: the fit, and the loss under gradient
descent. Pure: xarray in, HoloViews out.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import CURVE, STEP, log_axis, log_safe
from explorer.plotting.diagnostics import _check
from explorer.plotting.fields import _bokeh

__all__ = ["gd_loss_curve", "regression_fit"]


def regression_fit(fit: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """The target, the network's prediction and the training points on [−1, 1].

    Args:
        fit: ``target`` and ``prediction`` over ``x``; ``train_y`` over ``point``
            with coordinate ``train_x`` (as
            :attr:`explorer.state.LandscapeLabState.fit`).
    """
    _bokeh()
    ds = _check(fit, "fit", ["target", "prediction"], ("x",))
    x = ds["x"].values
    xdim = hv.Dimension("x")
    ydim = hv.Dimension("y", label="f(x)")
    items = [
        hv.Curve((x, ds["target"].values), xdim, ydim, label="target").opts(
            color="#666", line_dash="dashed", line_width=2
        ),
        hv.Curve((x, ds["prediction"].values), xdim, ydim, label="network").opts(
            color="#1f77b4", line_width=2.5, tools=["hover"]
        ),
    ]
    if "train_y" in ds:
        items.append(
            hv.Scatter(
                (ds["train_x"].values, ds["train_y"].values),
                xdim,
                ydim,
                label="training points",
            ).opts(color="#d62728", size=6)
        )
    step = ds.attrs.get("step")
    return hv.Overlay(items).opts(
        title=title or ("Fit" + (f" at step {step}" if step is not None else "")),
        legend_position="bottom_right",
        show_legend=True,
        **CURVE,
    )


def gd_loss_curve(history: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """The full-batch loss after every gradient-descent step (log scale): at the
    edge of stability it keeps falling, but not monotonically."""
    _bokeh()
    ds = _check(history, "history", ["loss"], ("step",))
    values = ds["loss"].values.astype(float)
    # A diverging run reaches 1e300 before it overflows: cap what is drawn.
    values = np.where(np.isfinite(values), np.minimum(values, 1e100), values)
    steps = ds["step"].values
    ydim = hv.Dimension("loss", label="training loss")
    rises = int(np.sum(np.diff(values) > 0)) if values.size > 1 else 0
    return hv.Overlay(
        [
            hv.Curve((steps, log_safe(values)), STEP, ydim, label="loss").opts(
                color="#1f77b4", line_width=1.5, tools=["hover"]
            )
        ]
    ).opts(
        title=title
        or f"Training loss ({rises} of {max(values.size - 1, 0)} steps went up)",
        logy=True,
        **log_axis(values),
        show_legend=False,
        **CURVE,
    )

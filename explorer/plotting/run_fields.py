"""A PINN run's fields at one snapshot: prediction, reference, error, residual.

Views pick their shape from the field's dims: space-time ``(t, x)`` and 2-D ``(x, y)``
fields are images, 1-D fields curves; two-component fields (u, v) show the modulus.
Pure: xarray in, HoloViews (bokeh options) out.
"""

from __future__ import annotations

from collections.abc import Mapping

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import at_step, check_history, check_runs, require
from explorer.plotting.fields import (
    _PALETTE,
    _bokeh,
    _color_options,
    field_curve,
    field_image,
)

__all__ = ["compare_fields", "field_views", "residual_map"]


def _fields(snap: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Prediction, reference and error; the modulus for a two-component field."""
    require(snap, ["u_pred", "u_ref", "u_err"], "history")
    if "v_pred" in snap:
        require(snap, ["v_ref", "v_err"], "history")
        pred = np.hypot(snap["u_pred"], snap["v_pred"]).rename("|h|")
        ref = np.hypot(snap["u_ref"], snap["v_ref"]).rename("|h|")
        err = np.hypot(snap["u_err"], snap["v_err"]).rename("|h − h_ref|")
        return pred, ref, err
    return (
        snap["u_pred"].rename("u"),
        snap["u_ref"].rename("u"),
        snap["u_err"].rename("u − u_ref"),
    )


def _peak(values: np.ndarray) -> float:
    """The largest finite |value| (1 when there is none: a diverged run's NaNs)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def _signed(values: np.ndarray) -> bool:
    return bool(np.any(values[np.isfinite(values)] < 0))


def _error_colors(err: np.ndarray, peak: float | None = None) -> dict:
    """Zero-centred diverging colours for a signed error, sequential for a modulus."""
    peak = _peak(err) if peak is None else peak
    if _signed(err):
        return {"cmap": "RdBu_r", "clim": (-peak, peak)}
    return {"cmap": "viridis", "clim": (0.0, peak)}


def _shared_colors(*arrays: np.ndarray) -> dict:
    values = np.concatenate([np.ravel(a) for a in arrays])
    options = _color_options(values)
    if "clim" not in options:
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0, 1)
        options["clim"] = (lo, hi if hi > lo else lo + 1.0)
    return options


def field_views(
    history: xr.Dataset, step: int | None = None, t: float | None = None
) -> hv.Layout:
    """Prediction, reference and error at one snapshot (default: the last).

    Space-time fields are x–t maps (prediction and reference share a colour range;
    the error gets a zero-centred diverging map) and, when ``t`` is given, a panel of
    prediction against reference at the grid time nearest ``t``. 1-D steady fields
    are curves, 2-D fields images. Two-component fields (u, v) show the modulus.
    """
    _bokeh()
    snap = at_step(check_history(history), step)
    pred, ref, err = _fields(snap)
    label = f"step {int(snap['step'])}"
    if t is not None and "t" not in pred.dims:
        raise ValueError(
            f"t = {t!r} was given but the history's fields have no t dim "
            f"(dims {pred.dims})"
        )
    if pred.ndim == 1:
        return hv.Layout([_compare_curve(pred, ref, label), _error_curve(err, label)])
    if pred.ndim != 2:
        raise ValueError(f"history: no field view for dims {pred.dims}")
    shared = _shared_colors(pred.values, ref.values)
    panels = [
        field_image(pred, title=f"Prediction {pred.name}, {label}").opts(**shared),
        field_image(ref, title=f"Reference {ref.name}").opts(**shared),
        field_image(err, title=f"Error {err.name}, {label}").opts(
            **_error_colors(err.values)
        ),
    ]
    if t is not None:
        times = pred["t"].values
        half = 0.5 * (float(np.diff(times).max()) if times.size > 1 else 0.0)
        if not times[0] - half <= t <= times[-1] + half:
            raise ValueError(
                f"t = {t!r} is outside the history's t range "
                f"[{times[0]:.4g}, {times[-1]:.4g}]"
            )
        at = {"t": t}
        now = f"{label}, t = {float(pred['t'].sel(at, method='nearest')):.4g}"
        panels.append(
            _compare_curve(
                pred.sel(at, method="nearest"), ref.sel(at, method="nearest"), now
            )
        )
    return hv.Layout(panels).cols(3)


def _compare_curve(pred: xr.DataArray, ref: xr.DataArray, label: str) -> hv.Overlay:
    ref_curve = field_curve(ref, label="reference").opts(
        color="black", line_dash="dashed", line_width=3, alpha=0.7
    )
    pred_curve = field_curve(pred, label="prediction").opts(color=_PALETTE[1])
    return (ref_curve * pred_curve).opts(
        title=f"Slice: {label}",  # the legend names prediction and reference
        legend_position="top_right",
        show_legend=True,
    )


def _error_curve(err: xr.DataArray, label: str) -> hv.Element:
    curve = field_curve(err, title=f"Error {err.name}, {label}").opts(color=_PALETTE[0])
    if not _signed(err.values):
        return curve
    ends = err[err.dims[0]].values[[0, -1]]  # a dotted zero line under a signed error
    axis = hv.Curve((ends, [0.0, 0.0]), curve.kdims, curve.vdims)
    return curve * axis.opts(color="grey", line_width=1, line_dash="dotted")


# ---- residual and collocation points ---------------------------------------------
def residual_map(history: xr.Dataset, step: int | None = None) -> hv.Overlay:
    """|PDE residual| on the grid (log colour) with the collocation points on top.

    In one dimension: a log-scale curve with the points as a rug along the bottom.
    """
    _bokeh()
    snap = at_step(check_history(history), step)
    require(snap, ["residual", "points"], "history")
    res = np.abs(snap["residual"]).astype(float).rename("|residual|")
    values = res.values[np.isfinite(res.values)]
    hi = float(values.max()) if values.size else 1.0
    hi = hi if hi > 0 else 1.0
    positive = values[values > 0]
    # Floor the log range at 1e-8 of the peak: one exact zero must not wash it out.
    lo = max(float(positive.min()) if positive.size else hi * 1e-8, hi * 1e-8)
    lo = min(lo, hi / 10)
    res = res.clip(min=lo)
    pts = snap["points"]
    pts = pts.dropna("point", how="any")
    coords = [str(c) for c in pts["coord"].values]
    label = f"step {int(snap['step'])}, {pts.sizes['point']} collocation points"
    title = f"|PDE residual|, {label}"
    if res.ndim == 1:
        dim = str(res.dims[0])
        curve = field_curve(res, title=title, label="|residual|").opts(
            logy=True, color=_PALETTE[0], ylim=(lo / 3, hi * 2)
        )
        x = pts.sel(coord=dim).values if dim in coords else pts.isel(coord=0).values
        rug = hv.Scatter(
            (x, np.full(x.shape, lo / 2)), curve.kdims, curve.vdims, label="points"
        ).opts(
            marker="dash", angle=90, size=10, color="black", alpha=0.35, line_width=1
        )
        return (curve * rug).opts(legend_position="top_right", show_legend=True)
    if res.ndim != 2:
        raise ValueError(f"history: no residual view for dims {res.dims}")
    image = field_image(res, title=title).opts(
        logz=True, cmap="magma", clim=(lo, hi), clabel="|residual| (log scale)"
    )
    across, up = (str(d.name) for d in image.kdims)
    missing = {across, up} - set(coords)
    if missing:
        raise ValueError(
            f"history: the points' coords {coords} lack {sorted(missing)} of the grid"
        )
    scatter = hv.Points(
        (pts.sel(coord=across).values, pts.sel(coord=up).values), image.kdims
    ).opts(color="#00e5ff", size=2, alpha=0.5, line_alpha=0)
    return (image * scatter).opts(title=title)


def compare_fields(histories: Mapping[str, xr.Dataset]) -> hv.Layout:
    """The error fields of the runs' last snapshots side by side, one colour range."""
    _bokeh()
    runs = check_runs(histories)
    errors = {label: _fields(h.isel(step=-1))[2] for label, h in runs.items()}
    signed = all(e.name == "u − u_ref" for e in errors.values())
    if not signed:  # a modulus beside a signed error: compare magnitudes
        errors = {k: np.abs(e).rename("|error|") for k, e in errors.items()}
    peak = max(_peak(e.values) for e in errors.values())
    colors = _error_colors(np.array([-peak if signed else 0.0, peak]), peak)
    panels = []
    for label, err in errors.items():
        title = f"{label}: error at step {int(runs[label]['step'][-1])}"
        if err.ndim == 2:
            panels.append(field_image(err, title=title).opts(**colors))
        elif err.ndim == 1:
            panels.append(field_curve(err, title=title).opts(ylim=colors["clim"]))
        else:
            raise ValueError(f"histories[{label!r}]: no view for dims {err.dims}")
    # Linked zoom only when every run has the same grid (different problems differ).
    grids = {
        tuple((d, e[d].values[0], e[d].values[-1]) for d in e.dims)
        for e in errors.values()
    }
    layout = hv.Layout(panels).cols(min(len(panels), 3))
    return layout.opts(shared_axes=len(grids) == 1)

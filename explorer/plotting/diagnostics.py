"""Loss landscapes and curvature: contour maps, 3-D surfaces, interpolation curves,
Hessian spectra and sharpness against step.

Each function takes the xarray Dataset a diagnostic returns
(:mod:`explorer.diagnostics`, or :class:`explorer.state.DiagnosticsState`) and returns
a HoloViews object (bokeh options) or, for 3-D surfaces, a Plotly figure. Pure: no
torch, no widgets, no param. Bad input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import CURVE, STEP, log_axis, log_safe
from explorer.plotting.fields import HEIGHT, _bokeh

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "hessian_spectrum",
    "landscape_contour",
    "landscape_surface",
    "loss_line_curve",
    "sharpness_curve",
]

_LOSS_COLOR = "#1f77b4"
_EDGE_COLOR = "#d62728"  # 2/η and the Hessian's outliers
_TRAJECTORY = "#e8590c"
_FLOOR = 1e-300


def _check(
    ds: object, arg: str, needs: Sequence[str], dims: Sequence[str]
) -> xr.Dataset:
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"{arg} must be an xarray Dataset, got {type(ds).__name__}")
    missing = [n for n in needs if n not in ds]
    if missing:
        raise ValueError(
            f"{arg} has no variable {', '.join(map(repr, missing))}; it has "
            f"{', '.join(sorted(map(str, ds.data_vars))) or 'none'}"
        )
    for name in needs:
        if tuple(ds[name].dims) != tuple(dims) and dims:
            raise ValueError(
                f"{arg}[{name!r}] has dims {ds[name].dims}; expected {tuple(dims)}"
            )
    return ds


def _log10(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.log10(np.where(values > 0, values, np.nan))


def _loss_values(ds: xr.Dataset, var: str, log: bool) -> tuple[np.ndarray, str]:
    z = ds[var].values.astype(float)
    if log:
        if not np.any(z > 0):
            raise ValueError(
                f"landscape[{var!r}] has no positive value to draw on a log scale; "
                "use log=False"
            )
        # Exact zeros (a term switched off) sit at the floor, not in a hole.
        floor = np.nanmin(z[z > 0])
        return np.log10(np.maximum(z, floor)), f"log₁₀ {var}"
    return z, var


def landscape_contour(
    landscape: xr.Dataset,
    *,
    var: str = "loss",
    log: bool = False,
    levels: int = 16,
    title: str | None = None,
) -> hv.Overlay:
    """The loss over the (α, β) plane as a heat map with contour lines; the
    trajectory, if the Dataset holds one, on top (ending at the centre ★).

    Args:
        landscape: a :func:`~explorer.diagnostics.loss_plane` result.
        var: the variable to draw (``loss`` or a term ``loss_<term>``).
        log: draw log₁₀ of the loss (landscapes span decades near a minimum).
        levels: contour lines.
        title: the plot title (default: what the directions are).
    """
    _bokeh()
    ds = _check(landscape, "landscape", [var], ("beta", "alpha"))
    z, label = _loss_values(ds, var, log)
    alpha, beta = ds["alpha"].values, ds["beta"].values
    kdims = [hv.Dimension("alpha", label="α"), hv.Dimension("beta", label="β")]
    vdim = hv.Dimension("z", label=label)
    image = hv.Image((alpha, beta, z), kdims=kdims, vdims=[vdim]).opts(
        cmap="viridis",
        colorbar=True,
        tools=["hover"],
        responsive=True,
        height=HEIGHT,
    )
    items: list[hv.Element] = [image]
    finite = z[np.isfinite(z)]
    if finite.size and np.ptp(finite) > 0:
        lines = hv.operation.contours(image, levels=levels, overlaid=False)
        items.append(lines.opts(color="white", line_width=0.8, alpha=0.7, cmap=None))
    if "trajectory_alpha" in ds:
        ta, tb = ds["trajectory_alpha"].values, ds["trajectory_beta"].values
        steps = ds["snapshot"].values if "snapshot" in ds.coords else np.arange(ta.size)
        path = hv.Path([np.column_stack([ta, tb])], kdims=kdims, label="trajectory")
        dots = hv.Points(
            (ta, tb, steps),
            kdims=kdims,
            vdims=[hv.Dimension("step", label="training step")],
            label="trajectory",
        )
        items += [
            path.opts(color=_TRAJECTORY, line_width=2),
            dots.opts(color=_TRAJECTORY, size=5, tools=["hover"]),
        ]
    centre = hv.Points([(0.0, 0.0)], kdims=kdims, label="current weights")
    items.append(centre.opts(marker="star", size=14, color="white", line_color="black"))
    return hv.Overlay(items).opts(
        title=title or _landscape_title(ds),
        show_legend=False,
        responsive=True,
        height=HEIGHT,
    )


def _landscape_title(ds: xr.Dataset) -> str:
    directions = ds.attrs.get("directions", "")
    step = ds.attrs.get("training_step")
    at = f" at step {step}" if step is not None else ""
    if directions == "pca":
        explained = ds.attrs.get("explained_variance", [np.nan, np.nan])
        return (
            f"Loss landscape{at}: PCA directions of the trajectory "
            f"({100 * explained[0]:.0f}% + {100 * explained[1]:.0f}% of its variance)"
        )
    if directions == "random":
        return f"Loss landscape{at}: filter-normalised random directions"
    return f"Loss landscape{at}"


def landscape_surface(
    landscape: xr.Dataset, *, var: str = "loss", log: bool = False, title: str = ""
) -> go.Figure:
    """The loss over the (α, β) plane as a 3-D surface (Plotly), the trajectory as a
    line at its true loss: a path above or below the surface is one the plane does
    not contain (usual for random directions)."""
    import plotly.graph_objects as go  # loaded on first use: a heavy import

    ds = _check(landscape, "landscape", [var], ("beta", "alpha"))
    z, label = _loss_values(ds, var, log)
    fig = go.Figure(
        go.Surface(
            x=ds["alpha"].values,
            y=ds["beta"].values,
            z=z,
            colorscale="Viridis",
            colorbar={"title": {"text": label}},
            contours={"z": {"show": True, "usecolormap": True, "project": {"z": True}}},
            name=var,
        )
    )
    if "trajectory_loss" in ds and var == "loss":
        tl = ds["trajectory_loss"].values.astype(float)
        tz = _log10(np.maximum(tl, _FLOOR)) if log else tl
        steps = ds["snapshot"].values if "snapshot" in ds.coords else np.arange(tl.size)
        fig.add_trace(
            go.Scatter3d(
                x=ds["trajectory_alpha"].values,
                y=ds["trajectory_beta"].values,
                z=tz,
                mode="lines+markers",
                line={"color": _TRAJECTORY, "width": 5},
                marker={"size": 3, "color": _TRAJECTORY},
                text=[f"step {s}" for s in steps],
                name="trajectory",
            )
        )
    fig.update_layout(
        title={"text": title or _landscape_title(ds)},
        scene={"xaxis_title": "α", "yaxis_title": "β", "zaxis_title": label},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        height=HEIGHT + 80,
        showlegend=False,
    )
    return fig


def loss_line_curve(
    line: xr.Dataset, *, log: bool = True, terms: bool = True, title: str = ""
) -> hv.Overlay:
    """L(θ(α)) on θ(α) = θ₀ + α(θ₁ − θ₀): the total and each term, with the two ends
    marked (α = 0: the start weights, α = 1: the current ones)."""
    _bokeh()
    ds = _check(line, "line", ["loss"], ("alpha",))
    alpha = ds["alpha"].values
    names = ["loss"] + (
        [str(v) for v in ds.data_vars if str(v).startswith("loss_")] if terms else []
    )
    xdim = hv.Dimension("alpha", label="α (0: start, 1: current weights)")
    ydim = hv.Dimension("value", label="loss")
    palette = ("#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
    items: list[hv.Element] = []
    every = []
    for i, name in enumerate(names):
        values = ds[name].values.astype(float)
        every.append(values)
        shown = log_safe(values) if log else values
        color = _LOSS_COLOR if name == "loss" else palette[(i - 1) % len(palette)]
        width = 3 if name == "loss" else 1.5
        label = "total" if name == "loss" else name.removeprefix("loss_")
        items.append(
            hv.Curve((alpha, shown), xdim, ydim, label=label).opts(
                color=color, line_width=width, tools=["hover"]
            )
        )
    for a in (0.0, 1.0):
        items.append(hv.VLine(a).opts(color="#666", line_dash="dotted", line_width=1))
    start, end = ds.attrs.get("start_step"), ds.attrs.get("end_step")
    default = "Loss on the line between two weights"
    if start is not None and end is not None:
        default = f"Loss on the line from step {start} to step {end}"
    values = np.concatenate(every)
    return hv.Overlay(items).opts(
        title=title or default,
        logy=log,
        **(log_axis(values) if log else {}),
        legend_position="right",
        show_legend=True,
        **CURVE,
    )


def hessian_spectrum(
    spectrum: xr.Dataset,
    *,
    log: bool = True,
    two_over_lr: float | None = None,
    title: str = "",
) -> hv.Overlay:
    """The Hessian's eigenvalue density (SLQ) with its top eigenvalues as spikes.

    Args:
        spectrum: a :func:`~explorer.diagnostics.hessian_density` result (``density``
            over ``eigenvalue``), optionally with ``top_eigenvalue`` over ``mode``
            (as :class:`~explorer.state.DiagnosticsState` makes it).
        log: a log density axis: the bulk near zero is orders of magnitude denser
            than the outliers.
        two_over_lr: draw the stability threshold 2/η here (default: from
            ``attrs["lr"]`` if present).
    """
    _bokeh()
    ds = _check(spectrum, "spectrum", ["density"], ("eigenvalue",))
    lam = ds["eigenvalue"].values
    density = ds["density"].values.astype(float)
    xdim = hv.Dimension("eigenvalue", label="Hessian eigenvalue λ")
    ydim = hv.Dimension("density", label="spectral density")
    peak = float(np.nanmax(density)) if density.size else 1.0
    floor = peak * 1e-6
    shown = np.maximum(density, floor) if log else density
    items: list[hv.Element] = [
        # Filled down to the floor, not to zero: zero has no place on a log axis.
        hv.Area(
            (lam, shown, np.full_like(shown, floor if log else 0.0)),
            xdim,
            [ydim, "floor"],
            label="density (SLQ)",
        ).opts(color=_LOSS_COLOR, alpha=0.35, line_color=_LOSS_COLOR, tools=["hover"])
    ]
    top = None
    if "top_eigenvalue" in ds:
        top = ds["top_eigenvalue"].values.astype(float)
        base = floor if log else 0.0
        segments = [(t, base, t, peak) for t in top if np.isfinite(t)]
        items.append(
            hv.Segments(
                segments,
                kdims=[xdim, ydim, "x1", "y1"],
                label="top eigenvalues (Lanczos)",
            ).opts(color=_EDGE_COLOR, line_width=2)
        )
    if two_over_lr is None and ds.attrs.get("lr"):
        two_over_lr = 2.0 / float(ds.attrs["lr"])
    if two_over_lr is not None and np.isfinite(two_over_lr):
        items.append(
            hv.VLine(two_over_lr, label="2/η").opts(
                color="#333", line_dash="dashed", line_width=1.5
            )
        )
    if not title:
        title = "Hessian spectrum"
        if top is not None and top.size:
            title = f"Hessian: λ_max = {top[0]:.3g}"
            if top.size > 1:
                title += f", λ_{top.size} = {top[-1]:.3g}"
        n = ds.attrs.get("n_params")
        if n:
            title += f" ({n} params)"
    return hv.Overlay(items).opts(
        title=title,
        logy=log,
        **({"ylim": (floor, peak * 3)} if log else {}),
        legend_position="top_right",
        show_legend=True,
        responsive=True,
        height=HEIGHT,
    )


def sharpness_curve(
    sharpness: xr.Dataset, *, trace: bool = False, log: bool = False, title: str = ""
) -> hv.Overlay:
    """λ_max of the loss Hessian against step, beside the stability threshold 2/η.

    Gradient descent with step η is unstable along curvature above 2/η: under
    full-batch GD λ_max climbs to 2/η and hovers there (the edge of stability).

    Args:
        sharpness: :func:`~explorer.diagnostics.sharpness` results concatenated
            along ``step`` (``lambda_max``, ``two_over_lr``, optionally ``trace``).
        trace: also draw tr H (Hutchinson) where it was measured.
        log: a log y axis.
    """
    _bokeh()
    ds = _check(sharpness, "sharpness", ["lambda_max", "two_over_lr"], ("step",))
    steps = ds["step"].values
    ydim = hv.Dimension("value", label="curvature")
    lam = ds["lambda_max"].values.astype(float)
    two = ds["two_over_lr"].values.astype(float)
    items: list[hv.Element] = []
    series = [("λ_max", lam, _LOSS_COLOR, "solid")]
    if np.isfinite(two).any():
        series.append(("2/η", two, _EDGE_COLOR, "dashed"))
    if trace and "trace" in ds and np.isfinite(ds["trace"].values).any():
        series.append(("tr H", ds["trace"].values.astype(float), "#2ca02c", "solid"))
    every = []
    for label, values, color, dash in series:
        shown = log_safe(values) if log else values
        every.append(values)
        items.append(
            hv.Curve((steps, shown), STEP, ydim, label=label).opts(
                color=color, line_width=2, line_dash=dash, tools=["hover"]
            )
        )
        if label != "2/η":
            items.append(
                hv.Scatter((steps, shown), STEP, ydim, label=label).opts(
                    color=color, size=4
                )
            )
    if not title:
        title = "Sharpness λ_max against 2/η"
        if np.isfinite(lam).any() and np.isfinite(two).any():
            title += f": now {lam[-1] / two[-1]:.2f} × 2/η"
    values = np.concatenate(every)
    finite = values[np.isfinite(values)]
    limits = {}
    if not log and finite.size:
        # From zero (curvature scale), or below it for a negative trace estimate.
        lo, hi = min(float(finite.min()), 0.0), float(finite.max())
        limits = {"ylim": (lo * 1.1, hi * 1.1 or 1.0)}
    return hv.Overlay(items).opts(
        title=title,
        logy=log,
        **(log_axis(values) if log else limits),
        legend_position="right",
        show_legend=True,
        **CURVE,
    )

"""Solution fields as HoloViews objects: xarray in, figures out.

:func:`plot_solution` looks at a reference-solution Dataset (as returned by
:func:`explorer.solvers.solve`) and picks the view that fits its dims:

- ``(t, x)``: a space-time heat map, x across and t upwards;
- ``(x,)``: a curve; ``(x, y)``: an image; ``(t, x, y)``: the image at the final time;
- ``(state, x)`` with an ``energy`` variable: eigenstates ψₙ(x) drawn at height Eₙ
  over the potential (a ``potential`` variable, when the Dataset has one);
- ``u`` and ``v`` (real and imaginary parts): |h| as above, beside Re, Im and |h| at
  the final time (or along x for steady fields).

Pure functions: no torch, no widgets. Plot options target the bokeh backend, which is
loaded on the first call (not at import).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr

__all__ = [
    "complex_field",
    "eigenstates",
    "field_curve",
    "field_image",
    "plot_solution",
]

HEIGHT = 420  # px: tall enough to read, short enough to fit a laptop screen
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _bokeh() -> None:
    # Options below are bokeh options; register the backend once, without switching
    # the caller's current backend.
    if "bokeh" not in hv.Store.renderers:
        previous = hv.Store.current_backend
        import holoviews.plotting.bokeh  # noqa: F401

        if previous in hv.Store.renderers:
            hv.Store.set_current_backend(previous)


def _label(da: xr.DataArray, name: str) -> str:
    return str(da.attrs.get("long_name", name))


def _color_options(values: np.ndarray) -> dict:
    """Diverging, zero-centred colours for signed fields; sequential otherwise."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"cmap": "viridis"}
    lo, hi = float(finite.min()), float(finite.max())
    peak = max(abs(lo), abs(hi))
    if lo < -0.02 * peak and hi > 0.02 * peak:
        return {"cmap": "RdBu_r", "clim": (-peak, peak)}
    return {"cmap": "viridis"}


def field_image(da: xr.DataArray, *, title: str = "") -> hv.Image:
    """A 2-D field as an image: the first dim of the pair across, the second upwards.

    Args:
        da: values on a uniform grid with exactly two dims, e.g. ``(t, x)`` or
            ``(x, y)``; ``t`` is always drawn upwards.
        title: plot title.
    """
    _bokeh()
    if da.ndim != 2:
        raise ValueError(f"field_image needs a 2-D field, got dims {da.dims}")
    dims = [str(d) for d in da.dims]
    across, up = (dims[1], dims[0]) if dims[0] == "t" else (dims[0], dims[1])
    values = da.transpose(up, across).values
    name = str(da.name or "u")
    image = hv.Image(
        (da[across].values, da[up].values, values),
        kdims=[
            hv.Dimension(across, label=_label(da[across], across)),
            hv.Dimension(up, label=_label(da[up], up)),
        ],
        vdims=[hv.Dimension(name, label=_label(da, name))],
    )
    # Space-space maps keep x and y to scale; space-time maps fill the width.
    if "t" in dims:
        shape = {"responsive": True, "height": HEIGHT}
    else:  # fixed frame, x and y to scale (capped for very elongated boxes)
        ratio = float(np.ptp(da[up].values) / (np.ptp(da[across].values) or 1.0))
        height = HEIGHT - 60
        width = int(np.clip(height / (ratio or 1.0), height / 2, 2 * height))
        shape = {"frame_height": height, "frame_width": width}
    return image.opts(
        colorbar=True,
        tools=["hover"],
        title=title,
        framewise=True,  # in a DynamicMap, ranges follow each new field
        **shape,
        **_color_options(values),
    )


def field_curve(da: xr.DataArray, *, title: str = "", label: str = "") -> hv.Curve:
    """A 1-D field as a curve over its one dim."""
    _bokeh()
    if da.ndim != 1:
        raise ValueError(f"field_curve needs a 1-D field, got dims {da.dims}")
    dim = str(da.dims[0])
    name = str(da.name or "u")
    curve = hv.Curve(
        (da[dim].values, da.values),
        kdims=[hv.Dimension(dim, label=_label(da[dim], dim))],
        vdims=[hv.Dimension(name, label=_label(da, name))],
        label=label,
    )
    return curve.opts(
        tools=["hover"],
        responsive=True,
        height=HEIGHT,
        title=title,
        line_width=2,
        line_join="round",
        framewise=True,
    )


def eigenstates(ds: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """Eigenstates ψₙ(x) drawn at their energies Eₙ, over the potential if present.

    Each state is scaled to a fraction of the mean level spacing (the smallest gap
    would flatten every state when two levels nearly coincide, as the tunnelling
    pairs of a double well do); the dashed line under each is its energy level. The
    x-range is cut to where some state is non-negligible.
    """
    _bokeh()
    psi = ds["u"].transpose("state", ...)
    energy = np.asarray(ds["energy"].values, dtype=float)
    x = psi[psi.dims[1]].values
    xdim = hv.Dimension(str(psi.dims[1]), label=str(psi.dims[1]))
    ydim = hv.Dimension("E", label="energy E, Eₙ + ψₙ(x)")
    spread = float(energy.max() - energy.min())
    gap = spread / (energy.size - 1) if energy.size > 1 and spread > 0 else 1.0
    amp = float(np.nanmax(np.abs(psi.values))) or 1.0
    alive = np.nonzero(np.abs(psi.values).max(axis=0) > 1e-3 * amp)[0]
    pad = 0.1 * (x[alive[-1]] - x[alive[0]]) if alive.size else 0.0
    xlim = (max(x[0], x[alive[0]] - pad), min(x[-1], x[alive[-1]] + pad))
    scale = 0.4 * gap / amp
    items: list[hv.Element] = []
    lo, hi = energy.min() - 0.6 * gap, energy.max() + 0.6 * gap
    if "potential" in ds:
        pot = ds["potential"]
        items.append(
            hv.Curve(
                (pot[pot.dims[0]].values, pot.values), xdim, ydim, label="V(x)"
            ).opts(color="black", line_width=2, alpha=0.6)
        )
        lo = min(lo, float(np.nanmin(pot.values)) - 0.1 * gap)
    for n, e in enumerate(energy):
        color = _PALETTE[n % len(_PALETTE)]
        items.append(
            hv.Curve((x[[0, -1]], [e, e]), xdim, ydim).opts(
                color=color, line_dash="dashed", line_width=1, alpha=0.6
            )
        )
        items.append(
            hv.Curve(
                (x, e + scale * psi.values[n]), xdim, ydim, label=f"n={n}, E={e:.4g}"
            ).opts(color=color, line_width=2, line_join="round")
        )
    return hv.Overlay(items).opts(
        responsive=True,
        height=HEIGHT,
        title=title,
        ylim=(lo, hi),
        xlim=xlim,
        legend_position="right",
        show_legend=True,
        tools=["hover"],
    )


def complex_field(ds: xr.Dataset, *, title: str = "") -> hv.Layout:
    """A complex field h = u + iv: a map of |h|, then Re, Im and |h| at the end."""
    _bokeh()
    modulus = np.hypot(ds["u"], ds["v"]).rename("|h|")
    if "t" in ds["u"].dims:
        last = {"t": ds["t"].values[-1]}
        end = f"at t = {float(last['t']):.3g}"
        first = _view(modulus, title=f"{title}: |h|" if title else "|h|")
        first = first.opts(height=HEIGHT * 3 // 4)  # leave room for the slice below
        u, v, m = (a.sel(last) for a in (ds["u"], ds["v"], modulus))
    else:
        end = ""
        first = None
        u, v, m = ds["u"], ds["v"], modulus
    if m.ndim != 1:
        raise ValueError(f"complex_field supports 1-D space, got dims {m.dims}")
    parts = (
        field_curve(m, label="|h|").opts(color="black"),
        field_curve(u.rename("Re h"), label="Re h").opts(color=_PALETTE[0]),
        # Dashed: Im h often lies on Re h (a phase of π/4) and must stay visible.
        field_curve(v.rename("Im h"), label="Im h").opts(
            color=_PALETTE[1], line_dash="dashed"
        ),
    )
    curves = hv.Overlay(list(parts)).opts(
        title=f"h {end}".strip(), legend_position="right", ylabel="h"
    )
    if first is not None:  # the map leads; the slice below it can be shorter
        curves = curves.opts(height=HEIGHT * 2 // 3)
    return (
        hv.Layout([first, curves]) if first is not None else hv.Layout([curves])
    ).cols(1)


def _view(da: xr.DataArray, *, title: str) -> hv.Element:
    space = [d for d in da.dims if d != "t"]
    if "t" in da.dims and len(space) == 2:
        final = da.isel(t=-1)
        return field_image(final, title=f"{title} at t = {float(final['t']):.3g}")
    if da.ndim == 2:
        return field_image(da, title=title)
    if da.ndim == 1:
        return field_curve(da, title=title)
    raise ValueError(f"no view for a field with dims {da.dims}")


def plot_solution(
    ds: xr.Dataset, *, title: str | None = None
) -> hv.Element | hv.Layout:
    """The natural view of a reference solution (see the module docstring).

    Args:
        ds: a Dataset with ``u`` (and ``v``, ``energy``, ``potential`` when the
            problem has them) on named dims.
        title: plot title; defaults to ``ds.attrs["title"]``.
    """
    title = ds.attrs.get("title", "") if title is None else title
    if "energy" in ds and "state" in ds["u"].dims:
        return eigenstates(ds, title=title)
    if "v" in ds:
        return complex_field(ds, title=title)
    return _view(ds["u"], title=title)

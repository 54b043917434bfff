"""Neural tangent kernels: spectra and their evolution, relative kernel change,
errors in the kernel's eigenbasis, and the lazy-training width sweep.

Inputs are the Datasets of :mod:`explorer.diagnostics.ntk` (or of the state layer,
which stacks kernels along ``step``). Pure: xarray in, HoloViews out.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import CURVE, STEP, log_axis, log_safe
from explorer.plotting.diagnostics import _check
from explorer.plotting.fields import HEIGHT, _bokeh

__all__ = ["ntk_change_curve", "ntk_projection_plot", "ntk_spectrum", "width_sweep"]

_BLOCKS = {
    "eigenvalue": ("K", "mode"),
    "eigenvalue_uu": ("K_uu (boundary/initial)", "mode_u"),
    "eigenvalue_rr": ("K_rr (residual)", "mode_r"),
}


def _step_colors(n: int) -> list[str]:
    """Light to dark blue: early to late training."""
    from bokeh.palettes import Blues256

    if n == 1:
        return ["#08306b"]
    # Skip the palest blues: they vanish on white.
    return [Blues256[int(i)] for i in np.linspace(170, 0, n)]


def ntk_spectrum(
    ntk: xr.Dataset, *, block: str = "eigenvalue", title: str = ""
) -> hv.Overlay:
    """Eigenvalues of the tangent kernel, largest first, on log-log axes; one curve
    per ``step`` when the Dataset holds several (early light, late dark).

    Args:
        ntk: an :func:`~explorer.diagnostics.empirical_ntk` or
            :func:`~explorer.diagnostics.pinn_ntk` result, or those stacked along
            ``step``.
        block: ``eigenvalue`` (the whole kernel), ``eigenvalue_uu`` or
            ``eigenvalue_rr`` (the PINN blocks).
    """
    _bokeh()
    if block not in _BLOCKS:
        raise ValueError(
            f"block = {block!r} is not allowed; allowed: {', '.join(_BLOCKS)}"
        )
    name, mode = _BLOCKS[block]
    dims = ("step", mode) if "step" in getattr(ntk, "dims", {}) else (mode,)
    ds = _check(ntk, "ntk", [block], dims)
    values = ds[block].values.astype(float).reshape(-1, ds.sizes[mode])
    steps = ds["step"].values if "step" in ds.dims else [None]
    colors = _step_colors(len(steps))
    xdim = hv.Dimension("k", label="eigenvalue index k")
    ydim = hv.Dimension("lambda", label=f"eigenvalue of {name.split()[0]}")
    items = []
    for row, step, color in zip(values, steps, colors):
        k = np.arange(1, row.size + 1)
        label = f"step {step}" if step is not None else name
        items.append(
            hv.Curve((k, log_safe(row)), xdim, ydim, label=label).opts(
                color=color, line_width=2, tools=["hover"]
            )
        )
    positive = values[np.isfinite(values) & (values > 0)]
    # Eigenvalues below ~1e-12 of the largest are round-off: not drawn.
    floor = positive.max() * 1e-12 if positive.size else 1e-300
    shown = np.where(values > floor, values, np.nan)
    return hv.Overlay(items).opts(
        title=title or f"NTK spectrum: {name}",
        logx=True,
        logy=True,
        **log_axis(shown.ravel()),
        legend_position="right",
        show_legend=True,
        **CURVE,
    )


def ntk_change_curve(ntk: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """‖K(step) − K(first)‖_F / ‖K(first)‖_F against step, for each kernel block.

    Near zero: lazy (kernel) regime; order one: the features moved (rich regime).
    """
    _bokeh()
    ds = _check(ntk, "ntk", [], ())
    names = [str(v) for v in ds.data_vars if str(v).startswith("change")]
    if not names or "step" not in ds.dims:
        raise ValueError(
            "ntk needs change variables along 'step' (kernels stacked over training); "
            f"it has {', '.join(sorted(map(str, ds.data_vars)))}"
        )
    labels = {
        "change": "K",
        "change_uu": "K_uu",
        "change_ur": "K_ur",
        "change_rr": "K_rr",
    }
    palette = ("#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c")
    ydim = hv.Dimension("change", label="relative kernel change")
    items = []
    for i, name in enumerate(names):
        values = ds[name].values.astype(float)
        label = labels.get(name, name)
        items += [
            hv.Curve((ds["step"].values, values), STEP, ydim, label=label).opts(
                color=palette[i % 4], line_width=2, tools=["hover"]
            ),
            hv.Scatter((ds["step"].values, values), STEP, ydim, label=label).opts(
                color=palette[i % 4], size=5
            ),
        ]
    return hv.Overlay(items).opts(
        title=title or "Relative change of the NTK since the first snapshot",
        legend_position="right",
        show_legend=True,
        **CURVE,
    )


def ntk_projection_plot(ntk: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """The share of the error's energy on each NTK eigenvector, largest λ first.

    Under gradient flow the component on eigenvector k decays like exp(−λₖt): energy
    on the right (small λ) is what trains last (spectral bias).

    Args:
        ntk: an :func:`~explorer.diagnostics.ntk_projection` result, or a state
            result holding ``energy`` over ``mode``.
    """
    _bokeh()
    ds = _check(ntk, "ntk", ["energy"], ("mode",))
    energy = ds["energy"].values.astype(float)
    k = np.arange(1, energy.size + 1)
    xdim = hv.Dimension("k", label="NTK eigenvector k (largest eigenvalue first)")
    ydim = hv.Dimension("energy", label="share of the error's energy")
    shown = log_safe(energy)
    cumulative = np.cumsum(energy)
    half = int(np.searchsorted(cumulative, 0.5)) + 1 if cumulative.size else 0
    items = [
        hv.Spikes((k, shown), xdim, ydim, label="c_k² / ‖e‖²").opts(
            color="#1f77b4", line_width=2
        ),
        hv.Scatter((k, shown), xdim, ydim, label="c_k² / ‖e‖²").opts(
            color="#1f77b4", size=4, tools=["hover"]
        ),
    ]
    return hv.Overlay(items).opts(
        title=title
        or f"Error per NTK eigenvector: half on the top {half} of {energy.size}",
        logy=True,
        **log_axis(energy),
        show_legend=False,
        **CURVE,
    )


def width_sweep(sweep: xr.Dataset, *, title: str = "") -> hv.Overlay:
    """Relative kernel change after training against width (log-log), with the
    fitted power law and a 1/width reference line.

    The kernel's change is bounded by O(1/√width) (Lee et al. 2019); Dyer &
    Gur-Ari (2020) argue that under the NTK parametrisation it is
    O(1/width). The fitted slope says which this sweep shows.
    """
    _bokeh()
    ds = _check(sweep, "sweep", ["change"], ("width",))
    w = ds["width"].values.astype(float)
    c = ds["change"].values.astype(float)
    xdim = hv.Dimension("width", label="width (units per hidden layer)")
    ydim = hv.Dimension("change", label="relative NTK change ‖K_T − K_0‖/‖K_0‖")
    items = [
        hv.Curve((w, log_safe(c)), xdim, ydim, label="measured").opts(
            color="#1f77b4", line_width=2
        ),
        hv.Scatter((w, log_safe(c)), xdim, ydim, label="measured").opts(
            color="#1f77b4", size=7, tools=["hover"]
        ),
    ]
    ok = np.isfinite(c) & (c > 0)
    slope = float(ds.attrs.get("slope", np.nan))
    if ok.sum() >= 2:
        if not np.isfinite(slope):
            slope = float(np.polyfit(np.log(w[ok]), np.log(c[ok]), 1)[0])
        intercept = np.mean(np.log(c[ok]) - slope * np.log(w[ok]))
        items.append(
            hv.Curve(
                (w, np.exp(intercept + slope * np.log(w))),
                xdim,
                ydim,
                label=f"fit: width^{slope:.2f}",
            ).opts(color="#d62728", line_dash="dashed", line_width=2)
        )
        anchor = np.log(c[ok][0]) + np.log(w[ok][0])
        items.append(
            hv.Curve(
                (w, np.exp(anchor - np.log(w))),
                xdim,
                ydim,
                label="1/width (Dyer & Gur-Ari 2020)",
            ).opts(color="#666", line_dash="dotted", line_width=1.5)
        )
    return hv.Overlay(items).opts(
        title=title
        or "NTK change against width"
        + (f": slope {slope:.2f}" if np.isfinite(slope) else ""),
        logx=True,
        logy=True,
        **log_axis(c),
        legend_position="top_right",  # the data fall from the top left
        xticks=[(float(v), str(int(v))) for v in w],
        show_legend=True,
        responsive=True,
        height=HEIGHT,
        tools=["hover"],
    )

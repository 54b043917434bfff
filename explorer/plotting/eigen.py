"""A PINN eigenstate run against the eigensolver: ψ, |ψ|² and the energy.

``reference`` is the Dataset of :func:`explorer.solvers.solve` for an eigenproblem:
``u`` on ``(state, x)``, ``energy`` on ``(state,)``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import (
    CURVE,
    STEP,
    at_step,
    check_history,
    require,
    step_series,
)
from explorer.plotting.fields import _PALETTE, _bokeh

__all__ = ["eigen_views", "energy_curve"]


def _check_reference(reference: object, x: np.ndarray) -> xr.Dataset:
    if not (
        isinstance(reference, xr.Dataset)
        and "u" in reference
        and "energy" in reference
        and "state" in reference["u"].dims
    ):
        raise ValueError(
            "reference must be the eigen solver's Dataset (variables 'u' with a "
            f"'state' dim and 'energy'), got {type(reference).__name__}"
            + (
                f" with {sorted(map(str, reference.data_vars))}"
                if isinstance(reference, xr.Dataset)
                else ""
            )
        )
    space = [d for d in reference["u"].dims if d != "state"]
    if len(space) != 1:
        raise ValueError(
            f"reference: states must be 1-D, got dims {reference['u'].dims}"
        )
    dim = space[0]
    if reference.sizes[dim] != x.size or not np.allclose(reference[dim].values, x):
        reference = reference.interp({dim: x})
    return reference


def _matched_state(history: xr.Dataset, states: np.ndarray) -> int:
    """The reference state the run was trained on: the best overlap with u_ref."""
    target = history["u_ref"].values if "u_ref" in history else None
    if target is None or target.ndim != 1:
        target = history["u_pred"].isel(step=-1).values
    overlap = np.abs(states @ target) / (
        np.linalg.norm(states, axis=1) * (np.linalg.norm(target) or 1.0)
    )
    return int(np.argmax(overlap))


def eigen_views(
    history: xr.Dataset, reference: xr.Dataset, step: int | None = None
) -> hv.Layout:
    """ψ and |ψ|² of the prediction over the reference states.

    The state the run converges to (the reference state that best overlaps the
    history's ``u_ref``) is drawn dashed; the others faintly, for orientation.
    """
    _bokeh()
    check_history(history)
    snap = at_step(history, step)
    require(snap, ["u_pred"], "history")
    psi = snap["u_pred"]
    if psi.ndim != 1:
        raise ValueError(f"history: eigenstates must be 1-D, got dims {psi.dims}")
    dim = str(psi.dims[0])
    x = psi[dim].values
    reference = _check_reference(reference, x)
    states = reference["u"].transpose("state", ...).values
    energy = np.asarray(reference["energy"].values, dtype=float)
    n = _matched_state(history, states)
    xdim = hv.Dimension(dim, label=dim)
    label = f"step {int(snap['step'])}"
    if "coef_energy" in snap:
        label += f", E = {float(snap['coef_energy']):.5g}"
    panels = []
    for name, f in (("ψ(x)", lambda a: a), ("|ψ(x)|²", np.square)):
        ydim = hv.Dimension("psi", label=name)
        items = []
        for m, e in enumerate(energy):
            matched = m == n
            items.append(
                hv.Curve(
                    (x, f(states[m])), xdim, ydim, label=f"ψ{m}, E{m} = {e:.5g}"
                ).opts(
                    color=_PALETTE[m % len(_PALETTE)],
                    line_width=3 if matched else 1,
                    alpha=0.8 if matched else 0.3,
                    line_dash="dashed" if matched else "solid",
                )
            )
        items.append(
            hv.Curve((x, f(psi.values)), xdim, ydim, label="PINN").opts(
                color="black", line_width=2
            )
        )
        panels.append(
            hv.Overlay(items).opts(
                title=f"{name}: PINN against reference state {n}, {label}",
                legend_position="right",
                show_legend=True,
                **CURVE,
            )
        )
    return hv.Layout(panels).cols(1)


def energy_curve(history: xr.Dataset, reference: xr.Dataset) -> hv.Overlay:
    """The trained energy ``coef_energy`` against step, with the reference levels.

    The y range covers the curve and its nearest level; levels beyond it are left
    out so that convergence to one level stays visible.
    """
    _bokeh()
    check_history(history)
    require(history, ["coef_energy"], "history")
    if not isinstance(reference, xr.Dataset) or "energy" not in reference:
        raise ValueError(
            "reference must be the eigen solver's Dataset with an 'energy' variable, "
            f"got {type(reference).__name__}"
        )
    steps = history["step"].values
    values = history["coef_energy"].values.astype(float)
    levels = np.asarray(reference["energy"].values, dtype=float)
    last = values[np.isfinite(values)][-1] if np.isfinite(values).any() else levels[0]
    nearest = int(np.argmin(np.abs(levels - last)))
    span = np.concatenate([values[np.isfinite(values)], levels[[nearest]]])
    lo, hi = float(span.min()), float(span.max())
    pad = 0.1 * (hi - lo) or 0.01 * max(abs(hi), 1.0)
    lo, hi = lo - pad, hi + pad
    ydim = hv.Dimension("E", label="energy E")
    items = step_series(steps, values, "PINN energy", "black", ydim)  # sets the axes
    for m, e in enumerate(levels):
        if lo <= e <= hi:  # a full-width line and its name at the right end
            color = _PALETTE[m % len(_PALETTE)]
            items.append(
                hv.HLine(e, kdims=[STEP, ydim]).opts(color=color, line_dash="dashed")
            )
            items.append(
                hv.Text(
                    float(steps[-1]),
                    e,
                    f"reference E{m} = {e:.6g} ",
                    halign="right",
                    valign="bottom",
                    kdims=[STEP, ydim],
                ).opts(color=color, text_font_size="10pt")
            )
    xlim = (steps[0], steps[-1]) if steps.size > 1 else (steps[0] - 1, steps[0] + 1)
    return hv.Overlay(items).opts(
        title=f"Energy: PINN {last:.6g}, nearest level E{nearest} = "
        f"{levels[nearest]:.6g}",
        xlim=tuple(float(v) for v in xlim),
        ylim=(lo, hi),
        legend_position="right",
        show_legend=True,
        **CURVE,
    )

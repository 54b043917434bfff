"""Loss landscapes: the loss along a line and over a plane in parameter space.

- Line (Goodfellow, Vinyals & Saxe 2015): L((1 − α) θₐ + α θ_b) between two
  parameter vectors, e.g. the initial and the current weights, or two runs.
- Plane (Li, Xu, Taylor, Studer & Goldstein 2018): L(θ + α δ + β η) around the
  current weights θ, along
  * two random Gaussian directions, *filter-normalised*: each filter (row of a
    weight matrix: the weights into one unit) of δ is rescaled to the norm of the
    same filter of θ, ``δᵢ ← δᵢ ‖θᵢ‖ / ‖δᵢ‖``, so a step of α = 1 changes every unit
    by its own size and scale-invariant networks compare fairly. Parameters with
    one dimension or none (biases, trainable PDE coefficients) get a zero direction
    by default, as the paper's ``--xignore biasbn`` option does; ``one_dim="copy"``
    uses δ = θ for them instead (the authors' code without that option);
  * or the top two principal directions of an optimisation trajectory (Li et al.
    §7): PCA of the snapshots' offsets θᵢ − θ, with each snapshot projected onto
    the plane, ``(αᵢ, βᵢ) = ((θᵢ − θ)·u₁, (θᵢ − θ)·u₂)`` for orthonormal u₁, u₂.

Grids are evaluated by :func:`torch.func.vmap` over chunks of grid points (see
:mod:`explorer.diagnostics._batched`). Grid coordinates are k·s/m for integers k,
so the centre is exactly α = β = 0 and the landscape there is exactly the current
loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Literal

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from explorer._threads import one_thread
from explorer.diagnostics._batched import default_workers, evaluate_points
from explorer.diagnostics._functional import FlatSpec, ParamsLoss, evaluate
from explorer.diagnostics._job import Cancel, Job, Progress, check_limits

__all__ = [
    "LIMITS",
    "filter_normalize",
    "loss_line",
    "loss_plane",
    "pca_directions",
    "project_trajectory",
    "random_direction",
]

OneDim = Literal["zero", "copy"]

#: Allowed ranges of the landscape settings (read by the state layer).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "steps": (3, 201),  # plane: grid points per axis (odd)
        "steps_per_unit": (2, 1000),  # line: points per unit of α
        "margin": (0.0, 2.0),  # line: extra α on either side of [0, 1]
        "span": (1e-6, 100.0),  # plane: half-width of the grid
        "chunk": (1, 4096),  # grid points per vmap call
        "workers": (1, 16),  # threads evaluating chunks at once
        "snapshots": (3, 1000),  # PCA trajectory length
        "points": (2, 40401),  # total grid points (201 × 201)
    }
)


def random_direction(
    params: Mapping[str, Tensor],
    *,
    generator: torch.Generator,
    normalization: Literal["filter", "none"] = "filter",
    one_dim: OneDim = "zero",
) -> dict[str, Tensor]:
    """A Gaussian direction shaped like ``params``, filter-normalised by default.

    Args:
        params: the weights θ (the direction's scale comes from them).
        generator: the random source (a CPU generator).
        normalization: ``"filter"`` (Li et al. 2018) or ``"none"``.
        one_dim: what 0-D and 1-D parameters get under filter normalisation:
            ``"zero"`` (they stay fixed) or ``"copy"`` (δ = θ).
    """
    if normalization not in ("filter", "none"):
        raise ValueError(
            f"normalization = {normalization!r} is not allowed; allowed: filter, none"
        )
    raw = {
        k: torch.randn(v.shape, generator=generator, dtype=v.dtype).to(v.device)
        for k, v in params.items()
    }
    if normalization == "none":
        return raw
    return filter_normalize(raw, params, one_dim=one_dim)


def filter_normalize(
    direction: Mapping[str, Tensor],
    params: Mapping[str, Tensor],
    *,
    one_dim: OneDim = "zero",
) -> dict[str, Tensor]:
    """δᵢ ← δᵢ ‖θᵢ‖ / ‖δᵢ‖ for every filter i (index along dim 0) of tensors with
    two or more dimensions; see the module notes for 0-D and 1-D parameters."""
    if one_dim not in ("zero", "copy"):
        raise ValueError(f"one_dim = {one_dim!r} is not allowed; allowed: zero, copy")
    out = {}
    for name, d in direction.items():
        w = params[name]
        if w.dim() <= 1:
            out[name] = torch.zeros_like(w) if one_dim == "zero" else w.clone()
            continue
        dn = d.flatten(1).norm(dim=1).clamp_min(1e-10)
        wn = w.flatten(1).norm(dim=1)
        out[name] = d * (wn / dn).reshape(-1, *([1] * (d.dim() - 1)))
    return out


def pca_directions(
    trajectory: Sequence[Mapping[str, Tensor]], center: Mapping[str, Tensor]
) -> tuple[dict[str, Tensor], dict[str, Tensor], tuple[float, float]]:
    """The top two principal directions of ``θᵢ − center`` (unit vectors).

    Returns:
        u₁, u₂ shaped like the parameters, and the fractions of the offsets'
        variance (about their mean) that each explains.
    """
    spec = FlatSpec(center)
    c = spec.flatten(center)
    offsets = torch.stack([spec.flatten(p) for p in trajectory]) - c  # (n, P)
    centred = (offsets - offsets.mean(0)).double()
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    if s.shape[0] < 2 or float(s[1]) <= 1e-12 * max(float(s[0]), 1e-300):
        raise ValueError(
            "the trajectory spans fewer than two directions; allowed: snapshots "
            "that move in at least two independent directions"
        )
    axes = vh[:2].clone()
    # SVD signs are arbitrary: make each axis' largest entry positive, reproducibly.
    for k in range(2):
        if axes[k, axes[k].abs().argmax()] < 0:
            axes[k] = -axes[k]
    var = s.square()
    explained = (float(var[0] / var.sum()), float(var[1] / var.sum()))
    u1, u2 = (spec.unflatten(a.to(c.dtype)) for a in axes)
    return u1, u2, explained


def project_trajectory(
    trajectory: Sequence[Mapping[str, Tensor]],
    center: Mapping[str, Tensor],
    directions: tuple[Mapping[str, Tensor], Mapping[str, Tensor]],
) -> Tensor:
    """Coordinates ``(n, 2)`` of each snapshot in the plane through ``center``.

    The least-squares coordinates: solves the 2×2 normal equations, which for
    orthonormal directions (PCA) are the dot products (θᵢ − center)·uₖ.
    """
    spec = FlatSpec(center)
    c = spec.flatten(center).double()
    d = torch.stack([spec.flatten(u).double() for u in directions])  # (2, P)
    offsets = torch.stack([spec.flatten(p).double() for p in trajectory]) - c
    gram = d @ d.T
    return torch.linalg.solve(gram, d @ offsets.T).T


def _grid(half: int, extent: float) -> np.ndarray:
    # k·s/m: exact zero at k = 0, symmetric to the last bit.
    return extent * np.arange(-half, half + 1, dtype=np.float64) / half


@one_thread()  # small ops: see explorer._threads
def loss_plane(
    loss_fn: ParamsLoss,
    params: Mapping[str, Tensor],
    *,
    directions: Literal["random", "pca"]
    | tuple[Mapping[str, Tensor], Mapping[str, Tensor]] = "random",
    trajectory: Sequence[Mapping[str, Tensor]] | None = None,
    steps: int = 17,
    span: float | None = None,
    seed: int = 0,
    one_dim: OneDim = "zero",
    chunk: int = 128,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """L(θ + αδ + βη) on a ``steps × steps`` grid centred on θ = ``params``.

    Args:
        loss_fn: params -> loss (a scalar, or a dict of scalars: one variable each).
        params: the centre θ, usually the current weights.
        directions: ``"random"`` (two filter-normalised Gaussian directions drawn
            from ``seed``), ``"pca"`` (of ``trajectory``), or two given directions.
        trajectory: parameter snapshots (``"pca"``: required; otherwise, if given,
            projected onto the plane).
        steps: grid points per axis, odd so that θ is the centre.
        span: the grid's half-width: in units of the directions for random or given
            ones (default 1: Li et al.'s [−1, 1]); for PCA, a multiple of the
            trajectory's extent along each axis (default 1.25).
        seed: the random directions' seed.
        one_dim: 0-D/1-D parameters under filter normalisation ("zero" or "copy").
        chunk: grid points per vmap call (memory ∝ chunk × workers × one
            evaluation).
        workers: threads evaluating chunks at once (default: one per core, at
            most 2; see :mod:`explorer.diagnostics._batched`).
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset with ``loss`` (and ``loss_<term>`` for dict losses) over
        ``("beta", "alpha")``; with a trajectory, ``trajectory_alpha``,
        ``trajectory_beta`` and the true ``trajectory_loss`` over ``snapshot``.

    Cost: steps² loss evaluations, batched ``chunk`` at a time on ``workers``
    threads: 0.65 ms each for the DeepXDE Burgers PINN on two cores (2,780 points;
    1.25 ms on one; a tanh MLP's jet runs batched over the chunk's weights, see
    :mod:`explorer.models.tanh_jet`), so the default 17 × 17 grid takes about
    0.2 s and 41 × 41 1.1 s, with a peak of about 140 MB. A point-by-point loop
    took 4.6 ms a point on two threads (7× slower) and 1.6–2 ms on one (2.4–3×)
    in bench/diagnostics.py.
    """
    workers = default_workers() if workers is None else workers
    check_limits("loss_plane", LIMITS, steps=steps, chunk=chunk, workers=workers)
    check_limits("loss_plane", LIMITS, points=steps * steps)
    if steps % 2 == 0:
        raise ValueError(
            f"loss_plane steps = {steps} is not allowed; allowed: odd numbers from "
            f"{LIMITS['steps'][0]} to {LIMITS['steps'][1]}, so the grid's centre is "
            "the current weights"
        )
    if span is not None:
        check_limits("loss_plane", LIMITS, span=span)
    job = Job("loss_plane", progress, cancel)
    t0 = time.perf_counter()
    attrs: dict[str, object] = {"diagnostic": "loss_plane", "steps": steps}
    if trajectory is not None:
        check_limits("loss_plane", LIMITS, snapshots=len(trajectory))
    if isinstance(directions, tuple):
        d1, d2 = (dict(d) for d in directions)
        attrs["directions"] = "given"
    elif directions == "random":
        g = torch.Generator().manual_seed(seed)
        d1 = random_direction(params, generator=g, one_dim=one_dim)
        d2 = random_direction(params, generator=g, one_dim=one_dim)
        attrs.update(
            directions="random", normalization="filter", one_dim=one_dim, seed=seed
        )
    elif directions == "pca":
        if trajectory is None:
            raise ValueError(
                "loss_plane directions = 'pca' needs a trajectory: a list of at "
                f"least {LIMITS['snapshots'][0]:g} parameter snapshots"
            )
        d1, d2, explained = pca_directions(trajectory, params)
        attrs.update(directions="pca", explained_variance=list(explained))
    else:
        raise ValueError(
            f"directions = {directions!r} is not allowed; allowed: 'random', 'pca' "
            "or a tuple of two parameter dicts"
        )
    coords = None
    if trajectory is not None:
        coords = project_trajectory(trajectory, params, (d1, d2))
    half = steps // 2
    if attrs["directions"] == "pca":
        reach = coords.abs().amax(0).clamp_min(1e-12) * (span or 1.25)
        alpha, beta = _grid(half, float(reach[0])), _grid(half, float(reach[1]))
    else:
        alpha = beta = _grid(half, span or 1.0)
    aa, bb = np.meshgrid(alpha, beta)  # (beta, alpha) layout
    first = next(iter(params.values()))
    c = torch.tensor(np.stack([aa.ravel(), bb.ravel()], 1), dtype=first.dtype)
    c = c.to(first.device)
    center = evaluate(loss_fn, params)
    center = center if isinstance(center, Mapping) else {"loss": center}
    values, info = evaluate_points(
        loss_fn, params, (d1, d2), c, chunk=chunk, job=job, workers=workers
    )
    # The centre row is θ + 0δ + 0η = θ bit for bit, but a batched matmul may round
    # differently from the unbatched one in the last bit; store the unbatched value
    # so the landscape at zero equals the loss the trainer reports.
    for k, v in center.items():
        values[k][(steps * steps) // 2] = v
    data = {
        k: (("beta", "alpha"), v.reshape(steps, steps).double().cpu().numpy())
        for k, v in values.items()
    }
    if coords is not None:
        traj = _trajectory_losses(loss_fn, trajectory, chunk, cancel)
        data["trajectory_alpha"] = ("snapshot", coords[:, 0].cpu().numpy())
        data["trajectory_beta"] = ("snapshot", coords[:, 1].cpu().numpy())
        data["trajectory_loss"] = ("snapshot", traj["loss"].double().cpu().numpy())
    attrs.update(
        span=[float(alpha[-1]), float(beta[-1])],
        n_params=FlatSpec(params).numel,
        loss_center=float(center["loss"]),
        seconds=time.perf_counter() - t0,
        **info,
    )
    return xr.Dataset(data, coords={"alpha": alpha, "beta": beta}, attrs=attrs)


def _trajectory_losses(
    loss_fn: ParamsLoss,
    trajectory: Sequence[Mapping[str, Tensor]],
    chunk: int,
    cancel: Cancel | None,
) -> dict[str, Tensor]:
    """The loss at each snapshot, ``chunk`` snapshots per vmap call."""
    out = []
    job = Job("loss_plane trajectory", None, cancel)
    for i in range(0, len(trajectory), chunk):
        part = trajectory[i : i + chunk]
        snap = {k: torch.stack([t[k] for t in part]) for k in part[0]}
        values, _ = evaluate_points(
            loss_fn,
            snap,
            (),
            torch.zeros(len(part), 0),
            chunk=len(part),
            job=job,
            point=lambda rows, snap=snap: snap,
        )
        out.append(values["loss"])
    return {"loss": torch.cat(out)}


@one_thread()  # small ops: see explorer._threads
def loss_line(
    loss_fn: ParamsLoss,
    start: Mapping[str, Tensor],
    end: Mapping[str, Tensor],
    *,
    steps_per_unit: int = 20,
    margin: float = 0.25,
    chunk: int = 128,
    workers: int | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """L(θ(α)) on the line θ(α) = θₐ + α(θ_b − θₐ) through ``start`` and ``end``.

    α runs over k/m for k = −⌊margin·m⌋ … m + ⌊margin·m⌋ with m = ``steps_per_unit``,
    so α = 0 and α = 1 are on the grid, and there θ(α) is *exactly* ``start`` and
    ``end`` (points with α > ½ are written as θ_b + (α − 1)(θ_b − θₐ)) and the
    landscape equals the plain loss at either end.

    Args:
        loss_fn: params -> loss (scalar or dict of scalars).
        start, end: θₐ and θ_b, e.g. the initial and current weights, or two runs.
        steps_per_unit: grid points per unit of α.
        margin: how far the line extends beyond each end, in units of α.
        chunk, workers, progress, cancel: as for :func:`loss_plane`.

    Returns:
        Dataset with ``loss`` (and ``loss_<term>``) over ``alpha``; attrs hold the
        distance ‖θ_b − θₐ‖ and the end-point losses.
    """
    workers = default_workers() if workers is None else workers
    check_limits(
        "loss_line",
        LIMITS,
        steps_per_unit=steps_per_unit,
        margin=margin,
        chunk=chunk,
        workers=workers,
    )
    extra = math.floor(margin * steps_per_unit)
    check_limits("loss_line", LIMITS, points=steps_per_unit + 1 + 2 * extra)
    missing = set(start) ^ set(end)
    if missing:
        raise ValueError(
            f"loss_line start and end must name the same parameters; only one has "
            f"{sorted(missing)}"
        )
    job = Job("loss_line", progress, cancel)
    t0 = time.perf_counter()
    k = np.arange(-extra, steps_per_unit + extra + 1, dtype=np.float64)
    alpha = k / steps_per_unit
    first = next(iter(start.values()))
    c = torch.tensor(alpha, dtype=first.dtype, device=first.device)[:, None]
    delta = {n: end[n] - start[n] for n in start}

    def point(rows: Tensor) -> dict[str, Tensor]:
        a = rows[:, 0]
        near_end = (a > 0.5).to(a.dtype)
        out = {}
        for n, s in start.items():
            shape = (-1, *([1] * s.dim()))
            lo = s + a.reshape(shape) * delta[n]
            hi = end[n] + (a - 1).reshape(shape) * delta[n]
            w = near_end.reshape(shape)
            out[n] = torch.where(w > 0, hi, lo)
        return out

    values, info = evaluate_points(
        loss_fn, start, (), c, chunk=chunk, job=job, point=point, workers=workers
    )
    ends = [evaluate(loss_fn, p) for p in (start, end)]
    ends = [dict(e) if isinstance(e, Mapping) else {"loss": e} for e in ends]
    # As in loss_plane: the end points' unbatched values, equal to the plain loss.
    for index, e in ((extra, ends[0]), (extra + steps_per_unit, ends[1])):
        for key, v in e.items():
            values[key][index] = v
    attrs = {
        "diagnostic": "loss_line",
        "steps_per_unit": steps_per_unit,
        "margin": margin,
        "distance": float(FlatSpec(start).flatten(delta).norm()),
        "loss_start": float(ends[0]["loss"]),
        "loss_end": float(ends[1]["loss"]),
        "n_params": FlatSpec(start).numel,
        "seconds": time.perf_counter() - t0,
        **info,
    }
    data = {k: ("alpha", v.double().cpu().numpy()) for k, v in values.items()}
    return xr.Dataset(data, coords={"alpha": alpha}, attrs=attrs)

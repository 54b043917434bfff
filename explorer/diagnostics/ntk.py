"""The empirical neural tangent kernel, of a network and of a PINN's loss terms.

K(x, x') = ∂f(x)/∂θ · ∂f(x')/∂θ = (J Jᵀ)(x, x'): under gradient flow on ½‖e‖² the
errors e evolve as de/dt = −K e, so the component of e along an eigenvector qₖ of K
decays like exp(−λₖ t) (Jacot, Gabriel & Hongler 2018). Components on eigenvectors
with small λₖ, typically the oscillatory ones, are learned last: spectral bias,
which :func:`ntk_projection` makes visible.

For a PINN the kernel has blocks (Wang, Yu & Perdikaris 2022)

    K = [[K_uu, K_ur], [K_ruᵀ, K_rr]],  K_uu = J_u J_uᵀ, K_ur = J_u J_rᵀ,
    K_rr = J_r J_rᵀ,

with J_r the Jacobian of the PDE residual at interior points and J_u that of the
boundary and initial errors (every other loss term: ic, bc, periodic, data...). A
trace ratio tr K_rr / tr K_uu far from 1 means one part of the loss trains orders of
magnitude faster than the other.

Jacobians come from :func:`torch.func.jacrev`: per point (``vmap`` over points,
O(n·P)) for pointwise networks; for the PINN residual over chunks of points
(O(n·c·P) for chunks of c: a row depends only on its point's derivative jet), and
for the other terms over their stacked outputs. A term
that takes input derivatives by reverse mode (``REVERSE_MODE_TERMS``, which
torch.func would see as zero) is differentiated by one autograd pass per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from types import MappingProxyType

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn
from torch.func import jacrev, vmap

from explorer.data import Collocation
from explorer.diagnostics._functional import (
    FlatSpec,
    evaluate,
    functional,
    parameters,
    pinn_pointwise,
)
from explorer.diagnostics._job import Cancel, Job, Progress, check_limits
from explorer.losses import PINNLoss

__all__ = [
    "LIMITS",
    "empirical_ntk",
    "ntk_change",
    "ntk_projection",
    "pinn_ntk",
]

#: Allowed ranges of the NTK settings (read by the state layer).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "points": (1, 4096),  # network NTK points
        "n_residual": (1, 2048),  # PINN interior points
        "n_boundary": (1, 1024),  # PINN points per boundary/initial set
        "chunk": (1, 2048),  # Jacobian rows per vmap call
        "jacobian": (1, 50_000_000),  # rows × parameters
    }
)


def _flat_rows(jac: Mapping[str, Tensor], rows: int) -> Tensor:
    """Named Jacobian blocks ``(rows, *shape)`` as one matrix ``(rows, P)``."""
    return torch.cat([j.reshape(rows, -1) for j in jac.values()], dim=1)


def _jacobian(
    fn: Callable[[Mapping[str, Tensor]], Tensor],
    params: Mapping[str, Tensor],
    rows: int,
    chunk: int,
    *,
    autograd: bool = False,
) -> Tensor:
    """∂fn/∂θ ``(rows, P)`` for a vector-valued ``fn``: by jacrev, or one autograd
    pass per row when ``autograd`` is set or jacrev fails."""
    if not autograd:
        try:
            with torch.no_grad():
                jac = jacrev(fn, chunk_size=chunk)(params)
            return _flat_rows(jac, rows)
        except RuntimeError:
            pass
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        out = fn(leaves)
        grads = [
            torch.autograd.grad(
                out[i],
                list(leaves.values()),
                retain_graph=True,
                allow_unused=True,
                materialize_grads=True,
            )
            for i in range(rows)
        ]
    return torch.stack([torch.cat([g.reshape(-1) for g in row]) for row in grads])


def _spectrum(k: Tensor, eps: float) -> tuple[np.ndarray, float, int]:
    """Eigenvalues (descending), condition number and numerical rank of K."""
    values = torch.linalg.eigvalsh(k).flip(0).cpu().numpy()
    top = max(float(values[0]), 0.0)
    floor = top * k.shape[0] * eps
    rank = int((values > floor).sum())
    cond = float(values[0] / values[-1]) if values[-1] > floor else float("inf")
    return values, cond, rank


def _eps(params: Mapping[str, Tensor]) -> float:
    return float(torch.finfo(next(iter(params.values())).dtype).eps)


def empirical_ntk(
    model: nn.Module,
    points: Tensor,
    *,
    params: Mapping[str, Tensor] | None = None,
    targets: Tensor | None = None,
    pointwise: bool = True,
    chunk: int = 256,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """K = J Jᵀ for the network's outputs at ``points`` ``(n, d)``.

    Args:
        model: the network ``(n, d) -> (n,)`` or ``(n, c)`` (rows are (point,
            component) pairs for several components).
        points: where to evaluate.
        params: θ (default: the model's current parameters).
        targets: values to compare with; the ``error`` variable is then
            f(x) − target (else f(x)), which :func:`ntk_projection` projects.
        pointwise: each output row depends only on its own point (true for MLPs
            and hard-constraint transforms): one Jacobian per point, O(n·P).
            False uses the stacked outputs, O(n²·P).
        chunk: points (or rows) per vmap call.
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset with ``K`` over ``("i", "j")``, ``eigenvalue`` over ``mode``
        (descending), ``error`` over ``i``, ``trace`` and ``condition``.
    """
    n = points.shape[0]
    check_limits("empirical_ntk", LIMITS, points=n, chunk=chunk)
    job = Job("empirical_ntk", progress, cancel)
    t0 = time.perf_counter()
    params = dict(params) if params is not None else parameters(model)
    spec = FlatSpec(params)
    call = functional(model)
    out = evaluate(call, params, model, points)
    rows = out.numel()
    check_limits("empirical_ntk", LIMITS, jacobian=rows * spec.numel)
    job.check(0.05)
    jac = None
    if pointwise:
        single = lambda p, x: call(p, model, x[None]).reshape(-1)  # noqa: E731
        try:
            with torch.no_grad():
                per = vmap(jacrev(single), in_dims=(None, 0), chunk_size=chunk)(
                    params, points
                )
            jac = _flat_rows(per, rows)  # (n, c, *shape) -> (n·c, P)
        except RuntimeError:
            jac = None
    if jac is None:
        jac = _jacobian(
            lambda p: call(p, model, points).reshape(-1), params, rows, chunk
        )
    job.check(0.8)
    j64 = jac.double()
    k = j64 @ j64.T
    values, cond, rank = _spectrum(k, _eps(params))
    job.check(1.0)
    err = out.reshape(-1)
    if targets is not None:
        err = err - targets.reshape(-1).to(err)
    data = {
        "K": (("i", "j"), k.cpu().numpy()),
        "eigenvalue": ("mode", values),
        "error": ("i", err.double().cpu().numpy()),
        "trace": ((), float(k.trace())),
        "condition": ((), cond),
    }
    attrs = {
        "diagnostic": "empirical_ntk",
        "points": n,
        "rank": rank,
        "n_params": spec.numel,
        "pointwise": int(pointwise),
        "seconds": time.perf_counter() - t0,
    }
    return xr.Dataset(data, attrs=attrs)


def _strided(x: Tensor, n: int) -> Tensor:
    # An evenly spread subset: collocation sets are random or low-discrepancy, and
    # grids are ordered, so striding keeps the subset representative of either.
    if x.shape[0] <= n:
        return x
    index = torch.div(torch.arange(n) * x.shape[0], n, rounding_mode="floor").to(
        x.device
    )
    return x[index]


def _subset(batch: Collocation, n_residual: int, n_boundary: int) -> Collocation:
    sets = {}
    for f in fields(Collocation):
        x = getattr(batch, f.name)
        sets[f.name] = _strided(x, n_residual if f.name == "interior" else n_boundary)
    return Collocation(**sets)


def _residual_jacobian(
    loss: PINNLoss,
    sub: Collocation,
    params: Mapping[str, Tensor],
    chunk: int,
    job: Job,
) -> Tensor:
    """∂r/∂θ ``(n, P)``, ``chunk`` interior points at a time.

    A residual row depends on its own point only (its derivative jet; global
    quantities such as deflation coefficients do not depend on the points), so
    the Jacobian of a chunk of points is the chunk's rows: the cost falls from
    O(n²P) for the stacked residual to O(n·chunk·P).
    """
    interior = sub.interior
    n = interior.shape[0]
    rows = []
    for start in range(0, n, chunk):
        job.check(0.5 + 0.4 * start / n)
        part = pinn_pointwise(
            loss, sub.replace(interior=interior[start : start + chunk])
        )
        m = min(chunk, n - start)
        rows.append(
            _jacobian(
                lambda p, part=part: part(p)["residual"].reshape(-1),
                params,
                m * _components(loss),
                chunk * _components(loss),
            )
        )
    return torch.cat(rows).double()


def _components(loss: PINNLoss) -> int:
    return int(loss.problem.components)


def pinn_ntk(
    loss: PINNLoss,
    batch: Collocation,
    *,
    params: Mapping[str, Tensor] | None = None,
    n_residual: int = 256,
    n_boundary: int = 64,
    chunk: int = 64,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """The PINN's NTK blocks K_uu, K_ur, K_rr on a subset of ``batch``.

    Args:
        loss, batch: the PINN loss and its points.
        params: θ (default: the network's current parameters).
        n_residual: interior points used (an evenly strided subset).
        n_boundary: points used from each other set (initial, boundary, periodic).
        chunk: Jacobian rows per vmap call (memory ∝ chunk × points × width).
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset with ``K_uu`` ``(i_u, j_u)``, ``K_ur`` ``(i_u, j_r)``, ``K_rr``
        ``(i_r, j_r)``; eigenvalues ``eigenvalue_uu``, ``eigenvalue_rr`` and of the
        whole kernel ``eigenvalue``; ``trace_uu``, ``trace_rr``, ``condition_uu``,
        ``condition_rr``, ``condition``; the errors ``error_u``, ``error_r``; the
        coordinate ``term`` names each u row's loss term.
    """
    check_limits(
        "pinn_ntk", LIMITS, n_residual=n_residual, n_boundary=n_boundary, chunk=chunk
    )
    job = Job("pinn_ntk", progress, cancel)
    t0 = time.perf_counter()
    params = dict(params) if params is not None else parameters(loss.pinn)
    spec = FlatSpec(params)
    sub = _subset(batch, n_residual, n_boundary)
    pointwise = pinn_pointwise(loss, sub)
    errors = {k: v.reshape(-1) for k, v in evaluate(pointwise, params).items()}
    total = sum(v.numel() for v in errors.values())
    check_limits("pinn_ntk", LIMITS, jacobian=total * spec.numel)
    jacs, terms = {}, []
    for i, (name, e) in enumerate(errors.items()):
        job.check(0.05 + 0.45 * i / len(errors))
        if name == "residual":
            continue
        jacs[name] = _jacobian(
            lambda p, name=name: pointwise(p)[name].reshape(-1),
            params,
            e.numel(),
            chunk,
            autograd=name in pointwise.reverse_terms,
        ).double()
        terms += [name] * e.numel()
    if "residual" in errors:
        jacs["residual"] = _residual_jacobian(loss, sub, params, chunk, job)
    job.check(0.9)
    if "residual" not in jacs or not terms:
        raise ValueError(
            f"pinn_ntk needs a residual and at least one boundary/initial term; the "
            f"loss has {tuple(errors)} (hard constraints leave only the residual: "
            "use empirical_ntk for the network alone)"
        )
    ju = torch.cat([jacs[k] for k in errors if k != "residual"])
    jr = jacs["residual"]
    kuu, kur, krr = ju @ ju.T, ju @ jr.T, jr @ jr.T
    eps = _eps(params)
    eu, cu, _ = _spectrum(kuu, eps)
    er, cr, _ = _spectrum(krr, eps)
    full = torch.cat([torch.cat([kuu, kur], 1), torch.cat([kur.T, krr], 1)])
    ev, cond, rank = _spectrum(full, eps)
    job.check(1.0)
    eu_vec = torch.cat([errors[k] for k in errors if k != "residual"])
    data = {
        "K_uu": (("i_u", "j_u"), kuu.cpu().numpy()),
        "K_ur": (("i_u", "j_r"), kur.cpu().numpy()),
        "K_rr": (("i_r", "j_r"), krr.cpu().numpy()),
        "eigenvalue_uu": ("mode_u", eu),
        "eigenvalue_rr": ("mode_r", er),
        "eigenvalue": ("mode", ev),
        "trace_uu": ((), float(kuu.trace())),
        "trace_rr": ((), float(krr.trace())),
        "condition_uu": ((), cu),
        "condition_rr": ((), cr),
        "condition": ((), cond),
        "error_u": ("i_u", eu_vec.double().cpu().numpy()),
        "error_r": ("i_r", errors["residual"].double().cpu().numpy()),
    }
    attrs = {
        "diagnostic": "pinn_ntk",
        "n_residual": int(jr.shape[0]),
        "n_boundary": n_boundary,
        "rank": rank,
        "n_params": spec.numel,
        "seconds": time.perf_counter() - t0,
    }
    return xr.Dataset(data, coords={"term": ("i_u", terms)}, attrs=attrs)


_KERNELS = ("K", "K_uu", "K_ur", "K_rr")


def ntk_change(before: xr.Dataset, after: xr.Dataset) -> xr.Dataset:
    """‖K_after − K_before‖_F / ‖K_before‖_F for each kernel block in both.

    Near 0 the network trains in the lazy (kernel) regime, where the NTK at
    initialisation predicts training; order 1 means feature learning (rich regime).
    Both datasets must come from the same points.
    """
    out = {}
    for name in _KERNELS:
        if name in before and name in after:
            a, b = before[name].values, after[name].values
            if a.shape != b.shape:
                raise ValueError(
                    f"ntk_change: {name} has shape {a.shape} before and {b.shape} "
                    "after; allowed: kernels on the same points"
                )
            out[f"change{name[1:]}" if name != "K" else "change"] = (
                (),
                float(np.linalg.norm(b - a) / max(np.linalg.norm(a), 1e-300)),
            )
    if not out:
        raise ValueError(
            "ntk_change needs two results of empirical_ntk or of pinn_ntk; "
            f"got variables {list(before.data_vars)} and {list(after.data_vars)}"
        )
    return xr.Dataset(out, attrs={"diagnostic": "ntk_change"})


def ntk_projection(ntk: xr.Dataset) -> xr.Dataset:
    """The errors e in the NTK's eigenbasis: cₖ = qₖᵀe with Kqₖ = λₖqₖ.

    Under gradient flow on ½‖e‖² each cₖ decays like exp(−λₖt): ``energy`` (cₖ²/‖e‖²)
    sitting on modes with small λₖ is what trains last. For a PINN kernel the whole
    K and e = (e_u, e_r) are used.

    Returns:
        Dataset over ``mode`` (λ descending): ``eigenvalue``, ``coefficient``,
        ``energy`` (fractions summing to 1) and ``cumulative_energy``.
    """
    if "K" in ntk:
        k, e = ntk["K"].values, ntk["error"].values
    elif "K_rr" in ntk:
        k = np.block(
            [
                [ntk["K_uu"].values, ntk["K_ur"].values],
                [ntk["K_ur"].values.T, ntk["K_rr"].values],
            ]
        )
        e = np.concatenate([ntk["error_u"].values, ntk["error_r"].values])
    else:
        raise ValueError(
            "ntk_projection needs a result of empirical_ntk or pinn_ntk; got "
            f"variables {list(ntk.data_vars)}"
        )
    values, vectors = np.linalg.eigh(k)
    values, vectors = values[::-1], vectors[:, ::-1]
    coef = vectors.T @ e
    energy = coef**2 / max(float(e @ e), 1e-300)
    data = {
        "eigenvalue": ("mode", values),
        "coefficient": ("mode", coef),
        "energy": ("mode", energy),
        "cumulative_energy": ("mode", np.cumsum(energy)),
    }
    return xr.Dataset(data, attrs={"diagnostic": "ntk_projection"})

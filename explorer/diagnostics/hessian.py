"""The loss Hessian H = ∇²L(θ): extreme eigenvalues, trace and spectral density,
for the whole loss or per PINN loss term, from Hessian-vector products
(:mod:`explorer.diagnostics.hessian_vector`).

Notes:
    Eigenvalues come from Lanczos with full reorthogonalisation
    (:mod:`explorer.diagnostics._lanczos`), stopped when the Ritz residual bound
    ‖Hy − θy‖ ≤ tol·|θ| holds for the wanted eigenvalues (an a-posteriori bound:
    some eigenvalue of H lies within it). The trace is Hutchinson's estimator with
    Rademacher probes z: tr H ≈ (1/N) Σ zᵀHz, standard error reported. The density
    is stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani, Krishnan &
    Xiao 2019) with Gaussian broadening σ.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from explorer._threads import one_thread
from explorer.data import Collocation
from explorer.diagnostics._functional import ParamsLoss, pinn_objective
from explorer.diagnostics._job import Cancel, Job, Progress, check_limits
from explorer.diagnostics._lanczos import lanczos, ritz
from explorer.diagnostics.hessian_vector import HessianOperator, Mode
from explorer.losses import PINNLoss

__all__ = [
    "LIMITS",
    "eigenvalues_of",
    "hessian_by_term",
    "hessian_density",
    "hessian_eigenvalues",
    "hessian_trace",
    "trace_of",
]

Which = Literal["largest", "smallest", "magnitude"]

#: Allowed ranges of the Hessian settings (read by the state layer).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "k": (1, 20),  # eigenvalues wanted
        "max_iter": (2, 500),  # Lanczos steps
        "tol": (1e-14, 0.5),  # relative Ritz residual
        "probes": (1, 1000),  # Hutchinson probes
        "slq_probes": (1, 32),  # SLQ runs
        "steps": (2, 300),  # SLQ Lanczos steps
        "bins": (16, 4096),  # density grid
        "broadening": (1e-6, 0.5),  # σ relative to the spectrum's width
        "chunk": (1, 1024),  # products per vmap call
        "basis": (1, 50_000_000),  # Lanczos basis entries: runs × steps × P
    }
)


def _generator(seed: int, generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(seed)


def _pick(values: np.ndarray, k: int, which: Which) -> np.ndarray:
    if which == "largest":
        order = np.argsort(-values)
    elif which == "smallest":
        order = np.argsort(values)
    elif which == "magnitude":
        order = np.argsort(-np.abs(values))
    else:
        raise ValueError(
            f"which = {which!r} is not allowed; allowed: largest, smallest, magnitude"
        )
    return order[:k]


@one_thread()  # small ops: see explorer._threads
def hessian_eigenvalues(
    loss_fn: ParamsLoss,
    params: Mapping[str, Tensor],
    *,
    k: int = 1,
    which: Which = "largest",
    tol: float = 1e-4,
    max_iter: int = 60,
    mode: Mode = "reverse",
    seed: int = 0,
    generator: torch.Generator | None = None,
    vectors: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """The ``k`` extreme eigenvalues of H by Lanczos with full reorthogonalisation.

    Args:
        loss_fn, params: the loss and the point θ.
        k: how many eigenvalues.
        which: ``"largest"`` (algebraic; λ_max first), ``"smallest"`` or
            ``"magnitude"``.
        tol: stop when each wanted Ritz value θ has residual ≤ tol·|θ|.
        max_iter: at most this many Hessian-vector products (and at most P).
        mode: Hessian-vector product mode.
        seed, generator: the random start vector.
        vectors: also return the Ritz vectors (``eigenvector`` over
            ``("mode", "param")``).
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset with ``eigenvalue`` and ``residual`` (the bound ‖Hy − θy‖) over
        ``mode``; attrs: ``iterations`` (= products), ``converged``.
    """
    check_limits("hessian_eigenvalues", LIMITS, k=k, tol=tol, max_iter=max_iter)
    job = Job("hessian_eigenvalues", progress, cancel)
    op = HessianOperator(loss_fn, params, mode=mode)
    g = _generator(seed, generator)
    return eigenvalues_of(
        op,
        k=k,
        which=which,
        tol=tol,
        max_iter=max_iter,
        generator=g,
        vectors=vectors,
        job=job,
        seed=seed,
    )


def eigenvalues_of(
    op: HessianOperator,
    *,
    k: int,
    which: Which,
    tol: float,
    max_iter: int,
    generator: torch.Generator,
    vectors: bool,
    job: Job,
    seed: int,
) -> xr.Dataset:
    """:func:`hessian_eigenvalues` for an existing operator (arguments checked)."""
    t0 = time.perf_counter()
    check_limits("hessian_eigenvalues", LIMITS, basis=max_iter * op.dim)
    g = generator
    start = torch.randn(1, op.dim, generator=g, dtype=torch.float64)
    k = min(k, op.dim)

    def stop(alpha: np.ndarray, beta: np.ndarray, last: float) -> bool:
        if alpha.shape[0] < k:
            return False
        values, vecs = ritz(alpha, beta)
        pick = _pick(values, k, which)
        res = abs(last) * np.abs(vecs[-1, pick])
        return bool(np.all(res <= tol * np.maximum(np.abs(values[pick]), 1e-300)))

    matmat = lambda v: op.matmat(v).double()  # noqa: E731
    alpha, beta, last, basis = lanczos(
        matmat, start, max_iter, generator=g, job=job, stop=stop
    )
    values, vecs = ritz(alpha[0], beta[0])
    pick = _pick(values, k, which)
    res = np.abs(last[0]) * np.abs(vecs[-1, pick])
    data = {"eigenvalue": ("mode", values[pick]), "residual": ("mode", res)}
    if vectors:
        y = torch.from_numpy(vecs[:, pick]).T @ basis[0]  # (k, P)
        data["eigenvector"] = (("mode", "param"), y.cpu().numpy())
    converged = bool(np.all(res <= tol * np.maximum(np.abs(values[pick]), 1e-300)))
    attrs = {
        "diagnostic": "hessian_eigenvalues",
        "which": which,
        "tol": tol,
        "max_iter": max_iter,
        "iterations": int(alpha.shape[1]),
        "converged": int(converged),
        "mode": op.mode,
        **({"fallback": op.fallback} if op.fallback else {}),
        "seed": seed,
        "n_params": op.dim,
        "seconds": time.perf_counter() - t0,
    }
    return xr.Dataset(data, coords={"mode": np.arange(len(pick))}, attrs=attrs)


def rademacher(n: int, dim: int, generator: torch.Generator) -> Tensor:
    """``(n, dim)`` independent ±1 entries, float64."""
    bits = torch.randint(0, 2, (n, dim), generator=generator)
    return (2 * bits - 1).double()


@one_thread()  # small ops: see explorer._threads
def hessian_trace(
    loss_fn: ParamsLoss,
    params: Mapping[str, Tensor],
    *,
    probes: int = 32,
    mode: Mode = "reverse",
    chunk: int = 8,
    seed: int = 0,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """Hutchinson's estimate tr H ≈ (1/N) Σᵢ zᵢᵀHzᵢ with Rademacher probes zᵢ.

    Args:
        loss_fn, params: the loss and the point θ.
        probes: N; the standard error falls as 1/√N.
        mode: Hessian-vector product mode.
        chunk: probes per batched (vmap) product.
        seed, generator: the probes' random source.
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset: ``trace`` and ``stderr`` (scalars), ``sample`` (zᵢᵀHzᵢ) and
        ``running_mean`` over ``probe``.
    """
    check_limits("hessian_trace", LIMITS, probes=probes, chunk=chunk)
    job = Job("hessian_trace", progress, cancel)
    op = HessianOperator(loss_fn, params, mode=mode, chunk=chunk)
    g = _generator(seed, generator)
    return trace_of(op, probes=probes, generator=g, job=job, seed=seed)


def trace_of(
    op: HessianOperator,
    *,
    probes: int,
    generator: torch.Generator,
    job: Job,
    seed: int,
) -> xr.Dataset:
    """:func:`hessian_trace` for an existing operator (arguments checked)."""
    t0 = time.perf_counter()
    chunk = op.chunk
    z = rademacher(probes, op.dim, generator)
    samples = []
    for i in range(0, probes, chunk):
        job.check(i / probes)
        block = z[i : i + chunk]
        hz = op.matmat(block).double()
        samples.append((block * hz).sum(1))
    job.check(1.0)
    s = torch.cat(samples).cpu().numpy()
    stderr = float(s.std(ddof=1) / np.sqrt(probes)) if probes > 1 else float("nan")
    data = {
        "trace": ((), float(s.mean())),
        "stderr": ((), stderr),
        "sample": ("probe", s),
        "running_mean": ("probe", np.cumsum(s) / np.arange(1, probes + 1)),
    }
    attrs = {
        "diagnostic": "hessian_trace",
        "probes": probes,
        "mode": op.mode,
        **({"fallback": op.fallback} if op.fallback else {}),
        "seed": seed,
        "n_params": op.dim,
        "seconds": time.perf_counter() - t0,
    }
    return xr.Dataset(data, coords={"probe": np.arange(probes)}, attrs=attrs)


@one_thread()  # small ops: see explorer._threads
def hessian_density(
    loss_fn: ParamsLoss,
    params: Mapping[str, Tensor],
    *,
    steps: int = 40,
    probes: int = 1,
    bins: int = 512,
    broadening: float = 0.01,
    mode: Mode = "reverse",
    seed: int = 0,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """The spectral density of H by stochastic Lanczos quadrature.

    φ(λ) = (1/n_v) Σₗ Σⱼ τⱼˡ g_σ(λ − θⱼˡ): for each normalised Rademacher probe l,
    ``steps`` Lanczos steps give nodes θⱼ (Ritz values) and weights τⱼ (squared first
    components of T's eigenvectors, Σⱼ τⱼ = 1); g_σ is a Gaussian of width
    σ = broadening × (θ_max − θ_min).

    Args:
        loss_fn, params: the loss and the point θ.
        steps: Lanczos steps per probe (= products per probe).
        probes: independent runs, batched into one product per step.
        bins: points of the λ grid (it spans the nodes ± 4σ).
        broadening: σ relative to the spread of the nodes.
        mode, seed, generator, progress, cancel: as for :func:`hessian_trace`.

    Returns:
        Dataset with ``density`` over ``eigenvalue`` (integrates to 1), and the
        quadrature nodes ``ritz_value`` and weights ``ritz_weight`` over
        ``("probe", "node")``; attrs hold σ and the trace estimate
        P·mean(Σⱼ τⱼθⱼ).
    """
    check_limits(
        "hessian_density",
        LIMITS,
        steps=steps,
        slq_probes=probes,
        bins=bins,
        broadening=broadening,
    )
    job = Job("hessian_density", progress, cancel)
    t0 = time.perf_counter()
    op = HessianOperator(loss_fn, params, mode=mode)
    check_limits("hessian_density", LIMITS, basis=probes * steps * op.dim)
    g = _generator(seed, generator)
    start = rademacher(probes, op.dim, g)
    matmat = lambda v: op.matmat(v).double()  # noqa: E731
    alpha, beta, _, _ = lanczos(matmat, start, steps, generator=g, job=job)
    m = alpha.shape[1]
    nodes = np.empty((probes, m))
    weights = np.empty((probes, m))
    for i in range(probes):
        values, vecs = ritz(alpha[i], beta[i])
        nodes[i], weights[i] = values, vecs[0] ** 2
    lo, hi = float(nodes.min()), float(nodes.max())
    sigma = broadening * max(hi - lo, 1e-12 * max(abs(lo), abs(hi), 1.0))
    grid = np.linspace(lo - 4 * sigma, hi + 4 * sigma, bins)
    kernel = np.exp(-0.5 * ((grid[:, None] - nodes.ravel()[None]) / sigma) ** 2)
    kernel /= sigma * np.sqrt(2 * np.pi)
    density = kernel @ weights.ravel() / probes
    data = {
        "density": ("eigenvalue", density),
        "ritz_value": (("probe", "node"), nodes),
        "ritz_weight": (("probe", "node"), weights),
    }
    attrs = {
        "diagnostic": "hessian_density",
        "steps": steps,
        "probes": probes,
        "sigma": sigma,
        "broadening": broadening,
        "trace_estimate": float(op.dim * (nodes * weights).sum(1).mean()),
        "mode": op.mode,
        **({"fallback": op.fallback} if op.fallback else {}),
        "seed": seed,
        "n_params": op.dim,
        "seconds": time.perf_counter() - t0,
    }
    coords = {"eigenvalue": grid, "probe": np.arange(probes), "node": np.arange(m)}
    return xr.Dataset(data, coords=coords, attrs=attrs)


@one_thread()  # small ops: see explorer._threads
def hessian_by_term(
    loss: PINNLoss,
    batch: Collocation,
    params: Mapping[str, Tensor],
    *,
    weights: Mapping[str, float] | None = None,
    k: int = 1,
    probes: int = 16,
    tol: float = 1e-3,
    max_iter: int = 40,
    mode: Mode = "reverse",
    seed: int = 0,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """Top eigenvalues and trace of the Hessian of each weighted PINN term wₖLₖ,
    and of their sum, on fixed points.

    Terms differ by orders of magnitude in curvature (the residual's Hessian often
    dwarfs the boundary term's; Wang, Teng & Perdikaris 2021), which is what
    adaptive weights try to balance.

    Args:
        loss, batch: the PINN loss and its points.
        params: θ (e.g. :func:`~explorer.diagnostics.parameters` of ``loss.pinn``).
        weights: term weights (default 1 each).
        k, tol, max_iter: as for :func:`hessian_eigenvalues` (largest first).
        probes: Hutchinson probes per term.
        mode, seed, progress, cancel: as for :func:`hessian_trace`.

    Returns:
        Dataset over ``term`` (each loss term, then ``"total"``): ``eigenvalue``
        ``(term, mode)``, ``trace`` and ``trace_stderr``.
    """
    full = pinn_objective(loss, batch, weights=weights, split=True)
    with torch.no_grad():
        names = [n.removeprefix("loss_") for n in full(params) if n != "loss"]
    job = Job("hessian_by_term", progress, cancel)
    rows: dict[str, tuple[np.ndarray, float, float]] = {}
    entries: list[tuple[str, Callable]] = [
        (n, pinn_objective(loss, batch, weights=weights, terms=(n,))) for n in names
    ]
    entries.append(("total", pinn_objective(loss, batch, weights=weights)))
    check_limits(
        "hessian_by_term", LIMITS, k=k, probes=probes, tol=tol, max_iter=max_iter
    )
    for i, (name, f) in enumerate(entries):
        job.check(i / len(entries))
        op = HessianOperator(f, params, mode=mode)
        quiet = Job("hessian_by_term", None, cancel)
        eig = eigenvalues_of(
            op,
            k=k,
            which="largest",
            tol=tol,
            max_iter=max_iter,
            generator=_generator(seed, None),
            vectors=False,
            job=quiet,
            seed=seed,
        )
        tr = trace_of(
            op, probes=probes, generator=_generator(seed, None), job=quiet, seed=seed
        )
        values = np.full(k, np.nan)
        values[: eig.sizes["mode"]] = eig.eigenvalue.values
        rows[name] = (values, float(tr.trace), float(tr.stderr))
    job.check(1.0)
    terms = list(rows)
    data = {
        "eigenvalue": (("term", "mode"), np.stack([rows[t][0] for t in terms])),
        "trace": ("term", np.array([rows[t][1] for t in terms])),
        "trace_stderr": ("term", np.array([rows[t][2] for t in terms])),
    }
    attrs = {
        "diagnostic": "hessian_by_term",
        "probes": probes,
        "tol": tol,
        "max_iter": max_iter,
        "seed": seed,
        "weights": [float((weights or {}).get(t, 1.0)) for t in terms[:-1]],
    }
    coords = {"term": terms, "mode": np.arange(k)}
    return xr.Dataset(data, coords=coords, attrs=attrs)

"""Sharpness during training: λ_max of the loss Hessian and its trace, beside 2/η.

Gradient descent with step η on a quadratic diverges along any direction whose
curvature exceeds 2/η. Full-batch training tends to raise λ_max until it reaches
2/η and then hovers there, the *edge of stability* (Cohen, Kaur, Li, Kolter &
Talwalkar 2021); for Adam the analogous threshold involves its preconditioner
(Cohen et al. 2022), so the ratio λ_max·η/2 is a guide, not a law, there.

These are plain functions: the state layer calls them from a trainer's event loop
every k steps, between optimiser steps, with the model and a ``ParamsLoss`` (e.g.
:func:`~explorer.diagnostics.pinn_objective` of the trainer's loss, points and
weights), and concatenates the one-step datasets along ``step``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType

import torch
import xarray as xr
from torch import nn

from explorer._threads import one_thread
from explorer.diagnostics._functional import ParamsLoss, parameters
from explorer.diagnostics._job import Cancel, Job, Progress, check_limits
from explorer.diagnostics.hessian import eigenvalues_of, trace_of
from explorer.diagnostics.hessian_vector import HessianOperator, Mode

__all__ = ["LIMITS", "sharpness"]

#: Allowed ranges of the sharpness settings (read by the state layer).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "max_iter": (2, 200),
        "tol": (1e-10, 0.5),
        "probes": (0, 256),
        "lr": (1e-12, 1e3),
    }
)


@one_thread()  # small ops: see explorer._threads
def sharpness(
    model: nn.Module,
    loss_fn: ParamsLoss,
    *,
    lr: float | None = None,
    step: int | None = None,
    max_iter: int = 20,
    tol: float = 1e-3,
    probes: int = 8,
    mode: Mode = "reverse",
    seed: int = 0,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """λ_max(∇²L) by Lanczos and tr(∇²L) by Hutchinson at the model's current θ.

    Args:
        model: the network (its parameters are read, never changed).
        loss_fn: params -> loss.
        lr: the optimiser's learning rate η: adds ``two_over_lr`` = 2/η and
            ``ratio`` = λ_max η / 2 (1 is the edge of stability).
        step: the training step, stored as a scalar ``step`` coordinate so that
            results concatenate with ``xr.concat(results, "step")``.
        max_iter, tol: Lanczos budget and relative Ritz residual (about 20
            Hessian-vector products for 1e-3 on the Burgers PINN).
        probes: Hutchinson probes (0 skips the trace).
        mode, seed: as for :func:`~explorer.diagnostics.hessian_trace`.
        progress, cancel: see :mod:`explorer.diagnostics`.

    Returns:
        Dataset of scalars: ``lambda_max``, ``lambda_residual``, ``trace``,
        ``trace_stderr`` (NaN without probes), ``two_over_lr`` and ``ratio`` (NaN
        without ``lr``).
    """
    check_limits("sharpness", LIMITS, max_iter=max_iter, tol=tol, probes=probes)
    if lr is not None:
        check_limits("sharpness", LIMITS, lr=lr)
    t0 = time.perf_counter()
    params = parameters(model)
    split = 0.5 if probes else 1.0

    def part(lo: float, width: float) -> Progress | None:
        if progress is None:
            return None
        return lambda f: progress(lo + width * f)

    op = HessianOperator(loss_fn, params, mode=mode)
    eig = eigenvalues_of(
        op,
        k=1,
        which="largest",
        tol=tol,
        max_iter=max_iter,
        generator=torch.Generator().manual_seed(seed),
        vectors=False,
        job=Job("sharpness", part(0.0, split), cancel),
        seed=seed,
    )
    lam = float(eig.eigenvalue[0])
    trace = stderr = float("nan")
    if probes:
        tr = trace_of(
            op,
            probes=probes,
            generator=torch.Generator().manual_seed(seed),
            job=Job("sharpness", part(split, 1 - split), cancel),
            seed=seed,
        )
        trace, stderr = float(tr.trace), float(tr.stderr)
    two = 2.0 / lr if lr is not None else float("nan")
    data = {
        "lambda_max": lam,
        "lambda_residual": float(eig.residual[0]),
        "trace": trace,
        "trace_stderr": stderr,
        "two_over_lr": two,
        "ratio": lam / two if lr is not None else float("nan"),
    }
    attrs = {
        "diagnostic": "sharpness",
        "iterations": eig.attrs["iterations"],
        "converged": eig.attrs["converged"],
        "probes": probes,
        "mode": eig.attrs["mode"],
        "seconds": time.perf_counter() - t0,
    }
    coords = {"step": step} if step is not None else {}
    return xr.Dataset({k: ((), v) for k, v in data.items()}, coords=coords, attrs=attrs)

"""Residual-based adaptive collocation: RAR-G refinement and RAD resampling.

Both follow Wu, Zhu, Tan, Kartha & Lu (2023), "A comprehensive study of
non-adaptive and residual-based adaptive sampling for physics-informed neural
networks", CMAME 403, 115671. Points go where the PDE residual is large:

- RAR-G (greedy residual-based adaptive refinement; Lu et al. 2021) keeps the current
  points and appends the candidates with the largest residual.
- RAD (residual-based adaptive distribution) replaces the points by a sample from the
  density ``p(x) ∝ |r(x)|^k / E[|r|^k] + c``; ``k = 0`` or large ``c`` is uniform,
  ``c = 0`` with large ``k`` chases the largest residuals. Wu et al. recommend
  ``k = 1, c = 1`` as a robust default.

``residual_fn`` is the caller's: the loss binds the model to the problem and passes
``lambda xt: problem.residual(model_field, xt)``. It is evaluated with gradients
enabled (residuals need input derivatives), and only its detached magnitude is kept,
so no graph survives the call and no ``.grad`` is set on anything.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from explorer.data.sampling import sample_points
from explorer.domains import Box

__all__ = ["rad_resample", "rar_refine", "residual_magnitude"]

ResidualFn = Callable[[Tensor], Tensor]


def residual_magnitude(residual_fn: ResidualFn, points: Tensor) -> Tensor:
    """``|r|`` at each point, ``(n,)``, detached; the norm over components if any.

    Args:
        residual_fn: ``(n, d) -> (n,)`` or ``(n, c)``, real or complex.
        points: ``(n, d)``.

    Cost: one residual evaluation on ``n`` points (with its input derivatives).
    """
    with torch.enable_grad():
        r = residual_fn(points)
    r = r.detach()
    if r.shape[0] != points.shape[0]:
        raise ValueError(
            f"residual_fn returned shape {tuple(r.shape)} for {points.shape[0]} "
            "points; expected (n,) or (n, c)"
        )
    return torch.linalg.vector_norm(r.reshape(r.shape[0], -1), dim=1)


def _candidates(
    box: Box, n: int, like: Tensor | None, generator: torch.Generator
) -> Tensor:
    dtype = like.dtype if like is not None else torch.float64
    device = like.device if like is not None else generator.device
    return sample_points(
        box, n, "uniform", generator=generator, dtype=dtype, device=device
    )


def _check_counts(n_candidates: int, n: int, what: str) -> None:
    if n_candidates < 1:
        raise ValueError(f"n_candidates = {n_candidates} must be at least 1")
    if not 0 <= n <= n_candidates:
        raise ValueError(
            f"{what} = {n} is out of range; allowed: 0 to n_candidates ({n_candidates})"
        )


def rar_refine(
    points: Tensor,
    residual_fn: ResidualFn,
    box: Box,
    *,
    n_candidates: int,
    n_add: int,
    generator: torch.Generator,
) -> Tensor:
    """RAR-G: append the ``n_add`` uniform candidates with the largest |r|.

    Args:
        points: current collocation points, ``(n, d)``; they are kept, first.
        residual_fn: ``(m, d) -> (m,)`` or ``(m, c)``; vector residuals are ranked
            by their Euclidean norm over components.
        box: the domain candidates are drawn from.
        n_candidates: size of the uniform candidate pool; much larger than
            ``n_add``, since the pool sets how finely the residual's peaks are found.
        n_add: points to append (0 to ``n_candidates``).
        generator: the only source of randomness.

    Returns:
        ``(n + n_add, d)`` detached points with the dtype and device of ``points``.

    Cost: one residual evaluation on ``n_candidates`` points, plus a top-k.
    """
    _check_counts(n_candidates, n_add, "n_add")
    cand = _candidates(box, n_candidates, points, generator)
    mag = residual_magnitude(residual_fn, cand)
    idx = torch.topk(mag, n_add).indices
    return torch.cat([points.detach(), cand[idx]])


def rad_resample(
    residual_fn: ResidualFn,
    box: Box,
    *,
    n: int,
    n_candidates: int,
    k: float = 1.0,
    c: float = 1.0,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """RAD: ``n`` points drawn without replacement with ``p ∝ |r|^k / mean|r|^k + c``.

    Args:
        residual_fn: ``(m, d) -> (m,)`` or ``(m, c)``; vector residuals use the
            Euclidean norm over components.
        box: the domain candidates are drawn from (uniformly).
        n: points to return (0 to ``n_candidates``).
        n_candidates: size of the candidate pool; the sample approximates the
            density only while ``n`` is well below it.
        k: exponent (≥ 0); 0 gives uniform sampling.
        c: uniform floor (≥ 0), relative to the mean weight; keeps every region
            represented.
        generator: the only source of randomness.
        dtype, device: of the result (and of the candidates fed to ``residual_fn``).

    Returns:
        ``(n, d)`` detached points.

    Cost: one residual evaluation on ``n_candidates`` points, plus an
    O(n_candidates) multinomial draw.
    """
    _check_counts(n_candidates, n, "n")
    if not k >= 0:
        raise ValueError(f"k = {k!r} is out of range; allowed: k >= 0")
    if not c >= 0:
        raise ValueError(f"c = {c!r} is out of range; allowed: c >= 0")
    cand = sample_points(
        box, n_candidates, "uniform", generator=generator, dtype=dtype, device=device
    )
    if n == 0:
        return cand[:0]
    w = residual_magnitude(residual_fn, cand).to(torch.float64) ** k
    mean = w.mean()
    # A zero residual everywhere (or c = 0 with it) leaves no density: fall back to
    # uniform rather than divide by zero.
    w = w / mean if mean > 0 else torch.zeros_like(w)
    p = w + c
    if not p.sum() > 0:
        p = torch.ones_like(p)
    idx = torch.multinomial(
        p.to(generator.device), n, replacement=False, generator=generator
    )
    return cand[idx.to(cand.device)]

"""Lanczos tridiagonalisation with full reorthogonalisation, batched over start vectors.

For a symmetric operator H and a unit start vector q₁, m steps build an orthonormal
Krylov basis Q = [q₁ … q_m] and the tridiagonal T = QᵀHQ (diagonal α, off-diagonal
β). The eigenvalues of T (Ritz values) approximate H's extreme eigenvalues after a
few dozen steps, far fewer than power iteration needs when the top eigenvalues are
close; the Ritz residual ‖Hy − θy‖ = β_{m+1}|s_m| is known without another product.
With the first components s₁ⱼ of T's eigenvectors, (θⱼ, s₁ⱼ²) is the Gauss
quadrature of the spectral measure of H seen from q₁ (stochastic Lanczos
quadrature, Ubaru, Chen & Saad 2017).

Every new vector is orthogonalised against all previous ones twice ("twice is
enough", Parlett), in float64, so no ghost copies of converged eigenvalues appear.
Several independent start vectors run together: each product is one batched call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from torch import Tensor

from explorer.diagnostics._job import Job

__all__ = ["lanczos", "ritz"]

Stop = Callable[[np.ndarray, np.ndarray, np.ndarray], bool]


def lanczos(
    matmat: Callable[[Tensor], Tensor],
    start: Tensor,
    steps: int,
    *,
    generator: torch.Generator,
    job: Job,
    stop: Stop | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Tensor]:
    """Run up to ``steps`` Lanczos steps from each row of ``start`` ``(r, P)``.

    Args:
        matmat: ``(r, P) -> (r, P)``, the operator applied to each row (float64).
        start: start vectors (normalised here).
        steps: at most this many steps (and at most P).
        generator: draws a fresh direction when a run breaks down (β ≈ 0: an
            invariant subspace was found); that β is recorded as 0.
        job: progress and cancellation, checked every step.
        stop: ``stop(alpha, beta, last)`` after each step (arrays for the first
            row: diagonal ``(j,)``, off-diagonal ``(j−1,)``, the next β); True ends
            the iteration early.

    Returns:
        Diagonals α ``(r, m)``, off-diagonals β ``(r, m−1)``, the residual norms
        β_{m+1} ``(r,)`` and the basis Q ``(r, m, P)``.
    """
    r, p = start.shape
    steps = min(steps, p)
    basis = torch.zeros(r, steps, p, dtype=torch.float64, device=start.device)
    q = start.double()
    q = q / q.norm(dim=1, keepdim=True)
    basis[:, 0] = q
    alphas: list[Tensor] = []
    betas: list[Tensor] = []
    prev = torch.zeros_like(q)
    beta = torch.zeros(r, dtype=torch.float64, device=start.device)
    scale = 0.0
    for j in range(steps):
        job.check(j / steps)
        w = matmat(q)
        a = (w * q).sum(1)
        w = w - a[:, None] * q - beta[:, None] * prev
        done = basis[:, : j + 1]
        for _ in range(2):
            w = w - torch.einsum(
                "rj,rjp->rp", torch.einsum("rjp,rp->rj", done, w), done
            )
        beta = w.norm(dim=1)
        alphas.append(a)
        scale = max(scale, float(a.abs().max()), float(beta.max()))
        al = torch.stack(alphas, 1).cpu().numpy()
        be = torch.stack(betas, 1).cpu().numpy() if betas else np.zeros((r, 0))
        if j + 1 == steps or (stop is not None and stop(al[0], be[0], beta[0].item())):
            return al, be, beta.cpu().numpy(), basis[:, : j + 1]
        broke = beta <= 1e-10 * max(scale, 1e-300)
        if bool(broke.any()):
            fresh = torch.randn(
                int(broke.sum()), p, generator=generator, dtype=torch.float64
            ).to(w.device)
            sub = basis[broke, : j + 1]
            for _ in range(2):
                coef = torch.einsum("rjp,rp->rj", sub, fresh)
                fresh = fresh - torch.einsum("rj,rjp->rp", coef, sub)
            w[broke] = fresh
            beta = torch.where(broke, torch.zeros_like(beta), beta)
        norm = w.norm(dim=1, keepdim=True)
        prev, q = q, w / norm
        basis[:, j + 1] = q
        betas.append(beta)
    raise AssertionError("unreachable")  # the loop returns at j + 1 == steps


def ritz(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the tridiagonal T(α, β)."""
    if alpha.shape[0] == 1:
        return alpha.copy(), np.ones((1, 1))
    return eigh_tridiagonal(alpha, beta)

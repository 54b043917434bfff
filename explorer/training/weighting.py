"""Adaptive loss-term weights from gradient norms or NTK traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["grad_norms", "gradnorm_weights", "ntk_trace", "ntk_weights", "smooth"]


def grad_norms(
    terms: Mapping[str, Tensor], params: Sequence[nn.Parameter]
) -> dict[str, float]:
    """‖∇θ Lᵢ‖₂ per term (one backward per term; the graphs are kept).

    Parameters a term does not reach count as zero gradient.
    """
    out = {}
    for name, value in terms.items():
        grads = torch.autograd.grad(
            value, params, retain_graph=True, allow_unused=True, materialize_grads=True
        )
        out[name] = float(torch.sqrt(sum(g.square().sum() for g in grads)))
    return out


def gradnorm_weights(norms: Mapping[str, float]) -> dict[str, float]:
    """λ̂ᵢ = Σⱼ‖∇Lⱼ‖ / ‖∇Lᵢ‖: afterwards λ̂ᵢ‖∇Lᵢ‖ is the same for every term."""
    total = sum(norms.values())
    return {k: total / max(v, 1e-30) for k, v in norms.items()}


def ntk_trace(values: Tensor, params: Sequence[nn.Parameter]) -> float:
    """tr K for one term: Σₚ ‖∂fₚ/∂θ‖² over its pointwise values fₚ.

    Cost: one backward per point (callers pass a small subset, e.g. 64 points).
    """
    flat = values.reshape(-1)
    total = 0.0
    for k in range(flat.shape[0]):
        grads = torch.autograd.grad(
            flat[k],
            params,
            retain_graph=True,
            allow_unused=True,
            materialize_grads=True,
        )
        total += float(sum(g.square().sum() for g in grads))
    return total / flat.shape[0]


def ntk_weights(traces: Mapping[str, float]) -> dict[str, float]:
    """λ̂ᵢ = Σⱼ tr Kⱼⱼ / tr Kᵢᵢ (Wang, Yu & Perdikaris 2022, Algorithm 1)."""
    total = sum(traces.values())
    return {k: total / max(v, 1e-30) for k, v in traces.items()}


def smooth(
    old: Mapping[str, float], new: Mapping[str, float], alpha: float
) -> dict[str, float]:
    """λ ← (1 − α) λ + α λ̂, term by term (new terms take λ̂ directly)."""
    return {
        k: (1 - alpha) * old[k] + alpha * v if k in old else v for k, v in new.items()
    }

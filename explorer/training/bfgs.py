"""Dense BFGS with self-scaling: the quasi-Newton method that takes PINNs furthest.

L-BFGS keeps a few curvature pairs; for the small networks of PINNs (a few thousand
weights) the whole n x n inverse-Hessian estimate fits in memory, and keeping it
pays: Urbán, Stefanou and Pons (2025, JCP) and Kiyani et al. (2025) reach errors
orders of magnitude below L-BFGS on Burgers and Allen-Cahn with it, more so when
the estimate is rescaled before each update (self-scaling: Oren and Luenberger 1974;
Al-Baali 1998). The loss landscapes of PINNs are badly conditioned, and the scaling
keeps the estimate's eigenvalues from lagging the true curvature by orders of
magnitude.

Written by hand because no maintained library has it for torch (torch ships
L-BFGS only; SciPy's BFGS is unscaled, numpy-only and updates in O(n³)); the line
search is torch's own strong-Wolfe search, the one its L-BFGS uses.

The update, with s = x₊ − x, y = g₊ − g, ρ = 1/yᵀs, b = −t·ρ·sᵀg (t the accepted
step length, so b = sᵀBs/yᵀs for the Hessian estimate B = H⁻¹):

    H ← H/τ;  H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ

with τ = min(1, 1/b) (Al-Baali), τ = 1/b (Oren-Luenberger) or τ = 1 (plain BFGS).
The first update starts from H = (yᵀs/yᵀy)·I (Nocedal and Wright, eq. 6.20).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import get_args

import torch
from torch import Tensor
from torch.nn.utils import parameters_to_vector
from torch.optim.lbfgs import _strong_wolfe

from explorer.training.config import BFGSScaling
from explorer.training.stops import (
    STOP_GRAD,
    STOP_LOSS,
    STOP_MAX_EVAL,
    STOP_MAX_ITER,
    STOP_NO_DESCENT,
    STOP_STEP,
)

__all__ = ["BFGS_MAX_PARAMS", "SelfScaledBFGS", "bfgs_update"]

#: The n x n estimate costs 8n² bytes in float64: 5000 weights are 200 MB.
BFGS_MAX_PARAMS = 5000


def bfgs_update(
    H: Tensor | None, s: Tensor, y: Tensor, g: Tensor, t: float, scaling: BFGSScaling
) -> Tensor | None:
    """The self-scaled BFGS update of the inverse-Hessian estimate, in place.

    Args:
        H: the estimate (n, n), or None before the first pair.
        s, y: the step x₊ − x and the gradient change g₊ − g.
        g: the gradient at the start of the step.
        t: the step length the line search accepted (s = t·d).
        scaling: see :class:`SelfScaledBFGS`.

    Returns:
        The updated estimate (``H`` itself when given). ``H`` is left as it is when
        yᵀs is not safely positive: that pair holds no curvature, and the update
        would lose positive definiteness.
    """
    ys, yy = float(y.dot(s)), float(y.dot(y))
    if not ys > 1e-12 * yy:
        return H
    rho = 1.0 / ys
    if H is None:  # the first pair sets the scale: H₀ = (yᵀs/yᵀy)·I
        H = torch.eye(s.numel(), dtype=s.dtype, device=s.device).mul_(ys / yy)
    elif scaling != "none":
        b = -t * rho * float(s.dot(g))
        if b > 0:
            tau = 1.0 / b if scaling == "oren-luenberger" else min(1.0, 1.0 / b)
            H.mul_(1.0 / tau)
    Hy = H.mv(y)
    yHy = float(y.dot(Hy))
    # (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ = H + u sᵀ + s uᵀ with u = −ρHy + ½ρ(1+ρyᵀHy)s:
    # two rank-one passes over H instead of two matrix products.
    u = Hy.mul(-rho).add_(s, alpha=0.5 * rho * (1.0 + rho * yHy))
    return H.addr_(u, s).addr_(s, u)


class SelfScaledBFGS(torch.optim.Optimizer):
    """Dense BFGS on the inverse Hessian, self-scaled, with a strong-Wolfe search.

    The interface is that of ``torch.optim.LBFGS``: ``step(closure)`` runs up to
    ``max_iter`` iterations (``max_eval`` closure calls) and returns the loss the
    step started from; the estimate carries over to the next call. After a call,
    ``last_iterations``, ``last_evaluations`` and ``last_stop_reason`` say what it
    did.

    Args:
        params: the tensors to optimise (at most :data:`BFGS_MAX_PARAMS` entries).
        lr: the line search's first trial step (1 is the quasi-Newton step).
        max_iter: iterations per ``step`` call.
        max_eval: closure calls per ``step`` call (default 1.25 x ``max_iter``).
        tolerance_grad: stop when max|g| falls to this.
        tolerance_change: stop when the loss change, the step, or the directional
            derivative falls below this.
        scaling: ``"al-baali"``, ``"oren-luenberger"`` or ``"none"`` (plain BFGS).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-9,
        tolerance_change: float = 1e-12,
        scaling: BFGSScaling = "al-baali",
    ) -> None:
        if scaling not in get_args(BFGSScaling):
            raise ValueError(
                f"scaling = {scaling!r} is not allowed; allowed: "
                f"{', '.join(repr(a) for a in get_args(BFGSScaling))}"
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            scaling=scaling,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("SelfScaledBFGS takes one parameter group")
        self._params: list[Tensor] = self.param_groups[0]["params"]
        n = sum(p.numel() for p in self._params)
        if n > BFGS_MAX_PARAMS:
            raise ValueError(
                f"BFGS keeps an n x n matrix; this model has n = {n} weights; "
                f"allowed: at most {BFGS_MAX_PARAMS} (use L-BFGS for larger models)"
            )
        self.last_iterations = 0
        self.last_evaluations = 0
        self.last_stop_reason: str | None = None

    # Flat views of the parameters and their gradients.
    def _flat_grad(self) -> Tensor:
        return torch.cat(
            [
                torch.zeros_like(p).reshape(-1)
                if p.grad is None
                else p.grad.reshape(-1)
                for p in self._params
            ]
        )

    def _assign(self, flat: Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.copy_(flat[offset : offset + n].view_as(p))
            offset += n

    def _evaluate(
        self, closure: Callable[[], Tensor], x: Tensor, t: float, d: Tensor
    ) -> tuple[float, Tensor]:
        self._assign(x + t * d)
        loss = float(closure())
        return loss, self._flat_grad()

    def reset(self) -> None:
        """Forget the curvature estimate (call when the objective changes)."""
        self.state.clear()

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor]) -> Tensor:  # type: ignore[override]
        """Up to ``max_iter`` iterations; returns the loss at the start."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        closure = torch.enable_grad()(closure)
        state = self.state[self._params[0]]
        orig_loss = closure()
        loss = float(orig_loss)
        g = self._flat_grad()
        evals, iters, reason = 1, 0, None
        if float(g.abs().max()) <= tol_grad:
            reason = STOP_GRAD
        x = parameters_to_vector(self._params)
        while reason is None:
            iters += 1
            H = state.get("H")
            d = g.neg() if H is None else H.mv(g).neg_()
            gtd = float(g.dot(d))
            if gtd > -tol_change:
                reason = STOP_NO_DESCENT
                break
            # Without an estimate the step is scaled as torch's L-BFGS scales its first.
            t = lr if H is not None else min(1.0, 1.0 / float(g.abs().sum())) * lr
            loss_new, g_new, t, ls_evals = _strong_wolfe(
                lambda x_, t_, d_: self._evaluate(closure, x_, t_, d_),
                x,
                t,
                d,
                loss,
                g,
                gtd,
            )
            s = d.mul(t)
            x = x + s
            self._assign(x)
            evals += ls_evals
            state["H"] = bfgs_update(H, s, g_new - g, g, t, group["scaling"])
            loss_prev, loss, g = loss, float(loss_new), g_new
            state["n_iter"] = state.get("n_iter", 0) + 1
            if iters >= max_iter:
                reason = STOP_MAX_ITER
            elif evals >= max_eval:
                reason = STOP_MAX_EVAL
            elif float(g.abs().max()) <= tol_grad:
                reason = STOP_GRAD
            elif float(s.abs().max()) <= tol_change:
                reason = STOP_STEP
            elif abs(loss - loss_prev) < tol_change:
                reason = STOP_LOSS
        state["func_evals"] = state.get("func_evals", 0) + evals
        self.last_iterations, self.last_evaluations = iters, evals
        self.last_stop_reason = reason
        return orig_loss

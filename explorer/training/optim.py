"""One optimisation step at a time: Adam(W) with a schedule, L-BFGS or BFGS, or Adam
then one of those.

:class:`Optimization` hides which optimiser runs: the caller passes the same closure
every step and gets a :class:`StepInfo` back. The Adam → quasi-Newton switch is data
(the step counter against ``OptimConfig.switch_step``), not a code path.

L-BFGS stop reasons. ``torch.optim.LBFGS.step`` returns without saying why it
stopped. We reproduce its termination checks, in its order, from what it leaves
behind: ``state`` (``n_iter``, ``func_evals``, ``d``, ``t``, ``prev_flat_grad``,
``prev_loss``) and the point its strong-Wolfe line search accepted. That point's
loss and gradient are not stored, so :class:`_TracedLBFGS` overrides only
``_directional_evaluate`` (the one function each line-search trial calls) to record
(t, loss, max|g|) per trial; the accepted trial is the one whose t equals
``state["t"]``, or the start of the iteration when t = 0. The algorithm and all its
numbers stay torch's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, final

import torch
from torch import Tensor

from explorer.training.bfgs import SelfScaledBFGS
from explorer.training.config import OptimConfig
from explorer.training.stops import (
    CONVERGED,
    QUASI_NEWTON,
    STOP_GRAD,
    STOP_LOSS,
    STOP_MAX_EVAL,
    STOP_MAX_ITER,
    STOP_NO_DESCENT,
    STOP_STEP,
)

__all__ = [
    "STOP_GRAD",
    "STOP_LOSS",
    "STOP_MAX_EVAL",
    "STOP_MAX_ITER",
    "STOP_NO_DESCENT",
    "STOP_STEP",
    "Optimization",
    "Phase",
    "StepInfo",
]

Phase = Literal["adam", "adamw", "lbfgs", "bfgs"]


@final
@dataclass(frozen=True)
class StepInfo:
    """What one outer step did.

    Attributes:
        step: index of this step (0-based).
        phase: the optimiser that ran it.
        lr: the learning rate it used (``lbfgs_lr`` for L-BFGS and BFGS).
        loss: the loss at the start of the step (the closure's first value).
        iterations: inner iterations (1 for Adam).
        evaluations: closure calls (1 for Adam; (L-)BFGS counts line-search trials).
        stop_reason: why (L-)BFGS returned (one of the ``STOP_*`` strings); None for
            Adam.
        converged: (L-)BFGS stopped on a tolerance rather than a budget. After
            ``STOP_GRAD`` or ``STOP_NO_DESCENT`` further steps change nothing; after
            ``STOP_LOSS`` or ``STOP_STEP`` they may still creep.
    """

    step: int
    phase: Phase
    lr: float
    loss: float
    iterations: int = 1
    evaluations: int = 1
    stop_reason: str | None = None
    converged: bool = False


class _TracedLBFGS(torch.optim.LBFGS):
    """torch's L-BFGS, recording the line-search trials of its last inner iteration."""

    def __init__(self, params: list[Tensor], **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._trials: list[tuple[float, float, Tensor]] = []
        self._trials_iter = -1

    def _global_state(self) -> dict[str, Any]:
        return self.state.get(self.param_groups[0]["params"][0], {})

    def step(self, closure: Callable[[], Tensor]) -> Tensor:  # type: ignore[override]
        """torch's step; then ``last_iterations``, ``last_evaluations`` and
        ``last_stop_reason`` say what it did, as :class:`SelfScaledBFGS`'s do."""
        state = self._global_state()
        n0, e0 = state.get("n_iter", 0), state.get("func_evals", 0)
        loss = super().step(closure)
        state = self._global_state()
        self.last_iterations = state["n_iter"] - n0
        self.last_evaluations = state["func_evals"] - e0
        self.last_stop_reason = self.stop_reason(
            self.last_iterations, self.last_evaluations
        )
        return loss

    def reset(self) -> None:
        """Forget the curvature pairs (call when the objective changes)."""
        self.state.clear()

    def _directional_evaluate(self, closure, x, t, d):  # type: ignore[no-untyped-def]
        loss, flat_grad = super()._directional_evaluate(closure, x, t, d)
        n_iter = self._global_state()["n_iter"]
        if n_iter != self._trials_iter:
            self._trials.clear()
            self._trials_iter = n_iter
        self._trials.append((float(t), loss, flat_grad.abs().max()))
        return loss, flat_grad

    def accepted(self) -> tuple[float, Tensor] | None:
        """Loss and max|g| at the point the latest line search accepted."""
        state = self._global_state()
        t = float(state["t"])
        if t == 0.0:  # the search fell back to the iteration's start point
            return state["prev_loss"], state["prev_flat_grad"].abs().max()
        if self._trials_iter == state["n_iter"]:
            for t_trial, loss, g_max in reversed(self._trials):
                if t_trial == t:
                    return loss, g_max
        return None

    def stop_reason(self, iterations: int, evaluations: int) -> str:
        """Replay the termination checks of ``LBFGS.step`` for its latest call."""
        group = self.param_groups[0]
        if iterations == 0:  # returned before iterating: gradient already tiny
            return STOP_GRAD
        state = self._global_state()
        d, t = state["d"], state["t"]
        tol_change = group["tolerance_change"]
        # prev_flat_grad is the gradient the last iteration started from, so this
        # is the directional derivative that iteration tested, bit for bit.
        if state["prev_flat_grad"].dot(d) > -tol_change:
            return STOP_NO_DESCENT
        if iterations == group["max_iter"]:
            return STOP_MAX_ITER
        if evaluations >= group["max_eval"]:
            return STOP_MAX_EVAL
        accepted = self.accepted()
        if accepted is not None and accepted[1] <= group["tolerance_grad"]:
            return STOP_GRAD
        if d.mul(t).abs().max() <= tol_change:
            return STOP_STEP
        if accepted is not None and abs(accepted[0] - state["prev_loss"]) < tol_change:
            return STOP_LOSS
        return "unknown (non-finite loss or gradient?)"


def _lr_factor(config: OptimConfig, horizon: int) -> Callable[[int], float]:
    rate, steps = config.decay_rate, config.decay_steps
    if config.schedule == "exponential":

        def factor(k: int) -> float:
            return rate ** (k / steps)

    elif config.schedule == "step":

        def factor(k: int) -> float:
            return rate ** (k // steps)

    elif config.schedule == "cosine":

        def factor(k: int) -> float:
            return 0.5 * (1.0 + math.cos(math.pi * min(k, horizon) / horizon))

    else:

        def factor(k: int) -> float:
            return 1.0

    return factor


@final
class Optimization:
    """The optimiser(s), schedule and step counter of one training run.

    Args:
        params: the tensors to optimise (leaf tensors with ``requires_grad``), on
            any device and dtype.
        config: which optimiser, schedule and tolerances.
        total_steps: planned outer steps; sets the cosine horizon.

    Example:
        >>> w = torch.tensor([3.0], requires_grad=True)
        >>> opt = Optimization([w], OptimConfig(lr=0.1), total_steps=100)
        >>> def closure():
        ...     w.grad = None
        ...     loss = (w**2).sum()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure).loss
        9.0
    """

    def __init__(
        self, params: Iterable[Tensor], config: OptimConfig, total_steps: int
    ) -> None:
        params = list(params)
        if not params or not all(
            isinstance(p, Tensor) and p.is_leaf and p.requires_grad for p in params
        ):
            raise ValueError(
                "Optimization params must be a non-empty list of leaf tensors with "
                "requires_grad=True (e.g. list(model.parameters()))"
            )
        if isinstance(total_steps, bool) or not (
            isinstance(total_steps, int) and total_steps >= 1
        ):
            raise ValueError(
                f"total_steps = {total_steps!r} is not allowed; allowed: an integer ≥ 1"
            )
        self.config = config
        self.total_steps = total_steps
        self._params = params
        self._step = 0
        self._adam: torch.optim.Optimizer | None = None
        self._scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        # The quasi-Newton method of the config ("lbfgs", "bfgs" or None): the
        # optimizer's name alone ("bfgs") or after "adam+".
        qn = config.optimizer.rpartition("+")[2]
        self._qn: Literal["lbfgs", "bfgs"] | None = qn if qn in QUASI_NEWTON else None
        self._quasi: _TracedLBFGS | SelfScaledBFGS | None = None
        if config.optimizer not in QUASI_NEWTON:
            # One fused kernel per parameter instead of ~10 ops each: 0.23 against
            # 0.69 ms per step for the Burgers net on one CPU thread (torch 2.13).
            # torch's fused kernels refuse complex parameters (e.g. neuraloperator's
            # spectral weights): those take the default implementation.
            fused = all(
                p.device.type in ("cpu", "cuda") and p.is_floating_point()
                for p in params
            )
            if config.optimizer == "adamw":
                self._adam = torch.optim.AdamW(
                    params,
                    lr=config.lr,
                    weight_decay=config.weight_decay,
                    fused=fused,
                )
            else:
                self._adam = torch.optim.Adam(params, lr=config.lr, fused=fused)
            horizon = total_steps
            if self._qn is not None:
                horizon = min(config.switch_step, total_steps)
            self._scheduler = torch.optim.lr_scheduler.LambdaLR(
                self._adam, _lr_factor(config, horizon)
            )
        common = dict(
            lr=config.lbfgs_lr,
            max_iter=config.lbfgs_max_iter,
            tolerance_grad=config.tolerance_grad,
            tolerance_change=config.tolerance_change,
        )
        if self._qn == "lbfgs":
            self._quasi = _TracedLBFGS(
                params,
                history_size=config.lbfgs_history,
                line_search_fn="strong_wolfe",
                **common,
            )
        elif self._qn == "bfgs":
            self._quasi = SelfScaledBFGS(params, scaling=config.bfgs_scaling, **common)

    @property
    def step_count(self) -> int:
        """Outer steps taken so far."""
        return self._step

    @property
    def phase(self) -> Phase:
        """The optimiser the next step will use."""
        name, qn = self.config.optimizer, self._qn
        if qn is not None and (name == qn or self._step >= self.config.switch_step):
            return qn
        return "adamw" if name == "adamw" else "adam"

    @property
    def lr(self) -> float:
        """The learning rate the next step will use."""
        if self.phase in QUASI_NEWTON or self._adam is None:
            return self.config.lbfgs_lr
        return float(self._adam.param_groups[0]["lr"])

    def objective_changed(self) -> None:
        """Forget the quasi-Newton curvature: it describes the old loss.

        Call after the points or the term weights change; Adam's moments adapt on
        their own and are kept.
        """
        if self._quasi is not None:
            self._quasi.reset()

    def set_quasi_newton_budget(self, max_iter: int) -> None:
        """Iterations per (L-)BFGS step from now on (closure calls: 1.25x that)."""
        if self._quasi is not None:
            group = self._quasi.param_groups[0]
            group["max_iter"], group["max_eval"] = max_iter, max_iter * 5 // 4

    def zero_grad(self) -> None:
        """Drop the parameters' gradients (set them to None), for the closure."""
        for p in self._params:
            p.grad = None

    def step(self, closure: Callable[[], Tensor]) -> StepInfo:
        """Take one outer step.

        Args:
            closure: zeroes the gradients, computes the loss, calls ``backward`` and
                returns the loss tensor (L-BFGS calls it several times per step).

        Returns:
            What the step did; see :class:`StepInfo`.
        """
        index, phase, lr = self._step, self.phase, self.lr
        if phase in QUASI_NEWTON:
            quasi = self._quasi
            assert quasi is not None
            loss = quasi.step(closure)
            reason = quasi.last_stop_reason
            info = StepInfo(
                index,
                phase,
                lr,
                float(loss.detach()),
                quasi.last_iterations,
                quasi.last_evaluations,
                reason,
                reason in CONVERGED,
            )
        else:
            assert self._adam is not None and self._scheduler is not None
            loss = self._adam.step(closure)
            self._scheduler.step()
            info = StepInfo(index, phase, lr, float(loss.detach()))
        self._step += 1
        return info

    def state_dict(self) -> dict[str, Any]:
        """Optimiser(s), schedule and step counter, as torch's own state dicts.

        Like torch's, the tensors are references, not copies: serialise (or
        deep-copy) before taking more steps. Everything is loadable with
        ``torch.load(..., weights_only=True)``.
        """
        return {
            "optimizer": self.config.optimizer,
            "step": self._step,
            "adam": None if self._adam is None else self._adam.state_dict(),
            "scheduler": None
            if self._scheduler is None
            else self._scheduler.state_dict(),
            **{
                name: self._quasi.state_dict() if name == self._qn else None
                for name in QUASI_NEWTON
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output into an Optimization of the same config.

        The next step then continues bit for bit where the saved run would have.
        """
        if state.get("optimizer") != self.config.optimizer:
            raise ValueError(
                f"optimizer state is for {state.get('optimizer')!r}; this "
                f"Optimization runs {self.config.optimizer!r}; allowed: a state saved "
                "from the same OptimConfig"
            )
        self._step = int(state["step"])
        if self._adam is not None and self._scheduler is not None:
            self._adam.load_state_dict(state["adam"])
            # LambdaLR.load_state_dict pops from its argument: hand it a copy.
            self._scheduler.load_state_dict(dict(state["scheduler"]))
        if self._quasi is not None:
            self._quasi.load_state_dict(state[self._qn])

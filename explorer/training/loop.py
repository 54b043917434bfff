"""The PINN training loop: a :class:`Trainer` whose ``run`` yields events.

Nothing here prints, sleeps, writes files or starts threads: the consumer (CLI, state
layer, test) decides what to show or save. Another thread can pause, resume, stop or
single-step a run through a :class:`RunControl`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
import xarray as xr
from torch import Tensor

from explorer._threads import one_thread
from explorer.data import (
    Collocation,
    rad_resample,
    rar_refine,
    sample_collocation,
)
from explorer.losses import PINN, CausalWeights, Observations, PINNLoss
from explorer.problems.base import AbstractProblem
from explorer.solvers import solve
from explorer.training.config import OptimConfig
from explorer.training.optim import Optimization, StepInfo
from explorer.training.parallel import ShardedLoss
from explorer.training.snapshot import EvaluationGrid, snapshot
from explorer.training.stops import QUASI_NEWTON
from explorer.training.train_config import TrainConfig
from explorer.training.weighting import (
    grad_norms,
    gradnorm_weights,
    ntk_trace,
    ntk_weights,
    smooth,
)

__all__ = ["RunControl", "TrainEvent", "Trainer"]


@dataclass(frozen=True)
class TrainEvent:
    """What one step did. ``snapshot`` is set every ``snapshot_every`` steps."""

    step: int
    terms: dict[str, float]
    weights: dict[str, float]
    info: StepInfo
    snapshot: xr.Dataset | None = None
    message: str | None = None
    diverged: bool = False


def _clone(tree: Any) -> Any:
    """Copy a nest of dicts, lists and tuples, cloning its tensors."""
    if isinstance(tree, Tensor):
        return tree.detach().clone()
    if isinstance(tree, dict):
        return {k: _clone(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_clone(v) for v in tree)
    return tree


class RunControl:
    """Pause, resume, stop and single-step a run from another thread."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._single = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused run so it can end

    def step_once(self) -> None:
        """Let a paused run take exactly one more step."""
        self._single.set()
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> bool:
        """Block while paused; True when the run may take a step."""
        self._running.wait()
        if self._single.is_set():
            self._single.clear()
            self._running.clear()  # back to paused after this step
        return not self._stop.is_set()


class Trainer:
    """Everything a PINN run changes: network, optimiser, points, weights, step.

    Args:
        problem: the PDE (the curriculum, if any, ramps one of its parameters).
        pinn: the network, see :func:`explorer.losses.build_pinn`.
        optim: optimiser settings.
        config: points, weighting, snapshots.
        seed: seeds the collocation generator (the network has its own seed).
        reference: the classical solution to compare with (default: solved here).
        observations: data for inverse problems.
    """

    def __init__(
        self,
        problem: AbstractProblem,
        pinn: PINN,
        optim: OptimConfig,
        config: TrainConfig,
        *,
        seed: int = 0,
        reference: xr.Dataset | None = None,
        observations: Observations | None = None,
    ) -> None:
        self.problem = problem
        self.pinn = pinn
        self.config = config
        self.optim_config = optim
        param = next(pinn.parameters())
        self._kw = {"dtype": param.dtype, "device": param.device}
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        if observations is not None:  # data in the network's dtype and device
            observations = Observations(
                observations.points.to(**self._kw), observations.values.to(**self._kw)
            )
        self.loss = PINNLoss(
            problem,
            pinn,
            causal=CausalWeights(config.causal_eps, config.causal_chunks),
            observations=observations,
        )
        self.params = [p for p in pinn.parameters() if p.requires_grad]
        self._sharded = None
        if config.workers > 1 and self.loss.decomposable and param.device.type == "cpu":
            self._sharded = ShardedLoss(self.loss, self.params, config.workers)
        self.optimization = Optimization(self.params, optim, total_steps=config.steps)
        if reference is None:
            reference = solve(problem, dict(config.eval_grid) or None)
        self.reference = reference
        self.grid = EvaluationGrid(self.loss, reference, state=pinn.state)
        self.weights = {k: float(v) for k, v in config.weighting.initial}
        self.norms: dict[str, float] = {}
        self.step = 0
        self.elapsed = 0.0
        self.batch = self._sample()
        self._good = self._state()

    # ---- one step -----------------------------------------------------------------
    def _sample(self) -> Collocation:
        box = self.problem.domain()
        return sample_collocation(
            box, self.config.sampler, generator=self.generator, **self._kw
        )

    def _state(self) -> tuple[dict, dict, int]:
        # Taken every step for the divergence rollback: a tensor-tree clone costs
        # about a seventh of copy.deepcopy (0.1 against 0.78 ms for the Burgers net).
        params = {k: v.detach().clone() for k, v in self.pinn.state_dict().items()}
        return params, _clone(self.optimization.state_dict()), self.step

    def _restore(self, state: tuple[dict, dict, int]) -> None:
        self.pinn.load_state_dict(state[0])
        self.optimization.load_state_dict(state[1])
        self.step = state[2]  # the counter names the restored state, not the lost one

    def _total(self, terms: dict[str, Tensor]) -> Tensor:
        return sum(self.weights.setdefault(k, 1.0) * v for k, v in terms.items())

    def train_step(self) -> TrainEvent:
        """One optimiser step (several loss evaluations for L-BFGS)."""
        self._before_step()
        last: dict[str, Tensor] = {}

        def closure() -> Tensor:
            self.optimization.zero_grad()
            if self._sharded is not None:
                total, terms = self._sharded(self.batch, self.weights)
            else:
                terms = self.loss.terms(self.batch)
                total = self._total(terms)
                total.backward()
            last.update(terms)
            return total

        t0 = time.perf_counter()
        state = self._state()
        # A step is hundreds of small ops: on the CPU one intra-op thread beats
        # PyTorch's fork/join per op (see explorer.training.parallel); more cores
        # are used by sharding the points over ``workers``.
        cpu = self._kw["device"].type == "cpu"
        with one_thread() if cpu else contextlib.nullcontext():
            info = self.optimization.step(closure)
        self.elapsed += time.perf_counter() - t0
        values = {k: float(v.detach()) for k, v in last.items()}
        # One reduction for all parameters (max |p| is NaN or Inf iff one entry is).
        finite = math.isfinite(info.loss) and bool(
            torch.stack(torch._foreach_norm(self.params, math.inf)).isfinite().all()
        )
        if not finite:
            failed = self.step + 1
            self._restore(self._good)
            return TrainEvent(
                self.step,
                values,
                dict(self.weights),
                info,
                message=(
                    f"diverged at step {failed}: the loss became "
                    f"{info.loss!r}; restored the last finite state (step "
                    f"{self.step}). Lower the learning rate or the "
                    "loss weights."
                ),
                diverged=True,
            )
        self._good = state
        self.step += 1
        snap = None
        if self.step % self.config.snapshot_every == 0 or self.step == 1:
            snap = self.snapshot(values)
        message = None
        if info.phase in QUASI_NEWTON and info.stop_reason:
            message = f"{QUASI_NEWTON[info.phase]}: {info.stop_reason}"
        return TrainEvent(self.step, values, dict(self.weights), info, snap, message)

    def _before_step(self) -> None:
        s, cfg = self.step, self.config
        batch, weights, problem = self.batch, self.weights, self.loss.problem
        if cfg.curriculum.parameter:
            self._curriculum(s)
        if s and cfg.sampler.resample_every and s % cfg.sampler.resample_every == 0:
            self.batch = self._sample()
        ad = cfg.adaptive
        if ad.method != "none" and s and s % ad.every == 0:
            self._refine()
        w = cfg.weighting
        if w.method != "fixed" and s % w.every == 0:
            self._reweight()
        if s and (
            self.batch is not batch
            or self.weights != weights
            or self.loss.problem is not problem
        ):
            self.optimization.objective_changed()

    def _curriculum(self, s: int) -> None:
        c = self.config.curriculum
        target = getattr(self.problem, c.parameter)
        stage = min(c.stages, s * c.stages // c.steps)
        value = c.start + (target - c.start) * stage / c.stages
        if getattr(self.loss.problem, c.parameter) != value:
            self.loss.problem = replace(self.problem, **{c.parameter: value})

    def _refine(self) -> None:
        ad, box = self.config.adaptive, self.problem.domain()
        interior = self.batch.interior
        if ad.method == "rar":
            interior = rar_refine(
                interior,
                self.loss.residual,
                box,
                n_candidates=ad.n_candidates,
                n_add=ad.n_add,
                generator=self.generator,
            )
        else:
            interior = rad_resample(
                self.loss.residual,
                box,
                n=interior.shape[0],
                n_candidates=ad.n_candidates,
                k=ad.k,
                c=ad.c,
                generator=self.generator,
            )
        self.batch = self.batch.replace(interior=interior.to(**self._kw))

    def _reweight(self) -> None:
        w = self.config.weighting
        if w.method == "gradnorm":
            terms = self.loss.terms(self.batch)
            self.norms = grad_norms(terms, self.params)
            target = gradnorm_weights(self.norms)
        else:
            pointwise = self.loss.pointwise(self.batch)
            traces = {
                k: ntk_trace(v[: w.ntk_points], self.params)
                for k, v in pointwise.items()
            }
            target = ntk_weights(traces)
        self.weights = smooth(self.weights, target, w.alpha)
        self.pinn.zero_grad(set_to_none=True)

    # ---- checkpoints -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue bit-exactly (tensors and plain values)."""
        return {
            "model": self.pinn.state_dict(),
            "optimizer": self.optimization.state_dict(),
            "generator": self.generator.get_state(),
            "batch": {f.name: getattr(self.batch, f.name) for f in fields(Collocation)},
            "weights": dict(self.weights),
            "step": self.step,
            "elapsed": self.elapsed,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` of a trainer built from the same config."""
        self.pinn.load_state_dict(state["model"])
        self.optimization.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.batch = Collocation(**state["batch"]).to(**self._kw)
        self.weights = {k: float(v) for k, v in state["weights"].items()}
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        if self.config.curriculum.parameter:
            self._curriculum(self.step)
        self._good = self._state()

    # ---- observation ----------------------------------------------------------------
    def snapshot(self, terms: dict[str, float]) -> xr.Dataset:
        """Fields, errors and scalars now, as a one-step Dataset."""
        norms = grad_norms(self.loss.terms(self.batch), self.params)
        self.norms = norms
        extra = {
            f"coef_{k}": float(v.detach())
            for k, v in (self.pinn.coefficients() or {}).items()
        }
        if self.loss.last_causal_weights is not None:
            cw = self.loss.last_causal_weights
            extra["causal_weight_min"] = float(cw.min())
        return snapshot(
            self.loss,
            self.grid,
            step=self.step,
            wall_time=self.elapsed,
            terms=terms,
            weights=self.weights,
            norms=norms,
            lr=self.optimization.lr,
            points=self.batch.interior,
            extra=extra,
        )

    def run(
        self, steps: int | None = None, *, control: RunControl | None = None
    ) -> Iterator[TrainEvent]:
        """Train for ``steps`` more steps (default: up to ``config.steps``)."""
        end = self.config.steps if steps is None else self.step + steps
        while self.step < end:
            if control is not None and not control.wait():
                return
            event = self.train_step()
            yield event
            if event.diverged:
                return
            if event.info.converged:
                return

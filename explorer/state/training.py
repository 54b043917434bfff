"""TrainingState: optimiser, collocation and training-technique knobs of a PINN run."""

from __future__ import annotations

from typing import Any

import param

from explorer.data import SamplerConfig
from explorer.problems import AbstractProblem, make_problem
from explorer.state._knobs import choice, number
from explorer.training import (
    AdaptiveConfig,
    CurriculumConfig,
    OptimConfig,
    TrainConfig,
    WeightingConfig,
)

__all__ = ["NO_CURRICULUM", "TrainingState", "curriculum_parameters"]

#: The curriculum choice that turns the ramp off.
NO_CURRICULUM = "none"


def curriculum_parameters(problem: type[AbstractProblem]) -> list[str]:
    """The parameters a curriculum can ramp: the problem's real-valued ones."""
    return [
        s.name
        for s in problem.parameters()
        if s.type is float and s.choices is None and not s.is_expression
    ]


class TrainingState(param.Parameterized):
    """How a PINN is trained: optimiser, points, adaptivity, weights, causality.

    Bounds and choices come from the configs (:class:`OptimConfig`,
    :class:`SamplerConfig`, :class:`TrainConfig`...). Defaults are sized for a 2-core
    CPU: 1024 Sobol points, 2000 Adam steps, a snapshot every 50 steps.

    The curriculum's choices depend on the problem; the session keeps
    ``param.curriculum_parameter.objects`` in step with it.
    """

    optimizer = choice(
        OptimConfig,
        "optimizer",
        doc=(
            "optimiser; adam+lbfgs (adam+bfgs) switches to L-BFGS (dense "
            "self-scaled BFGS, for nets up to 5000 weights) at the switch step"
        ),
    )
    lr = number(
        OptimConfig,
        "lr",
        label="Learning rate",
        doc="Adam learning rate",
        softbounds=(1e-4, 0.1),
    )
    switch_step = number(
        OptimConfig,
        "switch_step",
        doc="step at which adam+lbfgs or adam+bfgs switches to the quasi-Newton phase",
        softbounds=(1, 20_000),
    )
    n_interior = number(
        SamplerConfig,
        "n_interior",
        label="Interior points",
        doc="collocation points inside the domain",
        default=1024,
        softbounds=(16, 16_384),
    )
    sampler = choice(
        SamplerConfig, "method", label="Sampler", doc="how points are drawn"
    )
    resample_every = number(
        SamplerConfig,
        "resample_every",
        doc="draw fresh points every k steps (0 keeps one set)",
        softbounds=(0, 2000),
    )
    adaptive = choice(
        AdaptiveConfig,
        "method",
        label="Adaptive sampling",
        doc="residual-based refinement: rar adds points, rad redraws them",
    )
    adaptive_every = number(
        AdaptiveConfig,
        "every",
        label="Adaptive every",
        doc="refine every k steps",
        softbounds=(1, 2000),
    )
    weighting = choice(
        WeightingConfig,
        "method",
        label="Loss weighting",
        doc="loss-term weights: fixed, gradient-norm balance or NTK traces",
    )
    causal_eps = number(
        TrainConfig,
        "causal_eps",
        label="Causal ε",
        doc="causal weighting tolerance (0 is off; evolution problems)",
        softbounds=(0.0, 100.0),
    )
    curriculum_parameter = param.Selector(
        default=NO_CURRICULUM,
        objects=[NO_CURRICULUM],
        label="Curriculum parameter",
        doc="a PDE parameter ramped from the start value to its target "
        f"({NO_CURRICULUM!r} is off)",
    )
    curriculum_start = param.Number(
        0.0,
        label="Curriculum start",
        doc="the ramped parameter's first value; allowed: a valid value of it",
    )
    curriculum_steps = number(
        CurriculumConfig,
        "steps",
        label="Curriculum steps",
        doc="steps over which the parameter reaches its target",
        softbounds=(1, 5000),
    )
    steps = number(
        TrainConfig,
        "steps",
        doc="optimiser steps of the run",
        softbounds=(0, 20_000),
    )
    snapshot_every = number(
        TrainConfig,
        "snapshot_every",
        doc="a snapshot (fields, errors) every k steps",
        default=50,
        softbounds=(1, 1000),
    )

    #: The knob names, in display order.
    KNOBS = (
        "optimizer",
        "lr",
        "switch_step",
        "n_interior",
        "sampler",
        "resample_every",
        "adaptive",
        "adaptive_every",
        "weighting",
        "causal_eps",
        "curriculum_parameter",
        "curriculum_start",
        "curriculum_steps",
        "steps",
        "snapshot_every",
    )

    def to_optim(self) -> OptimConfig:
        """The optimiser config."""
        return OptimConfig(
            optimizer=self.optimizer, lr=float(self.lr), switch_step=self.switch_step
        )

    def to_train(self, problem: AbstractProblem) -> TrainConfig:
        """The training config for ``problem`` (which the curriculum must fit).

        Raises:
            ValueError: the curriculum names no real parameter of ``problem``, or its
                start value is not a valid value of that parameter.
        """
        return TrainConfig(
            steps=self.steps,
            sampler=SamplerConfig(
                method=self.sampler,
                n_interior=self.n_interior,
                resample_every=self.resample_every,
            ),
            adaptive=AdaptiveConfig(method=self.adaptive, every=self.adaptive_every),
            weighting=WeightingConfig(method=self.weighting),
            causal_eps=float(self.causal_eps),
            curriculum=self._curriculum(problem),
            snapshot_every=self.snapshot_every,
        )

    def _curriculum(self, problem: AbstractProblem) -> CurriculumConfig:
        name = self.curriculum_parameter
        if name == NO_CURRICULUM:
            return CurriculumConfig()
        allowed = curriculum_parameters(type(problem))
        if name not in allowed:
            raise ValueError(
                f"curriculum parameter {name!r} is not a real parameter of "
                f"{problem.name}; allowed: {', '.join([NO_CURRICULUM, *allowed])}"
            )
        start = float(self.curriculum_start)
        try:
            make_problem(problem.name, {**problem.values(), name: start})
        except ValueError as err:
            raise ValueError(
                f"curriculum start = {start!r} is not a valid {name}: {err}"
            ) from None
        return CurriculumConfig(
            parameter=name, start=start, steps=self.curriculum_steps
        )

    def values(self) -> dict[str, Any]:
        """The knob values by name."""
        return {k: getattr(self, k) for k in self.KNOBS}

"""A whole PINN run as one frozen recipe, and the trainer built from it.

``RunSpec`` round-trips through plain dicts (JSON), so a checkpoint carries the exact
configuration that made it and ``explorer resume`` rebuilds the same run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, final

import torch
import xarray as xr

from explorer.data import SamplerConfig
from explorer.losses import Observations, PINNOptions, build_pinn
from explorer.losses.deflation import Deflation
from explorer.models import MLPConfig
from explorer.problems import AbstractProblem, make_problem
from explorer.solvers import solve
from explorer.solvers.exact import grid_layout
from explorer.training.config import OptimConfig
from explorer.training.loop import Trainer
from explorer.training.train_config import (
    AdaptiveConfig,
    CurriculumConfig,
    TrainConfig,
    WeightingConfig,
)

__all__ = ["RunSpec", "build_trainer", "observe"]


@final
@dataclass(frozen=True)
class RunSpec:
    """Problem, network, constraints, optimiser, training and seed of one run.

    ``observations`` grid samples (with relative ``noise``) make it an inverse
    problem; ``state`` > 0 learns that excited eigenstate of an eigenproblem, with
    the lower states projected out (:class:`~explorer.losses.deflation.Deflation`).
    """

    problem: str
    values: tuple[tuple[str, Any], ...] = ()
    net: MLPConfig = field(default_factory=MLPConfig)
    options: PINNOptions = field(default_factory=PINNOptions)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    observations: int = 0
    noise: float = 0.0
    state: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.state, bool) or not 0 <= self.state <= 64:
            raise ValueError(
                f"state = {self.state!r} is out of range; allowed: 0 (ground state) "
                "to 64, below the problem's n_states"
            )
        if not 0 <= self.observations <= 10**6:
            raise ValueError(
                f"observations = {self.observations!r} is out of range; "
                "allowed: 0 to 1000000"
            )
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(
                f"noise = {self.noise!r} is out of range; allowed: 0 to 1 "
                "(relative to the solution's standard deviation)"
            )

    def make_problem(self) -> AbstractProblem:
        return make_problem(self.problem, dict(self.values))

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists (JSON-able)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        """Inverse of :meth:`to_dict` (lists become tuples again)."""
        t = dict(d["train"])
        train = TrainConfig(
            **{
                **t,
                "sampler": SamplerConfig(**t["sampler"]),
                "adaptive": AdaptiveConfig(**t["adaptive"]),
                "weighting": WeightingConfig(
                    **{
                        **t["weighting"],
                        "initial": _pairs(t["weighting"]["initial"]),
                    }
                ),
                "curriculum": CurriculumConfig(**t["curriculum"]),
                "eval_grid": _pairs(t["eval_grid"]),
            }
        )
        o = dict(d["options"])
        options = PINNOptions(
            **{
                **o,
                "trainable": _pairs(o["trainable"]),
                "positive": tuple(o["positive"]),
            }
        )
        return cls(
            problem=d["problem"],
            values=_pairs(d["values"]),
            net=MLPConfig(**d["net"]),
            options=options,
            optim=OptimConfig(**d["optim"]),
            train=train,
            seed=int(d["seed"]),
            observations=int(d.get("observations", 0)),
            noise=float(d.get("noise", 0.0)),
            state=int(d.get("state", 0)),
        )


def _pairs(items: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(k), v) for k, v in items)


def build_trainer(spec: RunSpec, **kwargs: Any) -> Trainer:
    """The trainer for ``spec`` (network seeded by ``spec.seed``).

    Keyword arguments go to :class:`Trainer` (``reference``, ``observations``...).
    """
    problem = spec.make_problem()
    deflation = None
    if spec.state:  # an excited eigenstate: deflate the reference's lower states
        if problem.kind != "eigen":
            raise ValueError(
                f"state = {spec.state} asks for an excited eigenstate, but "
                f"{problem.name} is not an eigenproblem; allowed: state = 0"
            )
        if kwargs.get("reference") is None:
            kwargs["reference"] = solve(problem, dict(spec.train.eval_grid) or None)
        deflation = Deflation.from_reference(kwargs["reference"], spec.state)
    pinn = build_pinn(
        problem, spec.net, spec.options, seed=spec.seed, deflation=deflation
    )
    if spec.observations:
        reference = kwargs.pop("reference", None)
        if reference is None:
            reference = solve(problem, dict(spec.train.eval_grid) or None)
        kwargs["reference"] = reference
        kwargs["observations"] = observe(
            problem, reference, spec.observations, spec.noise, seed=spec.seed
        )
    return Trainer(problem, pinn, spec.optim, spec.train, seed=spec.seed, **kwargs)


def observe(
    problem: AbstractProblem,
    reference: xr.Dataset,
    n: int,
    noise: float,
    *,
    seed: int,
) -> Observations:
    """``n`` grid samples of the reference with Gaussian noise (σ = noise·std(u)).

    The data of an inverse problem; drawn from their own generator (seed + 1) so
    they do not change the collocation points.
    """
    g = torch.Generator().manual_seed(seed + 1)
    dims = grid_layout(problem)
    names = [v for v in ("u", "v") if v in reference]
    values = torch.tensor(
        reference[names].to_array("c").transpose(*dims, "c").values
    ).reshape(-1, len(names))
    axes = {d: torch.tensor(reference[d].values) for d in dims}
    points = problem.domain().mesh(axes, dims)
    pick = torch.randperm(points.shape[0], generator=g)[: min(n, points.shape[0])]
    values = values[pick]
    values = values + noise * values.std() * torch.randn(
        values.shape, generator=g, dtype=values.dtype
    )
    return Observations(points[pick], values[:, 0] if len(names) == 1 else values)

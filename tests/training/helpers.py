"""Small, fast trainers for the engine tests (float64, few points, small nets)."""

from __future__ import annotations

import copy
from typing import Any

import torch

from explorer.data import SamplerConfig
from explorer.losses import PINNOptions, build_pinn
from explorer.models import MLPConfig
from explorer.problems import make_problem
from explorer.training import OptimConfig, TrainConfig, Trainer

SMALL_NET = MLPConfig(depth=2, width=16, dtype="float64")
SMALL_SAMPLER = SamplerConfig(n_interior=64, n_boundary=16, n_initial=16)
SOFT = PINNOptions()  # every condition as a penalty term
ADAM = OptimConfig(lr=1e-3)


def make_trainer(
    name: str,
    values: dict[str, Any] | None = None,
    *,
    net: MLPConfig = SMALL_NET,
    options: PINNOptions = SOFT,
    optim: OptimConfig = ADAM,
    seed: int = 0,
    energy_guess: float | None = None,
    trainer_kw: dict[str, Any] | None = None,
    **train: Any,
) -> Trainer:
    """A Trainer for catalogue problem ``name``; ``train`` goes to TrainConfig."""
    problem = make_problem(name, values or {})
    pinn = build_pinn(problem, net, options, seed=seed, energy_guess=energy_guess)
    train.setdefault("sampler", SMALL_SAMPLER)
    return Trainer(
        problem, pinn, optim, TrainConfig(**train), seed=seed, **(trainer_kw or {})
    )


def params_copy(trainer: Trainer) -> dict[str, torch.Tensor]:
    """A detached copy of the network's state (parameters and buffers)."""
    return copy.deepcopy(trainer.pinn.state_dict())


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Bitwise equality of two state dicts."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

"""Small float64 models and PINNs for the diagnostics' exactness tests.

Tiny networks on a shared 2-core machine run fastest on one intra-op thread (see
tests/training/conftest.py); the setting is restored after each test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

from explorer.data import Collocation, SamplerConfig, sample_collocation
from explorer.diagnostics import FlatSpec, ParamsLoss, objective, parameters
from explorer.losses import PINN, PINNLoss, PINNOptions, build_pinn
from explorer.models import MLPConfig
from explorer.problems import make_problem

F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here on one intra-op thread."""


@dataclass
class Regression:
    """A 2-8-8-1 tanh net fitted to sin(x + y): 105 parameters."""

    net: nn.Module
    loss_fn: ParamsLoss
    params: dict[str, Tensor]
    x: Tensor

    def dense_hessian(self) -> Tensor:
        spec = FlatSpec(self.params)
        flat = lambda th: self.loss_fn(spec.unflatten(th))  # noqa: E731
        return torch.func.hessian(flat)(spec.flatten(self.params))


@pytest.fixture
def regression() -> Regression:
    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = nn.Sequential(
            nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1)
        ).to(F64)
    x = torch.randn(40, 2, generator=g, dtype=F64)
    y = torch.sin(x.sum(1, keepdim=True))
    loss_fn = objective(net, lambda: (net(x) - y).square().mean())
    return Regression(net, loss_fn, parameters(net), x)


@dataclass
class PinnCase:
    pinn: PINN
    loss: PINNLoss
    batch: Collocation


def make_pinn_case(
    problem: str = "burgers",
    *,
    width: int = 8,
    dtype: str = "float64",
    trainable: tuple[tuple[str, float], ...] = (),
    n_interior: int = 48,
    values: dict | None = None,
) -> PinnCase:
    """A small PINN on ``problem`` with a fixed collocation set."""
    prob = make_problem(problem, values or {})
    net = MLPConfig(depth=2, width=width, dtype=dtype)
    options = PINNOptions(trainable=trainable)
    pinn = build_pinn(prob, net, options, seed=0)
    sampler = SamplerConfig(
        method="uniform", n_interior=n_interior, n_initial=16, n_boundary=16
    )
    batch = sample_collocation(
        prob.domain(),
        sampler,
        generator=torch.Generator().manual_seed(1),
        dtype=net.torch_dtype,
    )
    return PinnCase(pinn, PINNLoss(prob, pinn), batch)


@pytest.fixture
def burgers() -> PinnCase:
    return make_pinn_case()

"""The regression playground's trainer: configs, networks, gradient descent, and the
edge of stability it exists to show (Cohen et al. 2021).

The edge-of-stability test trains the default 1 → 32 → 32 → 1 tanh network on 32
points with full-batch gradient descent (about a second per learning rate) and
measures λ_max of the loss Hessian by Lanczos.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.diagnostics import objective, sharpness
from explorer.training import RunControl
from explorer.training.regression import (
    RegressionConfig,
    RegressionNet,
    RegressionTrainer,
    target_function,
)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"width": 0},
            "RegressionConfig.width = 0 is out of range; allowed: 1 to 2048",
        ),
        ({"depth": 2.5}, "RegressionConfig.depth = 2.5 is not an integer"),
        ({"lr": -1.0}, "RegressionConfig.lr = -1.0 is out of range"),
        ({"target": "cubic"}, "RegressionConfig.target = 'cubic' is not allowed"),
        ({"parametrization": "mup"}, "allowed: standard, ntk"),
    ],
)
def test_bad_configs_are_refused_by_name(changes: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(".", r"\.")):
        RegressionConfig(**changes)


def test_targets_are_the_documented_functions() -> None:
    x = torch.tensor([0.25, -0.5], dtype=torch.float64)
    assert torch.allclose(target_function("sine", x), torch.sin(math.pi * x))
    two = torch.sin(math.pi * x) + 0.5 * torch.sin(6 * math.pi * x)
    assert torch.allclose(target_function("two_scales", x), two)
    with pytest.raises(ValueError, match="allowed: sine, two_scales, step, bump"):
        target_function("cubic", x)


def test_ntk_parametrisation_is_the_same_function_at_initialisation() -> None:
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    standard = RegressionNet(RegressionConfig(width=64, seed=3))
    ntk = RegressionNet(RegressionConfig(width=64, seed=3, parametrization="ntk"))
    assert torch.allclose(standard(x), ntk(x), atol=1e-12)
    # ... but the hidden weights' gradients differ by the factor 1/sqrt(fan_in).
    for net in (standard, ntk):
        net(x).sum().backward()
    assert torch.allclose(ntk.weight_1.grad, standard.weight_1.grad / 8, atol=1e-14)


def test_gradient_descent_steps_are_theta_minus_lr_times_gradient() -> None:
    trainer = RegressionTrainer(RegressionConfig(width=8, lr=0.3, n_points=5))
    before = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
    loss = trainer.loss()
    grads = torch.autograd.grad(loss, list(trainer.model.parameters()))
    event = trainer.train_step()
    assert event.step == 1 and event.loss == pytest.approx(float(loss.detach()))
    for (name, p), g in zip(trainer.model.named_parameters(), grads):
        assert torch.allclose(p, before[name] - 0.3 * g, atol=1e-14)
        assert p.grad is None


def test_run_yields_every_step_and_obeys_its_control() -> None:
    trainer = RegressionTrainer(RegressionConfig(width=4, n_points=4))
    assert [e.step for e in trainer.run(5)] == [1, 2, 3, 4, 5]
    control = RunControl()
    control.stop()
    assert list(trainer.run(5, control=control)) == []


def test_a_huge_step_reports_divergence_and_stops() -> None:
    trainer = RegressionTrainer(RegressionConfig(lr=100.0))
    events = list(trainer.run(200))
    assert events[-1].diverged and not math.isfinite(events[-1].loss)
    assert len(events) < 200


def _lambda_max(trainer: RegressionTrainer) -> float:
    loss = objective(trainer.model, trainer.loss)
    return float(sharpness(trainer.model, loss, probes=0, max_iter=40).lambda_max)


@pytest.mark.parametrize("lr", [0.2, 0.3, 0.4])
def test_full_batch_gd_trains_at_the_edge_of_stability(lr: float) -> None:
    """λ_max ends within 10% of 2/η, whatever η: it climbs to the threshold (or is
    thrown down to it) and hovers there while the loss keeps falling."""
    trainer = RegressionTrainer(RegressionConfig(lr=lr))
    start_loss = float(trainer.loss().detach())
    for _ in trainer.run(1000):
        pass
    measured = []
    for _ in range(10):  # λ_max oscillates around 2/η: average a few periods
        for _ in trainer.run(10):
            pass
        measured.append(_lambda_max(trainer))
    ratio = float(np.mean(measured)) * lr / 2
    assert abs(ratio - 1) < 0.1, (lr, measured)
    assert float(trainer.loss().detach()) < 0.5 * start_loss


def test_progressive_sharpening_below_the_threshold() -> None:
    """With η small enough that the start is stable, λ_max rises towards 2/η."""
    trainer = RegressionTrainer(RegressionConfig(lr=0.2))
    first = _lambda_max(trainer)
    for _ in trainer.run(600):
        pass
    assert first < 0.9 * 2 / 0.2 < _lambda_max(trainer) * 1.1

"""Excited eigenstates: sine-series lower states, deflation, and a trained state."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.autodiff import Partials, jet_of
from explorer.data import SamplerConfig
from explorer.losses import PINNOptions
from explorer.losses.deflation import Deflation, SineSeries
from explorer.models import MLPConfig
from explorer.problems import make_problem
from explorer.solvers import solve
from explorer.training import OptimConfig, RunSpec, TrainConfig, build_trainer
from explorer.training.train_config import WeightingConfig


def _well(n_states: int = 3):
    problem = make_problem(
        "schrodinger", {"potential": "infinite-well", "n_states": n_states}
    )
    return problem, solve(problem)


def test_sine_series_interpolates_and_differentiates_exactly() -> None:
    x = np.linspace(0.0, 2.0, 65)
    values = np.stack([np.sin(np.pi * x / 2) + 0.3 * np.sin(5 * np.pi * x / 2)])
    series = SineSeries(x, values)
    t = torch.rand(50, 1, dtype=torch.float64) * 2
    f, d1, d2 = series.derivatives(t, 2)
    w1, w5 = math.pi / 2, 5 * math.pi / 2
    exact = torch.sin(w1 * t) + 0.3 * torch.sin(w5 * t)
    exact2 = -(w1**2) * torch.sin(w1 * t) - 0.3 * w5**2 * torch.sin(w5 * t)
    torch.testing.assert_close(f, exact, rtol=0, atol=1e-12)
    torch.testing.assert_close(d2, exact2, rtol=0, atol=1e-9)
    # The first derivative against autograd of the series itself.
    t.requires_grad_(True)
    (g,) = torch.autograd.grad(series(t).sum(), t)
    torch.testing.assert_close(d1, g, rtol=1e-12, atol=1e-12)
    assert series.coeffs.shape[1] == 5  # modes above 5 are dropped as zero


def test_sine_series_refuses_nonuniform_nodes() -> None:
    with pytest.raises(ValueError, match="uniform"):
        SineSeries(np.array([0.0, 0.1, 0.5, 0.7, 1.0]), np.zeros((1, 5)))


def test_deflated_field_is_orthogonal_and_normalised() -> None:
    _, ref = _well()
    deflation = Deflation.from_reference(ref, 2)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 8, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1, dtype=torch.float64),
    )
    x = torch.tensor(ref.x.values)[:, None]
    psi = deflation.apply(net, x, net(x)[:, 0]).detach().numpy()
    for j in range(2):
        overlap = np.trapezoid(psi * ref.u.isel(state=j).values, ref.x.values)
        assert abs(overlap) < 1e-10
    assert abs(np.trapezoid(psi**2, ref.x.values) - 1.0) < 1e-12


def test_deflated_jet_matches_reverse_mode() -> None:
    _, ref = _well()
    deflation = Deflation.from_reference(ref, 1)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 8, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1, dtype=torch.float64),
    )
    x = torch.rand(40, 1, dtype=torch.float64)

    def psi(z: torch.Tensor) -> torch.Tensor:
        return deflation.apply(net, z, net(z)[:, 0])

    d = Partials(psi, x, ("x",))
    # N's own jet by reverse mode, then the deflation's closed-form part.

    jet = deflation.apply_jet(net, x, jet_of(lambda z: net(z)[:, 0], x, {0: 2}))
    torch.testing.assert_close(jet.value, d.u, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(jet.series[0][0], d("x"), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(jet.series[0][1], d("xx"), rtol=1e-8, atol=1e-8)


def test_deflation_refuses_states_the_reference_lacks() -> None:
    _, ref = _well(2)
    with pytest.raises(ValueError, match=r"state = 2 .* allowed: 1 to 1"):
        Deflation.from_reference(ref, 2)
    with pytest.raises(ValueError, match="not an eigenproblem"):
        build_trainer(RunSpec(problem="heat", state=1))
    with pytest.raises(ValueError, match="state = -1"):
        RunSpec(problem="schrodinger", state=-1)


def test_first_excited_state_of_the_well_is_learned() -> None:
    """E₂ = 4π² and ψ₂ = √2 sin 2πx, from an energy guess (25) nearer to E₁ = π².

    Without deflation the same start slides to a wrong level or to ψ = 0; with it,
    ψ stays orthogonal to ψ₁ and of unit norm, and E climbs to 4π².
    """
    spec = RunSpec(
        problem="schrodinger",
        values=(("potential", "infinite-well"), ("n_states", 2)),
        net=MLPConfig(depth=2, width=16, dtype="float64"),
        options=PINNOptions(hard_bc=True, trainable=(("energy", 25.0),)),
        optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=300),
        train=TrainConfig(
            steps=340,
            snapshot_every=100,
            sampler=SamplerConfig(n_interior=128, n_boundary=2, n_initial=0),
            weighting=WeightingConfig(initial=(("norm", 100.0),)),
            eval_grid=(("x", 128),),
        ),
        state=1,
    )
    trainer = build_trainer(spec)
    assert trainer.pinn.state == 1
    events = list(trainer.run())
    energy = float(trainer.pinn.coefficients()["energy"].detach())
    assert abs(energy - 4 * math.pi**2) < 1e-3 * 4 * math.pi**2
    final = trainer.snapshot(events[-1].terms)
    assert final.rel_l2.item() < 1e-2  # against the reference's second state

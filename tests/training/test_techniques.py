"""Each training technique does what it claims, on a small case, through the Trainer.

Refinement and weighting act at the start of a step, before the optimiser moves the
parameters; the tests save the parameters just before that step and evaluate the
claim there, so it holds exactly rather than to within one step's drift.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from explorer.data import SamplerConfig
from explorer.losses import Observations, PINNOptions
from explorer.models import MLPConfig
from explorer.problems import make_problem
from explorer.solvers import solve
from explorer.training import (
    AdaptiveConfig,
    CurriculumConfig,
    OptimConfig,
    Trainer,
    WeightingConfig,
)
from explorer.training.weighting import grad_norms
from tests.training.helpers import make_trainer, params_copy


def _one_step_from(tr: Trainer) -> dict[str, float]:
    """Take one step, then put the parameters back to where it started.

    Returns the step's weights (those set at its start).
    """
    before = params_copy(tr)
    (event,) = tr.run(1)
    tr.pinn.load_state_dict(before)
    return event.weights


def _abs_residual(tr: Trainer, points: torch.Tensor) -> torch.Tensor:
    return tr.loss.residual(points).detach().abs()


def _uniform(n: int, seed: int = 99) -> torch.Tensor:
    return torch.rand(
        n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )


# ---- residual-based refinement -------------------------------------------------------
# Poisson with the default second mode: |r| ≈ |f| = |π² sin πx + 10π² sin 10πx| early
# on, ten sharp peaks of unequal height.
POISSON = {"k": 1, "K": 10, "a": 0.1}


def test_rar_adds_points_where_the_residual_is_largest() -> None:
    n, n_add = 64, 16
    tr = make_trainer(
        "poisson-1d",
        POISSON,
        options=PINNOptions(hard_bc=True),
        steps=100,
        snapshot_every=1000,
        sampler=SamplerConfig(n_interior=n, n_boundary=2, n_initial=0),
        adaptive=AdaptiveConfig(method="rar", every=20, n_add=n_add, n_candidates=1000),
    )
    list(tr.run(20))
    old = tr.batch.interior.clone()
    _one_step_from(tr)  # step 21 refines first
    new = tr.batch.interior
    assert new.shape == (n + n_add, 1)
    torch.testing.assert_close(new[:n], old, rtol=0, atol=0)  # RAR keeps the old ones
    added = _abs_residual(tr, new[n:])
    uniform = _abs_residual(tr, _uniform(4000))
    # The added points are the top 1.6 % of the candidates: above the 95th
    # percentile of |r| over the domain, and about twice the old points' mean.
    assert added.min() > uniform.quantile(0.95)
    assert added.mean() > 1.5 * _abs_residual(tr, old).mean()
    # Refined again at step 40, so the set keeps growing.
    list(tr.run(20))
    assert tr.batch.interior.shape == (n + 2 * n_add, 1)


def test_rad_redraws_points_from_the_residual_density() -> None:
    """k = 1, c = 0: p ∝ |r|, so the points' mean |r| is E|r|²/E|r|, not E|r|."""
    n = 256
    tr = make_trainer(
        "poisson-1d",
        POISSON,
        options=PINNOptions(hard_bc=True),
        steps=100,
        snapshot_every=1000,
        sampler=SamplerConfig(n_interior=n, n_boundary=2, n_initial=0),
        adaptive=AdaptiveConfig(
            method="rad", every=20, n_candidates=4000, k=1.0, c=0.0
        ),
    )
    list(tr.run(20))
    old = tr.batch.interior.clone()
    _one_step_from(tr)
    new = tr.batch.interior
    assert new.shape == (n, 1) and not torch.equal(new, old)
    assert new.unique().numel() == n and ((new > 0) & (new < 1)).all()
    r_uniform = _abs_residual(tr, _uniform(20000))
    target = float(r_uniform.square().mean() / r_uniform.mean())
    r_old, r_new = _abs_residual(tr, old).mean(), _abs_residual(tr, new).mean()
    assert target > 1.2 * float(r_uniform.mean())  # the density is far from uniform
    assert float(r_new) == pytest.approx(target, rel=0.08)  # ~3 standard errors
    assert r_new > 1.15 * r_old


# ---- loss-term weights ---------------------------------------------------------------
def _heat_with_weighting(weighting: WeightingConfig) -> Trainer:
    """Heat with penalty terms: residual, ic and bc pull with very different norms."""
    return make_trainer(
        "heat",
        steps=100,
        snapshot_every=1000,
        weighting=weighting,
        eval_grid=(("x", 16), ("t", 8)),
    )


def test_gradnorm_equalises_the_weighted_gradient_norms() -> None:
    tr = _heat_with_weighting(WeightingConfig(method="gradnorm", every=10, alpha=1.0))
    list(tr.run(10))
    weights = _one_step_from(tr)  # step 11 re-weights at its start
    norms = grad_norms(tr.loss.terms(tr.batch), tr.params)
    assert set(norms) == {"residual", "ic", "bc"}
    assert max(norms.values()) > 5 * min(norms.values())  # far from equal unweighted
    pulls = np.array([weights[k] * norms[k] for k in norms])
    np.testing.assert_allclose(pulls, pulls.mean(), rtol=1e-6)
    np.testing.assert_allclose(pulls.mean(), sum(norms.values()), rtol=1e-6)


def test_gradnorm_alpha_smooths_the_weights() -> None:
    alpha = 0.3
    tr = _heat_with_weighting(WeightingConfig(method="gradnorm", every=10, alpha=alpha))
    list(tr.run(10))
    old = dict(tr.weights)
    new = _one_step_from(tr)
    norms = grad_norms(tr.loss.terms(tr.batch), tr.params)
    total = sum(norms.values())
    for k in norms:
        expect = (1 - alpha) * old[k] + alpha * total / norms[k]
        assert new[k] == pytest.approx(expect, rel=1e-6)


def _ntk_trace(values: torch.Tensor, params: list[torch.Tensor]) -> float:
    """Mean over points of ‖∂fₚ/∂θ‖², with the Jacobian built row by row."""
    rows = []
    for f in values.reshape(-1):
        grads = torch.autograd.grad(f, params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (g if g is not None else torch.zeros_like(p)).reshape(-1)
                    for g, p in zip(grads, params)
                ]
            )
        )
    jac = torch.stack(rows)
    return float(torch.trace(jac @ jac.T)) / jac.shape[0]


def test_ntk_weights_are_total_trace_over_each_trace() -> None:
    m = 8
    tr = _heat_with_weighting(
        WeightingConfig(method="ntk", every=10, alpha=1.0, ntk_points=m)
    )
    list(tr.run(10))
    weights = _one_step_from(tr)
    pointwise = tr.loss.pointwise(tr.batch)
    traces = {k: _ntk_trace(v[:m], tr.params) for k, v in pointwise.items()}
    assert set(traces) == {"residual", "ic", "bc"}
    total = sum(traces.values())
    for k, t in traces.items():
        assert weights[k] == pytest.approx(total / t, rel=1e-9)
    assert max(weights.values()) > 1.2 * min(weights.values())


# ---- causal weighting ----------------------------------------------------------------
def test_causal_weights_rise_in_time_order() -> None:
    """wᵢ = exp(−ε Σ_{k<i} Lₖ): 1 first, non-increasing; later chunks open up later."""
    chunks = 8
    tr = make_trainer(
        "heat",
        options=PINNOptions(hard_bc=True, hard_ic=True),
        optim=OptimConfig(lr=1e-2),
        steps=100,
        snapshot_every=1000,
        causal_eps=10.0,
        causal_chunks=chunks,
        sampler=SamplerConfig(n_interior=256, n_boundary=0, n_initial=0),
        eval_grid=(("x", 16), ("t", 8)),
    )
    history = []
    for _ in tr.run():
        w = tr.loss.last_causal_weights
        assert w is not None and w.shape == (chunks,)
        history.append(w.clone())
    w = torch.stack(history)  # (steps, chunks)
    assert (w[:, 0] == 1).all() and (w > 0).all() and (w <= 1).all()
    assert (w[:, 1:] <= w[:, :-1]).all()  # non-increasing in time
    assert w[0, -1] < 1e-2 and w[-1, -1] > 0.9  # the last chunk opened during training
    # The step at which each chunk's weight first passes 1/2 grows with its time.
    opened = [int(torch.nonzero(w[:, i] > 0.5)[0]) for i in range(chunks)]
    assert opened == sorted(opened) and opened[-1] > opened[1]
    snap = tr.snapshot({})  # recomputes the weights at the final parameters
    final = tr.loss.last_causal_weights
    assert snap.causal_weight_min.item() == pytest.approx(float(final.min()), rel=1e-12)


# ---- optimisers ----------------------------------------------------------------------
def test_lbfgs_lowers_the_loss_after_adam() -> None:
    """Twenty L-BFGS steps after 200 Adam steps beat 220 Adam steps by far."""

    def losses(optimizer: str) -> list[float]:
        tr = make_trainer(
            "poisson-1d",
            {"a": 0.0},
            options=PINNOptions(hard_bc=True),
            optim=OptimConfig(optimizer=optimizer, lr=1e-2, switch_step=200),
            steps=220,
            snapshot_every=1000,
        )
        events = list(tr.run())
        phases = [e.info.phase for e in events]
        if optimizer == "adam+lbfgs":
            assert phases == ["adam"] * 200 + ["lbfgs"] * (len(events) - 200)
        # The loss after the last step, which no event reports (all weights are 1).
        final = sum(float(v.detach()) for v in tr.loss.terms(tr.batch).values())
        return [e.info.loss for e in events] + [final]

    both, adam = losses("adam+lbfgs"), losses("adam")
    assert both[:200] == adam[:200]  # the same Adam phase, bit for bit
    assert both[-1] < 1e-3 * both[200]
    assert both[-1] < 1e-2 * adam[-1]


# ---- inverse problem -----------------------------------------------------------------
def test_inverse_burgers_recovers_nu() -> None:
    """ν = 0.05 from 1000 noisy samples (1 % noise), starting at ν = 0.02."""
    nu = 0.05
    problem = make_problem("burgers", {"nu": nu})
    ref = solve(problem, {"x": 41, "t": 26})
    g = torch.Generator().manual_seed(0)
    x, t = np.meshgrid(ref.x.values, ref.t.values, indexing="ij")
    points = torch.tensor(np.stack([x.ravel(), t.ravel()], -1))
    values = torch.tensor(ref.u.transpose("x", "t").values.ravel())
    pick = torch.randperm(points.shape[0], generator=g)[:1000]
    points, values = points[pick], values[pick]
    values = values + 0.01 * values.std() * torch.randn(
        values.shape, generator=g, dtype=values.dtype
    )
    tr = make_trainer(
        "burgers",
        {"nu": nu},
        net=MLPConfig(depth=3, width=20, dtype="float64"),
        options=PINNOptions(
            hard_bc=True, hard_ic=True, trainable=(("nu", 0.02),), positive=("nu",)
        ),
        optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=200),
        steps=220,
        snapshot_every=1000,
        sampler=SamplerConfig(n_interior=128, n_boundary=0, n_initial=0),
        eval_grid=(("x", 41), ("t", 26)),
        trainer_kw={"observations": Observations(points, values), "reference": ref},
    )
    events = list(tr.run())
    assert set(events[0].terms) == {"residual", "data"}
    fitted = float(tr.pinn.coefficients()["nu"].detach())
    assert fitted == pytest.approx(nu, rel=0.05)
    assert tr.snapshot(events[-1].terms).coef_nu.item() == fitted
    # The data term sits at the noise level: the fit is not over- or under-done.
    noise = (0.01 * values.std()) ** 2
    assert 0.5 * noise < events[-1].terms["data"] < 2 * noise


# ---- curriculum ----------------------------------------------------------------------
def test_curriculum_ramps_the_parameter_in_stages() -> None:
    start, target, steps, stages = 1.0, 9.0, 40, 4
    tr = make_trainer(
        "convection",
        {"beta": target},
        steps=60,
        snapshot_every=1000,
        curriculum=CurriculumConfig(
            parameter="beta", start=start, steps=steps, stages=stages
        ),
        eval_grid=(("x", 16), ("t", 8)),
    )
    seen = []
    for _ in tr.run():
        seen.append(tr.loss.problem.beta)  # the value this step trained with
    expected = [
        start + (target - start) * min(stages, s * stages // steps) / stages
        for s in range(60)
    ]
    assert seen == expected
    assert seen[0] == start and seen[-1] == target
    assert sorted(set(seen)) == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert tr.problem.beta == target  # the target problem (and reference) stay put


def test_curriculum_trains_on_the_staged_problem() -> None:
    """A step in stage 1 (β = 3) reports the residual of β = 3, not of the target."""
    tr = make_trainer(
        "convection",
        {"beta": 9.0},
        steps=60,
        snapshot_every=1000,
        curriculum=CurriculumConfig(parameter="beta", start=1.0, steps=40, stages=4),
        eval_grid=(("x", 16), ("t", 8)),
    )
    list(tr.run(15))
    before = params_copy(tr)
    (event,) = tr.run(1)
    tr.pinn.load_state_dict(before)
    xt = tr.batch.interior

    def mean_square(beta: float) -> float:
        problem = replace(tr.problem, beta=beta)
        return float(problem.residual(tr.pinn, xt).detach().square().mean())

    assert tr.loss.problem.beta == 3.0
    assert event.terms["residual"] == pytest.approx(mean_square(3.0), rel=1e-12)
    assert event.terms["residual"] != pytest.approx(mean_square(9.0), rel=1e-3)

"""The PINN engine end to end: convergence, snapshots, divergence, determinism.

Every run is a small float64 network with Adam then L-BFGS, so each converges in a
few seconds on a CPU.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import xarray as xr

from explorer.data import Collocation, SamplerConfig
from explorer.losses import PINNOptions
from explorer.models import MLPConfig
from explorer.training import (
    AdaptiveConfig,
    OptimConfig,
    Trainer,
    WeightingConfig,
)
from explorer.training.snapshot import concat_history
from tests.training.helpers import make_trainer, params_copy, same_state

NET = MLPConfig(depth=2, width=20, dtype="float64")


def _train(trainer: Trainer) -> tuple[list, xr.Dataset]:
    """Run to the end; return the events and a snapshot of the final state."""
    events = list(trainer.run())
    assert events and not any(e.diverged for e in events)
    return events, trainer.snapshot(events[-1].terms)


# ---- convergence ---------------------------------------------------------------------
def test_poisson_1d_reaches_1e_3() -> None:
    """−u″ = π² sin πx (k = 1, a = 0: the single sine), u = 0 on the walls."""
    tr = make_trainer(
        "poisson-1d",
        {"k": 1, "a": 0.0},
        net=NET,
        options=PINNOptions(hard_bc=True),
        optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=200),
        steps=230,
        snapshot_every=100,
        sampler=SamplerConfig(n_interior=64, n_boundary=2, n_initial=0),
    )
    events, final = _train(tr)
    first = events[0].snapshot
    assert first is not None and first.rel_l2.item() > 0.5  # it did have to learn
    assert final.rel_l2.item() < 1e-3
    assert events[-1].info.phase == "lbfgs"


def test_heat_reaches_1e_2_with_penalty_terms() -> None:
    """uₜ = 0.1 uₓₓ, u₀ = sin πx, with the initial and wall conditions as penalties."""
    tr = make_trainer(
        "heat",
        net=NET,
        optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=300),
        steps=330,
        snapshot_every=100,
        sampler=SamplerConfig(n_interior=128, n_boundary=32, n_initial=32),
        eval_grid=(("x", 64), ("t", 32)),
    )
    events, final = _train(tr)
    assert set(events[0].terms) == {"residual", "ic", "bc"}
    assert events[0].snapshot.rel_l2.item() > 0.3
    assert final.rel_l2.item() < 1e-2


def test_schrodinger_well_energy_reaches_pi_squared() -> None:
    """Ground state of the unit infinite well: E₁ = π², starting from E = 5.

    The normalisation term (∫ψ² − 1)² keeps ψ = 0 out; at weight 1 the residual
    wins the first steps and the net collapses to ψ ≈ 0 with E stuck near 5.2, so
    the term starts at weight 100.
    """
    tr = make_trainer(
        "schrodinger",
        {"potential": "infinite-well", "n_states": 1},
        net=NET,
        options=PINNOptions(hard_bc=True),
        optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=300),
        energy_guess=5.0,
        steps=330,
        snapshot_every=100,
        sampler=SamplerConfig(n_interior=128, n_boundary=2, n_initial=0),
        weighting=WeightingConfig(initial=(("norm", 100.0),)),
        eval_grid=(("x", 128),),
    )
    events, final = _train(tr)
    assert set(events[0].terms) == {"residual", "norm"}
    start = events[0].snapshot
    assert start is not None and abs(start.coef_energy.item() - 5.0) < 0.1
    energy = float(tr.pinn.coefficients()["energy"].detach())
    assert abs(energy - math.pi**2) < 1e-3
    assert final.coef_energy.item() == energy
    assert final.rel_l2.item() < 1e-2  # ψ is the normalised sine too


# ---- snapshots -----------------------------------------------------------------------
def _snapshots(tr: Trainer, steps: int) -> list[xr.Dataset]:
    return [e.snapshot for e in tr.run(steps) if e.snapshot is not None]


def _check_fields(snap: xr.Dataset, names: list[str], dims: tuple[str, ...]) -> None:
    """Errors, rel_l2 and max_error agree with the stored fields."""
    err2 = ref2 = 0.0
    worst = 0.0
    for n in names:
        pred, ref, err = (snap[f"{n}_{s}"] for s in ("pred", "ref", "err"))
        assert pred.dims[-len(dims) :] == dims
        np.testing.assert_allclose(err.values, pred.values - ref.values, atol=1e-14)
        err2 += float((err.values**2).sum())
        ref2 += float((ref.values**2).sum())
        worst = max(worst, float(np.abs(err.values).max()))
    np.testing.assert_allclose(snap.rel_l2.item(), math.sqrt(err2 / ref2), rtol=1e-12)
    np.testing.assert_allclose(snap.max_error.item(), worst, rtol=1e-12)


def test_snapshot_contents_and_history() -> None:
    tr = make_trainer(
        "heat",
        steps=20,
        snapshot_every=5,
        eval_grid=(("x", 16), ("t", 8)),
        adaptive=AdaptiveConfig(method="rar", every=10, n_add=4, n_candidates=64),
    )
    snaps = _snapshots(tr, 20)
    assert [s.step.item() for s in snaps] == [1, 5, 10, 15, 20]
    snap = snaps[-1]
    expected = {"u_pred", "u_ref", "u_err", "residual", "points", "lr", "rel_l2"}
    expected |= {"max_error", "loss", "wall_time"}
    for term in ("residual", "ic", "bc"):
        expected |= {f"loss_{term}", f"weight_{term}", f"gradnorm_{term}"}
    assert expected <= set(snap.data_vars)
    assert snap.u_pred.dims == ("step", "t", "x")
    assert snap.sizes["t"] == 8 and snap.sizes["x"] == 16
    assert snap.points.dims == ("step", "point", "coord")
    assert list(snap.coord.values) == ["x", "t"]
    assert snap.sizes["point"] == 64 + 4  # RAR added 4 at step 10
    np.testing.assert_array_equal(snap.points.values[0], tr.batch.interior.numpy())
    assert snap.lr.item() == 1e-3
    _check_fields(snap, ["u"], ("t", "x"))

    # The fields are the network's on the reference grid, the residual is |r| there.
    grid = np.stack(np.meshgrid(snap.x, snap.t, indexing="xy"), -1).reshape(-1, 2)
    xt = torch.tensor(grid)
    with torch.no_grad():
        u = tr.pinn(xt).numpy().reshape(8, 16)
    np.testing.assert_allclose(snap.u_pred.values[0], u, rtol=1e-12, atol=1e-14)
    r = tr.loss.residual(xt).detach().abs().numpy().reshape(8, 16)
    np.testing.assert_allclose(snap.residual.values[0], r, rtol=1e-10, atol=1e-14)
    ref = tr.problem.exact_solution(xt).numpy().reshape(8, 16)
    np.testing.assert_allclose(np.squeeze(snap.u_ref.values), ref, atol=1e-10)

    # Scalars: the weighted loss, the gradient norms of the current terms.
    terms = {k: snap[f"loss_{k}"].item() for k in ("residual", "ic", "bc")}
    assert snap.loss.item() == pytest.approx(sum(terms.values()), rel=1e-12)
    assert all(snap[f"weight_{k}"].item() == 1.0 for k in terms)
    assert all(snap[f"gradnorm_{k}"].item() > 0 for k in terms)

    history = concat_history(snaps)
    assert list(history.step.values) == [1, 5, 10, 15, 20]
    assert history.rel_l2.dims == ("step",)
    assert history.sizes["point"] == 68  # the early snapshots are padded
    assert np.isnan(history.points.sel(step=5).values[64:]).all()
    np.testing.assert_array_equal(
        history.rel_l2.values, [s.rel_l2.item() for s in snaps]
    )
    assert history.loss.values[-1] < history.loss.values[0]


def test_nls_snapshot_has_both_components() -> None:
    tr = make_trainer(
        "nls",
        steps=2,
        snapshot_every=1,
        sampler=SamplerConfig(n_interior=64, n_boundary=8, n_initial=16),
        eval_grid=(("x", 32), ("t", 11)),
    )
    snaps = _snapshots(tr, 2)
    snap = snaps[-1]
    for n in ("u", "v"):
        for s in ("pred", "ref", "err"):
            assert snap[f"{n}_{s}"].dims[-2:] == ("t", "x")
    assert {"loss_residual", "loss_ic"} <= set(snap.data_vars)
    _check_fields(snap, ["u", "v"], ("t", "x"))
    # Both components are the network's two outputs.
    xt = torch.tensor(
        np.stack(np.meshgrid(snap.x, snap.t, indexing="xy"), -1).reshape(-1, 2)
    )
    with torch.no_grad():
        out = tr.pinn(xt).numpy()
    np.testing.assert_allclose(snap.u_pred.values[0].ravel(), out[:, 0], rtol=1e-12)
    np.testing.assert_allclose(snap.v_pred.values[0].ravel(), out[:, 1], rtol=1e-12)
    history = concat_history(snaps)
    assert history.sizes["step"] == 2 and history.u_ref.dims == ("t", "x")


def test_schrodinger_snapshot_is_the_ground_state() -> None:
    tr = make_trainer(
        "schrodinger",
        {"potential": "infinite-well", "n_states": 2},
        options=PINNOptions(hard_bc=True),
        energy_guess=8.0,
        steps=2,
        snapshot_every=1,
        eval_grid=(("x", 64),),
    )
    snap = _snapshots(tr, 2)[-1]
    assert snap.u_pred.dims == ("step", "x") and "state" not in snap.dims
    ref = tr.reference.u.isel(state=0).values
    np.testing.assert_allclose(np.squeeze(snap.u_ref.values), ref)
    # The eigenvector's sign is arbitrary: the prediction is turned to match.
    assert float((snap.u_pred.values[0] * ref).sum()) >= 0
    _check_fields(snap, ["u"], ("x",))
    assert "coef_energy" in snap and "loss_norm" in snap
    assert snap.coef_energy.item() != 8.0  # the energy trains


# ---- divergence ----------------------------------------------------------------------
@pytest.mark.parametrize("phase", ["adam", "lbfgs"])
def test_nan_loss_stops_and_restores_last_finite_state(
    phase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loss that turns NaN at step 6: the run ends, the model is rolled back.

    Step k's loss is evaluated at the parameters left by step k − 1, so those are
    the bad ones: the trainer restores the state after step k − 2, the last one whose
    loss was finite, and its step counter says so.
    """
    tr = make_trainer(
        "poisson-1d",
        {"a": 0.0},
        options=PINNOptions(hard_bc=True),
        optim=OptimConfig(
            optimizer="adam+lbfgs", lr=1e-2, switch_step=1 if phase == "lbfgs" else 100
        ),
        steps=50,
        snapshot_every=100,
    )
    bad = 6
    terms = tr.loss.terms

    def poisoned(batch: Collocation) -> dict[str, torch.Tensor]:
        out = terms(batch)
        if tr.step == bad - 1:  # during step `bad`
            out["residual"] = out["residual"] * float("nan")
        return out

    monkeypatch.setattr(tr.loss, "terms", poisoned)
    saved, events = {0: params_copy(tr)}, []
    opt_steps = {0: tr.optimization.step_count}
    for ev in tr.run():
        events.append(ev)
        if not ev.diverged:
            saved[ev.step] = params_copy(tr)
            opt_steps[ev.step] = tr.optimization.step_count
    last = events[-1]
    assert last.diverged and len(events) == bad
    assert not any(e.diverged for e in events[:-1])
    assert last.message is not None
    assert re.search(rf"\bstep {bad}\b", last.message)
    assert "nan" in last.message.lower()
    assert last.info.phase == phase
    assert all(math.isfinite(e.info.loss) for e in events[:-1])
    # Rolled back to the last state with a finite loss, bit for bit.
    assert tr.step == bad - 2 == last.step
    assert same_state(params_copy(tr), saved[bad - 2])
    assert tr.optimization.step_count == opt_steps[bad - 2]
    assert all(torch.isfinite(p).all() for p in tr.params)
    # Training can go on from there (the poison only hits step `bad`).
    ev = next(iter(tr.run(1)))
    assert not ev.diverged and math.isfinite(ev.info.loss)
    assert same_state(saved[bad - 1], params_copy(tr))


# ---- determinism ---------------------------------------------------------------------
def test_same_seeds_give_identical_histories() -> None:
    """Resampling, RAD, grad-norm weights and L-BFGS all draw from the seeds only."""

    def history(seed: int) -> tuple[list, xr.Dataset]:
        tr = make_trainer(
            "heat",
            optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=25),
            seed=seed,
            steps=30,
            snapshot_every=10,
            sampler=SamplerConfig(
                n_interior=64, n_boundary=16, n_initial=16, resample_every=7
            ),
            adaptive=AdaptiveConfig(method="rad", every=10, n_candidates=256),
            weighting=WeightingConfig(method="gradnorm", every=5, alpha=0.5),
            eval_grid=(("x", 16), ("t", 8)),
        )
        events = list(tr.run())
        snaps = [e.snapshot for e in events if e.snapshot is not None]
        history = xr.concat(snaps, "step", data_vars="minimal")  # fixed points
        return events, history.drop_vars("wall_time")

    ev_a, hist_a = history(3)
    ev_b, hist_b = history(3)
    assert len(ev_a) == len(ev_b) == 30
    for a, b in zip(ev_a, ev_b):
        assert (a.step, a.terms, a.weights, a.info) == (
            b.step,
            b.terms,
            b.weights,
            b.info,
        )
    xr.testing.assert_identical(hist_a, hist_b)
    _, hist_c = history(4)
    assert not hist_a.rel_l2.equals(hist_c.rel_l2)

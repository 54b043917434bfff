"""Operator training: learning, snapshots, super-resolution, rollouts, RunControl,
NaN rollback, checkpoints, metrics against closed forms, learning curves."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.data.operators import (
    AntiderivativeDataConfig,
    HeatDataConfig,
    KSDataConfig,
    generate_dataset,
)
from explorer.io import (
    load_operator_model,
    restore_operator_trainer,
    save_operator_checkpoint,
)
from explorer.models import DeepONetConfig, FNOConfig, build_model
from explorer.training import (
    LearningCurve,
    OperatorData,
    OperatorTrainConfig,
    OperatorTrainer,
    OptimConfig,
    RunControl,
    concat_operator_history,
)
from explorer.training.operator_metrics import (
    band_errors,
    energy_spectrum,
    relative_h1,
    relative_l2,
)

HEAT = HeatDataConfig(resolution=32, n_samples=32, input_modes=8)
OPTIM = OptimConfig(lr=1e-2, schedule="cosine")
NET = FNOConfig(modes=6, width=12, layers=2, projection=16)


@pytest.fixture(scope="module")
def heat() -> OperatorData:
    test = dataclasses.replace(HEAT, seed=1, n_samples=8)
    return OperatorData(
        generate_dataset(HEAT, device="cpu"),
        generate_dataset(test, device="cpu"),
        {2: generate_dataset(test.with_resolution(64), device="cpu")},
    )


def _trainer(data: OperatorData, epochs: int = 6, **kw: object) -> OperatorTrainer:
    config = OperatorTrainConfig(epochs=epochs, batch_size=4, snapshot_every=3, **kw)
    return OperatorTrainer(build_model(NET, seed=0), data, OPTIM, config, seed=0)


def test_learns_and_snapshots(heat: OperatorData) -> None:
    trainer = _trainer(heat, epochs=7)
    events = list(trainer.run())
    assert [e.epoch for e in events] == [1, 2, 3, 4, 5, 6, 7]
    assert [e.snapshot is not None for e in events] == [1, 0, 1, 0, 0, 1, 1]
    assert events[-1].loss < 0.3 * events[0].loss
    assert events[-1].lr < OPTIM.lr  # the cosine schedule decays over the run
    h = concat_operator_history([e.snapshot for e in events if e.snapshot])
    assert list(h["epoch"].values) == [1, 3, 6, 7]
    assert float(h["test_rel_l2"][-1]) < 0.5 * float(h["test_rel_l2"][0])
    # Heat data are exact and band-limited: 2x the grid gives the same error.
    sr = h["superres_rel_l2"].sel(epoch=7)
    assert list(h["factor"].values) == [1, 2]
    assert float(sr.sel(factor=2)) == pytest.approx(float(sr.sel(factor=1)), rel=1e-3)
    assert h["prediction"].dims == ("epoch", "shown", "x")
    assert h.attrs["n_params"] == sum(p.numel() for p in trainer.model.parameters())
    assert h["band_error"].sizes["band"] == 3
    assert np.isfinite(h["spectrum_prediction"].values).all()


def test_run_control_stop_and_single_step(heat: OperatorData) -> None:
    control = RunControl()
    control.stop()
    assert list(_trainer(heat).run(control=control)) == []
    control = RunControl()
    control.pause()
    control.step_once()
    events = []
    for event in _trainer(heat).run(control=control):
        events.append(event)
        control.stop()  # a paused run would block here for the next step
    assert [e.epoch for e in events] == [1]


def test_nan_restores_the_last_good_state(heat: OperatorData) -> None:
    bad_train = heat.train.copy(deep=True)
    bad_train["u"][5, 3] = np.nan
    data = dataclasses.replace(heat, train=bad_train)
    trainer = _trainer(data)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    events = list(trainer.run())
    assert len(events) == 1 and events[0].diverged
    assert "diverged in epoch 1" in events[0].message  # type: ignore[operator]
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert trainer.epoch == 0


def test_checkpoint_continues_bit_for_bit(heat: OperatorData, tmp_path: Path) -> None:
    a = _trainer(heat, epochs=4)
    list(a.run(2))
    path = save_operator_checkpoint(tmp_path / "op.pt", a)
    list(a.run(1))
    b = _trainer(heat, epochs=4)
    restore_operator_trainer(path, b)
    assert b.epoch == 2
    list(b.run(1))
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    model = load_operator_model(path)
    x = a.x_test[:2]
    assert model(x).shape == x.shape
    other = OperatorTrainer(
        build_model(dataclasses.replace(NET, width=8), seed=0),
        heat,
        OPTIM,
        OperatorTrainConfig(epochs=4),
    )
    with pytest.raises(ValueError, match="build the trainer from the checkpoint"):
        restore_operator_trainer(path, other)


def test_trajectory_data_give_rollout_errors() -> None:
    ks = generate_dataset(
        KSDataConfig(resolution=64, n_samples=5, n_times=4), device="cpu"
    )
    data = OperatorData(ks.isel(sample=slice(0, 3)), ks.isel(sample=slice(3, 5)))
    trainer = OperatorTrainer(
        build_model(FNOConfig(modes=8, width=8, layers=2), seed=0),
        data,
        OPTIM,
        OperatorTrainConfig(epochs=1, batch_size=3),
    )
    assert trainer.x_train.shape == (3 * 3, 1, 64)  # every consecutive pair
    (event,) = list(trainer.run())
    snap = event.snapshot
    assert snap is not None and snap["rollout_rel_l2"].dims == ("epoch", "t")
    assert list(snap["t"].values) == [1.0, 2.0, 3.0]


def test_refusals(heat: OperatorData) -> None:
    with pytest.raises(ValueError, match="allowed: 'adam', 'adamw'"):
        OperatorTrainer(
            build_model(NET, seed=0),
            heat,
            OptimConfig(optimizer="lbfgs"),
            OperatorTrainConfig(),
        )
    ks = generate_dataset(
        KSDataConfig(resolution=32, n_samples=1, n_times=2), device="cpu"
    )
    with pytest.raises(ValueError, match="kinds"):
        OperatorData(heat.train, ks)
    with pytest.raises(ValueError, match=r"OperatorTrainConfig.bands"):
        OperatorTrainConfig(bands=(8, 4))
    with pytest.raises(ValueError, match=r"OperatorTrainConfig.epochs = 0"):
        OperatorTrainConfig(epochs=0)


def test_metrics_against_closed_forms() -> None:
    n = 64
    x = torch.arange(n, dtype=torch.float64) / n
    truth = torch.sin(2 * math.pi * x)[None, None]
    pred = truth + 0.1 * torch.sin(2 * math.pi * 20 * x)
    assert float(relative_l2(pred, truth)) == pytest.approx(0.1, rel=1e-12)
    # H1 on the unit interval: ‖sin 2πkx‖² ∝ 1 + |D_k|², with the forward
    # difference's symbol |D_k| = 2n sin(πk/n) (→ 2πk as n grows).
    d1, d20 = (2 * n * math.sin(math.pi * k / n) for k in (1, 20))
    h1 = math.sqrt(0.01 * (1 + d20**2) / (1 + d1**2))
    assert float(relative_h1(pred, truth)) == pytest.approx(h1, rel=0.02)
    e = energy_spectrum(pred)
    assert float(e.sum()) == pytest.approx(float(pred.square().mean()), rel=1e-12)
    assert float(e[1]) == pytest.approx(0.5) and float(e[20]) == pytest.approx(0.005)
    bands = band_errors(pred, truth + 0 * x, (4, 16))
    assert float(bands[0]) == pytest.approx(0.0, abs=1e-12)
    assert float(bands[2]) > 1e6  # error where truth has no energy


def test_learning_curves_over_samples_and_sensors() -> None:
    cfg = AntiderivativeDataConfig(resolution=33, n_samples=64, input_modes=4)
    data = OperatorData(
        generate_dataset(cfg, device="cpu"),
        generate_dataset(dataclasses.replace(cfg, seed=1, n_samples=16), device="cpu"),
    )
    net = DeepONetConfig(sensors=9, width=16, basis=8)
    train = OperatorTrainConfig(epochs=4, batch_size=8, snapshot_every=1000)
    curve = LearningCurve(
        net, data, OPTIM, train, parameter="n_train", values=[8, 64], seeds=[0, 1]
    )
    events = list(curve.run())
    assert [(e.done, e.total) for e in events] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    ds = curve.result
    assert ds is not None and ds["test_rel_l2"].dims == ("value", "seed")
    assert ds.attrs["reference_slope"] == -0.5
    assert ds.attrs["slope"] < 0  # more data, less error
    logs = np.log(ds["error"].values)
    assert ds.attrs["slope"] == pytest.approx((logs[1] - logs[0]) / math.log(8))
    sensors = LearningCurve(net, data, OPTIM, train, parameter="sensors", values=[2, 9])
    list(sensors.run())
    assert sensors.result is not None and list(sensors.result["value"].values) == [2, 9]
    # Equal optimiser steps for every N: 8 samples in batches of 8 take 16 epochs.
    equal = LearningCurve(
        net, data, OPTIM, train, parameter="n_train", values=[8, 64], steps=16
    )
    assert [equal._trainer(n, 0).config.epochs for n in (8, 64)] == [16, 2]
    with pytest.raises(ValueError, match=r"n_train must lie in 1\.\.64"):
        LearningCurve(net, data, OPTIM, train, parameter="n_train", values=[8, 100])
    with pytest.raises(ValueError, match="needs a DeepONetConfig"):
        LearningCurve(NET, data, OPTIM, train, parameter="sensors", values=[2, 4])


def test_two_dimensional_data_train_and_snapshot() -> None:
    from explorer.data.operators import DarcyDataConfig

    cfg = DarcyDataConfig(resolution=9, n_samples=6, input_modes=4)
    ds = generate_dataset(cfg, device="cpu")
    data = OperatorData(ds.isel(sample=slice(0, 4)), ds.isel(sample=slice(4, 6)))
    net = FNOConfig(
        dim=2, modes=2, width=4, layers=1, padding=0.25, positional="closed"
    )
    trainer = OperatorTrainer(
        build_model(net, seed=0), data, OPTIM, OperatorTrainConfig(epochs=1)
    )
    (event,) = list(trainer.run())
    snap = event.snapshot
    assert snap is not None and snap["prediction"].dims == ("epoch", "shown", "x", "y")
    assert snap.sizes["k"] == 5  # shells |k| = 0..4 on a 9-point grid
    # Parseval in 2-D: the shells hold the whole mean square.
    y = trainer.y_test
    assert float(energy_spectrum(y).sum()) == pytest.approx(float(y.square().mean()))


def test_adam_takes_complex_parameters() -> None:
    # neuraloperator's spectral weights are complex; torch's fused Adam refuses them.
    from explorer.training.optim import Optimization

    w = torch.zeros(3, dtype=torch.complex64, requires_grad=True)
    opt = Optimization([w], OptimConfig(lr=0.1), total_steps=10)

    def closure() -> torch.Tensor:
        w.grad = None
        loss = (w - 1).abs().square().sum()
        loss.backward()
        return loss

    assert opt.step(closure).loss == pytest.approx(3.0)
    assert torch.allclose(w, torch.full((3,), 0.1 + 0j))

"""OperatorSession: knobs -> OperatorSpec, bounds, data and training threads, sweeps,
URL state, export.

Runs use periodic heat data (exact, so generation is instant) on 32 points with a
tiny FNO; datasets go to a per-test cache folder.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from explorer.data.operators import BurgersDataConfig, HeatDataConfig
from explorer.io import load_dataset
from explorer.models import DeepONetConfig, FNOConfig
from explorer.state import OperatorSession, OperatorSpec
from explorer.state.operator_spec import TEST_SEED_OFFSET, finer_resolution
from explorer.training import OperatorTrainConfig, OptimConfig

TIMEOUT = 60.0  # generous for a busy machine; every wait ends early on success
TINY_DATA = {
    "resolution": 32,
    "input_modes": 8,
    "n_train": 16,
    "n_test": 8,
    "superres": 2,
}
TINY_MODEL = {"kind": "fno", "modes": 4, "width": 8, "layers": 2, "projection": 16}
TINY_TRAINING = {"epochs": 3, "batch_size": 8}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(cache: Path, **training: object) -> OperatorSession:
    return OperatorSession(
        "heat",
        TINY_DATA,
        model=TINY_MODEL,
        training={**TINY_TRAINING, **training},
        cache_dir=cache,
        device="cpu",
    )


@pytest.fixture
def session(tmp_path: Path) -> Iterator[OperatorSession]:
    s = tiny(tmp_path)
    yield s
    s.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def settle(s: OperatorSession, quiet: float = 0.3) -> int:
    """Wait until the epoch count holds still for ``quiet`` seconds; return it."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        step = s.status.step
        time.sleep(quiet)
        if s.status.step == step:
            return step
    raise AssertionError("the epoch count never held still")


def finish(s: OperatorSession) -> None:
    wait_for(lambda: not s.preparing, "the data")
    wait_for(lambda: s.run is not None and not s.run.alive, "the training thread")


# ---- knobs and the bridge ----------------------------------------------------------
def test_defaults_are_a_small_burgers_fno(tmp_path: Path) -> None:
    s = OperatorSession(cache_dir=tmp_path)
    spec = s.to_spec()
    assert isinstance(spec.data, BurgersDataConfig) and spec.data.zero_mean
    assert (spec.data.resolution, spec.data.n_samples, spec.n_test) == (128, 200, 50)
    assert spec.superres == 4 and spec.factors == (2, 4)
    assert isinstance(spec.model, FNOConfig)
    assert (spec.model.modes, spec.model.width, spec.model.layers) == (16, 32, 4)
    assert spec.train.epochs == 20 and spec.optim.schedule == "cosine"
    # the data fit easily in 2 GB: train + test on the 4x grid, float32
    floats = 2 * (200 * 128 + 50 * 512)
    assert floats * 4 < 1e6
    assert s.error == "" and s.curve_error == ""
    assert s.status.state == "idle" and str(s.status) == "idle · epoch 0/20"
    s.close()


def test_every_knob_reaches_the_spec(session: OperatorSession) -> None:
    s = session
    s.data.parameters.param.update(nu=0.02, t_final=0.25, resolution=64)
    s.data.param.update(n_train=24, n_test=6, superres=4, data_seed=3)
    s.model.parameters.param.update(modes=8, width=12, layers=3, projection=20)
    s.training.param.update(
        epochs=7, batch_size=4, lr=1e-3, optimizer="adamw", loss="h1", schedule="step"
    )
    s.seed = 5
    spec = s.to_spec()
    assert spec.data == HeatDataConfig(
        resolution=64,
        n_samples=24,
        seed=3,
        nu=0.02,
        t_final=0.25,
        input_modes=8,
        zero_mean=True,
    )
    assert (spec.n_test, spec.superres, spec.seed) == (6, 4, 5)
    assert spec.model == FNOConfig(
        modes=8, width=12, layers=3, projection=20, positional="periodic"
    )
    assert (spec.optim.optimizer, spec.optim.lr, spec.optim.schedule) == (
        "adamw",
        1e-3,
        "step",
    )
    assert (spec.train.epochs, spec.train.batch_size, spec.train.loss) == (7, 4, "h1")
    test = spec.test_config(4)
    assert (test.resolution, test.n_samples, test.seed) == (
        256,
        6,
        3 + TEST_SEED_OFFSET,
    )


def test_closed_grids_get_closed_positions_and_padding(tmp_path: Path) -> None:
    s = OperatorSession("antiderivative", cache_dir=tmp_path)
    spec = s.to_spec()
    assert spec.model.positional == "closed" and spec.model.padding > 0
    assert finer_resolution(spec.data, 4) == 401  # (101 - 1) * 4 + 1
    s.model.kind = "deeponet"
    assert s.to_spec().model.grid == "closed"
    s.data.family = "darcy"
    assert s.data.dim == 2 and "DeepONet is 1-D" in s.error
    s.model.kind = "unet"
    assert s.error == "" and s.to_spec().model.dim == 2
    assert s.to_spec().model.boundary == "edge"
    s.close()


def test_knob_bounds_are_the_configs_and_refuse_clearly(
    session: OperatorSession,
) -> None:
    s = session
    lo, hi = FNOConfig.BOUNDS["modes"]
    assert s.model.parameters.param["modes"].bounds == (lo, hi)
    with pytest.raises(ValueError, match="modes"):
        s.model.parameters.modes = hi + 1
    assert s.data.parameters.param["nu"].bounds == (1e-5, 10.0)  # HeatDataConfig's
    with pytest.raises(ValueError, match="nu"):
        s.data.parameters.nu = 100.0
    e_lo, e_hi = OperatorTrainConfig.BOUNDS["epochs"]
    assert s.training.param["epochs"].bounds == (e_lo, e_hi)
    with pytest.raises(ValueError):
        s.training.optimizer = "lbfgs"  # not for mini-batch operator training
    assert s.model.parameters.modes == 4  # refused values change nothing
    assert s.error == ""


def test_invalid_combinations_go_to_error_and_never_raise(
    session: OperatorSession,
) -> None:
    s = session
    s.model.parameters.modes = 20  # the grid has 32 points: at most 16 modes
    assert s.error.startswith("FNOConfig.modes = 20 keeps 20 Fourier modes")
    assert "use modes <= 16 or a finer grid" in s.error
    assert s.train() is False and s.run is None
    s.data.parameters.resolution = 64
    assert s.error == ""
    s.model.kind = "deeponet"
    s.model.parameters.sensors = 100
    assert "DeepONetConfig.sensors = 100 exceeds the 64 points" in s.error
    s.model.parameters.sensors = 32
    s.data.parameters.resolution = 16384
    s.data.superres = 8
    assert "super-resolution up to 8x needs test data at resolution 131072" in s.error
    assert "HeatDataConfig.resolution" in s.error
    s.data.superres = 1
    s.data.family = "ks"
    s.data.parameters.param.update(t_burn=400.0, n_times=200)
    assert "KSDataConfig: t_burn + (n_times − 1)·dt_record" in s.error


def test_family_change_swaps_knobs_and_sizes_and_keeps_watching(
    session: OperatorSession,
) -> None:
    s = session
    s.data.family = "burgers"
    assert s.data.parameters.resolution == 128 and s.data.parameters.nu == 0.05
    assert (s.data.n_train, s.data.n_test, s.data.superres) == (200, 50, 4)
    version = s.version
    s.data.parameters.nu = 0.03  # the new knobs are watched
    assert s.version > version and s.to_spec().data.nu == 0.03
    s.model.kind = "unet"
    version = s.version
    s.model.parameters.levels = 2
    assert s.version > version and s.to_spec().model.levels == 2


# ---- threads -----------------------------------------------------------------------
def test_train_prepares_data_then_trains_in_workers(session: OperatorSession) -> None:
    s = session
    assert s.train()
    finish(s)
    assert s.data_job.state == "done" and s.data_job.progress == 1.0
    status = s.status
    assert status.state == "finished" and (status.step, status.steps) == (3, 3)
    assert str(status).startswith("finished · epoch 3/3")
    assert math.isfinite(status.loss) and math.isfinite(status.rel_l2)
    history = s.history
    assert list(history["epoch"].values) == [1, 2, 3]
    assert list(history["factor"].values) == [1, 2]
    assert status.rel_l2 == pytest.approx(float(history["test_rel_l2"][-1]))
    # train and test files are on disk; the 1x test set was cut from the 2x one
    files = sorted(p.name for p in s.cache.root.glob("*.nc"))
    assert sorted(f.rsplit("-r", 1)[1] for f in files) == ["32.nc", "64.nc"]
    # a finished run says so; train(n) goes on
    assert s.train() is False and "finished at epoch 3" in s.status.message
    assert s.train(2)
    finish(s)
    assert s.status.step == 5


def test_data_are_reused_from_memory_and_from_disk(tmp_path: Path) -> None:
    s = tiny(tmp_path)
    s.prepare()
    s.model.parameters.width = 6  # a new network, the same data
    assert s.train() and not s.preparing  # no data job: straight to training
    finish(s)
    s.close()
    again = tiny(tmp_path)
    seen: list[float] = []
    data = again.prepare(seen.append)
    assert seen == [1.0]  # nothing generated
    assert data.train.sizes["sample"] == 16 and data.test.sizes["x"] == 32
    again.close()


def test_pause_resume_stop_and_reset(tmp_path: Path) -> None:
    s = tiny(tmp_path, epochs=100_000)
    s.prepare()
    assert s.train()
    wait_for(lambda: s.status.step >= 2, "two epochs")
    s.pause()
    wait_for(lambda: s.status.state == "paused", "the pause")
    paused_at = s.status.step
    step = settle(s)  # the epoch in flight lands, then the count holds
    assert step - paused_at <= 1
    assert s.train() and s.running
    wait_for(lambda: s.status.step > step, "the resumed run")
    s.stop()
    assert not s.run.alive and s.status.state == "stopped"
    run = s.run
    assert s.reset() and s.run is not run and s.run.trainer.epoch == 0
    assert s.status.state == "idle" and s.history is None
    s.close()
    assert s.status.state == "closed"
    assert s.train() is False and "closed" in s.error


def test_a_changed_knob_marks_stale_and_train_starts_afresh(
    session: OperatorSession,
) -> None:
    s = session
    s.train()
    finish(s)
    run = s.run
    assert not s.stale
    s.training.lr = 1e-3
    assert s.stale
    assert s.train()
    finish(s)
    assert s.run is not run and not s.stale
    assert s.run.spec.optim.lr == 1e-3 and s.status.step == 3


def test_stop_cancels_data_preparation_and_train_resumes_it(tmp_path: Path) -> None:
    # Burgers solves take time: 256 samples in chunks of 32 leave room to cancel.
    s = OperatorSession(
        "burgers",
        {"resolution": 32, "n_train": 256, "n_test": 4, "superres": 1},
        model=TINY_MODEL,
        training=TINY_TRAINING,
        cache_dir=tmp_path,
        device="cpu",
    )
    assert s.train()
    wait_for(lambda: s.data_job.progress > 0, "the first chunk")
    s.stop()
    assert not s.preparing and s.data_job.state == "cancelled" and s.run is None
    partial = list(tmp_path.glob("*.partial/*.nc"))
    assert partial  # finished chunks stay for the next time
    # Train again: a fresh job (the cancelled one has ended or is waited for).
    s.data.n_train = 8
    assert s.train()
    finish(s)
    assert s.status.state == "finished" and s.history is not None
    s.close()


def test_iterate_trains_in_the_calling_thread(session: OperatorSession) -> None:
    events = list(session.iterate())
    assert [e.epoch for e in events] == [1, 2, 3]
    assert session.status.state == "finished" and session.history is not None
    assert threading.active_count() < 20


def test_an_exception_in_the_worker_lands_in_the_status(
    session: OperatorSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.prepare()
    session.reset()

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(session.trainer, "train_epoch", broken)
    assert session.train()
    wait_for(lambda: not session.run.alive, "the worker to end")
    assert session.status.state == "error" and "RuntimeError: boom" in str(
        session.status
    )


# ---- learning curves ---------------------------------------------------------------
def test_learning_curve_over_n_runs_in_the_background(
    session: OperatorSession,
) -> None:
    s = session
    s.curve.param.update(points=3, steps=4)
    assert s.curve_values() == [4, 8, 16]
    assert s.learning_curve()
    wait_for(lambda: not s.curve_job.running, "the sweep")
    assert s.curve_job.state == "done", s.curve_job.message
    result = s.curve_result
    assert list(result["value"].values) == [4, 8, 16]
    assert result.attrs["parameter"] == "n_train" and math.isfinite(
        result.attrs["slope"]
    )
    assert np.all(result["test_rel_l2"].values > 0)


def test_learning_curve_over_sensors_needs_a_deeponet(
    session: OperatorSession,
) -> None:
    s = session
    s.curve.parameter = "sensors"
    assert "needs the DeepONet" in s.curve_error
    assert s.learning_curve() is False
    s.model.kind = "deeponet"
    s.model.parameters.param.update(sensors=16, width=8, basis=8)
    s.curve.param.update(points=2, steps=3)
    assert s.curve_error == "" and s.curve_values() == [8, 16]
    assert s.learning_curve()
    wait_for(lambda: not s.curve_job.running, "the sweep")
    assert list(s.curve_result["value"].values) == [8, 16]
    assert s.curve_result.attrs["model"] == "DeepONetConfig"


# ---- URL, export -------------------------------------------------------------------
def test_url_round_trip_restores_every_knob(session: OperatorSession, tmp_path) -> None:
    s = session
    s.data.parameters.nu = 0.02
    s.model.parameters.width = 12
    s.training.loss = "h1"
    s.curve.points = 3
    s.seed = 4
    query = s.to_query()
    assert query["family"] == "heat" and query["model"] == "fno"
    assert query["data.nu"] == "0.02" and query["data.superres"] == "2"
    again = OperatorSession(cache_dir=tmp_path)
    assert again.from_query(query) == []
    assert again.to_query() == query and again.to_spec() == s.to_spec()
    again.close()


def test_bad_url_values_are_ignored_with_notices(tmp_path: Path) -> None:
    s = OperatorSession(cache_dir=tmp_path)
    notices = s.from_query(
        {
            "family": "darcy",
            "data.resolution": "9",
            "data.level_set": "dirichlet",
            "data.nu": "0.1",  # darcy has no nu
            "model": "transformer",
            "model.modes": "lots",
            "training.epochs": "0",
            "seed": "3",
        }
    )
    assert s.data.family == "darcy" and s.data.parameters.resolution == 9
    assert s.seed == 3 and s.model.kind == "fno"
    text = "\n".join(notices)
    assert "data.nu = '0.1' ignored: unknown key for darcy and fno" in text
    assert "data.level_set = 'dirichlet' ignored" in text and "neumann" in text
    assert s.data.parameters.level_set == "neumann"
    assert s.from_query({"family": "darcy", "data.level_set": "periodic"}) == []
    assert s.data.to_config().level_set == "periodic"  # type: ignore[attr-defined]
    assert "model = 'transformer' ignored" in text and "fno, tfno" in text
    assert "model.modes = 'lots' ignored: not an integer" in text
    assert "training.epochs = '0' ignored: out of range" in text
    s.close()


def test_export_round_trip(session: OperatorSession, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to export"):
        session.export(tmp_path / "none.nc")
    session.train()
    finish(session)
    path = session.export(tmp_path / "history.nc")
    history = load_dataset(path)
    assert list(history["epoch"].values) == [1, 2, 3]
    spec = OperatorSpec.from_dict(history.attrs["run_spec"])
    assert spec == session.run.spec
    assert dataclasses.asdict(spec.model) == dataclasses.asdict(session.to_spec().model)
    assert OperatorSpec.from_dict(spec.to_dict()) == spec


def test_deeponet_spec_round_trips() -> None:
    data = HeatDataConfig(resolution=32, n_samples=4, input_modes=8)
    spec = OperatorSpec(
        data=data,
        n_test=2,
        superres=1,
        model=DeepONetConfig(sensors=16, grid="periodic"),
        optim=OptimConfig(lr=1e-3),
        train=OperatorTrainConfig(epochs=2),
        seed=1,
    )
    assert OperatorSpec.from_dict(spec.to_json()) == spec
    with pytest.raises(ValueError, match="model kind 'mlp' is unknown"):
        OperatorSpec.from_dict({**spec.to_dict(), "model": {"kind": "mlp"}})

"""PINNSession: knobs -> RunSpec, bounds, the worker thread, URL state, compare, export.

Training tests use Poisson 1-D (a 256-point evaluation grid) with tiny float64 nets,
so a hundred steps take a fraction of a second.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import param
import pytest
import torch

from explorer.data import SamplerConfig
from explorer.io import load_dataset, load_run
from explorer.models import MLPConfig
from explorer.problems import Burgers
from explorer.state import (
    CompareSession,
    ModelState,
    PINNSession,
    TrainingState,
)
from explorer.state.run import MAX_SNAPSHOTS
from explorer.training import (
    CurriculumConfig,
    OptimConfig,
    RunSpec,
    TrainConfig,
)

TIMEOUT = 20.0  # generous for a busy machine; every wait ends early on success
QUIET = 0.3

TINY_MODEL = {"depth": 1, "width": 8, "float64": True}
TINY_TRAINING = {"n_interior": 32, "snapshot_every": 10, "steps": 60}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**training: object) -> PINNSession:
    return PINNSession(
        "poisson-1d",
        {"a": 0.0},
        model=TINY_MODEL,
        training={**TINY_TRAINING, **training},
    )


@pytest.fixture
def session() -> Iterator[PINNSession]:
    s = tiny()
    yield s
    s.close()


def wait_for(condition: Callable[[], bool], what: str = "condition") -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def settle(s: PINNSession) -> int:
    """Wait until the step count holds still for QUIET seconds; return it."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        step = s.status.step
        time.sleep(QUIET)
        if s.status.step == step:
            return step
    raise AssertionError("steps kept coming")


def finish(s: PINNSession) -> None:
    wait_for(lambda: s.run is not None and not s.run.alive, "the worker to end")


# ---- knobs and the one bridge -----------------------------------------------------
def test_defaults_are_a_small_burgers_run() -> None:
    s = PINNSession()
    spec = s.to_spec()
    assert spec.problem == "burgers" and spec.make_problem() == Burgers()
    assert spec.net.depth * spec.net.width <= 4 * 32
    assert spec.train.sampler.n_interior <= 2048
    assert spec.train.snapshot_every <= 100
    assert s.error == "" and not s.stale and s.status.state == "idle"


def test_every_knob_reaches_the_spec() -> None:
    s = PINNSession("heat", {"nu": 0.05}, seed=7)
    s.model.param.update(
        depth=2,
        width=24,
        activation="sin",
        fourier_features=16,
        fourier_scale=2.5,
        hard_bc=True,
        hard_ic=True,
        float64=True,
    )
    s.training.param.update(
        optimizer="adam+lbfgs",
        lr=3e-3,
        switch_step=40,
        n_interior=300,
        sampler="lhs",
        resample_every=25,
        adaptive="rad",
        adaptive_every=30,
        weighting="gradnorm",
        causal_eps=5.0,
        curriculum_parameter="nu",
        curriculum_start=0.5,
        curriculum_steps=77,
        steps=123,
        snapshot_every=11,
    )
    assert s.error == ""
    spec = s.to_spec()
    assert spec.problem == "heat" and dict(spec.values)["nu"] == 0.05
    assert spec.seed == 7
    assert spec.net == MLPConfig(
        depth=2,
        width=24,
        activation="sin",
        fourier_features=16,
        fourier_scale=2.5,
        dtype="float64",
    )
    assert spec.options.hard_bc and spec.options.hard_ic
    assert spec.optim == OptimConfig(optimizer="adam+lbfgs", lr=3e-3, switch_step=40)
    t = spec.train
    assert t.steps == 123 and t.snapshot_every == 11 and t.causal_eps == 5.0
    assert t.sampler == SamplerConfig(method="lhs", n_interior=300, resample_every=25)
    assert (t.adaptive.method, t.adaptive.every) == ("rad", 30)
    assert t.weighting.method == "gradnorm"
    assert t.curriculum == CurriculumConfig(parameter="nu", start=0.5, steps=77)
    assert RunSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("state", "name", "config", "field"),
    [
        (ModelState, "depth", MLPConfig, "depth"),
        (ModelState, "width", MLPConfig, "width"),
        (ModelState, "fourier_features", MLPConfig, "fourier_features"),
        (ModelState, "fourier_scale", MLPConfig, "fourier_scale"),
        (TrainingState, "lr", OptimConfig, "lr"),
        (TrainingState, "switch_step", OptimConfig, "switch_step"),
        (TrainingState, "n_interior", SamplerConfig, "n_interior"),
        (TrainingState, "resample_every", SamplerConfig, "resample_every"),
        (TrainingState, "causal_eps", TrainConfig, "causal_eps"),
        (TrainingState, "steps", TrainConfig, "steps"),
        (TrainingState, "snapshot_every", TrainConfig, "snapshot_every"),
        (TrainingState, "curriculum_steps", CurriculumConfig, "steps"),
    ],
)
def test_knob_bounds_are_the_configs_and_refuse_clearly(
    state: type[param.Parameterized], name: str, config: type, field: str
) -> None:
    lo, hi = config.BOUNDS[field]
    p = state.param[name]
    assert p.bounds == (lo, hi)
    knobs = state()
    setattr(knobs, name, hi)  # the edges are allowed
    setattr(knobs, name, lo)
    too_big = hi * 2 if hi else 1
    with pytest.raises(ValueError, match=rf"{name}.*{too_big:g}|{name}.*at most"):
        setattr(knobs, name, too_big)
    assert getattr(knobs, name) == lo  # unchanged


def test_invalid_combinations_go_to_error_and_never_raise() -> None:
    s = PINNSession()
    s.training.curriculum_parameter = "nu"
    assert s.error == ""  # the start was moved to a valid value
    s.training.curriculum_start = 50.0  # nu allows 0.001 to 1
    assert "curriculum start" in s.error and "50" in s.error
    assert s.train() is False and s.run is None
    s.training.curriculum_start = 0.1
    assert s.error == ""
    s.problem.parameters.nu = 5.0  # out of the problem's bounds: error, no raise
    assert "nu" in s.error and "5" in s.error
    s.problem.parameters.nu = 0.05
    assert s.error == ""


def test_constructor_refuses_bad_problem_values() -> None:
    with pytest.raises(ValueError, match="nu"):
        PINNSession("burgers", {"nu": -1.0})
    with pytest.raises(ValueError, match="unknown"):
        PINNSession("burgers", {"mu": 0.1})


def test_curriculum_choices_follow_the_problem() -> None:
    s = PINNSession("heat")
    s.training.curriculum_parameter = "nu"
    s.problem.problem = "poisson-1d"
    assert s.training.param.curriculum_parameter.objects == ["none", "a"]
    assert s.training.curriculum_parameter == "none"


# ---- the worker thread --------------------------------------------------------------
def test_train_pause_step_resume_stop(session: PINNSession) -> None:
    s = session
    s.training.steps = 100_000
    versions = [s.version]
    assert s.train() is True
    wait_for(lambda: s.status.step >= 5, "5 steps")
    assert s.running and s.status.state == "running"
    s.pause()
    paused = settle(s)
    assert not s.running and s.status.state == "paused"
    assert s.status.steps_per_second == 0.0
    versions.append(s.version)
    for k in (1, 2):
        s.step()
        wait_for(lambda k=k: s.status.step == paused + k, "one step")
        time.sleep(QUIET)
        assert s.status.step == paused + k and s.status.state == "paused"
    s.train()  # resumes the same run
    wait_for(lambda: s.status.step >= paused + 20, "resumed steps")
    assert s.status.steps_per_second > 0
    s.stop()
    assert not s.run.alive and s.status.state == "stopped"
    versions.append(s.version)
    assert versions == sorted(versions) and len(set(versions)) == 3
    h = s.history
    assert h is not None and h.step.values[0] == 1
    assert np.all(np.diff(h.step.values) > 0)
    assert s.latest.step.values[0] == h.step.values[-1]


def test_actions_from_other_threads(session: PINNSession) -> None:
    s = session
    s.training.steps = 100_000

    def call(action: Callable[[], object]) -> None:
        t = threading.Thread(target=action)
        t.start()
        t.join(TIMEOUT)

    call(s.train)
    wait_for(lambda: s.status.step >= 3, "steps")
    call(s.pause)
    paused = settle(s)
    call(s.step)
    wait_for(lambda: s.status.step == paused + 1, "one step")
    call(s.stop)
    assert not s.run.alive


def test_step_from_idle_takes_one_step_and_waits(session: PINNSession) -> None:
    s = session
    assert s.step() is True
    wait_for(lambda: s.status.step == 1, "the first step")
    time.sleep(QUIET)
    assert s.status.step == 1 and s.status.state == "paused" and s.run.alive
    assert s.latest is not None  # step 1 always takes a snapshot
    s.train()
    finish(s)
    assert s.status.state == "finished" and s.status.step == 60


def test_a_finished_run_says_so_and_train_n_goes_on(session: PINNSession) -> None:
    s = session
    s.train()
    finish(s)
    assert s.train() is False and "finished at step 60" in s.status.message
    assert s.train(10) is True
    finish(s)
    assert s.status.step == 70 and s.status.state == "finished"


def test_a_changed_knob_marks_stale_and_train_starts_afresh(
    session: PINNSession,
) -> None:
    s = session
    s.train()
    finish(s)
    first = s.run
    assert not s.stale
    s.model.width = 12
    assert s.stale and s.run is first  # the old run is kept until train()
    assert s.train() is True
    assert s.run is not first and not s.stale
    assert s.run.spec.net.width == 12
    finish(s)
    assert s.status.step == 60
    s.seed = 3
    assert s.stale


def test_reset_builds_a_new_run_from_the_spec(session: PINNSession) -> None:
    s = session
    s.train()
    finish(s)
    assert s.reset() is True
    assert s.status.step == 0 and s.history is None and s.status.state == "idle"


def test_problem_parameter_change_resolves_the_reference_at_once() -> None:
    s = PINNSession()
    before = s.problem.solution
    s.problem.parameters.nu = 0.05
    after = s.problem.solution
    assert after is not before and s.problem.config.nu == 0.05
    assert not np.allclose(before["u"].values, after["u"].values)
    # < 300 ms at the defaults on an idle core; generous for a shared machine
    assert s.problem.solve_ms < 3000


def test_training_uses_the_problem_states_reference(session: PINNSession) -> None:
    session.reset()
    assert session.trainer.reference is session.problem.solution


def test_divergence_stops_with_its_message_and_keeps_the_last_good_state(
    session: PINNSession,
) -> None:
    s = session
    s.training.steps = 100_000
    assert s.reset()
    trainer = s.trainer
    terms = trainer.loss.terms

    def poisoned(batch: object) -> dict[str, torch.Tensor]:
        out = terms(batch)
        if trainer.step >= 7:
            out["residual"] = out["residual"] * float("inf")
        return out

    trainer.loss.terms = poisoned
    s.train()
    finish(s)
    st = s.status
    assert st.state == "diverged" and not s.running
    assert "diverged at step 8" in st.message and "learning rate" in st.message
    assert st.step == trainer.step == 6  # rolled back to the last finite state
    assert all(torch.isfinite(p).all() for p in trainer.pinn.parameters())
    assert s.history is not None  # the history is kept
    assert "diverged" in str(st)


def test_an_exception_in_the_worker_lands_in_the_status(
    session: PINNSession,
) -> None:
    s = session
    assert s.reset()

    def broken() -> None:
        raise RuntimeError("boom")

    s.trainer.train_step = broken
    s.train()
    finish(s)
    assert s.status.state == "error" and "RuntimeError: boom" in s.status.error


def test_close_stops_the_thread_and_frees_the_trainer() -> None:
    s = tiny(steps=100_000)
    s.train()
    wait_for(lambda: s.status.step >= 2, "steps")
    run = s.run
    s.close()
    assert not run.alive and s.trainer is None and s.status.state == "closed"
    assert s.history is not None  # still readable
    assert s.train() is False and "closed" in s.error


def test_iterate_trains_in_the_calling_thread(session: PINNSession) -> None:
    events = list(session.iterate(15))
    assert [e.step for e in events] == list(range(1, 16))
    assert session.status.state == "finished" and session.status.step == 15
    assert session.run.alive is False


def test_history_is_cached_and_thinned(
    session: PINNSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("explorer.state.run.MAX_SNAPSHOTS", 4)
    s = session
    s.training.snapshot_every = 1
    list(s.iterate(3))
    h = s.history
    assert h is s.history  # cached while nothing new arrived
    list(s.iterate(3))
    steps = s.history.step.values
    assert len(steps) <= 4 and steps[0] == 1 and steps[-1] == 6
    assert MAX_SNAPSHOTS >= 100


# ---- URL state ----------------------------------------------------------------------
def _custom() -> PINNSession:
    s = PINNSession(
        "heat",
        {"nu": 0.02, "u0": "sin(pi*x)*(1 + x)", "t_final": 0.5},
        seed=11,
    )
    s.model.param.update(
        depth=2, width=40, activation="gelu", fourier_features=8, hard_bc=True
    )
    s.model.fourier_scale = 3.25
    s.training.param.update(
        optimizer="adamw",
        lr=0.0025,
        sampler="uniform",
        adaptive="rar",
        weighting="ntk",
        causal_eps=1.5,
        curriculum_parameter="nu",
        curriculum_start=0.3,
        steps=777,
        snapshot_every=33,
    )
    return s


def test_url_round_trip_restores_every_knob() -> None:
    s = _custom()
    query = s.to_query()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    assert query["problem"] == "heat" and query["problem.u0"] == "sin(pi*x)*(1 + x)"
    fresh = PINNSession()
    assert fresh.from_query(query) == []
    assert fresh.to_query() == query
    assert fresh.to_spec() == s.to_spec()
    assert fresh.error == ""


def test_bad_url_values_are_ignored_with_notices() -> None:
    s = PINNSession()
    before = s.to_query()
    bad = {
        "problem": "navier-stokes",
        "problem.nu": "5",
        "problem.mu": "1",
        "model.width": "1000",
        "model.depth": "two",
        "model.hard_bc": "maybe",
        "training.lr": "nan",
        "training.adaptive": "xx",
        "seed": "-1",
        "colour": "red",
    }
    notices = s.from_query(bad)
    assert len(notices) == len(bad)
    for key, value in bad.items():
        (notice,) = [n for n in notices if n.startswith(f"{key} = {value!r}")]
        assert "ignored" in notice and "allowed" in notice
    assert s.to_query() == before  # nothing changed
    # Good entries beside bad ones still apply.
    assert s.from_query({"model.width": "16", "model.depth": "x"}) != []
    assert s.model.width == 16


# ---- compare mode -------------------------------------------------------------------
def test_compare_differs_in_one_setting_and_trains_both() -> None:
    base = tiny(steps=30)
    base.seed = 5
    c = CompareSession(base, "fourier")
    try:
        sa, sb = c.a.to_spec(), c.b.to_spec()
        assert (sa.net.fourier_features, sb.net.fourier_features) == (0, 64)
        assert sa.seed == sb.seed == 5
        assert sa.to_dict() | {"net": None} == sb.to_dict() | {"net": None}
        assert c.labels == ["fourier_features=0", "fourier_features=64"]
        assert c.train() is True
        wait_for(lambda: not c.running and c.a.run and c.b.run, "both runs")
        for s in (c.a, c.b):
            wait_for(lambda s=s: not s.run.alive, "the run to end")
        hists = c.histories
        assert all(h is not None and h.step.values[-1] == 30 for h in hists.values())
        assert not np.allclose(
            hists[c.labels[0]].rel_l2.values, hists[c.labels[1]].rel_l2.values
        )
    finally:
        c.close()


def test_compare_refuses_unknown_settings_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown"):
        CompareSession(tiny(), "colour")
    with pytest.raises(ValueError, match=r"model\.width = '9999' ignored"):
        CompareSession(tiny(), "model.width", (8, 9999))
    c = CompareSession(tiny(), "training.causal_eps", (0.0, 10.0))
    assert c.labels == ["causal_eps=0.0", "causal_eps=10.0"]


# ---- files --------------------------------------------------------------------------
def test_export_round_trip(session: PINNSession, tmp_path) -> None:
    with pytest.raises(ValueError, match="train first"):
        session.export(tmp_path / "h.nc")
    list(session.iterate(20))
    path = session.export(tmp_path / "h.nc")
    back = load_dataset(path)
    h = session.history
    np.testing.assert_array_equal(back.step.values, h.step.values)
    np.testing.assert_allclose(back.u_pred.values, h.u_pred.values)
    np.testing.assert_allclose(back.loss.values, h.loss.values)
    spec = RunSpec.from_dict(json.loads(back.attrs["run_spec"]))
    assert spec == session.run.spec
    assert [p.name for p in tmp_path.iterdir()] == ["h.nc"]  # no temporary left


def test_save_while_training_gives_a_resumable_run(
    session: PINNSession, tmp_path
) -> None:
    s = session
    s.training.steps = 100_000
    s.train()
    wait_for(lambda: s.status.step >= 12, "steps")
    s.save(tmp_path / "run")
    assert s.running  # resumed after the checkpoint
    s.stop()
    spec, trainer, history = load_run(tmp_path / "run")
    assert spec == s.run.spec and trainer.step >= 12
    assert history is not None and math.isfinite(float(history.loss[-1]))

"""DiagnosticsState: diagnostics of a live PINN run on a copy, in the background.

Runs are tiny (heat, a 1 x 8 float64 net, 32 points, snapshots every 10 steps), so
each diagnostic takes well under a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch

from explorer.state import DiagnosticsState, PINNSession

TIMEOUT = 30.0
TINY_MODEL = {"depth": 1, "width": 8, "float64": True}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def tiny(steps: int = 60, **training: object) -> PINNSession:
    return PINNSession(
        "heat",
        model=TINY_MODEL,
        training={"n_interior": 32, "snapshot_every": 10, "steps": steps, **training},
    )


@pytest.fixture
def trained() -> Iterator[tuple[PINNSession, DiagnosticsState]]:
    session = tiny()
    diag = DiagnosticsState(session, track_sharpness=True, every=20)
    session.train()
    wait_for(lambda: not session.running, "training")
    wait_for(
        lambda: diag.sharpness is not None and diag.sharpness.sizes["step"] == 3,
        "three sharpness measurements",
    )
    yield session, diag
    diag.close()
    session.close()


def model_state(session: PINNSession) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in session.trainer.pinn.state_dict().items()}


def finish(diag: DiagnosticsState) -> None:
    assert diag.join(TIMEOUT), "the diagnostic did not finish"
    assert diag.state == "done", diag.message


def test_the_trajectory_is_recorded_at_the_start_and_every_snapshot(trained) -> None:
    _session, diag = trained
    assert diag.trajectory_steps == [0, 1, 10, 20, 30, 40, 50, 60]


def test_sharpness_is_tracked_every_k_steps_beside_two_over_lr(trained) -> None:
    session, diag = trained
    sharp = diag.sharpness
    assert list(sharp["step"].values) == [20, 40, 60]
    lr = session.training.lr
    assert np.allclose(sharp["two_over_lr"].values, 2 / lr)
    assert np.all(sharp["lambda_max"].values > 0)
    assert np.all(np.isfinite(sharp["trace"].values))  # trace probes default 4


@pytest.mark.parametrize("kind", ["landscape", "line", "hessian", "ntk"])
def test_each_diagnostic_leaves_the_sessions_model_untouched(trained, kind) -> None:
    session, diag = trained
    before = model_state(session)
    grads = [p.grad.clone() for p in session.trainer.pinn.parameters()]  # training's
    diag.param.update(diagnostic=kind, resolution=7, lanczos_steps=10, ntk_points=8)
    assert diag.run()
    finish(diag)
    after = session.trainer.pinn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    params = list(session.trainer.pinn.parameters())
    assert all(torch.equal(p.grad, g) for p, g in zip(params, grads))
    result = diag.result
    assert diag.result_kind == kind
    assert result.attrs["training_step"] == 60 and result.attrs["problem"] == "heat"


def test_the_landscape_centre_is_the_current_loss_and_ends_the_trajectory(
    trained,
) -> None:
    _session, diag = trained
    diag.param.update(diagnostic="landscape", directions="pca", resolution=9)
    diag.run()
    finish(diag)
    ds = diag.result
    assert list(ds["snapshot"].values) == [0, 1, 10, 20, 30, 40, 50, 60]
    assert ds["trajectory_alpha"].values[-1] == 0.0
    assert ds["loss"].values[4, 4] == pytest.approx(ds["trajectory_loss"].values[-1])
    assert ds.attrs["directions"] == "pca"
    # The trajectory's first point is its start, the true loss there is higher.
    assert ds["trajectory_loss"].values[0] > ds["trajectory_loss"].values[-1]


def test_the_line_runs_from_the_initial_to_the_current_weights(trained) -> None:
    _session, diag = trained
    diag.param.update(diagnostic="line", resolution=4)
    diag.run()
    finish(diag)
    ds = diag.result
    assert (ds.attrs["start_step"], ds.attrs["end_step"]) == (0, 60)
    assert ds["loss"].sel(alpha=1.0).item() == pytest.approx(ds.attrs["loss_end"])
    assert ds.attrs["loss_start"] > ds.attrs["loss_end"]


def test_the_ntk_follows_the_recorded_steps(trained) -> None:
    _session, diag = trained
    diag.param.update(diagnostic="ntk", ntk_points=8, ntk_snapshots=3)
    diag.run()
    finish(diag)
    ds = diag.result
    assert list(ds["step"].values) == [0, 30, 60]
    assert ds["change_rr"].values[0] == 0.0 and ds["change_rr"].values[-1] > 0
    assert ds["energy"].sum().item() == pytest.approx(1.0)


def test_the_hessian_top_eigenvalue_matches_the_tracked_sharpness(trained) -> None:
    _session, diag = trained
    diag.param.update(diagnostic="hessian", top_k=2, lanczos_steps=20)
    diag.run()
    finish(diag)
    tracked = diag.sharpness["lambda_max"].values[-1]  # at step 60, same points
    assert diag.result["top_eigenvalue"].values[0] == pytest.approx(tracked, rel=1e-3)


def test_a_diagnostic_runs_while_training_goes_on() -> None:
    session = tiny(steps=100_000)
    diag = DiagnosticsState(session, diagnostic="hessian", lanczos_steps=10)
    try:
        session.train()
        wait_for(lambda: session.status.step > 5, "a few steps")
        step = session.status.step  # before the job starts: it sees a later step
        assert diag.run()
        finish(diag)
        wait_for(lambda: session.status.step > step + 5, "training to go on")
        assert session.running
        assert diag.result.attrs["training_step"] >= step
    finally:
        diag.close()
        session.close()


def test_cancel_stops_a_large_landscape() -> None:
    session = tiny()
    diag = DiagnosticsState(session, resolution=201)
    try:
        assert diag.run()  # builds the run first: the untrained network
        assert session.run is not None
        wait_for(lambda: diag.progress > 0, "progress")
        assert diag.cancel(wait=TIMEOUT)
        assert diag.state == "cancelled" and diag.result is None
    finally:
        diag.close()
        session.close()


def test_refusals_say_why() -> None:
    session = tiny()
    diag = DiagnosticsState(session)
    try:
        diag.resolution = 20
        assert "odd numbers from 3 to 201" in diag.error
        assert not diag.run()
        diag.resolution = 21
        assert diag.error == ""
        diag.directions = "pca"
        assert diag.run()  # one recorded weight only: PCA needs three
        diag.join(TIMEOUT)
        assert diag.state == "error"
        assert "PCA directions need at least 3 recorded weights" in diag.message
        with pytest.raises(ValueError, match="ntk_points"):
            diag.ntk_points = 10_000
    finally:
        diag.close()
        session.close()


def test_off_by_default_and_detached_on_close() -> None:
    session = tiny(steps=40)
    diag = DiagnosticsState(session)
    session.train()
    wait_for(lambda: not session.running, "training")
    assert diag.sharpness is None
    assert diag.trajectory_steps == [0, 1, 10, 20, 30, 40]
    diag.close()
    assert session._observers == []
    session.close()

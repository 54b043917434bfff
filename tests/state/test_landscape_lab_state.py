"""LandscapeLabState: the regression playground's knobs, jobs and results.

Networks are small (width 16, 16 points) and trainings short, so each job takes
about a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from explorer.state import LandscapeLabState

TIMEOUT = 60.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def lab() -> Iterator[LandscapeLabState]:
    state = LandscapeLabState(width=16, n_points=16, steps=100, every=20)
    yield state
    state.close()


def done(lab: LandscapeLabState) -> None:
    assert lab.join(TIMEOUT)
    assert lab.state == "done", lab.message


def test_training_records_loss_sharpness_fit_and_kernel_change(lab) -> None:
    assert lab.train()
    done(lab)
    history, sharp = lab.history, lab.sharpness
    assert history.sizes["step"] == 101  # before each step, and at the end
    assert list(sharp["step"].values) == [0, 20, 40, 60, 80, 100]
    assert np.allclose(sharp["two_over_lr"].values, 2 / lab.lr)
    assert history["loss"].values[-1] < history["loss"].values[0]
    fit = lab.fit
    assert fit.attrs["step"] == 100 and fit.sizes["point"] == 16
    assert lab.ntk["change"].values[0] == 0 and lab.ntk["change"].values[1] > 0
    assert lab.job == "train"


def test_the_spectrum_needs_training_then_finds_the_tracked_sharpness(lab) -> None:
    assert not lab.spectrum_now()
    assert "train first" in lab.message
    lab.train()
    done(lab)
    lab.top_k = 3
    assert lab.spectrum_now()
    done(lab)
    top = lab.spectrum["top_eigenvalue"].values
    assert top[0] == pytest.approx(lab.sharpness["lambda_max"].values[-1], rel=1e-3)
    assert np.all(np.diff(top) <= 0)
    assert lab.spectrum["density"].integrate("eigenvalue") == pytest.approx(1, rel=1e-2)


def test_the_width_sweep_measures_the_kernel_change_per_width(lab) -> None:
    lab.param.update(max_width=64, steps=60)
    assert lab.sweep()
    done(lab)
    sweep = lab.sweep_result
    assert list(sweep["width"].values) == [16, 32, 64]
    assert np.all(sweep["change"].values > 0)
    assert np.isfinite(sweep.attrs["slope"])
    assert sweep.attrs["parametrization"] == "ntk"


def test_one_job_at_a_time_and_cancel(lab) -> None:
    lab.steps = 100_000
    assert lab.train()
    assert not lab.sweep()
    assert "a job is running" in lab.message
    end = time.monotonic() + TIMEOUT
    while lab.history is None or lab.history.sizes["step"] < 5:
        assert time.monotonic() < end, "no training steps"
        time.sleep(0.01)
    assert lab.cancel(wait=TIMEOUT)
    assert lab.state == "cancelled"
    assert lab.history.sizes["step"] > 0  # what was trained so far stays


def test_bad_values_are_refused_with_the_allowed_range(lab) -> None:
    with pytest.raises(ValueError, match="width"):
        lab.width = 0
    assert "allowed: from 1 to 2048" in lab.param["width"].doc
    lab.lr = 100.0  # a valid step that makes gradient descent diverge
    lab.train()
    lab.join(TIMEOUT)
    assert lab.state == "error"
    assert "diverged" in lab.message and "lower the learning rate" in lab.message

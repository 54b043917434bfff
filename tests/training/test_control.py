"""RunControl: another thread pauses, single-steps, resumes and stops a run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from explorer.training import RunControl, Trainer
from tests.training.helpers import make_trainer

TIMEOUT = 10.0  # generous: the machine may be busy; every wait ends early on success
QUIET = 0.3  # how long "no steps happen" is watched for


class Runner:
    """A trainer running in a background thread, recording the steps it yields."""

    def __init__(self, trainer: Trainer, control: RunControl) -> None:
        self.steps: list[int] = []
        self.error: BaseException | None = None

        def work() -> None:
            try:
                for event in trainer.run(control=control):
                    self.steps.append(event.step)
            except BaseException as e:  # surfaced in the test thread
                self.error = e

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def count(self) -> int:
        return len(self.steps)

    def wait_for(self, condition: Callable[[], bool]) -> None:
        end = time.monotonic() + TIMEOUT
        while not condition():
            assert self.error is None, self.error
            assert time.monotonic() < end, f"timed out; steps so far {self.count()}"
            time.sleep(0.005)

    def settle(self) -> int:
        """Wait until no step arrives for QUIET seconds; return the step count."""
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            n = self.count()
            time.sleep(QUIET)
            if self.count() == n:
                return n
        raise AssertionError(f"steps kept coming for {TIMEOUT} s after pause")


def _trainer(steps: int = 100_000) -> Trainer:
    return make_trainer("poisson-1d", {"a": 0.0}, steps=steps, snapshot_every=10**6)


def test_pause_step_once_resume_stop() -> None:
    control = RunControl()
    tr = _trainer()
    run = Runner(tr, control)
    run.wait_for(lambda: run.count() >= 5)

    control.pause()
    paused_at = run.settle()  # at most the step in flight finishes
    time.sleep(QUIET)
    assert run.count() == paused_at and tr.step == paused_at  # no steps while paused
    assert run.thread.is_alive()

    for k in range(1, 4):  # each step_once takes exactly one step
        control.step_once()
        run.wait_for(lambda k=k: run.count() == paused_at + k)
        time.sleep(QUIET)
        assert run.count() == paused_at + k

    control.resume()
    run.wait_for(lambda: run.count() >= paused_at + 13)

    control.stop()
    run.thread.join(TIMEOUT)
    assert not run.thread.is_alive() and run.error is None
    assert control.stopped
    ended = run.count()
    assert run.steps == list(range(1, ended + 1))  # consecutive, none lost or repeated
    assert tr.step == ended < 100_000


def test_stop_wakes_a_paused_run() -> None:
    control = RunControl()
    run = Runner(_trainer(), control)
    run.wait_for(lambda: run.count() >= 2)
    control.pause()
    n = run.settle()
    control.stop()
    run.thread.join(TIMEOUT)
    assert not run.thread.is_alive() and run.error is None
    assert run.count() == n  # stopping takes no further step


def test_control_paused_before_start_waits_for_step_once() -> None:
    control = RunControl()
    control.pause()
    tr = _trainer()
    run = Runner(tr, control)
    time.sleep(QUIET)
    assert run.count() == 0 and tr.step == 0
    control.step_once()
    run.wait_for(lambda: run.count() == 1)
    time.sleep(QUIET)
    assert run.steps == [1]
    control.stop()
    run.thread.join(TIMEOUT)
    assert not run.thread.is_alive() and run.steps == [1]


def test_run_ends_by_itself_with_a_control() -> None:
    control = RunControl()
    run = Runner(_trainer(steps=7), control)
    run.thread.join(TIMEOUT)
    assert not run.thread.is_alive() and run.error is None
    assert run.steps == list(range(1, 8)) and not control.stopped

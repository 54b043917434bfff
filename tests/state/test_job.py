"""Job: one cancellable background computation, watched by polling."""

from __future__ import annotations

import threading
import time

from explorer.diagnostics import Cancelled
from explorer.state.job import Job
from explorer.state.run import Version


def test_a_job_reports_progress_and_its_result() -> None:
    version = Version()
    job = Job(version)
    gate = threading.Event()
    seen: list[float] = []

    def work(progress, cancel):
        for i in range(5):
            progress(i / 4)
            seen.append(job.progress)
        gate.wait(5)
        return "answer"

    assert job.start("sum", work)
    assert job.running and job.state == "running"
    assert not job.start("again", work)  # one at a time
    assert "busy with sum" in job.message
    gate.set()
    assert job.join(5)
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert job.state == "done" and job.result == "answer" and job.progress == 1.0
    assert job.message.startswith("sum done in")
    assert version.value > 0


def test_cancel_stops_a_job_at_its_next_check_and_keeps_the_last_result() -> None:
    job = Job(Version())
    job.start("first", lambda p, c: 1)
    job.join(5)

    def slow(progress, cancel):
        while True:
            if cancel.is_set():
                raise Cancelled("stopped")
            time.sleep(0.01)

    job.start("slow", slow)
    t0 = time.monotonic()
    assert job.cancel(wait=5)
    assert time.monotonic() - t0 < 2
    assert job.state == "cancelled" and job.message == "slow cancelled"
    assert job.result == 1


def test_an_error_is_reported_not_raised() -> None:
    job = Job(Version())

    def bad(progress, cancel):
        raise ValueError("resolution = 4 is not allowed")

    job.start("landscape", bad)
    job.join(5)
    assert job.state == "error"
    assert job.error == "ValueError: resolution = 4 is not allowed"
    assert "landscape failed" in job.message

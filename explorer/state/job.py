"""A cancellable background job: one function in a daemon thread, watched by polling.

A :class:`Job` runs ``work(progress, cancel)`` in its own thread and publishes what
happens through thread-safe reads (:attr:`Job.state`, :attr:`Job.progress`,
:attr:`Job.message`, :attr:`Job.result`, :attr:`Job.error`); every change bumps a
:class:`~explorer.state.run.Version` counter, so front ends poll instead of
watching (no param watcher ever runs in the worker thread). ``work`` reports the
fraction done through ``progress`` and stops when ``cancel`` (a
``threading.Event``) is set: the diagnostics of :mod:`explorer.diagnostics` take
exactly these two and raise :class:`~explorer.diagnostics.Cancelled`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from explorer.diagnostics import Cancelled
from explorer.state.run import Version

__all__ = ["Job", "JobState"]

JobState = Literal["idle", "running", "done", "cancelled", "error"]

_BUMP_SECONDS = 0.1  # progress-only updates bump the version at most this often


class Job:
    """One background computation at a time; see the module docstring.

    Args:
        version: the counter to bump on every observable change.
    """

    def __init__(self, version: Version) -> None:
        self._version = version
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._state: JobState = "idle"
        self._progress = 0.0
        self._message = ""
        self._error = ""
        self._result: Any = None
        self._what = ""
        self._seconds = 0.0
        self._last_bump = 0.0

    # ---- reads (any thread) ----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def state(self) -> JobState:
        return self._state

    @property
    def progress(self) -> float:
        """Fraction done, 0 to 1."""
        return self._progress

    @property
    def message(self) -> str:
        """One line: what runs (and how far), or how it ended."""
        with self._lock:
            return self._message

    @property
    def error(self) -> str:
        return self._error

    @property
    def result(self) -> Any:
        """What the last job that finished returned (kept when a later one fails)."""
        return self._result

    @property
    def seconds(self) -> float:
        """Wall time of the last job that ended."""
        return self._seconds

    # ---- control ---------------------------------------------------------------------
    def start(
        self, what: str, work: Callable[[Callable[[float], None], threading.Event], Any]
    ) -> bool:
        """Run ``work(progress, cancel)`` in a daemon thread; False if one runs."""
        if self.running:
            self._set(message=f"busy with {self._what}: cancel it first")
            return False
        self._cancel = threading.Event()
        self._what = what
        self._set(state="running", progress=0.0, message=f"{what}…", error="")
        self._thread = threading.Thread(
            target=self._run, args=(work, self._cancel), name=f"job-{what}", daemon=True
        )
        self._thread.start()
        return True

    def note(self, message: str) -> None:
        """Put ``message`` in :attr:`message` (e.g. why an action did nothing)."""
        self._set(message=message)

    def cancel(self, wait: float = 0.0) -> bool:
        """Ask the job to stop at its next check; True when no job runs afterwards."""
        self._cancel.set()
        thread = self._thread
        if thread is not None and wait > 0 and thread is not threading.current_thread():
            thread.join(wait)
        return not self.running

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    # ---- worker ----------------------------------------------------------------------
    def _report(self, fraction: float) -> None:
        now = time.monotonic()
        self._progress = min(max(float(fraction), 0.0), 1.0)
        if now - self._last_bump >= _BUMP_SECONDS:
            self._last_bump = now
            with self._lock:
                self._message = f"{self._what}: {100 * self._progress:.0f}%"
            self._version.bump()

    def _run(self, work: Callable, cancel: threading.Event) -> None:
        t0 = time.perf_counter()
        try:
            result = work(self._report, cancel)
        except Cancelled:
            self._seconds = time.perf_counter() - t0
            self._set(state="cancelled", message=f"{self._what} cancelled")
        except Exception as err:  # shown in the view; the server keeps running
            self._seconds = time.perf_counter() - t0
            text = f"{type(err).__name__}: {err}"
            self._set(state="error", error=text, message=f"{self._what} failed: {text}")
        else:
            self._seconds = time.perf_counter() - t0
            self._result = result
            self._set(
                state="done",
                progress=1.0,
                message=f"{self._what} done in {self._seconds:.1f} s",
            )

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, f"_{key}", value)
        self._version.bump()

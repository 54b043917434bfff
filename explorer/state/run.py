"""A training run in progress: one trainer, the thread that trains it, its history.

:class:`TrainingRun` consumes a trainer's ``run`` events either in a daemon worker
thread (:meth:`TrainingRun.start`) or in the calling thread
(:meth:`TrainingRun.iterate`), and publishes what they say through thread-safe reads:
:attr:`~TrainingRun.status`, :attr:`~TrainingRun.latest`,
:attr:`~TrainingRun.history`. It never touches param objects, so no watcher ever runs
in the worker thread; front ends poll a :class:`Version` counter instead.

Any trainer whose ``run(steps, control=...)`` yields events with ``snapshot``,
``message`` and ``diverged`` fits: a :class:`TrainerKind` says how to read where it
is and what an event says (:data:`PINN_TRAINER` for the PINN :class:`Trainer`, in
steps; the operator session defines one in epochs).
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import xarray as xr

from explorer.training import RunControl, Trainer, TrainEvent, concat_history
from explorer.training.stops import QUASI_NEWTON

__all__ = [
    "MAX_SNAPSHOTS",
    "PINN_TRAINER",
    "Observer",
    "Progress",
    "RunState",
    "RunStatus",
    "TrainerKind",
    "TrainingRun",
    "Version",
]

Observer = Callable[[Trainer, "TrainEvent | None"], None]
"""``fn(trainer, event)``: called in the training thread after each step's event is
recorded, while the trainer waits between steps (``event`` is None for a new
trainer, before its first step). It must be quick and must not raise."""

#: Snapshots kept per run; beyond it every other one is dropped (first and newest
#: stay), so a long run with frequent snapshots cannot fill a 2 GB box. The default
#: Burgers grid (float32 net) makes ~0.35 MB snapshots; with the served page a
#: session grows ~3 MB per snapshot: 120 keep it within 1 GB (measured 924 MB at 148).
MAX_SNAPSHOTS = 120

RunState = Literal[
    "idle",  # built, no step taken yet
    "running",
    "paused",
    "finished",  # reached its step (epoch) target
    "converged",  # L-BFGS stopped on a tolerance
    "diverged",  # a non-finite loss: the last finite state was restored
    "stopped",  # stop() or an interrupted headless run
    "error",  # an exception in training; see RunStatus.error
    "closed",  # the trainer was freed
]

_BUMP_SECONDS = 0.1  # progress-only updates bump the version at most this often
_RATE_WINDOW = 2.0  # seconds of steps behind the steps-per-second figure


@dataclass(frozen=True)
class RunStatus:
    """Where a run stands; ``str(status)`` is a one-line summary.

    Attributes:
        state: the run's lifecycle state (see :data:`RunState`).
        step: steps (or epochs: see ``unit``) taken so far.
        steps: the step the current (or last) stretch of training runs to.
        steps_per_second: recent training speed (0 when not running).
        phase: the optimiser of the last step: ``"adam"``, ``"adamw"``, ``"lbfgs"``,
            ``"bfgs"``.
        loss: the weighted total loss at the start of the last step.
        rel_l2: relative L² error of the newest snapshot.
        lbfgs_stop: why L-BFGS (or BFGS) returned in its last step ("" before).
        message: the divergence message, or a note about the last action.
        error: the exception that ended the run ("" if none).
        unit: what a step is: ``"step"`` (an optimiser step) or ``"epoch"``.
    """

    state: RunState = "idle"
    step: int = 0
    steps: int = 0
    steps_per_second: float = 0.0
    phase: str = ""
    loss: float = math.nan
    rel_l2: float = math.nan
    lbfgs_stop: str = ""
    message: str = ""
    error: str = ""
    unit: str = "step"

    def __str__(self) -> str:
        parts = [self.state, f"{self.unit} {self.step}/{self.steps}"]
        if self.state == "running":
            rate = self.steps_per_second
            # Whole numbers from 10 up ("120 steps/s"), two digits below ("0.57").
            shown = f"{rate:.0f}" if rate >= 9.5 else f"{rate:.2g}"
            parts.append(f"{shown} {self.unit}s/s")
        if self.phase:
            parts.append(self.phase)
        if math.isfinite(self.loss):
            parts.append(f"loss {self.loss:.3g}")
        if math.isfinite(self.rel_l2):
            parts.append(f"rel L2 {self.rel_l2:.3g}")
        if self.lbfgs_stop:
            name = QUASI_NEWTON.get(self.phase, "L-BFGS")
            parts.append(f"{name}: {self.lbfgs_stop}")
        text = " · ".join(parts)
        for extra in (self.message, self.error):
            if extra:
                text += f" | {extra}"
        return text


@dataclass(frozen=True)
class Progress:
    """What :class:`TrainingRun` reads from one event of any trainer.

    Attributes:
        step: the step (epoch) count after the event.
        loss: the loss of the step (epoch).
        phase: the optimiser of the step ("" when there is one only).
        stop_reason: why L-BFGS returned ("" otherwise).
        converged: the optimiser stopped on a tolerance.
        rel_l2: the relative L² error of the event's snapshot (None without one).
    """

    step: int
    loss: float
    phase: str = ""
    stop_reason: str = ""
    converged: bool = False
    rel_l2: float | None = None


@dataclass(frozen=True)
class TrainerKind:
    """How a :class:`TrainingRun` reads one kind of trainer.

    Attributes:
        unit: what one of its steps is called (``"step"``, ``"epoch"``).
        position: trainer -> steps taken so far.
        target: trainer -> the step count its config trains to.
        progress: event -> :class:`Progress`.
        concat: snapshots -> the history along the step dim.
        thread: the worker thread's name.
    """

    unit: str
    position: Callable[[Any], int]
    target: Callable[[Any], int]
    progress: Callable[[Any], Progress]
    concat: Callable[[Sequence[xr.Dataset]], xr.Dataset]
    thread: str


def _pinn_progress(event: TrainEvent) -> Progress:
    snap = event.snapshot
    return Progress(
        step=event.step,
        loss=event.info.loss,
        phase=event.info.phase,
        stop_reason=event.info.stop_reason or "",
        converged=bool(event.info.converged),
        rel_l2=None if snap is None else float(snap["rel_l2"].values[0]),
    )


#: The PINN :class:`~explorer.training.Trainer`: optimiser steps.
PINN_TRAINER = TrainerKind(
    unit="step",
    position=lambda trainer: trainer.step,
    target=lambda trainer: trainer.config.steps,
    progress=_pinn_progress,
    concat=concat_history,
    thread="pinn-train",
)


class Version:
    """A thread-safe, monotonically increasing counter of observable changes."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def bump(self) -> int:
        with self._lock:
            self._value += 1
            return self._value

    @property
    def value(self) -> int:
        return self._value


class _SteppingControl(RunControl):
    """A RunControl that holds :attr:`busy` from each step's start to the next wait.

    Only the worker calls :meth:`wait` and :meth:`finish`; another thread that
    pauses the run and then takes :attr:`busy` sees the trainer between steps.
    """

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Lock()
        self._held = False

    def wait(self) -> bool:
        self.finish()
        go = super().wait()
        self.busy.acquire()
        self._held = True
        return go

    def finish(self) -> None:
        if self._held:
            self._held = False
            self.busy.release()


class TrainingRun:
    """One trainer and everything it produced; see the module docstring.

    Args:
        spec: the recipe the trainer was built from (kept for exports).
        trainer: the trainer; only this object's thread steps it.
        version: the counter to bump on every observable change.
        kind: how to read the trainer (default: the PINN Trainer).
        observers: called with every event (see :data:`Observer`); the list is
            read at each step, so later additions take effect.
    """

    def __init__(
        self,
        spec: Any,
        trainer: Any,
        version: Version,
        observers: list[Observer] | None = None,
        *,
        kind: TrainerKind = PINN_TRAINER,
    ) -> None:
        self.spec = spec
        self.kind = kind
        self._observers = observers if observers is not None else []
        self.trainer: Trainer | None = trainer
        self._version = version
        self._lock = threading.RLock()
        self._snapshots: list[xr.Dataset] = []
        self._generation = 0  # bumped when thinning reorders the snapshot list
        self._cache: tuple[int, int, xr.Dataset | None] = (0, 0, None)
        self._status = RunStatus(
            step=kind.position(trainer), steps=kind.target(trainer), unit=kind.unit
        )
        self._rate: collections.deque[tuple[float, int]] = collections.deque()
        self._last_bump = 0.0
        self._thread: threading.Thread | None = None
        self._control: _SteppingControl | None = None
        self._paused = False

    # ---- reads (any thread) ----------------------------------------------------------
    @property
    def alive(self) -> bool:
        """A worker thread exists (running or paused)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self.alive and self._paused

    @property
    def status(self) -> RunStatus:
        with self._lock:
            status = self._status
        if self.paused and status.state == "running":
            return replace(status, state="paused", steps_per_second=0.0)
        return status

    @property
    def finished(self) -> bool:
        """The trainer reached its configured step (epoch) target."""
        trainer, kind = self.trainer, self.kind
        return trainer is not None and kind.position(trainer) >= kind.target(trainer)

    @property
    def latest(self) -> xr.Dataset | None:
        """The newest snapshot (a one-step Dataset), or None before the first."""
        with self._lock:
            return self._snapshots[-1] if self._snapshots else None

    @property
    def snapshots(self) -> int:
        """How many snapshots the history holds."""
        with self._lock:
            return len(self._snapshots)

    @property
    def history(self) -> xr.Dataset | None:
        """All snapshots along ``step`` (``epoch``) (cached; read-only), or None."""
        with self._lock:
            snaps, generation = list(self._snapshots), self._generation
            cached_generation, done, cached = self._cache
        if not snaps:
            return None
        if cached_generation != generation:
            done, cached = 0, None
        if done == len(snaps) and cached is not None:
            return cached
        # Concatenate only what arrived since the cached history.
        history = self.kind.concat(
            ([cached] if cached is not None else []) + snaps[done:]
        )
        with self._lock:
            if generation == self._generation and len(snaps) > self._cache[1]:
                self._cache = (generation, len(snaps), history)
        return history

    # ---- control (caller's thread) ---------------------------------------------------
    def start(self, steps: int | None = None, *, single: bool = False) -> None:
        """Train in a daemon thread for ``steps`` more steps (None: to the target).

        With ``single`` the thread takes one step and then waits, paused.
        """
        if self.trainer is None:
            raise RuntimeError("this run is closed; build a new one")
        if self.alive:
            raise RuntimeError("this run already has a worker thread")
        control = _SteppingControl()
        if single:
            control.pause()
            control.step_once()
        self._paused = single
        self._control = control
        self._thread = threading.Thread(
            target=self._work,
            args=(steps, control),
            name=self.kind.thread,
            daemon=True,
        )
        self._thread.start()

    def resume(self) -> None:
        if self._control is not None and self.alive:
            self._paused = False
            self._control.resume()
            self._touch()

    def pause(self) -> None:
        if self._control is not None and self.alive:
            self._paused = True
            self._control.pause()
            self._touch()

    def step_once(self) -> None:
        """Let the worker take one more step, then pause."""
        if self._control is not None and self.alive:
            self._paused = True
            self._control.step_once()
            self._touch()

    def stop(self, timeout: float = 30.0) -> bool:
        """End the worker thread (after its step in flight); True when it ended."""
        thread, control = self._thread, self._control
        if control is not None:
            control.stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._paused = False
        return not self.alive

    def close(self) -> None:
        """Stop and free the trainer; the history stays readable."""
        self.stop()
        self.trainer = None
        self._set(state="closed", steps_per_second=0.0)

    @contextlib.contextmanager
    def between_steps(self) -> Iterator[Trainer]:
        """Hold the worker between two steps (pausing it meanwhile); yield the trainer.

        Use it to read or save the trainer from another thread.
        """
        if self.trainer is None:
            raise RuntimeError("this run is closed; there is no trainer to read")
        control = self._control if self.alive else None
        if control is None:
            yield self.trainer
            return
        was_paused = self._paused
        self.pause()
        try:
            with control.busy:
                yield self.trainer
        finally:
            if not was_paused:
                self.resume()

    # ---- training --------------------------------------------------------------------
    def _work(self, steps: int | None, control: _SteppingControl) -> None:
        for _ in self.iterate(steps, control=control):
            pass

    def iterate(
        self,
        steps: int | None = None,
        *,
        control: RunControl | None = None,
        reraise: bool = False,
    ) -> Iterator[TrainEvent]:
        """Train in the calling thread, recording every event, and yield the events.

        Args:
            steps: steps to take (None: up to the config's step target).
            control: pauses and stops the run from another thread.
            reraise: re-raise an exception from training after recording it in
                the status (the worker thread records it only).
        """
        trainer = self.trainer
        if trainer is None:
            raise RuntimeError("this run is closed; build a new one")
        kind = self.kind
        position = kind.position(trainer)
        target = kind.target(trainer) if steps is None else position + steps
        with self._lock:
            self._rate.clear()
        self._set(state="running", steps=target, message="", error="")
        state: RunState = "stopped"
        error = ""
        last: tuple[Progress, bool] | None = None
        try:
            for event in trainer.run(steps, control=control):
                last = (self._record(event), bool(event.diverged))
                for observe in tuple(self._observers):
                    observe(trainer, event)
                yield event
            state = _outcome(last, kind.position(trainer), target)
        except Exception as err:
            state, error = "error", f"{type(err).__name__}: {err}"
            if reraise:
                raise
        finally:
            if isinstance(control, _SteppingControl):
                control.finish()
            self._set(state=state, error=error, steps_per_second=0.0)

    def _record(self, event: Any) -> Progress:
        now = time.monotonic()
        p = self.kind.progress(event)
        with self._lock:
            rate = self._rate
            rate.append((now, p.step))
            while rate and now - rate[0][0] > _RATE_WINDOW:
                rate.popleft()
            changes: dict = {"step": p.step, "phase": p.phase}
            if len(rate) > 1 and rate[-1][0] > rate[0][0]:
                changes["steps_per_second"] = (rate[-1][1] - rate[0][1]) / (
                    rate[-1][0] - rate[0][0]
                )
            if not event.diverged:
                changes["loss"] = p.loss
            if p.stop_reason:
                changes["lbfgs_stop"] = p.stop_reason
            if event.diverged and event.message:
                changes["message"] = event.message
            if event.snapshot is not None:
                self._add_snapshot(event.snapshot)
                changes["rel_l2"] = p.rel_l2
            self._status = replace(self._status, **changes)
            due = now - self._last_bump >= _BUMP_SECONDS
            if due or event.snapshot is not None or event.diverged:
                self._last_bump = now
                self._version.bump()
        return p

    def _add_snapshot(self, snap: xr.Dataset) -> None:
        self._snapshots.append(snap)
        if len(self._snapshots) > MAX_SNAPSHOTS:
            # Odd length after the append, so [::2] keeps the first and the newest.
            self._snapshots = self._snapshots[::2]
            self._generation += 1

    def note(self, message: str) -> None:
        """Put ``message`` in the status (e.g. why an action did nothing)."""
        self._set(message=message)

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
        self._version.bump()

    def _touch(self) -> None:
        self._version.bump()


def _outcome(last: tuple[Progress, bool] | None, step: int, target: int) -> RunState:
    """How a stretch of training that ended without an exception ended.

    ``last`` is the last event's progress and whether it diverged.
    """
    if last is not None and last[1]:
        return "diverged"
    if last is not None and last[0].converged:
        return "converged"
    if step >= target:
        return "finished"
    return "stopped"

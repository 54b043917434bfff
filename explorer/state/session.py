"""PINNSession: a problem, a network and a training recipe, trained live.

The session composes three knob controllers (:class:`ProblemState`,
:class:`ModelState`, :class:`TrainingState`) and a seed, bridges them to one frozen
:class:`~explorer.training.RunSpec` (:meth:`PINNSession.to_spec`), and owns the
:class:`~explorer.state.run.TrainingRun` that trains it in a worker thread.

Changing any knob marks the run stale (the next :meth:`train` starts afresh from the
new spec; a running run keeps going meanwhile) and re-validates the spec: invalid
combinations land in :attr:`error`, never in an exception out of a watcher. A
problem parameter change also re-solves the reference at once (ProblemState does).
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import param
import xarray as xr

from explorer.io import save_dataset, save_run
from explorer.problems import make_problem
from explorer.state.model import ModelState
from explorer.state.problem import ProblemState
from explorer.state.query import apply_query, session_query
from explorer.state.run import Observer, RunStatus, TrainingRun, Version
from explorer.state.training import (
    NO_CURRICULUM,
    TrainingState,
    curriculum_parameters,
)
from explorer.training import RunSpec, TrainEvent, build_trainer

__all__ = ["PINNSession"]

DEFAULT_PROBLEM = "burgers"
# Failures of building a run from valid-looking knobs (solver or sampler limits).
_BUILD_ERRORS = (ValueError, RuntimeError, ArithmeticError)


def _stop_run(holder: list[TrainingRun | None]) -> None:
    run = holder[0]
    if run is not None:
        run.stop(timeout=0.0)


class PINNSession(param.Parameterized):
    """A live PINN run: knobs, the spec they make, and the run in a worker thread.

    Actions: :meth:`train` (start or resume), :meth:`pause`, :meth:`step` (one step),
    :meth:`reset` (a new trainer from the current spec), :meth:`stop`,
    :meth:`close`. Reads, safe from any thread: :attr:`status`, :attr:`latest`,
    :attr:`history`, :attr:`running`, :attr:`version`.

    Args:
        problem: a problem name (default ``"burgers"``) or a ProblemState.
        values: the problem's parameter values (plain Python values).
        model, training: the network and training knobs (controllers or dicts).
        seed: seeds the network, the collocation points and adaptivity.

    Raises:
        ValueError: a value in ``values`` is unknown or invalid for the problem.

    Example:
        >>> s = PINNSession("burgers", values={"nu": 0.02})
        >>> s.training.steps = 200
        >>> s.train()              # a worker thread trains; this returns at once
        >>> s.status               # step, steps/s, phase, ...
        >>> s.history              # snapshots along `step` (xarray)
        >>> s.close()
    """

    problem = param.ClassSelector(
        class_=ProblemState, constant=True, doc="which PDE and its knobs"
    )
    model = param.ClassSelector(
        class_=ModelState, constant=True, doc="the network's knobs"
    )
    training = param.ClassSelector(
        class_=TrainingState, constant=True, doc="the training knobs"
    )
    seed = param.Integer(
        0,
        bounds=(0, None),
        doc="seeds the network, the points and adaptivity; allowed: integers >= 0",
    )
    stale = param.Boolean(
        False,
        constant=True,
        doc="a knob changed since the run was built: the next train() starts afresh",
    )
    error = param.String(
        "", doc="why the current knobs make no valid run; empty when valid"
    )

    def __init__(
        self,
        problem: str | ProblemState = DEFAULT_PROBLEM,
        values: Mapping[str, Any] | None = None,
        *,
        model: ModelState | Mapping[str, Any] | None = None,
        training: TrainingState | Mapping[str, Any] | None = None,
        seed: int = 0,
        **params: Any,
    ) -> None:
        if not isinstance(problem, ProblemState):
            make_problem(problem, values)  # refuse bad values with the problem's words
            problem = ProblemState(problem=problem)
            if values:
                problem.parameters.param.update(**values)
        elif values:
            problem.parameters.param.update(**values)
        if not isinstance(model, ModelState):
            model = ModelState(**(model or {}))
        if not isinstance(training, TrainingState):
            training = TrainingState(**(training or {}))
        super().__init__(
            problem=problem, model=model, training=training, seed=seed, **params
        )
        self._version = Version()
        self._holder: list[TrainingRun | None] = [None]  # shared with the finalizer
        self._observers: list[Observer] = []
        self._closed = False
        self._knob_watcher: Any = None
        # A forgotten session must not leave its thread training.
        weakref.finalize(self, _stop_run, self._holder)
        self._curriculum_choices()
        self._watch_knobs()
        self.problem.param.watch(self._on_problem, "problem")
        self.problem.param.watch(self._on_knobs_rebuilt, "parameters")
        self.model.param.watch(self._changed, list(ModelState.KNOBS))
        self.training.param.watch(self._changed, list(TrainingState.KNOBS))
        self.training.param.watch(self._on_curriculum, "curriculum_parameter")
        self.param.watch(self._changed, "seed")
        self._validate()

    # ---- the one bridge --------------------------------------------------------------
    def to_spec(self) -> RunSpec:
        """The frozen recipe of the current knobs.

        Raises:
            ValueError: naming the knob, its value and what is allowed.
        """
        problem = self.problem.to_config()
        return RunSpec(
            problem=problem.name,
            values=tuple(problem.values().items()),
            net=self.model.to_config(),
            options=self.model.to_options(),
            optim=self.training.to_optim(),
            train=self.training.to_train(problem),
            seed=self.seed,
        )

    # ---- reads (thread-safe) ------------------------------------------------------
    @property
    def run(self) -> TrainingRun | None:
        """The current run (None before the first train/step/reset)."""
        return self._holder[0]

    @property
    def trainer(self) -> Any:
        """The current run's Trainer (None if none); step it only via the session."""
        run = self.run
        return None if run is None else run.trainer

    @property
    def status(self) -> RunStatus:
        """Where the run stands (step, steps/s, phase, L-BFGS stop, messages)."""
        run = self.run
        if run is None:
            state = "closed" if self._closed else "idle"
            return RunStatus(state=state, steps=self.training.steps)
        return run.status

    @property
    def running(self) -> bool:
        """The worker thread is training (alive and not paused)."""
        run = self.run
        return run is not None and run.alive and not run.paused

    @property
    def latest(self) -> xr.Dataset | None:
        """The newest snapshot (one step), or None."""
        run = self.run
        return None if run is None else run.latest

    @property
    def history(self) -> xr.Dataset | None:
        """The run's snapshots along ``step`` (cached; treat as read-only), or None."""
        run = self.run
        return None if run is None else run.history

    @property
    def version(self) -> int:
        """Increases whenever anything observable changes; poll it to redraw."""
        return self._version.value

    # ---- actions ---------------------------------------------------------------------
    def reset(self) -> bool:
        """Stop the run and build a new trainer from the current spec.

        Returns False (with :attr:`error` set) when the knobs make no valid run.
        """
        if self._refuse_closed():
            return False
        self._end_run()
        try:
            spec = self.to_spec()
            problem = spec.make_problem()
            # The reference ProblemState already solved for these knobs, if it did.
            reference = (
                self.problem.solution if self.problem.config == problem else None
            )
            trainer = build_trainer(spec, reference=reference)
        except _BUILD_ERRORS as err:
            self.error = str(err)
            self._version.bump()
            return False
        self._holder[0] = TrainingRun(spec, trainer, self._version, self._observers)
        for observe in tuple(self._observers):
            observe(trainer, None)
        with param.edit_constant(self):
            self.stale = False
        self.error = ""
        self._version.bump()
        return True

    def train(self, steps: int | None = None) -> bool:
        """Start training in the worker thread, or resume a paused run.

        A stale or missing run is rebuilt first (:meth:`reset`). Returns at once.

        Args:
            steps: steps to take (None: up to ``training.steps``).

        Returns:
            True when a run is now training; False with the reason in
            :attr:`error` (invalid knobs) or in ``status.message`` (nothing to do).
        """
        run = self._ready()
        if run is None:
            return False
        if run.alive:
            run.resume()
            return True
        if steps is None and run.trainer.step >= run.trainer.config.steps:
            run.note(
                f"finished at step {run.trainer.step}: reset() to train again, "
                "or train(n) for n more steps"
            )
            return False
        run.start(steps)
        return True

    def pause(self) -> None:
        """Pause the worker after its step in flight (resume with :meth:`train`)."""
        run = self.run
        if run is not None:
            run.pause()

    def step(self) -> bool:
        """Take exactly one step, then stay paused (building the run if needed)."""
        run = self._ready()
        if run is None:
            return False
        if run.alive:
            run.step_once()
        else:
            finished = run.trainer.step >= run.trainer.config.steps
            run.start(1 if finished else None, single=not finished)
        return True

    def stop(self) -> None:
        """End the worker thread; the trainer and history stay (train() continues)."""
        run = self.run
        if run is not None:
            run.stop()

    def close(self) -> None:
        """Stop the thread and free the trainer; the history stays readable."""
        run = self.run
        if run is not None:
            run.close()
        self._closed = True
        self._version.bump()

    def iterate(self, steps: int | None = None) -> Iterator[TrainEvent]:
        """Train in the calling thread, yielding each event (for headless runs).

        Stops a worker thread first (training continues where it was). Exceptions
        from training propagate, after being recorded in the status.

        Raises:
            ValueError: the knobs make no valid run (:attr:`error` says why).
        """
        run = self._ready()
        if run is None:
            raise ValueError(self.error or "this session is closed")
        run.stop()
        return run.iterate(steps, reraise=True)

    def observe(self, fn: Observer) -> Callable[[], None]:
        """Call ``fn(trainer, event)`` in the training thread after every step of
        every run (and ``fn(trainer, None)`` when a run is built); returns a function
        that removes it. Without observers training does no extra work.
        """
        self._observers.append(fn)

        def remove() -> None:
            if fn in self._observers:
                self._observers.remove(fn)

        return remove

    # ---- files -----------------------------------------------------------------------
    def export(self, path: str | os.PathLike) -> Path:
        """Write the run history to ``path`` as netCDF, atomically.

        The recipe goes along as JSON in the ``run_spec`` attribute.

        Raises:
            ValueError: no snapshot yet, or ``path`` is not writable.
        """
        run = self.run
        history = None if run is None else run.history
        if history is None:
            raise ValueError("nothing to export yet: train first (no snapshot taken)")
        history = history.copy()
        history.attrs["run_spec"] = json.dumps(run.spec.to_dict())
        return save_dataset(history, path)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write a resumable run record (checkpoint + history) into ``directory``.

        ``explorer resume DIRECTORY`` or :func:`explorer.io.load_run` continue it.
        The worker is held between two steps while the checkpoint is taken.
        """
        run = self.run
        if run is None or run.trainer is None:
            raise ValueError("nothing to save: no run yet (train or reset first)")
        with run.between_steps() as trainer:
            return save_run(directory, run.spec, trainer, run.history)

    # ---- URL state -------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Every knob as ``{key: text}`` (keys like ``model.width``); see
        :func:`explorer.state.query.session_query`."""
        return session_query(self)

    def from_query(self, query: Mapping[str, str]) -> list[str]:
        """Apply a query from :meth:`to_query`; returns notices for ignored entries."""
        return apply_query(self, query)

    # ---- watchers --------------------------------------------------------------------
    def _ready(self) -> TrainingRun | None:
        if self._refuse_closed():
            return None
        if self.run is None or self.stale or self.run.trainer is None:
            if not self.reset():
                return None
        return self.run

    def _refuse_closed(self) -> bool:
        if self._closed:
            self.error = "this session is closed; create a new one"
        return self._closed

    def _end_run(self) -> None:
        run = self.run
        if run is not None:
            run.close()

    def _watch_knobs(self) -> None:
        knobs = self.problem.parameters
        names = [n for n in knobs.param if n != "name"]
        self._knob_watcher = knobs.param.watch(self._changed, names)

    def _on_knobs_rebuilt(self, event: param.parameterized.Event) -> None:
        if event.old is not None and self._knob_watcher is not None:
            event.old.param.unwatch(self._knob_watcher)
        self._watch_knobs()

    def _on_problem(self, _: param.parameterized.Event) -> None:
        self._curriculum_choices()
        self._changed()

    def _curriculum_choices(self) -> None:
        choices = [NO_CURRICULUM, *curriculum_parameters(self.problem.problem_class)]
        self.training.param.curriculum_parameter.objects = choices
        if self.training.curriculum_parameter not in choices:
            self.training.curriculum_parameter = NO_CURRICULUM

    def _on_curriculum(self, event: param.parameterized.Event) -> None:
        # A start valid for the old parameter is rarely valid for the new one.
        name = event.new
        spec = self.problem.specs.get(name)
        if spec is not None and spec.bounds is not None:
            lo, hi = spec.bounds
            if not lo <= self.training.curriculum_start <= hi:
                self.training.curriculum_start = float(spec.default)

    def _changed(self, *_: Any) -> None:
        if self.run is not None and not self.stale:
            with param.edit_constant(self):
                self.stale = True
        self._validate()
        self._version.bump()

    def _validate(self) -> None:
        try:
            self.to_spec()
        except ValueError as err:
            self.error = str(err)
        else:
            self.error = ""

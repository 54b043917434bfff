"""OperatorSession: a dataset, an operator network and a recipe, trained live.

The session composes knob controllers (:class:`OperatorDataState`,
:class:`OperatorModelState`, :class:`OperatorTrainingState`, the learning-curve
:class:`SweepState`) and a seed, bridges them to one frozen
:class:`~explorer.state.operator_spec.OperatorSpec` (:meth:`OperatorSession.to_spec`)
and owns the threads: a :class:`~explorer.state.job.Job` that loads or generates the
datasets (on-disk cache, with progress), the :class:`~explorer.state.run.TrainingRun`
that trains, and a second Job for learning-curve sweeps. Front ends poll
:attr:`~OperatorSession.version`; no param watcher runs in a worker thread.

Changing a knob marks the run stale (the next :meth:`train` starts afresh) and
re-validates: invalid combinations land in :attr:`error` (e.g. Fourier modes above
half the grid, in the network config's own words), never in an exception.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import param
import torch
import xarray as xr

from explorer.data.operators import default_device
from explorer.diagnostics import Cancelled
from explorer.io import DatasetCache, save_dataset
from explorer.models import build_model
from explorer.state.job import Job
from explorer.state.operator_knobs import (
    OperatorDataState,
    OperatorModelState,
    OperatorTrainingState,
    SweepState,
    knob_names,
)
from explorer.state.operator_spec import (
    OperatorSpec,
    is_closed,
    load_operator_data,
)
from explorer.state.run import Progress, RunStatus, TrainerKind, TrainingRun, Version
from explorer.training import (
    LearningCurve,
    OperatorData,
    OperatorEvent,
    OperatorTrainer,
    concat_operator_history,
)

__all__ = ["OPERATOR_TRAINER", "OperatorSession", "default_cache_dir"]

_BUILD_ERRORS = (ValueError, RuntimeError, ArithmeticError)
_CHUNK = 32  # samples per cached chunk: a progress step and a resumable unit
_CANCEL_WAIT = 10.0  # s: a cancelled data job stops at its next chunk


def default_cache_dir() -> Path:
    """``$EXPLORER_CACHE`` or ``~/.cache/neural-pde-explorer/datasets``."""
    env = os.environ.get("EXPLORER_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "neural-pde-explorer" / "datasets"


def _progress(event: OperatorEvent) -> Progress:
    snap = event.snapshot
    error = None if snap is None else float(snap["test_rel_l2"].values[0])
    return Progress(step=event.epoch, loss=event.loss, rel_l2=error)


#: How a TrainingRun reads an OperatorTrainer: epochs, test relative L2.
OPERATOR_TRAINER = TrainerKind(
    unit="epoch",
    position=lambda trainer: trainer.epoch,
    target=lambda trainer: trainer.config.epochs,
    progress=_progress,
    concat=concat_operator_history,
    thread="operator-train",
)


def _stop(holder: list[TrainingRun | None], jobs: tuple[Job, ...]) -> None:
    for job in jobs:
        job.cancel()
    run = holder[0]
    if run is not None:
        run.stop(timeout=0.0)


class OperatorSession(param.Parameterized):
    """A live operator-learning run: knobs, their spec, data and training threads.

    Actions: :meth:`train` (prepare the data if needed, then train or resume),
    :meth:`pause`, :meth:`stop`, :meth:`reset`, :meth:`close`, :meth:`learning_curve`
    (a sweep in the background), :meth:`iterate` and :meth:`prepare` (headless).
    Reads, safe from any thread: :attr:`status`, :attr:`latest`, :attr:`history`,
    :attr:`running`, :attr:`preparing`, :attr:`data_job`, :attr:`curve_job`,
    :attr:`curve_result`, :attr:`version`.

    Args:
        family: a dataset family of :data:`explorer.data.operators.DATASETS`.
        values: data knobs: the family's own (``resolution``, ``nu``, …) and
            ``n_train``, ``n_test``, ``superres``, ``data_seed``.
        model: a network name (``"fno"``, …), or a dict with ``kind`` and knobs.
        training, curve: knob values (dicts) of the recipe and the learning curve.
        seed: seeds the network and the shuffling.
        cache_dir: where datasets are cached (default: :func:`default_cache_dir`).
        device: where data are generated and networks train (default: CUDA when
            present).

    Example:
        >>> s = OperatorSession("burgers", model={"kind": "fno", "modes": 12})
        >>> s.train()           # data, then training, in worker threads
        >>> s.status            # epoch, epochs/s, loss, test rel L2
        >>> s.history           # snapshots along `epoch` (xarray)
        >>> s.close()
    """

    data = param.ClassSelector(
        class_=OperatorDataState, constant=True, doc="the dataset knobs"
    )
    model = param.ClassSelector(
        class_=OperatorModelState, constant=True, doc="the network knobs"
    )
    training = param.ClassSelector(
        class_=OperatorTrainingState, constant=True, doc="the training knobs"
    )
    curve = param.ClassSelector(
        class_=SweepState, constant=True, doc="the learning-curve knobs"
    )
    seed = param.Integer(
        0,
        bounds=(0, 2**31 - 1),
        doc="seeds the network and the shuffling; allowed: 0 to 2147483647",
    )
    stale = param.Boolean(
        False,
        constant=True,
        doc="a knob changed since the run was built: the next train() starts afresh",
    )
    error = param.String("", doc="why the knobs make no valid run; empty when valid")
    curve_error = param.String(
        "", doc="why the learning-curve knobs make no valid sweep; empty when valid"
    )

    def __init__(
        self,
        family: str = "burgers",
        values: Mapping[str, Any] | None = None,
        *,
        model: str | Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
        curve: Mapping[str, Any] | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        device: str | torch.device | None = None,
        **params: Any,
    ) -> None:
        data = OperatorDataState(family=family)
        values = dict(values or {})
        data.param.update(**{k: values.pop(k) for k in data.KNOBS if k in values})
        data.parameters.param.update(**values)
        model = {"kind": model} if isinstance(model, str) else dict(model or {})
        model_state = OperatorModelState(kind=model.pop("kind", "fno"))
        model_state.parameters.param.update(**model)
        super().__init__(
            data=data,
            model=model_state,
            training=OperatorTrainingState(**dict(training or {})),
            curve=SweepState(**dict(curve or {})),
            seed=seed,
            **params,
        )
        self.device = default_device() if device is None else torch.device(device)
        self.cache = DatasetCache(
            default_cache_dir() if cache_dir is None else cache_dir,
            device=self.device,
            chunk_size=_CHUNK,
        )
        self._version = Version()
        self._holder: list[TrainingRun | None] = [None]
        self._run_lock = threading.Lock()  # installs and ends of runs
        self._data_lock = threading.Lock()
        self._data: tuple[tuple, OperatorData] | None = None
        self._prepare = Job(self._version)
        self._sweep = Job(self._version)
        self._closed = False
        self._cancelled = False  # the running data job was cancelled
        self._watchers: dict[str, Any] = {}
        # A forgotten session must not leave its threads working.
        weakref.finalize(self, _stop, self._holder, (self._prepare, self._sweep))
        self._watch("data", self.data.parameters)
        self._watch("model", self.model.parameters)
        self.data.param.watch(self._changed, [*self.data.KNOBS])
        self.data.param.watch(self._rebuilt("data"), "parameters")
        self.model.param.watch(self._rebuilt("model"), "parameters")
        self.training.param.watch(self._changed, list(self.training.KNOBS))
        self.curve.param.watch(self._validate_curve, list(self.curve.KNOBS))
        self.param.watch(self._changed, "seed")
        self._validate()

    # ---- the one bridge --------------------------------------------------------------
    def to_spec(self) -> OperatorSpec:
        """The frozen recipe of the current knobs.

        Raises:
            ValueError: naming the knob, its value and what is allowed.
        """
        data = self.data.to_config()
        closed = is_closed(data)
        model = self.model.to_config(
            dim=self.data.dim,
            positional="closed" if closed else "periodic",
            padding=0.125 if closed else 0.0,  # no wrap-around across a wall
            grid="closed" if closed else "periodic",
            boundary="edge" if closed else "periodic",
        )
        return OperatorSpec(
            data=data,
            n_test=self.data.n_test,
            superres=self.data.superres,
            model=model,
            optim=self.training.to_optim(),
            train=self.training.to_train(bands=_bands(data.resolution)),
            seed=self.seed,
        )

    def curve_values(self) -> list[int]:
        """The learning curve's values from the current knobs.

        Raises:
            ValueError: sensors without a DeepONet, or fewer than two values.
        """
        c = self.curve
        if c.parameter == "sensors":
            if self.model.kind != "deeponet":
                raise ValueError(
                    f"a learning curve over sensors needs the DeepONet; the network is "
                    f"{self.model.kind}: choose deeponet or parameter n_train"
                )
            top, least = self.model.parameters.sensors, 2
        else:
            top, least = self.data.n_train, 1
        values = c.sweep_values(top, least)
        if len(values) < 2:
            raise ValueError(
                f"a learning curve over {c.parameter} from {top} gives one value only; "
                f"allowed: {c.parameter} of at least {2 * least}"
            )
        return values

    # ---- reads (thread-safe) ---------------------------------------------------------
    @property
    def run(self) -> TrainingRun | None:
        """The current run (None before the first train/reset)."""
        return self._holder[0]

    @property
    def trainer(self) -> OperatorTrainer | None:
        run = self.run
        return None if run is None else run.trainer

    @property
    def status(self) -> RunStatus:
        """Where training stands (epoch, epochs/s, loss, test rel L2, messages)."""
        run = self.run
        if run is None:
            state = "closed" if self._closed else "idle"
            return RunStatus(state=state, steps=self.training.epochs, unit="epoch")
        return run.status

    @property
    def running(self) -> bool:
        """The training thread is training (alive and not paused)."""
        run = self.run
        return run is not None and run.alive and not run.paused

    @property
    def preparing(self) -> bool:
        """The data job is loading or generating datasets."""
        return self._prepare.running

    @property
    def data_job(self) -> Job:
        """The job that prepares data (state, progress, message, error)."""
        return self._prepare

    @property
    def curve_job(self) -> Job:
        """The learning-curve job (state, progress, message, error, result)."""
        return self._sweep

    @property
    def curve_result(self) -> xr.Dataset | None:
        """The newest finished learning curve (LearningCurve.result), or None."""
        return self._sweep.result

    @property
    def latest(self) -> xr.Dataset | None:
        run = self.run
        return None if run is None else run.latest

    @property
    def history(self) -> xr.Dataset | None:
        """Snapshots along ``epoch`` (cached; treat as read-only), or None."""
        run = self.run
        return None if run is None else run.history

    @property
    def version(self) -> int:
        """Increases whenever anything observable changes; poll it to redraw."""
        return self._version.value

    # ---- data ------------------------------------------------------------------------
    def prepare(self, progress: Callable[[float], None] | None = None) -> OperatorData:
        """The datasets of the current knobs, in the calling thread (cached).

        Raises:
            ValueError: the knobs make no valid spec (:attr:`error` says why).
        """
        return self._data_for(self._spec(), progress)

    def _data_for(
        self, spec: OperatorSpec, progress: Callable[[float], None] | None
    ) -> OperatorData:
        with self._data_lock:
            if self._data is not None and self._data[0] == spec.data_key:
                return self._data[1]
        data = load_operator_data(spec, self.cache, progress)
        with self._data_lock:
            self._data = (spec.data_key, data)
        return data

    def _memo(self, spec: OperatorSpec) -> OperatorData | None:
        with self._data_lock:
            if self._data is not None and self._data[0] == spec.data_key:
                return self._data[1]
        return None

    # ---- actions ---------------------------------------------------------------------
    def train(self, epochs: int | None = None) -> bool:
        """Train in the worker thread (preparing data first if needed), or resume.

        Args:
            epochs: epochs to train (None: up to ``training.epochs``).

        Returns:
            True when data preparation or training is under way; False with the
            reason in :attr:`error` (invalid knobs) or ``status.message``.
        """
        if self._refuse_closed():
            return False
        if self.preparing and not self._cancelled:
            return True  # not cancelled: training starts when the data are ready
        if self.preparing:  # cancelled, still finishing its chunk
            self._prepare.join(_CANCEL_WAIT)
            if self.preparing:
                self.error = "the cancelled data preparation is still finishing; retry"
                self._version.bump()
                return False
        run = self.run
        if run is not None and not self.stale and run.trainer is not None:
            if run.alive:
                run.resume()
                return True
            if epochs is None and run.finished:
                run.note(
                    f"finished at epoch {run.trainer.epoch}: reset() to train again, "
                    "or train(n) for n more epochs"
                )
                return False
            run.start(epochs)
            return True
        spec = self._spec_or_error()
        if spec is None:
            return False
        self._end_run()
        with param.edit_constant(self):
            self.stale = False
        data = self._memo(spec)
        if data is not None:
            return self._install(spec, data, start=True, epochs=epochs)
        self._cancelled = False
        return self._prepare.start(
            "preparing data",
            lambda progress, cancel: self._prepare_and_train(
                spec, epochs, progress, cancel
            ),
        )

    def _prepare_and_train(
        self,
        spec: OperatorSpec,
        epochs: int | None,
        progress: Callable[[float], None],
        cancel: threading.Event,
    ) -> None:
        def report(fraction: float) -> None:
            if cancel.is_set():
                raise Cancelled("data preparation cancelled")
            progress(fraction)

        data = self._data_for(spec, report)
        if not self._install(spec, data, start=True, epochs=epochs, cancel=cancel):
            raise ValueError(self.error)

    def _install(
        self,
        spec: OperatorSpec,
        data: OperatorData,
        *,
        start: bool,
        epochs: int | None = None,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Build a trainer for ``spec`` on ``data``, make it the run, maybe start it."""
        try:
            model = build_model(spec.model, seed=spec.seed).to(self.device)
            trainer = OperatorTrainer(
                model, data, spec.optim, spec.train, seed=spec.seed
            )
        except _BUILD_ERRORS as err:
            self.error = str(err)
            self._version.bump()
            return False
        run = TrainingRun(spec, trainer, self._version, kind=OPERATOR_TRAINER)
        with self._run_lock:
            if cancel is not None and cancel.is_set():
                raise Cancelled("data preparation cancelled")
            self._holder[0] = run
            if start:
                run.start(epochs)
        self._version.bump()
        return True

    def pause(self) -> None:
        """Pause training after its epoch in flight (resume with :meth:`train`)."""
        run = self.run
        if run is not None:
            run.pause()

    def stop(self) -> None:
        """Cancel data preparation and end the training thread (the trainer stays)."""
        self._cancel_preparation()
        run = self.run
        if run is not None:
            run.stop()

    def reset(self) -> bool:
        """Stop, and build an untrained run from the current knobs.

        The run is built at once when the data are in memory; otherwise the next
        :meth:`train` prepares them. Returns False (with :attr:`error`) when the
        knobs make no valid run.
        """
        if self._refuse_closed():
            return False
        self._cancel_preparation()
        self._end_run()
        spec = self._spec_or_error()
        if spec is None:
            return False
        with param.edit_constant(self):
            self.stale = False
        data = self._memo(spec)
        if data is not None:
            return self._install(spec, data, start=False)
        self._version.bump()
        return True

    def close(self) -> None:
        """Stop every thread and free the trainer; the history stays readable."""
        self._sweep.cancel(wait=10.0)
        self._cancel_preparation()
        run = self.run
        if run is not None:
            run.close()
        self._closed = True
        self._version.bump()

    def iterate(self, epochs: int | None = None) -> Iterator[OperatorEvent]:
        """Prepare the data and train in the calling thread, yielding each event.

        Continues the current run when it is valid; exceptions from training
        propagate after being recorded in the status.

        Raises:
            ValueError: the knobs make no valid run (:attr:`error` says why).
        """
        if self._refuse_closed():
            raise ValueError(self.error)
        self._cancel_preparation()
        run = self.run
        if run is None or self.stale or run.trainer is None:
            spec = self._spec()
            self._end_run()
            if not self._install(spec, self._data_for(spec, None), start=False):
                raise ValueError(self.error)
            with param.edit_constant(self):
                self.stale = False
            run = self.run
        assert run is not None
        run.stop()
        return run.iterate(epochs, reraise=True)

    # ---- learning curves -------------------------------------------------------------
    def learning_curve(self) -> bool:
        """Run the learning-curve sweep of the current knobs in the background.

        Pauses a training run (they would share the CPU). The result lands in
        :attr:`curve_result`; progress and messages in :attr:`curve_job`.

        Returns:
            False with the reason in :attr:`curve_error` (or the job's message when
            a sweep is already running).
        """
        if self._refuse_closed():
            return False
        try:
            spec = self._spec()
            values = self.curve_values()
        except ValueError as err:
            self.curve_error = str(err)
            self._version.bump()
            return False
        self.pause()
        c = self.curve
        seeds = [spec.seed + i for i in range(c.seeds)]
        return self._sweep.start(
            f"learning curve over {c.parameter}",
            lambda progress, cancel: self._sweep_work(
                spec, c.parameter, values, seeds, c.steps, progress, cancel
            ),
        )

    def cancel_curve(self) -> None:
        """Stop the sweep after the training in flight."""
        self._sweep.cancel()

    def _sweep_work(
        self,
        spec: OperatorSpec,
        parameter: str,
        values: list[int],
        seeds: list[int],
        steps: int,
        progress: Callable[[float], None],
        cancel: threading.Event,
    ) -> xr.Dataset:
        share = 0.1  # of the bar for the data (usually cached already)

        def report(fraction: float) -> None:
            if cancel.is_set():
                raise Cancelled("learning curve cancelled")
            progress(share * fraction)

        data = self._data_for(spec, report)
        curve = LearningCurve(
            spec.model,
            OperatorData(data.train, data.test),
            spec.optim,
            spec.train,
            parameter=parameter,  # type: ignore[arg-type]
            values=values,
            seeds=seeds,
            steps=steps,
            device=self.device,
        )
        for event in curve.run():
            if cancel.is_set():
                raise Cancelled("learning curve cancelled")
            progress(share + (1 - share) * event.done / event.total)
        assert curve.result is not None
        return curve.result

    # ---- files -----------------------------------------------------------------------
    def export(self, path: str | os.PathLike) -> Path:
        """Write the run history to ``path`` as netCDF (recipe in ``run_spec``).

        Raises:
            ValueError: no snapshot yet, or ``path`` is not writable.
        """
        run = self.run
        history = None if run is None else run.history
        if history is None:
            raise ValueError("nothing to export yet: train first (no snapshot taken)")
        history = history.copy()
        history.attrs["run_spec"] = run.spec.to_json()
        return save_dataset(history, path)

    def export_curve(self, path: str | os.PathLike) -> Path:
        """Write the newest learning curve to ``path`` as netCDF."""
        result = self.curve_result
        if result is None:
            raise ValueError("no learning curve yet: run one first")
        return save_dataset(result, path)

    # ---- URL state -------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Every knob as ``{key: text}``; see :mod:`explorer.state.operator_query`."""
        from explorer.state.operator_query import operator_query

        return operator_query(self)

    def from_query(self, query: Mapping[str, str]) -> list[str]:
        """Apply a query from :meth:`to_query`; returns notices for ignored entries."""
        from explorer.state.operator_query import apply_operator_query

        return apply_operator_query(self, query)

    # ---- internals -------------------------------------------------------------------
    def _spec(self) -> OperatorSpec:
        try:
            return self.to_spec()
        except ValueError as err:
            self.error = str(err)
            raise

    def _spec_or_error(self) -> OperatorSpec | None:
        try:
            return self._spec()
        except ValueError:
            self._version.bump()
            return None

    def _cancel_preparation(self) -> None:
        """Ask the data job to stop (it does at its next chunk) and wait a while."""
        self._cancelled = True
        self._prepare.cancel(wait=_CANCEL_WAIT)

    def _refuse_closed(self) -> bool:
        if self._closed:
            self.error = "this session is closed; create a new one"
        return self._closed

    def _end_run(self) -> None:
        with self._run_lock:
            run, self._holder[0] = self._holder[0], None
        if run is not None:
            run.close()

    def _watch(self, group: str, knobs: param.Parameterized) -> None:
        self._watchers[group] = knobs.param.watch(self._changed, knob_names(knobs))

    def _rebuilt(self, group: str) -> Callable[[Any], None]:
        def rewatch(event: param.parameterized.Event) -> None:
            if event.old is not None and group in self._watchers:
                event.old.param.unwatch(self._watchers[group])
            self._watch(group, event.new)
            self._changed()

        return rewatch

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
        self._validate_curve()

    def _validate_curve(self, *_: Any) -> None:
        try:
            self.curve_values()
        except ValueError as err:
            self.curve_error = str(err)
        else:
            self.curve_error = ""
        self._version.bump()


def _bands(resolution: int) -> tuple[int, ...]:
    """Band edges 4 and 16 (low, middle, high |k|), fewer on coarse grids."""
    kmax = resolution // 2
    return tuple(e for e in (4, 16) if e < kmax) or (max(1, kmax // 2),)


def spec_of(history: xr.Dataset) -> OperatorSpec:
    """The recipe an exported history carries (``attrs["run_spec"]``)."""
    return OperatorSpec.from_dict(json.loads(history.attrs["run_spec"]))

"""What a PINN session's runs leave for the diagnostics: weights along the way, and
the sharpness λ_max measured live every k steps.

:class:`RunTracker` is a session observer (:meth:`PINNSession.observe`). In the
training thread, between two steps, it only copies: the trainable parameters at the
start of each run and at each history snapshot (the trajectory that landscapes
project and NTKs follow), and, when sharpness tracking is on, every ``every`` steps
the parameters, points, weights and learning rate into a one-slot mailbox. Its own
thread takes the newest request from the mailbox and computes λ_max (Lanczos) and
tr H (Hutchinson) on a private copy of the network, while training goes on. A
measurement slower than ``every`` steps of training drops the requests that arrive
meanwhile rather than holding training back: the sharpness history then has wider
gaps, never a stalled run. With tracking off the observer copies nothing between
snapshots, so training runs at full speed.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import torch
import xarray as xr
from torch import Tensor

from explorer.data import Collocation
from explorer.diagnostics import Cancelled, parameters, pinn_objective, sharpness
from explorer.losses import PINNLoss
from explorer.state.run import Version
from explorer.training import Trainer, TrainEvent

__all__ = ["MAX_TRAJECTORY", "RunTracker", "Sample", "private_loss"]

#: Parameter snapshots kept per run; beyond it every other one is dropped (the first
#: and the newest stay), like the run's own history.
MAX_TRAJECTORY = 100
#: ... and at most this many bytes of them (a wide net keeps fewer snapshots).
MAX_TRAJECTORY_BYTES = 64 * 2**20


def private_loss(trainer: Trainer) -> PINNLoss:
    """The trainer's loss bound to a deep copy of its network (call between steps).

    Diagnostics swap parameters into the network they evaluate (functional_call);
    on a copy, training can carry on meanwhile.
    """
    return dataclasses.replace(trainer.loss, pinn=copy.deepcopy(trainer.pinn))


@dataclasses.dataclass(frozen=True)
class Sample:
    """What one sharpness measurement needs, copied between two steps."""

    step: int
    params: dict[str, Tensor]
    batch: Collocation
    weights: dict[str, float]
    lr: float
    loss: PINNLoss  # bound to the tracker's private network for this run


class RunTracker:
    """Records a session's parameter trajectory and measures sharpness live.

    Args:
        version: bumped when the trajectory or the sharpness history grows.
        every: measure sharpness every this many steps (read at each step).
        enabled: whether to measure sharpness (read at each step).
        settings: ``max_iter``, ``tol`` and ``probes`` for
            :func:`~explorer.diagnostics.sharpness` (read per measurement).
    """

    def __init__(
        self,
        version: Version,
        every: Callable[[], int],
        enabled: Callable[[], bool],
        settings: Callable[[], dict[str, Any]],
    ) -> None:
        self._version = version
        self._every = every
        self._enabled = enabled
        self._settings = settings
        self._lock = threading.Lock()
        self._trainer: Trainer | None = None
        self._trajectory: list[tuple[int, dict[str, Tensor]]] = []
        self._limit = MAX_TRAJECTORY
        self._model_loss: PINNLoss | None = None  # private copy for the tracker
        self._sharpness: list[xr.Dataset] = []
        self._mail: Sample | None = None
        self._wake = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.error = ""
        self.busy = False

    # ---- reads ---------------------------------------------------------------------
    @property
    def trainer(self) -> Trainer | None:
        """The trainer of the run the trajectory belongs to."""
        return self._trainer

    def trajectory(self) -> list[tuple[int, dict[str, Tensor]]]:
        """``(step, parameters)`` recorded for the current run, oldest first."""
        with self._lock:
            return list(self._trajectory)

    def sharpness(self) -> xr.Dataset | None:
        """λ_max, tr H, 2/η and their ratio along ``step``, or None."""
        with self._lock:
            parts = list(self._sharpness)
        if not parts:
            return None
        return xr.concat(parts, "step", combine_attrs="drop_conflicts")

    # ---- the observer (training thread) --------------------------------------------
    def __call__(self, trainer: Trainer, event: TrainEvent | None) -> None:
        try:
            self._observe(trainer, event)
        except Exception as err:  # never into training
            self.error = f"{type(err).__name__}: {err}"

    def _observe(self, trainer: Trainer, event: TrainEvent | None) -> None:
        if trainer is not self._trainer:
            self._new_run(trainer, record=event is None)
        if event is None or event.diverged:
            return
        if event.snapshot is not None:
            self._record(event.step, parameters(trainer.pinn))
            self._version.bump()
        if self._enabled() and event.step % max(int(self._every()), 1) == 0:
            self._post(trainer, event.step)

    def _new_run(self, trainer: Trainer, record: bool) -> None:
        # A new run starts a new trajectory and sharpness history.
        p = sum(v.numel() * v.element_size() for v in parameters(trainer.pinn).values())
        with self._lock:
            self._trainer = trainer
            self._trajectory = []
            self._sharpness = []
            self._model_loss = None
            self._mail = None
            self._limit = max(3, min(MAX_TRAJECTORY, MAX_TRAJECTORY_BYTES // max(p, 1)))
        if record:
            self._record(trainer.step, parameters(trainer.pinn))
        self._version.bump()

    def _record(self, step: int, params: dict[str, Tensor]) -> None:
        with self._lock:
            if self._trajectory and self._trajectory[-1][0] == step:
                self._trajectory[-1] = (step, params)
                return
            self._trajectory.append((step, params))
            if len(self._trajectory) > self._limit:
                # Keep the first and the newest; thin the middle.
                self._trajectory = self._trajectory[:-1:2] + self._trajectory[-1:]

    def _post(self, trainer: Trainer, step: int) -> None:
        if self._model_loss is None:
            self._model_loss = private_loss(trainer)
        sample = Sample(
            step=step,
            params=parameters(trainer.pinn),
            batch=trainer.batch,  # replaced, never changed in place, by the trainer
            weights=dict(trainer.weights),
            lr=float(trainer.optimization.lr),
            loss=dataclasses.replace(self._model_loss, problem=trainer.loss.problem),
        )
        with self._wake:
            self._mail = sample
            self._wake.notify()
        self._start_thread()

    # ---- the measuring thread ------------------------------------------------------
    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._measure_forever, name="sharpness", daemon=True
            )
            self._thread.start()

    def _measure_forever(self) -> None:
        while not self._closed.is_set():
            with self._wake:
                while self._mail is None and not self._closed.is_set():
                    self._wake.wait(0.5)
                sample, self._mail = self._mail, None
            if sample is None:
                continue
            self.busy = True
            try:
                result = self.measure(sample)
            except Cancelled:
                return
            except Exception as err:  # shown by the view; training goes on
                self.error = f"sharpness at step {sample.step}: {err}"
                self._version.bump()
            else:
                with self._lock:
                    if self._model_loss is not None and sample.loss.pinn is (
                        self._model_loss.pinn
                    ):  # still the same run
                        self._sharpness.append(result)
                self.error = ""
                self._version.bump()
            finally:
                self.busy = False

    def measure(self, sample: Sample) -> xr.Dataset:
        """λ_max and tr H at ``sample`` (on its private network)."""
        net = sample.loss.pinn
        with torch.no_grad():
            for name, p in net.named_parameters():
                if name in sample.params:
                    p.copy_(sample.params[name])
        objective = pinn_objective(sample.loss, sample.batch, weights=sample.weights)
        return sharpness(
            net,
            objective,
            lr=sample.lr,
            step=sample.step,
            cancel=self._closed,
            **self._settings(),
        )

    def close(self) -> None:
        """End the measuring thread (after its measurement in flight)."""
        self._closed.set()
        with self._wake:
            self._wake.notify()

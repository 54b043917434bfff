"""DiagnosticsState: loss landscapes, Hessian and NTK spectra of a live PINN run.

A param controller over a :class:`~explorer.state.PINNSession`. Its knobs pick a
diagnostic and bound its size by the core's ``LIMITS``
(:mod:`explorer.diagnostics`); :meth:`DiagnosticsState.run` copies what the
diagnostic needs from the run between two training steps (a deep copy of the
network, the points, the loss weights, the recorded trajectory) and computes on the
copy in a background :class:`~explorer.state.job.Job`, so training carries on and
the session's network is never touched. Front ends poll :attr:`version`.

Diagnostics (``diagnostic``):

- ``landscape``: L(θ + αδ + βη) on a grid around the current weights, along two
  filter-normalised random directions or the top two PCA directions of the recorded
  trajectory (Li et al. 2018), with the trajectory projected on the plane;
- ``line``: L on the straight line from the initial to the current weights
  (Goodfellow et al. 2015);
- ``hessian``: the top eigenvalues of the loss Hessian (Lanczos) and its spectral
  density (stochastic Lanczos quadrature);
- ``ntk``: the PINN's tangent-kernel spectra (K, K_uu, K_rr) at up to
  ``ntk_snapshots`` recorded steps, their relative change since the first, and the
  current errors projected on the kernel's eigenvectors.

Sharpness tracking (``track_sharpness``, ``every``) measures λ_max and tr H during
training beside 2/η (see :mod:`explorer.state.tracking`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import param
import xarray as xr
from torch import Tensor

from explorer.data import Collocation
from explorer.diagnostics import (
    hessian_density,
    hessian_eigenvalues,
    loss_line,
    loss_plane,
    ntk_change,
    ntk_projection,
    parameters,
    pinn_ntk,
    pinn_objective,
)
from explorer.diagnostics.hessian import LIMITS as HESSIAN_LIMITS
from explorer.diagnostics.landscape import LIMITS as LANDSCAPE_LIMITS
from explorer.diagnostics.ntk import LIMITS as NTK_LIMITS
from explorer.diagnostics.sharpness import LIMITS as SHARPNESS_LIMITS
from explorer.losses import PINNLoss
from explorer.state.job import Job
from explorer.state.run import Version
from explorer.state.session import PINNSession
from explorer.state.tracking import RunTracker, private_loss

__all__ = ["DIAGNOSTICS", "Capture", "DiagnosticsState"]

#: Diagnostic name -> label.
DIAGNOSTICS = {
    "landscape": "Loss landscape (plane)",
    "line": "Loss on the line from the initial weights",
    "hessian": "Hessian spectrum",
    "ntk": "Neural tangent kernel",
}
DIRECTIONS = ("filter-normalised", "pca")


def _bounds(limits: Any, name: str) -> tuple[float, float]:
    lo, hi = limits[name]
    return (
        (int(lo), int(hi))
        if float(lo).is_integer() and float(hi).is_integer()
        else (lo, hi)
    )


def _allowed(limits: Any, name: str) -> str:
    lo, hi = limits[name]
    return f"allowed: {lo:g} to {hi:g}"


@dataclasses.dataclass(frozen=True)
class Capture:
    """What a diagnostic needs from a run, copied between two training steps."""

    loss: PINNLoss  # bound to a private copy of the network
    batch: Collocation
    weights: dict[str, float]
    params: dict[str, Tensor]
    step: int
    lr: float
    problem: str
    trajectory: tuple[tuple[int, dict[str, Tensor]], ...]

    def objective(self, split: bool = False) -> Callable:
        return pinn_objective(self.loss, self.batch, weights=self.weights, split=split)


class DiagnosticsState(param.Parameterized):
    """Knobs, a background job and results of the diagnostics of one session.

    Args:
        session: the PINN session whose current run is diagnosed.

    Reads (any thread): :attr:`result` (an xarray Dataset, settings in its attrs),
    :attr:`result_kind`, :attr:`state`, :attr:`progress`, :attr:`message`,
    :attr:`sharpness` (the tracked history), :attr:`version`.
    """

    diagnostic = param.Selector(
        default="landscape",
        objects=list(DIAGNOSTICS),
        doc="which diagnostic Run computes; allowed: " + ", ".join(DIAGNOSTICS),
    )
    resolution = param.Integer(
        21,
        bounds=_bounds(LANDSCAPE_LIMITS, "steps"),
        softbounds=(5, 61),
        label="Grid points per axis",
        doc="landscape: grid points per axis (odd, so that the current weights are "
        "the centre); line: points per unit of α; "
        + _allowed(LANDSCAPE_LIMITS, "steps"),
    )
    directions = param.Selector(
        default="filter-normalised",
        objects=list(DIRECTIONS),
        doc="landscape directions: two filter-normalised random ones, or the top two "
        "principal directions of the recorded trajectory; allowed: "
        + ", ".join(DIRECTIONS),
    )
    span = param.Number(
        1.0,
        bounds=LANDSCAPE_LIMITS["span"],
        softbounds=(0.05, 3.0),
        label="Span",
        doc="half-width of the landscape grid: in units of the random directions, or "
        "a multiple of the trajectory's extent for PCA; "
        + _allowed(LANDSCAPE_LIMITS, "span"),
    )
    log_scale = param.Boolean(
        True, label="Log scale", doc="draw losses and spectra on a log scale"
    )
    seed = param.Integer(
        0, bounds=(0, None), doc="seeds random directions and probes; allowed: >= 0"
    )
    top_k = param.Integer(
        5,
        bounds=_bounds(HESSIAN_LIMITS, "k"),
        label="Top eigenvalues",
        doc="Hessian: how many of the largest eigenvalues; "
        + _allowed(HESSIAN_LIMITS, "k"),
    )
    probes = param.Integer(
        2,
        bounds=_bounds(HESSIAN_LIMITS, "slq_probes"),
        softbounds=(1, 8),
        label="SLQ probes",
        doc="Hessian density: random probes averaged; "
        + _allowed(HESSIAN_LIMITS, "slq_probes"),
    )
    lanczos_steps = param.Integer(
        60,
        bounds=_bounds(HESSIAN_LIMITS, "steps"),
        softbounds=(10, 150),
        label="Lanczos steps",
        doc="Hessian density: Lanczos steps per probe (Hessian-vector products); "
        + _allowed(HESSIAN_LIMITS, "steps"),
    )
    ntk_points = param.Integer(
        64,
        bounds=_bounds(NTK_LIMITS, "n_residual"),
        softbounds=(8, 256),
        label="NTK points",
        doc="NTK: interior points (a quarter as many per boundary set); "
        + _allowed(NTK_LIMITS, "n_residual"),
    )
    ntk_snapshots = param.Integer(
        4,
        bounds=(1, 20),
        label="NTK snapshots",
        doc="NTK: recorded steps at which the kernel is computed (evenly spread, the "
        "first and the current included); allowed: 1 to 20",
    )
    track_sharpness = param.Boolean(
        False,
        label="Track sharpness",
        doc="measure λ_max and tr H during training every `every` steps",
    )
    every = param.Integer(
        50,
        bounds=(1, 100_000),
        softbounds=(5, 500),
        label="Every k steps",
        doc="sharpness tracking: steps between measurements; allowed: 1 to 100000",
    )
    trace_probes = param.Integer(
        4,
        bounds=_bounds(SHARPNESS_LIMITS, "probes"),
        softbounds=(0, 32),
        label="Trace probes",
        doc="sharpness tracking: Hutchinson probes for tr H (0 skips the trace); "
        + _allowed(SHARPNESS_LIMITS, "probes"),
    )
    error = param.String("", doc="why the knobs make no valid diagnostic; empty if ok")

    KNOBS = {
        "landscape": ("resolution", "directions", "span", "seed"),
        "line": ("resolution",),
        "hessian": ("top_k", "probes", "lanczos_steps", "seed"),
        "ntk": ("ntk_points", "ntk_snapshots"),
    }

    def __init__(self, session: PINNSession, **params: Any) -> None:
        super().__init__(**params)
        self.session = session
        self._version = Version()
        self._job = Job(self._version)
        self._result: xr.Dataset | None = None
        self._result_kind = ""
        self.tracker = RunTracker(
            self._version,
            every=lambda: self.every,
            enabled=lambda: self.track_sharpness,
            settings=lambda: {"probes": self.trace_probes, "seed": self.seed},
        )
        self._unobserve = session.observe(self.tracker)
        run = session.run
        if run is not None and run.trainer is not None:
            # Attached to a run in progress: its trajectory starts now.
            with run.between_steps() as trainer:
                self.tracker(trainer, None)
        self.param.watch(self._check, ["resolution", "diagnostic"])
        knobs = [n for n in self.param if n != "name"]
        self.param.watch(lambda *_: self._version.bump(), knobs)
        self._check()

    # ---- reads -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Increases whenever anything observable changes; poll it to redraw."""
        return self._version.value + self.session.version

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def state(self) -> str:
        return self._job.state

    @property
    def progress(self) -> float:
        return self._job.progress

    @property
    def message(self) -> str:
        return self._job.message

    @property
    def result(self) -> xr.Dataset | None:
        """The last finished diagnostic's Dataset (its settings in ``attrs``)."""
        return self._job.result

    @property
    def result_kind(self) -> str:
        """Which diagnostic made :attr:`result` ("" before the first)."""
        result = self._job.result
        return "" if result is None else str(result.attrs.get("kind", ""))

    @property
    def sharpness(self) -> xr.Dataset | None:
        """The tracked λ_max, tr H, 2/η along ``step`` (current run), or None."""
        return self.tracker.sharpness()

    @property
    def trajectory_steps(self) -> list[int]:
        """Steps at which the current run's weights were recorded."""
        return [s for s, _ in self.tracker.trajectory()]

    # ---- actions ---------------------------------------------------------------------
    def run(self) -> bool:
        """Start the chosen diagnostic in the background; False (with
        :attr:`error` or :attr:`message` saying why) when it cannot start."""
        self._check()
        if self.error:
            return False
        if self._job.running:
            self._job.note("a diagnostic is running: wait for it or cancel it first")
            return False
        try:
            capture = self.capture()
        except ValueError as err:
            self.error = str(err)
            return False
        kind = self.diagnostic
        work = {
            "landscape": self._landscape,
            "line": self._line,
            "hessian": self._hessian,
            "ntk": self._ntk,
        }[kind]

        def job(progress: Callable[[float], None], cancel: threading.Event):
            result = work(capture, progress, cancel)
            result.attrs.update(
                kind=kind,
                problem=capture.problem,
                training_step=capture.step,
                lr=capture.lr,
            )
            return result

        return self._job.start(DIAGNOSTICS[kind].lower(), job)

    def cancel(self, wait: float = 0.0) -> bool:
        """Stop the diagnostic in progress at its next check."""
        return self._job.cancel(wait)

    def join(self, timeout: float | None = None) -> bool:
        return self._job.join(timeout)

    def close(self) -> None:
        """Cancel the job, stop the sharpness thread, detach from the session."""
        self._job.cancel(wait=5.0)
        self.tracker.close()
        self._unobserve()

    def capture(self) -> Capture:
        """Copy what a diagnostic needs from the current run, between two steps
        (building the run first if there is none: its untrained network)."""
        s = self.session
        run = s.run
        if run is None or run.trainer is None:
            if not s.reset():
                raise ValueError(s.error or "no run to diagnose")
            run = s.run
        with run.between_steps() as trainer:
            loss = private_loss(trainer)
            capture = Capture(
                loss=loss,
                batch=trainer.batch,
                weights=dict(trainer.weights),
                params=parameters(loss.pinn),
                step=trainer.step,
                lr=float(trainer.optimization.lr),
                problem=run.spec.problem,
                trajectory=tuple(self.tracker.trajectory())
                if self.tracker.trainer is trainer
                else (),
            )
        return capture

    # ---- checks ----------------------------------------------------------------------
    def _check(self, *_: Any) -> None:
        if self.diagnostic == "landscape" and self.resolution % 2 == 0:
            lo, hi = LANDSCAPE_LIMITS["steps"]
            self.error = (
                f"Grid points per axis = {self.resolution} is not allowed for a "
                f"landscape; allowed: odd numbers from {lo:g} to {hi:g}, so that the "
                "current weights are the centre"
            )
        else:
            self.error = ""

    # ---- the diagnostics (job thread) ----------------------------------------------
    @staticmethod
    def _path(capture: Capture) -> tuple[list[int], list[dict[str, Tensor]]]:
        """Recorded steps and weights, ending at the current weights."""
        traj = [(s, p) for s, p in capture.trajectory if s < capture.step]
        traj.append((capture.step, capture.params))
        return [s for s, _ in traj], [p for _, p in traj]

    def _landscape(self, capture: Capture, progress, cancel) -> xr.Dataset:
        steps, path = self._path(capture)
        pca = self.directions == "pca"
        if pca and len(path) < 3:
            raise ValueError(
                f"PCA directions need at least 3 recorded weights; this run has "
                f"{len(path)} (one per history snapshot): train longer, or use "
                "filter-normalised directions"
            )
        if len(path) > LANDSCAPE_LIMITS["snapshots"][1]:
            keep = np.linspace(0, len(path) - 1, int(LANDSCAPE_LIMITS["snapshots"][1]))
            keep = np.unique(keep.round().astype(int))
            steps, path = [steps[i] for i in keep], [path[i] for i in keep]
        trajectory = path if len(path) >= 3 else None
        ds = loss_plane(
            capture.objective(split=True),
            capture.params,
            directions="pca" if pca else "random",
            trajectory=trajectory,
            steps=self.resolution,
            span=self.span,
            seed=self.seed,
            progress=progress,
            cancel=cancel,
        )
        if trajectory is not None:
            ds = ds.assign_coords(snapshot=("snapshot", np.asarray(steps)))
        return ds

    def _line(self, capture: Capture, progress, cancel) -> xr.Dataset:
        steps, path = self._path(capture)
        if len(path) < 2:
            raise ValueError(
                "the line needs the initial weights: none were recorded before step "
                f"{capture.step} (they are recorded when a run is built with this "
                "diagnostics state attached): Reset and train again"
            )
        ds = loss_line(
            capture.objective(split=True),
            path[0],
            capture.params,
            steps_per_unit=max(int(self.resolution), 2),
            progress=progress,
            cancel=cancel,
        )
        ds.attrs.update(start_step=steps[0], end_step=capture.step)
        return ds

    def _hessian(self, capture: Capture, progress, cancel) -> xr.Dataset:
        objective = capture.objective()
        top = hessian_eigenvalues(
            objective,
            capture.params,
            k=self.top_k,
            max_iter=min(max(60, 4 * self.top_k), 500),
            seed=self.seed,
            progress=lambda f: progress(0.4 * f),
            cancel=cancel,
        )
        density = hessian_density(
            objective,
            capture.params,
            steps=self.lanczos_steps,
            probes=self.probes,
            seed=self.seed,
            progress=lambda f: progress(0.4 + 0.6 * f),
            cancel=cancel,
        )
        out = density.assign(
            top_eigenvalue=("mode", top["eigenvalue"].values),
            top_residual=("mode", top["residual"].values),
        )
        out.attrs.update(
            top_converged=top.attrs["converged"],
            top_iterations=top.attrs["iterations"],
            seconds=density.attrs["seconds"] + top.attrs["seconds"],
        )
        return out

    def _ntk(self, capture: Capture, progress, cancel) -> xr.Dataset:
        steps, path = self._path(capture)
        n = min(self.ntk_snapshots, len(path))
        pick = np.unique(np.linspace(0, len(path) - 1, n).round().astype(int))
        if pick[-1] != len(path) - 1:
            pick = np.append(pick, len(path) - 1)
        kernels = []
        for i, index in enumerate(pick):
            kernels.append(
                pinn_ntk(
                    capture.loss,
                    capture.batch,
                    params=path[index],
                    n_residual=self.ntk_points,
                    n_boundary=max(self.ntk_points // 4, 4),
                    progress=lambda f, i=i: progress((i + f) / len(pick)),
                    cancel=cancel,
                )
            )
        first = kernels[0]
        changes = [ntk_change(first, k) for k in kernels]
        scalars = ("trace_uu", "trace_rr", "condition")
        data: dict[str, Any] = {
            name: (("step", dim), np.stack([k[name].values for k in kernels]))
            for name, dim in (
                ("eigenvalue", "mode"),
                ("eigenvalue_uu", "mode_u"),
                ("eigenvalue_rr", "mode_r"),
            )
        }
        for name in scalars:
            data[name] = ("step", np.array([float(k[name]) for k in kernels]))
        for name in changes[0].data_vars:
            data[str(name)] = ("step", np.array([float(c[name]) for c in changes]))
        projection = ntk_projection(kernels[-1])
        for name in ("coefficient", "energy", "cumulative_energy"):
            data[name] = ("mode", projection[name].values)
        attrs = dict(kernels[-1].attrs)
        attrs["seconds"] = float(sum(k.attrs["seconds"] for k in kernels))
        coords = {"step": np.asarray([steps[i] for i in pick])}
        return xr.Dataset(data, coords=coords, attrs=attrs)

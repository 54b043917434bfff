"""LandscapeLabState: a small-MLP regression playground for optimisation phenomena.

Knobs bounded by :class:`~explorer.training.regression.RegressionConfig`; three
background jobs (one at a time, cancellable, with progress):

- :meth:`~LandscapeLabState.train`: full-batch gradient descent from a fresh
  network, the loss every step, and every ``every`` steps λ_max (and tr H) of the
  loss Hessian beside 2/η: the edge of stability (Cohen et al. 2021). The tangent
  kernel on the training points is taken before and after, for its relative change.
- :meth:`~LandscapeLabState.spectrum`: the Hessian's top eigenvalues and its
  spectral density at the current weights: a bulk near zero and a few outliers
  (Sagun et al. 2017; Papyan 2019).
- :meth:`~LandscapeLabState.sweep`: the same training at growing widths under the
  NTK parametrisation, and the relative change of the kernel against width: lazy
  training as the width grows (Jacot et al. 2018; Chizat et al. 2019).

Results are xarray Datasets read through properties; front ends poll
:attr:`version`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import param
import torch
import xarray as xr

from explorer.diagnostics import (
    Cancelled,
    empirical_ntk,
    hessian_density,
    hessian_eigenvalues,
    ntk_change,
    objective,
    parameters,
    sharpness,
)
from explorer.diagnostics.hessian import LIMITS as HESSIAN_LIMITS
from explorer.diagnostics.sharpness import LIMITS as SHARPNESS_LIMITS
from explorer.state._knobs import choice, number
from explorer.state.job import Job
from explorer.state.run import Version
from explorer.training.regression import (
    RegressionConfig,
    RegressionTrainer,
    target_function,
)

__all__ = ["SWEEP_WIDTHS", "LandscapeLabState"]

#: Widths of the lazy-training sweep (those up to ``max_width`` are trained).
SWEEP_WIDTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)
_FIT_POINTS = 201  # the fitted curve is drawn on this many points


def _ints(limits: Any, name: str) -> tuple[int, int]:
    lo, hi = limits[name]
    return int(lo), int(hi)


class LandscapeLabState(param.Parameterized):
    """The regression playground's knobs, jobs and results; see the module notes."""

    target = choice(RegressionConfig, "target", doc="the 1-D function to fit")
    n_points = number(
        RegressionConfig,
        "n_points",
        label="Training points",
        softbounds=(4, 128),
        doc="training points, evenly spaced on [-1, 1]",
    )
    width = number(
        RegressionConfig,
        "width",
        softbounds=(4, 256),
        doc="units per hidden layer",
    )
    depth = number(
        RegressionConfig, "depth", label="Hidden layers", doc="hidden layers"
    )
    activation = choice(RegressionConfig, "activation", doc="activation function")
    parametrization = choice(
        RegressionConfig,
        "parametrization",
        doc="standard (W ~ N(0, 1/fan_in)) or NTK (W ~ N(0, 1), 1/sqrt(fan_in) in "
        "the forward pass)",
    )
    lr = number(
        RegressionConfig,
        "lr",
        label="Learning rate η",
        softbounds=(0.01, 1.0),
        doc="the gradient-descent step: the edge of stability sits at λ_max = 2/η",
    )
    seed = number(RegressionConfig, "seed", softbounds=(0, 100), doc="network seed")
    steps = param.Integer(
        1000,
        bounds=(1, 100_000),
        softbounds=(50, 5000),
        label="Steps",
        doc="gradient-descent steps per training (and per width of the sweep); "
        "allowed: 1 to 100000",
    )
    every = param.Integer(
        20,
        bounds=(1, 10_000),
        softbounds=(1, 200),
        label="Sharpness every k steps",
        doc="steps between λ_max measurements; allowed: 1 to 10000",
    )
    trace_probes = param.Integer(
        0,
        bounds=_ints(SHARPNESS_LIMITS, "probes"),
        softbounds=(0, 32),
        label="Trace probes",
        doc="Hutchinson probes for tr H at each measurement (0 skips the trace); "
        f"allowed: {SHARPNESS_LIMITS['probes'][0]:g} to "
        f"{SHARPNESS_LIMITS['probes'][1]:g}",
    )
    top_k = param.Integer(
        8,
        bounds=_ints(HESSIAN_LIMITS, "k"),
        label="Top eigenvalues",
        doc=f"Hessian outliers computed; allowed: {HESSIAN_LIMITS['k'][0]:g} to "
        f"{HESSIAN_LIMITS['k'][1]:g}",
    )
    lanczos_steps = param.Integer(
        80,
        bounds=_ints(HESSIAN_LIMITS, "steps"),
        softbounds=(10, 200),
        label="Lanczos steps",
        doc="Hessian density: Lanczos steps per probe; allowed: "
        f"{HESSIAN_LIMITS['steps'][0]:g} to {HESSIAN_LIMITS['steps'][1]:g}",
    )
    max_width = param.Selector(
        default=256,
        objects=list(SWEEP_WIDTHS[2:]),
        label="Sweep up to width",
        doc="the widest network of the lazy-training sweep; allowed: "
        + ", ".join(map(str, SWEEP_WIDTHS[2:])),
    )
    error = param.String("", doc="why the knobs make no valid network; empty if ok")

    KNOBS = (
        "target",
        "n_points",
        "width",
        "depth",
        "activation",
        "parametrization",
        "lr",
        "seed",
        "steps",
        "every",
        "trace_probes",
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._version = Version()
        self._job = Job(self._version)
        self._lock = threading.Lock()
        self.trainer: RegressionTrainer | None = None
        self._losses: list[float] = []
        self._sharp: list[xr.Dataset] = []
        self._fit: xr.Dataset | None = None
        self._ntk: xr.Dataset | None = None
        self._spectrum: xr.Dataset | None = None
        self._sweep: xr.Dataset | None = None
        self._kind = ""
        knobs = [n for n in self.param if n not in ("name", "error")]
        self.param.watch(self._changed, knobs)
        self._changed()

    # ---- the bridge ------------------------------------------------------------------
    def to_config(self, **changes: Any) -> RegressionConfig:
        """The frozen config of the knobs (``changes`` override some).

        Raises:
            ValueError: naming the knob, its value and what is allowed.
        """
        values = {
            n: getattr(self, n)
            for n in (
                "target",
                "n_points",
                "width",
                "depth",
                "activation",
                "parametrization",
                "lr",
                "seed",
            )
        }
        values["lr"] = float(values["lr"])
        return RegressionConfig(**{**values, **changes})

    def _changed(self, *_: Any) -> None:
        try:
            self.to_config()
        except ValueError as err:
            self.error = str(err)
        else:
            self.error = ""
        self._version.bump()

    # ---- reads -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._version.value

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def job(self) -> str:
        """Which job runs or ran last: "train", "spectrum", "sweep" or ""."""
        return self._kind

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
    def history(self) -> xr.Dataset | None:
        """The loss after every step of the last training, along ``step``."""
        with self._lock:
            losses = list(self._losses)
            lr = self.trainer.config.lr if self.trainer is not None else np.nan
        if not losses:
            return None
        steps = np.arange(len(losses))
        return xr.Dataset(
            {"loss": ("step", np.asarray(losses))},
            coords={"step": steps},
            attrs={"lr": lr},
        )

    @property
    def sharpness(self) -> xr.Dataset | None:
        """λ_max (and tr H), 2/η and λ_max·η/2 along ``step``."""
        with self._lock:
            parts = list(self._sharp)
        if not parts:
            return None
        return xr.concat(parts, "step", combine_attrs="drop_conflicts")

    @property
    def fit(self) -> xr.Dataset | None:
        """The target, the network's prediction and the training points."""
        return self._fit

    @property
    def ntk(self) -> xr.Dataset | None:
        """The kernel's spectrum at the start and the end of training, and its
        relative change, along ``step``."""
        return self._ntk

    @property
    def spectrum(self) -> xr.Dataset | None:
        """Hessian density (``density`` over ``eigenvalue``) and ``top_eigenvalue``."""
        return self._spectrum

    @property
    def sweep_result(self) -> xr.Dataset | None:
        """Relative kernel change and final loss against ``width``; the fitted
        power-law exponent in ``attrs["slope"]``."""
        return self._sweep

    # ---- actions ---------------------------------------------------------------------
    def _start(self, kind: str, what: str, work: Callable) -> bool:
        if self.error:
            return False
        if self._job.running:
            self._job.note("a job is running: wait for it or cancel it first")
            return False
        try:
            config = self.to_config()
        except ValueError as err:
            self.error = str(err)
            return False
        self._kind = kind
        return self._job.start(what, lambda p, c: work(config, p, c))

    def train(self) -> bool:
        """Train a fresh network for ``steps`` steps in the background."""
        return self._start("train", "training", self._train)

    def spectrum_now(self) -> bool:
        """The Hessian spectrum at the current weights (train first)."""
        if self.trainer is None:
            self._job.note("train first: the spectrum is taken at the trained weights")
            return False
        return self._start("spectrum", "Hessian spectrum", self._hessian)

    def sweep(self) -> bool:
        """Train each width up to ``max_width`` (NTK parametrisation) and measure
        the kernel's relative change."""
        return self._start("sweep", "width sweep", self._sweep_widths)

    def cancel(self, wait: float = 0.0) -> bool:
        return self._job.cancel(wait)

    def join(self, timeout: float | None = None) -> bool:
        return self._job.join(timeout)

    def close(self) -> None:
        self._job.cancel(wait=5.0)

    # ---- jobs (job thread) -----------------------------------------------------------
    def _train(self, config: RegressionConfig, progress, cancel) -> RegressionTrainer:
        trainer = RegressionTrainer(config)
        steps, every, probes = self.steps, max(self.every, 1), self.trace_probes
        loss_fn = objective(trainer.model, trainer.loss)
        with self._lock:
            self.trainer = trainer
            self._losses, self._sharp = [], []
            self._fit = self._ntk = self._spectrum = None
        kernel0 = empirical_ntk(trainer.model, trainer.x, targets=trainer.y)

        def measure() -> None:
            s = sharpness(
                trainer.model,
                loss_fn,
                lr=config.lr,
                step=trainer.step,
                probes=probes,
                max_iter=30,
            )
            with self._lock:
                self._sharp.append(s)
            self._fit = self._prediction(trainer)

        measure()
        for event in trainer.run(steps):
            if cancel.is_set():
                raise Cancelled(f"training cancelled at step {trainer.step}")
            with self._lock:
                self._losses.append(event.loss)
            if event.diverged:
                raise ValueError(
                    f"gradient descent diverged at step {event.step} (loss "
                    f"{event.loss}): lower the learning rate η = {config.lr:g}"
                )
            if trainer.step % every == 0:
                measure()
            progress(trainer.step / steps)
        with self._lock:  # the loss at the final weights closes the curve
            self._losses.append(float(trainer.loss().detach()))
        if trainer.step % every:
            measure()
        self._fit = self._prediction(trainer)
        kernel = empirical_ntk(trainer.model, trainer.x, targets=trainer.y)
        change = float(ntk_change(kernel0, kernel)["change"])
        self._ntk = xr.Dataset(
            {
                "eigenvalue": (
                    ("step", "mode"),
                    np.stack([kernel0.eigenvalue.values, kernel.eigenvalue.values]),
                ),
                "change": ("step", [0.0, change]),
            },
            coords={"step": [0, trainer.step]},
            attrs={"width": config.width, "parametrization": config.parametrization},
        )
        self._version.bump()
        return trainer

    @staticmethod
    def _prediction(trainer: RegressionTrainer) -> xr.Dataset:
        grid = torch.linspace(-1, 1, _FIT_POINTS, dtype=trainer.x.dtype)[:, None]
        return xr.Dataset(
            {
                "target": ("x", target_function(trainer.config.target, grid[:, 0])),
                "prediction": ("x", trainer.predict(grid).numpy()),
                "train_y": ("point", trainer.y.numpy()),
            },
            coords={
                "x": grid[:, 0].numpy(),
                "train_x": ("point", trainer.x[:, 0].numpy()),
            },
            attrs={"step": trainer.step, "target": trainer.config.target},
        )

    def _hessian(self, config: RegressionConfig, progress, cancel) -> xr.Dataset:
        trainer = self.trainer
        loss_fn = objective(trainer.model, trainer.loss)
        params = parameters(trainer.model)
        top = hessian_eigenvalues(
            loss_fn,
            params,
            k=self.top_k,
            max_iter=min(max(60, 5 * self.top_k), 500),
            progress=lambda f: progress(0.3 * f),
            cancel=cancel,
        )
        density = hessian_density(
            loss_fn,
            params,
            steps=self.lanczos_steps,
            probes=2,
            progress=lambda f: progress(0.3 + 0.7 * f),
            cancel=cancel,
        )
        self._spectrum = density.assign(
            top_eigenvalue=("mode", top["eigenvalue"].values),
            top_residual=("mode", top["residual"].values),
        )
        self._spectrum.attrs.update(
            step=trainer.step, lr=trainer.config.lr, n_points=trainer.x.shape[0]
        )
        return self._spectrum

    def _sweep_widths(self, config: RegressionConfig, progress, cancel) -> xr.Dataset:
        widths = [w for w in SWEEP_WIDTHS if w <= self.max_width]
        steps = self.steps
        # Work grows ~ width² per step: report progress by that share.
        cost = np.cumsum([w * w for w in widths], dtype=float)
        changes, losses = [], []
        for i, width in enumerate(widths):
            trainer = RegressionTrainer(
                dataclasses.replace(config, width=width, parametrization="ntk")
            )
            before = empirical_ntk(trainer.model, trainer.x)
            done = cost[i - 1] if i else 0.0
            for event in trainer.run(steps):
                if cancel.is_set():
                    raise Cancelled(f"sweep cancelled at width {width}")
                if event.diverged:
                    raise ValueError(
                        f"gradient descent diverged at width {width}, step "
                        f"{event.step}: lower the learning rate η = {config.lr:g}"
                    )
                if event.step % 50 == 0:
                    share = (done + (cost[i] - done) * event.step / steps) / cost[-1]
                    progress(share)
            after = empirical_ntk(trainer.model, trainer.x)
            changes.append(float(ntk_change(before, after)["change"]))
            losses.append(float(trainer.loss().detach()))
        w = np.asarray(widths, dtype=float)
        c = np.asarray(changes)
        ok = c > 0
        slope = (
            float(np.polyfit(np.log(w[ok]), np.log(c[ok]), 1)[0])
            if ok.sum() >= 2
            else float("nan")
        )
        self._sweep = xr.Dataset(
            {"change": ("width", c), "final_loss": ("width", np.asarray(losses))},
            coords={"width": np.asarray(widths)},
            attrs={
                "slope": slope,
                "steps": steps,
                "lr": config.lr,
                "depth": config.depth,
                "parametrization": "ntk",
            },
        )
        return self._sweep

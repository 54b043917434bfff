"""Operator training: an :class:`OperatorTrainer` whose ``run`` yields epoch events.

The same design as the PINN :class:`~explorer.training.loop.Trainer`: nothing here
prints, sleeps, writes files or starts threads; a :class:`RunControl` pauses,
resumes, single-steps (one epoch) or stops a run from another thread; a non-finite
loss restores the last good state (the end of the previous epoch) and ends the run
with a ``diverged`` event; ``state_dict`` is everything needed to continue, saved by
:func:`explorer.io.save_operator_checkpoint`.

Every ``snapshot_every`` epochs (and after the first and the last) the event carries
a snapshot (:mod:`explorer.training.operator_snapshot`): errors, samples, spectra,
band errors, zero-shot super-resolution and, for trajectory data, rollout errors.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

import torch
import xarray as xr
from torch import Tensor, nn

from explorer._threads import threads_for
from explorer._validate import check_choice, check_range
from explorer.training.config import OptimConfig
from explorer.training.loop import RunControl
from explorer.training.operator_data import OperatorData, grid_dims, pairs, rollout_set
from explorer.training.operator_metrics import (
    band_errors,
    energy_spectrum,
    relative_h1,
    relative_l2,
)
from explorer.training.operator_snapshot import operator_snapshot
from explorer.training.optim import Optimization

__all__ = ["OperatorEvent", "OperatorTrainConfig", "OperatorTrainer", "RunControl"]

LossName = Literal["l2", "h1"]


@final
@dataclass(frozen=True)
class OperatorTrainConfig:
    """How an operator network is trained and observed.

    Attributes:
        epochs: passes over the training pairs (1 to 100000); sets the cosine
            horizon together with the batches per epoch.
        batch_size: pairs per step (1 to 65536).
        loss: ``"l2"`` (relative L2, the FNO paper's) or ``"h1"`` (relative H1).
        snapshot_every: epochs between snapshots (1 to 100000).
        show_samples: test samples shown in a snapshot (0 to 64).
        eval_samples: training pairs scored in a snapshot (1 to 100000); the test
            set is scored whole.
        bands: wavenumber edges of the bands of ``band_error`` (increasing).
        rollout_steps: steps of the test rollouts for trajectory data (0: as many
            as the test trajectories hold).
    """

    BOUNDS: ClassVar[Mapping[str, tuple[int, int]]] = MappingProxyType(
        {
            "epochs": (1, 100_000),
            "batch_size": (1, 65_536),
            "snapshot_every": (1, 100_000),
            "show_samples": (0, 64),
            "eval_samples": (1, 100_000),
            "rollout_steps": (0, 100_000),
        }
    )

    epochs: int = 20
    batch_size: int = 20
    loss: LossName = "l2"
    snapshot_every: int = 1
    show_samples: int = 4
    eval_samples: int = 256
    bands: tuple[int, ...] = (4, 16)
    rollout_steps: int = 0

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(f"OperatorTrainConfig.{name}", getattr(self, name), lo, hi)
        check_choice("OperatorTrainConfig.loss", self.loss, LossName)
        if not all(a < b for a, b in itertools.pairwise((0, *self.bands))):
            raise ValueError(
                f"OperatorTrainConfig.bands = {self.bands!r}; allowed: increasing "
                "positive wavenumbers"
            )


@dataclass(frozen=True)
class OperatorEvent:
    """What one epoch did; ``snapshot`` is set every ``snapshot_every`` epochs."""

    epoch: int
    loss: float
    lr: float
    steps: int
    snapshot: xr.Dataset | None = None
    message: str | None = None
    diverged: bool = False


def _clone_state(tree: object) -> object:
    if isinstance(tree, Tensor):
        return tree.detach().clone()
    if isinstance(tree, dict):
        return {k: _clone_state(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_clone_state(v) for v in tree)
    return tree


class OperatorTrainer:
    """A network, its data, optimiser and epoch counter.

    Args:
        model: an operator network (``(batch, c, *grid)`` in and out), on the
            device and in the dtype it should train in; the data follow it.
        data: training, test and super-resolution datasets.
        optim: Adam or AdamW settings (``schedule="cosine"`` decays over the whole
            run); L-BFGS is refused.
        config: epochs, batches, loss and what snapshots hold.
        seed: seeds the shuffling generator.
    """

    def __init__(
        self,
        model: nn.Module,
        data: OperatorData,
        optim: OptimConfig,
        config: OperatorTrainConfig,
        *,
        seed: int = 0,
    ) -> None:
        if optim.optimizer not in ("adam", "adamw"):
            raise ValueError(
                f"OptimConfig.optimizer = {optim.optimizer!r} is not allowed for "
                "operator training; allowed: 'adam', 'adamw'"
            )
        self.model, self.data, self.config, self.optim_config = (
            model,
            data,
            config,
            optim,
        )
        param = next(model.parameters())
        self._kw = {"dtype": param.dtype, "device": param.device}
        self.x_train, self.y_train = pairs(data.train, **self._kw)
        self.x_test, self.y_test = pairs(data.test, **self._kw)
        self.batches = math.ceil(self.x_train.shape[0] / config.batch_size)
        self.optimization = Optimization(
            [p for p in model.parameters() if p.requires_grad],
            optim,
            total_steps=config.epochs * self.batches,
        )
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.elapsed = 0.0
        self.n_params = sum(p.numel() for p in model.parameters())
        self._good = self._state()
        self._loss_fn = relative_l2 if config.loss == "l2" else relative_h1

    # ---- one epoch -------------------------------------------------------------------
    def _state(self) -> dict:
        return _clone_state(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimization.state_dict(),
                "generator": self.generator.get_state(),
                "epoch": self.epoch,
                "elapsed": self.elapsed,
            }
        )  # type: ignore[return-value]

    def _threads(self, rows: int):
        """One intra-op thread for batches too small to split (see
        :mod:`explorer._threads`): the Burgers FNO's batch of 20 at s = 256 trains
        in 30 ms a step on one thread and 53 ms on two; Darcy's 64² batch in
        560 ms on one and 350 ms on two."""
        width = getattr(getattr(self.model, "config", None), "width", 64)
        return threads_for(rows * width * math.prod(self.x_train.shape[2:]))

    def train_epoch(self) -> OperatorEvent:
        """One pass over the training pairs in a fresh random order."""
        with self._threads(self.config.batch_size):
            return self._train_epoch()

    def _train_epoch(self) -> OperatorEvent:
        t0 = time.perf_counter()
        self.model.train()
        order = torch.randperm(self.x_train.shape[0], generator=self.generator)
        total, lr = 0.0, self.optimization.lr
        for b in range(self.batches):
            idx = order[b * self.config.batch_size : (b + 1) * self.config.batch_size]
            idx = idx.to(self.x_train.device)
            x, y = self.x_train[idx], self.y_train[idx]

            def closure(x: Tensor = x, y: Tensor = y) -> Tensor:
                self.optimization.zero_grad()
                loss = self._loss_fn(self.model(x), y)
                loss.backward()
                return loss

            info = self.optimization.step(closure)
            if not math.isfinite(info.loss):
                bad = self.epoch + 1
                self.load_state_dict(self._good)
                return OperatorEvent(
                    self.epoch,
                    info.loss,
                    lr,
                    b + 1,
                    message=(
                        f"diverged in epoch {bad} (batch {b + 1}): the loss became "
                        f"{info.loss!r}; restored the state after epoch {self.epoch}."
                        " Lower the learning rate."
                    ),
                    diverged=True,
                )
            total += info.loss
        self.elapsed += time.perf_counter() - t0
        self.epoch += 1
        self._good = self._state()
        loss = total / self.batches
        snap = None
        c = self.config
        if self.epoch % c.snapshot_every == 0 or self.epoch in (1, c.epochs):
            snap = self.snapshot(loss=loss, lr=lr, epoch_time=time.perf_counter() - t0)
        return OperatorEvent(self.epoch, loss, lr, self.batches, snap)

    def run(
        self, epochs: int | None = None, *, control: RunControl | None = None
    ) -> Iterator[OperatorEvent]:
        """Train for ``epochs`` more epochs (default: up to ``config.epochs``)."""
        end = self.config.epochs if epochs is None else self.epoch + epochs
        while self.epoch < end:
            if control is not None and not control.wait():
                return
            event = self.train_epoch()
            yield event
            if event.diverged:
                return

    # ---- evaluation ------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, x: Tensor, *, batch_size: int = 256) -> Tensor:
        """The network on ``x`` ``(n, c, *grid)``, in batches, in eval mode."""
        self.model.eval()
        with self._threads(min(batch_size, len(x))):
            out = [
                self.model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)
            ]
        return torch.cat(out)

    def evaluate(self, ds: xr.Dataset) -> dict[str, float]:
        """Relative L2 and H1 of the network on a dataset's pairs."""
        x, y = pairs(ds, **self._kw)
        pred = self.predict(x)
        return {
            "rel_l2": float(relative_l2(pred, y)),
            "rel_h1": float(relative_h1(pred, y)),
        }

    @torch.no_grad()
    def rollout(self, ds: xr.Dataset, steps: int = 0) -> tuple[Tensor, Tensor]:
        """Autoregressive predictions from each trajectory's first state.

        Returns:
            The rollout ``(n, steps, *grid)`` and its relative L2 error per step.
        """
        u0, truth = rollout_set(ds, **self._kw)
        steps = truth.shape[1] if steps == 0 else min(steps, truth.shape[1])
        u, states = u0, []
        for _ in range(steps):
            u = self.predict(u)
            states.append(u[:, 0])
        pred = torch.stack(states, dim=1)
        errors = torch.stack(
            [relative_l2(pred[:, s : s + 1], truth[:, s : s + 1]) for s in range(steps)]
        )
        return pred, errors

    def snapshot(self, *, loss: float, lr: float, epoch_time: float) -> xr.Dataset:
        """Errors, samples, spectra and super-resolution now (see operator_snapshot)."""
        c = self.config
        n_eval = min(c.eval_samples, self.x_train.shape[0])
        train_pred = self.predict(self.x_train[:n_eval])
        test_pred = self.predict(self.x_test)
        y_train = self.y_train[:n_eval]
        superres = {1: float(relative_l2(test_pred, self.y_test))}
        for factor, ds in self.data.super_resolution.items():
            superres[int(factor)] = self.evaluate(ds)["rel_l2"]
        shown = min(c.show_samples, self.x_test.shape[0])
        test = self.data.test
        rollout = None
        if self.data.kind == "trajectory":
            _, errors = self.rollout(test, c.rollout_steps)
            rollout = (errors, test["t"].values[1 : 1 + errors.shape[0]])
        return operator_snapshot(
            epoch=self.epoch,
            scalars={
                "loss": loss,
                "lr": lr,
                "wall_time": self.elapsed,
                "epoch_time": epoch_time,
                "train_rel_l2": float(relative_l2(train_pred, y_train)),
                "test_rel_l2": superres[1],
                "train_rel_h1": float(relative_h1(train_pred, y_train)),
                "test_rel_h1": float(relative_h1(test_pred, self.y_test)),
            },
            superres=superres,
            shown=(self.x_test[:shown], test_pred[:shown], self.y_test[:shown]),
            grid={d: test[d].values for d in grid_dims(test)},
            spectra=(energy_spectrum(test_pred), energy_spectrum(self.y_test)),
            bands=(band_errors(test_pred, self.y_test, c.bands), c.bands),
            rollout=rollout,
            attrs={
                "n_params": self.n_params,
                "kind": self.data.kind,
                "family": str(test.attrs.get("family", "")),
            },
        )

    # ---- checkpoints -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """Model, optimiser, shuffling generator, epoch and time (tensors, plain)."""
        return self._state()

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` of a trainer built from the same configs."""
        self.model.load_state_dict(state["model"])
        self.optimization.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.elapsed = float(state["elapsed"])
        self._good = self._state()

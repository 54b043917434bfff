"""Learning curves: test error against the number of training samples or of sensors.

A :class:`LearningCurve` trains one fresh network per (value, seed) and records its
test relative L2. The result is one ``xarray.Dataset``: ``test_rel_l2`` (``value``,
``seed``), its geometric mean over seeds ``error``, and in attrs the least-squares
slope of log error against log value with its intercept, beside the Monte-Carlo
reference slope −½ (an estimator averaging N independent samples converges like
N^{−1/2}; operator learning of smooth maps can beat it, which is the point of the
plot). ``run`` yields a :class:`SweepEvent` after each training so a UI or a tqdm bar
can follow; ``result`` holds the Dataset once the sweep is complete.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import xarray as xr
from scipy.stats import linregress

from explorer.models import build_model
from explorer.training.config import OptimConfig
from explorer.training.loop import RunControl
from explorer.training.operator_data import OperatorData
from explorer.training.operator_loop import OperatorTrainConfig, OperatorTrainer

__all__ = ["MONTE_CARLO_SLOPE", "LearningCurve", "SweepEvent", "fit_power_law"]

MONTE_CARLO_SLOPE = -0.5
Parameter = Literal["n_train", "sensors"]


def fit_power_law(
    values: Sequence[float], errors: Sequence[float]
) -> tuple[float, float]:
    """Slope and intercept of log(error) = intercept + slope · log(value)."""
    fit = linregress(
        np.log(np.asarray(values, float)), np.log(np.asarray(errors, float))
    )
    return float(fit.slope), float(fit.intercept)


@dataclass(frozen=True)
class SweepEvent:
    """One finished training of the sweep."""

    done: int
    total: int
    value: int
    seed: int
    test_rel_l2: float
    message: str | None = None


class LearningCurve:
    """A sweep over ``parameter`` (``"n_train"`` or DeepONet ``"sensors"``).

    Args:
        model_config: the network (for ``"sensors"``, a DeepONetConfig whose
            ``sensors`` field is replaced by each value).
        data: the training pool and the test set; ``"n_train"`` trains on the first
            N training samples.
        optim, train: as for :class:`OperatorTrainer`, the same for every value.
        parameter: what varies.
        values: the values, increasing (N ≤ the pool; sensors ≤ the grid).
        seeds: network and shuffling seeds; errors are averaged over them.
        steps: if given, every training takes about this many optimiser steps
            (epochs = ⌈steps / batches per epoch⌉) instead of ``train.epochs``, so
            small N are not under-trained against large ones.
        device: where the networks train.
    """

    def __init__(
        self,
        model_config: Any,
        data: OperatorData,
        optim: OptimConfig,
        train: OperatorTrainConfig,
        *,
        parameter: Parameter,
        values: Sequence[int],
        seeds: Sequence[int] = (0,),
        steps: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        values = [int(v) for v in values]
        if len(values) < 2 or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(
                f"LearningCurve values = {values!r}; allowed: at least two, increasing"
            )
        if parameter == "n_train":
            pool = data.train.sizes["sample"]
            if values[0] < 1 or values[-1] > pool:
                raise ValueError(
                    f"LearningCurve values = {values!r}: n_train must lie in 1..{pool} "
                    "(the training samples given); generate more or lower them"
                )
        elif parameter == "sensors":
            if not hasattr(model_config, "sensors"):
                raise ValueError(
                    f"LearningCurve parameter 'sensors' needs a DeepONetConfig; got "
                    f"{type(model_config).__name__}"
                )
        else:
            raise ValueError(
                f"LearningCurve parameter = {parameter!r}; "
                "allowed: 'n_train', 'sensors'"
            )
        if not seeds:
            raise ValueError("LearningCurve seeds: allowed: at least one seed")
        self.model_config, self.data, self.optim, self.train = (
            model_config,
            data,
            optim,
            train,
        )
        self.parameter, self.values, self.seeds = (
            parameter,
            values,
            [int(s) for s in seeds],
        )
        self.device = torch.device(device)
        if steps is not None and steps < 1:
            raise ValueError(f"LearningCurve steps = {steps!r}; allowed: None or >= 1")
        self.steps = steps
        self.result: xr.Dataset | None = None

    def _trainer(self, value: int, seed: int) -> OperatorTrainer:
        config, data = self.model_config, self.data
        if self.parameter == "sensors":
            config = dataclasses.replace(config, sensors=value)
        else:
            data = dataclasses.replace(
                data, train=data.train.isel(sample=slice(0, value))
            )
        model = build_model(config, seed=seed).to(self.device)
        train = self.train
        if self.steps is not None:
            batches = math.ceil(data.train.sizes["sample"] / train.batch_size)
            epochs = max(1, math.ceil(self.steps / batches))
            train = dataclasses.replace(train, epochs=epochs)
        return OperatorTrainer(model, data, self.optim, train, seed=seed)

    def run(self, *, control: RunControl | None = None) -> Iterator[SweepEvent]:
        """Train every (value, seed); yields after each; sets ``result`` at the end."""
        errors = np.full((len(self.values), len(self.seeds)), np.nan)
        total, done = errors.size, 0
        for i, value in enumerate(self.values):
            for j, seed in enumerate(self.seeds):
                if control is not None and not control.wait():
                    return
                trainer = self._trainer(value, seed)
                message = None
                for event in trainer.run():
                    if event.diverged:
                        message = event.message
                errors[i, j] = trainer.evaluate(self.data.test)["rel_l2"]
                done += 1
                yield SweepEvent(done, total, value, seed, float(errors[i, j]), message)
        self.result = self._dataset(errors)

    def _dataset(self, errors: np.ndarray) -> xr.Dataset:
        mean = np.exp(np.log(errors).mean(axis=1))
        slope, intercept = fit_power_law(self.values, mean)
        return xr.Dataset(
            {
                "test_rel_l2": (("value", "seed"), errors),
                "error": (("value",), mean),
                "fit": (
                    ("value",),
                    np.exp(intercept) * np.asarray(self.values) ** slope,
                ),
            },
            coords={"value": self.values, "seed": self.seeds},
            attrs={
                "parameter": self.parameter,
                "slope": slope,
                "intercept": intercept,
                "reference_slope": MONTE_CARLO_SLOPE,
                "reference": "Monte-Carlo rate N^(-1/2)",
                "model": type(self.model_config).__name__,
                "epochs": self.train.epochs,
                "steps": -1 if self.steps is None else self.steps,
                "family": str(self.data.train.attrs.get("family", "")),
            },
        )

"""Shared by the operator benchmarks: JSON lines, threads, cached data, training."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from explorer.data.operators import AbstractDatasetConfig
from explorer.io import DatasetCache
from explorer.training import OperatorData, OperatorTrainConfig, OperatorTrainer
from explorer.training.config import OptimConfig

DEFAULT_CACHE = Path.home() / ".cache" / "neural-pde-explorer" / "datasets"


def setup(threads: int) -> None:
    torch.set_num_threads(threads)


def base(bench: str, args: Any) -> dict[str, Any]:
    """Fields every JSON line carries."""
    return {
        "bench": bench,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "device": "cpu",
        "load_1min": os.getloadavg()[0],
        "seed": args.seed,
    }


def emit(common: dict[str, Any], record: dict[str, Any]) -> None:
    print(json.dumps({**common, **record}), flush=True)


def cached(
    cache: DatasetCache, config: AbstractDatasetConfig
) -> tuple[Any, float, bool]:
    """The dataset, the seconds it took and whether anything was generated."""
    made = []
    t0 = time.perf_counter()
    ds = cache.get(config, progress=lambda done, total: made.append(done))
    return ds, time.perf_counter() - t0, bool(made)


def train(
    model: torch.nn.Module,
    data: OperatorData,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    loss: str = "l2",
    trace_every: int = 0,
) -> tuple[OperatorTrainer, list[float]]:
    """Adam, cosine schedule over ``epochs``; returns the trainer and epoch times.

    With ``trace_every`` > 0, the test relative L2 every that many epochs is kept
    in ``trainer.trace`` as (epoch, error) pairs (evaluation not timed)."""
    config = OperatorTrainConfig(
        epochs=epochs, batch_size=batch_size, snapshot_every=10**5, loss=loss
    )
    trainer = OperatorTrainer(
        model, data, OptimConfig(lr=lr, schedule="cosine"), config, seed=seed
    )
    times = []
    trainer.trace = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        event = trainer.train_epoch()
        times.append(time.perf_counter() - t0)
        if event.diverged:
            raise RuntimeError(event.message)
        if trace_every and trainer.epoch % trace_every == 0:
            error = trainer.evaluate(data.test)["rel_l2"]
            trainer.trace.append((trainer.epoch, float(f"{error:.4g}")))
    return trainer, times

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
from explorer.io.atomic import atomic_path
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
        "device": getattr(args, "device", "cpu"),
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
    checkpoint: Path | None = None,
) -> tuple[OperatorTrainer, list[float]]:
    """Adam, cosine schedule over ``epochs``; returns the trainer and epoch times.

    With ``trace_every`` > 0, the test relative L2 every that many epochs is kept
    in ``trainer.trace`` as (epoch, error) pairs (evaluation not timed). With a
    ``checkpoint`` path too, the run is saved there (atomically) at each of those
    epochs and continued from it when started again with the same settings: long
    CPU runs survive an interrupted session."""
    config = OperatorTrainConfig(
        epochs=epochs, batch_size=batch_size, snapshot_every=10**5, loss=loss
    )
    trainer = OperatorTrainer(
        model, data, OptimConfig(lr=lr, schedule="cosine"), config, seed=seed
    )
    times: list[float] = []
    trainer.trace = []
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    settings.update(loss=loss, model=repr(model)[:2000], n_train=data.train.sizes)
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["settings"] != settings:
            raise ValueError(
                f"checkpoint {checkpoint} holds a run with other settings: delete it "
                "or pass another --checkpoint"
            )
        trainer.load_state_dict(saved["trainer"])
        times, trainer.trace = saved["times"], saved["trace"]
    while trainer.epoch < epochs:
        t0 = time.perf_counter()
        event = trainer.train_epoch()
        times.append(time.perf_counter() - t0)
        if event.diverged:
            raise RuntimeError(event.message)
        if trace_every and trainer.epoch % trace_every == 0:
            error = trainer.evaluate(data.test)["rel_l2"]
            trainer.trace.append((trainer.epoch, float(f"{error:.4g}")))
            if checkpoint is not None:
                state = {"settings": settings, "trainer": trainer.state_dict()}
                state.update(times=times, trace=trainer.trace)
                with atomic_path(checkpoint) as tmp:
                    torch.save(state, tmp)
    return trainer, times

"""A PINN run on disk: ``checkpoint.pt`` (resumes bit-exactly) and ``history.nc``.

Both files are written atomically; the checkpoint carries the run's full recipe
(:class:`explorer.training.RunSpec`), so ``explorer resume DIR`` needs nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import xarray as xr

from explorer.io.checkpoint import load_checkpoint, save_checkpoint
from explorer.io.datasets import load_dataset, save_dataset
from explorer.training import RunSpec, Trainer, build_trainer

__all__ = ["load_run", "save_run"]

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.nc"


def save_run(
    directory: str | os.PathLike,
    spec: RunSpec,
    trainer: Trainer,
    history: xr.Dataset | None,
) -> Path:
    """Write the trainer's state and the history into ``directory`` (created)."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ValueError(
            f"run directory {str(root)!r} is a file; allowed: a directory path"
        )
    root.mkdir(parents=True, exist_ok=True)
    state = trainer.state_dict()
    save_checkpoint(
        root / CHECKPOINT,
        model_state=state["model"],
        optimizer_state=state["optimizer"],
        config=spec.to_dict(),
        rng_state={"generator": state["generator"]},
        extra={k: state[k] for k in ("batch", "weights", "step", "elapsed")},
    )
    if history is not None:
        history = history.copy()
        history.attrs["run_spec"] = json.dumps(spec.to_dict())
        save_dataset(history, root / HISTORY)
    return root


def load_run(
    directory: str | os.PathLike, **trainer_kwargs: object
) -> tuple[RunSpec, Trainer, xr.Dataset | None]:
    """Rebuild the run in ``directory``: spec, trainer at the saved step, history."""
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"run directory {str(root)!r} does not exist")
    ckpt = load_checkpoint(root / CHECKPOINT)
    try:
        spec = RunSpec.from_dict(ckpt.config)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"{str(root / CHECKPOINT)!r} holds a run config this version cannot "
            f"read: {err}"
        ) from None
    trainer = build_trainer(spec, **trainer_kwargs)
    trainer.load_state_dict(
        {
            "model": ckpt.model_state,
            "optimizer": ckpt.optimizer_state,
            "generator": ckpt.rng_state["generator"],
            **ckpt.extra,
        }
    )
    history = load_dataset(root / HISTORY) if (root / HISTORY).is_file() else None
    return spec, trainer, history

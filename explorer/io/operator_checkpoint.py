"""Checkpoints of operator runs: the network's config and weights, the optimiser,
the shuffling generator and the epoch, through :mod:`explorer.io.checkpoint`
(atomic write, ``weights_only`` load, clear errors).

The configs are stored as JSON (``{"type": "FNOConfig", ...fields}``), so
:func:`load_operator_model` rebuilds the network without the code that trained it.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any

from torch import nn

from explorer.io.checkpoint import load_checkpoint, save_checkpoint
from explorer.models import MODELS, build_model
from explorer.training.operator_loop import OperatorTrainer

__all__ = [
    "load_operator_model",
    "model_config_from_dict",
    "model_config_to_dict",
    "restore_operator_trainer",
    "save_operator_checkpoint",
]

KIND = "explorer.operator"


def model_config_to_dict(config: Any) -> dict[str, Any]:
    """``{"type": class name, **fields}`` for a config in :data:`MODELS`."""
    if type(config) not in MODELS:
        raise ValueError(f"{type(config).__name__} is not a model config")
    return {"type": type(config).__name__, **dataclasses.asdict(config)}


def model_config_from_dict(data: dict[str, Any]) -> Any:
    """The inverse of :func:`model_config_to_dict` (JSON lists back to tuples)."""
    by_name = {cls.__name__: cls for cls in MODELS}
    d = dict(data)
    cls = by_name.get(d.pop("type", None))
    if cls is None:
        raise ValueError(
            f"model config type {data.get('type')!r} is unknown; allowed: "
            + ", ".join(by_name)
        )
    hints = typing.get_type_hints(cls)
    for name, value in d.items():
        if isinstance(value, list) and "tuple" in str(hints.get(name, "")):
            d[name] = tuple(value)
    return cls(**d)


def save_operator_checkpoint(path: str | os.PathLike, trainer: OperatorTrainer) -> Path:
    """Write everything needed to continue ``trainer`` (or to use its network)."""
    state = trainer.state_dict()
    model_config = getattr(trainer.model, "config", None)
    return save_checkpoint(
        path,
        model_state=state["model"],
        optimizer_state=state["optimizer"],
        config={
            "model": model_config_to_dict(model_config),
            "optim": dataclasses.asdict(trainer.optim_config),
            "train": dataclasses.asdict(trainer.config),
            "data": {
                "train": str(trainer.data.train.attrs.get("config", "")),
                "test": str(trainer.data.test.attrs.get("config", "")),
            },
        },
        rng_state={"generator": state["generator"]},
        extra={"epoch": state["epoch"], "elapsed": state["elapsed"]},
        kind=KIND,
    )


def restore_operator_trainer(path: str | os.PathLike, trainer: OperatorTrainer) -> None:
    """Load a checkpoint into a trainer built from the same configs.

    Raises:
        ValueError: the file is not a readable operator checkpoint, or its network
            config differs from the trainer's (the message shows both).
    """
    ckpt = load_checkpoint(path, kind=KIND)
    mine = model_config_to_dict(getattr(trainer.model, "config", None))
    if ckpt.config["model"] != mine:
        raise ValueError(
            f"checkpoint {str(path)!r} holds a {ckpt.config['model']} network; this "
            f"trainer has {mine}; build the trainer from the checkpoint's config"
        )
    device = next(trainer.model.parameters()).device
    trainer.load_state_dict(
        {
            "model": {k: v.to(device) for k, v in ckpt.model_state.items()},
            "optimizer": ckpt.optimizer_state,
            "generator": ckpt.rng_state["generator"],
            "epoch": ckpt.extra["epoch"],
            "elapsed": ckpt.extra["elapsed"],
        }
    )


def load_operator_model(path: str | os.PathLike) -> nn.Module:
    """The trained network of a checkpoint, rebuilt from its stored config (CPU)."""
    ckpt = load_checkpoint(path, kind=KIND)
    model = build_model(model_config_from_dict(ckpt.config["model"]), seed=0)
    model.load_state_dict(ckpt.model_state)
    return model

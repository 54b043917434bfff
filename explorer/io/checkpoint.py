"""Checkpoints: atomic writes, safe loads, clear errors.

A checkpoint is one ``torch.save`` file holding a dict with a format marker::

    {"format": "neural-pde-explorer/checkpoint", "version": 1, "kind": "explorer.pinn",
     "model_state": ..., "optimizer_state": ..., "config_json": "...",
     "rng_state": ..., "extra": ...}

It is always read with ``torch.load(..., weights_only=True)``, which unpickles only
tensors and plain containers and primitives, never arbitrary objects, so opening a
file from elsewhere cannot run code. :func:`save_checkpoint` therefore refuses,
before writing, anything a safe load would refuse, and stores the run config as a
JSON string. Writes go to a temporary file beside the target and replace it only
when complete, so an interrupted save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import torch

from explorer.io.atomic import atomic_path, check_writable

__all__ = ["FORMAT", "VERSION", "Checkpoint", "load_checkpoint", "save_checkpoint"]

FORMAT = "neural-pde-explorer/checkpoint"
VERSION = 1
_FIELDS = ("model_state", "optimizer_state", "config_json", "rng_state", "extra")
_PLAIN = (
    str,
    int,
    float,
    complex,
    bool,
    type(None),
    torch.dtype,
    torch.device,
    torch.Size,
)


@final
@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns: the arguments given to the save."""

    model_state: dict[str, Any]
    optimizer_state: dict[str, Any]
    config: dict[str, Any]
    rng_state: dict[str, Any]
    extra: dict[str, Any]
    kind: str
    version: int


def _check_safe(value: object, where: str) -> None:
    """Raise unless ``torch.load(weights_only=True)`` will read ``value`` back."""
    if isinstance(value, torch.Tensor):
        if type(value) not in (torch.Tensor, torch.nn.Parameter):
            raise ValueError(
                f"{where} is a {type(value).__name__} (a tensor subclass); "
                "allowed: plain tensors (use .as_subclass(torch.Tensor))"
            )
        return
    if isinstance(value, _PLAIN):
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise ValueError(
                    f"{where} has key {key!r} of type {type(key).__name__}; "
                    "allowed: str or int keys"
                )
            _check_safe(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_safe(item, f"{where}[{i}]")
        return
    raise ValueError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}; allowed: "
        "tensors, str/int/float/complex/bool/None, and dicts/lists/tuples of them "
        "(convert arrays with torch.as_tensor, objects with their state_dict())"
    )


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model_state: Mapping[str, Any],
    optimizer_state: Mapping[str, Any],
    config: Mapping[str, Any],
    rng_state: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    kind: str = "explorer.pinn",
) -> Path:
    """Write a checkpoint atomically; the previous file survives any failure.

    Args:
        path: the file to write, in an existing, writable directory.
        model_state: ``model.state_dict()``.
        optimizer_state: e.g. ``Optimization.state_dict()``.
        config: the full run config as nested dicts of JSON types; stored as JSON,
            so tuples come back as lists.
        rng_state: generator states as tensors (``torch.get_rng_state()``,
            ``generator.get_state()``), plus plain ints.
        extra: anything else: tensors, plain values and containers of them.
        kind: what the checkpoint holds; :func:`load_checkpoint` checks it.

    Returns:
        The path written.

    Raises:
        ValueError: the path is not writable, or a value would not load safely.
    """
    target = check_writable(path, what="checkpoint")
    try:
        config_json = json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"checkpoint config is not JSON: {exc}; allowed: nested dicts/lists of "
            "str, int, float, bool and None (e.g. dataclasses.asdict(cfg))"
        ) from exc
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": str(kind),
        # as given (a state_dict's OrderedDict keeps its _metadata)
        "model_state": model_state,
        "optimizer_state": optimizer_state,
        "config_json": config_json,
        "rng_state": rng_state,
        "extra": {} if extra is None else extra,
    }
    for name in ("model_state", "optimizer_state", "rng_state", "extra"):
        if not isinstance(payload[name], dict):
            raise ValueError(
                f"checkpoint {name} is a {type(payload[name]).__name__}; "
                "allowed: a dict"
            )
        _check_safe(payload[name], name)
    with atomic_path(target) as tmp, tmp.open("wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename makes it the checkpoint
    return target


def _why(exc: BaseException) -> str:
    """One line from torch's (often multi-line) load error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = lines[0] if lines else type(exc).__name__
    for candidate in lines:  # the weights-only unpickler's actual complaint
        if candidate.startswith("WeightsUnpickler error:"):
            line = candidate.removeprefix("WeightsUnpickler error:").strip()
    # first sentence only: torch goes on with advice (e.g. allowlisting globals)
    return line.split(". ")[0].rstrip(".")


def load_checkpoint(
    path: str | os.PathLike,
    *,
    kind: str = "explorer.pinn",
    map_location: str | torch.device | None = "cpu",
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, safely.

    Args:
        path: the checkpoint file.
        kind: the kind expected (what the caller can restore).
        map_location: where tensors land (``"cpu"`` by default, so a checkpoint
            from a GPU opens anywhere; ``load_state_dict`` then moves them).

    Returns:
        The saved fields, with the config parsed back from JSON.

    Raises:
        ValueError: one line naming the path and the problem: missing, corrupt or
            truncated, not a Neural PDE Explorer checkpoint, another kind, or
            written by a newer version.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"checkpoint {str(p)!r} does not exist or is not a file")
    with p.open("rb") as f:
        head = f.read(4)
    if len(head) < 4:
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: only {len(head)} bytes"
        )
    if head != b"PK\x03\x04":  # torch.save writes zip archives
        raise ValueError(
            f"{str(p)!r} is not a Neural PDE Explorer checkpoint (not a torch file)"
        )
    # torch.load does not verify the zip's CRC32s: a flipped byte in tensor data
    # would load silently as wrong numbers. zipfile checks them (one extra read).
    try:
        with zipfile.ZipFile(p) as archive:
            bad = archive.testzip()
    except Exception as exc:  # any failure to read the archive means damage
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: {_why(exc)}"
        ) from exc
    if bad is not None:
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: checksum mismatch in "
            f"{bad!r}"
        )
    try:
        data = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # the safe unpickler refused something
        raise ValueError(
            f"{str(p)!r} is not a Neural PDE Explorer checkpoint: a safe load "
            f"refuses it ({_why(exc)})"
        ) from exc
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: {_why(exc)}"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(
            f"{str(p)!r} is not a Neural PDE Explorer checkpoint (no format marker)"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(
            f"checkpoint {str(p)!r} has format version {version!r}, newer than this "
            f"program reads ({VERSION}); upgrade neural-pde-explorer"
        )
    if data.get("kind") != kind:
        raise ValueError(
            f"checkpoint {str(p)!r} holds {data.get('kind')!r}, not {kind!r}"
        )
    missing = [name for name in _FIELDS if name not in data]
    if missing:
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: missing {missing}"
        )
    try:
        config = json.loads(data["config_json"])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"checkpoint {str(p)!r} is corrupt or truncated: config is not JSON"
        ) from exc
    return Checkpoint(
        model_state=data["model_state"],
        optimizer_state=data["optimizer_state"],
        config=config,
        rng_state=data["rng_state"],
        extra=data["extra"],
        kind=data["kind"],
        version=version,
    )

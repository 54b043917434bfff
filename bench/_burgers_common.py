"""Shared pieces of the Burgers PINN benchmark: the reference data and JSON output."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import Tensor

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "Burgers.npz"


class Reference:
    """DeepXDE's Burgers.npz: points ``(25600, 2)`` as (x, t), truth ``(256, 100)``.

    Point k is (x_i, t_n) with k = i·100 + n, so a prediction reshapes to usol's
    (x, t) layout directly.
    """

    def __init__(self, path: Path, device: str = "cpu") -> None:
        d = np.load(path)
        self.x, self.t, self.usol = d["x"].ravel(), d["t"].ravel(), d["usol"]
        xx, tt = np.meshgrid(self.x, self.t, indexing="ij")
        self.points = np.stack([xx.ravel(), tt.ravel()], axis=1)  # (x, t) rows
        self.device = device
        self.dataset = xr.Dataset(
            {"u": (("t", "x"), self.usol.T)}, coords={"t": self.t, "x": self.x}
        )

    def rel_l2(self, pred: np.ndarray) -> float:
        """||pred − u|| / ||u|| over the whole grid."""
        pred = np.asarray(pred, dtype=np.float64).reshape(self.usol.shape)
        err = np.linalg.norm(pred - self.usol) / np.linalg.norm(self.usol)
        return float(f"{err:.4e}")

    def error(self, field: Callable[[Tensor], Tensor]) -> float:
        """Relative L2 of a torch field (our PINN) evaluated at the file's points."""
        param = next(iter(field.parameters()))  # type: ignore[attr-defined]
        xt = torch.as_tensor(self.points, dtype=param.dtype, device=param.device)
        with torch.no_grad():
            u = field(xt)
        return self.rel_l2(u.double().cpu().numpy())


def record_base(args: argparse.Namespace) -> dict[str, Any]:
    """Fields every JSON line carries: threads, torch, OMP_WAIT_POLICY, device."""
    return {
        "bench": "pinn_burgers",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "device": args.device,
        "seed": args.seed,
        "workers": getattr(args, "workers", 1),
    }


def emit(base: dict[str, Any], record: dict[str, Any]) -> None:
    """One JSON line on stdout (``record``'s keys after the common ones)."""
    out = {**base, **record}
    out.setdefault("dtype", "float32")
    print(json.dumps(out), flush=True)

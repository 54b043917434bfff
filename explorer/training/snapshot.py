"""A snapshot of a PINN run: scalars and fields on the evaluation grid, as xarray.

The history of a run is these snapshots concatenated along ``step``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from explorer.losses import PINNLoss
from explorer.solvers.exact import grid_layout

__all__ = ["EvaluationGrid", "concat_history", "snapshot"]

_CHUNK = 8192  # points per residual evaluation: bounds the autograd graph's memory


class EvaluationGrid:
    """The reference solution's grid as network inputs, built once per run."""

    def __init__(
        self, loss: PINNLoss, reference: xr.Dataset, *, state: int = 0
    ) -> None:
        problem = loss.problem
        self.reference = reference
        self.dims = grid_layout(problem)
        box = problem.domain()
        param = next(loss.pinn.parameters())
        axes = {n: torch.tensor(reference[n].values) for n in self.dims}
        self.points = box.mesh(axes, self.dims).to(param.device, param.dtype)
        self.shape = tuple(reference.sizes[n] for n in self.dims)
        names = [v for v in ("u", "v") if v in reference]
        ref = reference[names].to_array("component")
        if problem.kind == "eigen":
            ref = ref.isel(state=state)
        self.truth = ref.transpose("component", *self.dims).values  # (c, *grid)
        self.components = names


def snapshot(
    loss: PINNLoss,
    grid: EvaluationGrid,
    *,
    step: int,
    wall_time: float,
    terms: Mapping[str, float],
    weights: Mapping[str, float],
    norms: Mapping[str, float],
    lr: float,
    points: Tensor,
    extra: Mapping[str, float] | None = None,
) -> xr.Dataset:
    """Evaluate the PINN on the grid and pack everything into one Dataset.

    Errors are computed in float64; the fields are stored at the network's precision
    (a float32 run's snapshots take half the memory; a live session keeps a bounded
    number of them).

    Cost: one forward and one residual evaluation on the grid (chunked).
    """
    pinn = loss.pinn
    pred, res = [], []
    for start in range(0, grid.points.shape[0], _CHUNK):
        chunk = grid.points[start : start + _CHUNK]
        r = loss.residual(chunk).detach()
        res.append(r.abs() if r.dim() == 1 else r.norm(dim=-1))
        with torch.no_grad():
            pred.append(pinn(chunk))
    native = torch.cat(pred).reshape(-1, pinn.components).T.cpu().numpy()
    stored = native.dtype  # the network's precision, kept for the fields
    u = native.astype(np.float64).reshape(len(grid.components), *grid.shape)
    if loss.problem.kind == "eigen":  # an eigenvector's sign is arbitrary
        u = u * (np.sign(np.sum(u * grid.truth)) or 1.0)
    error = u - grid.truth
    truth_norm = np.linalg.norm(grid.truth)
    coords = {n: grid.reference[n].values for n in grid.dims}
    data: dict[str, tuple] = {}
    for i, name in enumerate(grid.components):
        data[f"{name}_pred"] = (grid.dims, u[i].astype(stored))
        data[f"{name}_err"] = (grid.dims, error[i].astype(stored))
    data["residual"] = (grid.dims, torch.cat(res).reshape(grid.shape).cpu().numpy())
    data["points"] = (("point", "coord"), points.detach().cpu().double().numpy())
    scalars = {
        "wall_time": wall_time,
        "lr": lr,
        "loss": sum(weights.get(k, 1.0) * v for k, v in terms.items()),
        "rel_l2": float(np.linalg.norm(error) / max(truth_norm, 1e-300)),
        "max_error": float(np.abs(error).max()),
    }
    for k, v in terms.items():
        scalars[f"loss_{k}"] = v
        scalars[f"weight_{k}"] = weights.get(k, 1.0)
    for k, v in norms.items():
        scalars[f"gradnorm_{k}"] = v
    scalars.update(extra or {})
    for k, v in scalars.items():
        data[k] = ((), float(v))
    coords["coord"] = list(loss.problem.domain().names)
    coords["point"] = np.arange(points.shape[0])  # an index, so RAR's growth aligns
    ds = xr.Dataset(data, coords=coords)
    ds = ds.expand_dims(step=[step])
    for i, name in enumerate(grid.components):  # the truth does not change with step
        ds[f"{name}_ref"] = (grid.dims, grid.truth[i])
    return ds


def concat_history(snapshots: Sequence[xr.Dataset]) -> xr.Dataset:
    """One Dataset along ``step``; the reference fields are stored once.

    Snapshots may hold different numbers of collocation points (RAR adds some);
    missing entries are NaN.
    """
    return xr.concat(list(snapshots), dim="step", data_vars="minimal", join="outer")

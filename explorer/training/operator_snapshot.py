"""What an operator run looks like now: one xarray Dataset along ``epoch``.

Variables (each with a leading ``epoch`` dim of length 1):
    scalars: ``loss`` (mean training loss of the epoch), ``lr``, ``wall_time``,
        ``epoch_time``, ``train_rel_l2``, ``test_rel_l2``, ``train_rel_h1``,
        ``test_rel_h1``;
    ``superres_rel_l2`` (``factor``): test relative L2 at 1×, 2×, 4× … the training
        resolution, the same weights (zero-shot super-resolution);
    ``input``, ``prediction``, ``truth`` (``shown``, x [, y]): a few test samples;
    ``spectrum_prediction``, ``spectrum_truth`` (``k``): energy spectra of the test
        predictions and truth (:func:`~.operator_metrics.energy_spectrum`);
    ``band_error`` (``band``, with ``band_lo``/``band_hi``): relative error per
        wavenumber band;
    ``rollout_rel_l2`` (``t``): for trajectory data, the error of the autoregressive
        rollout from the test initial states against time.
attrs: ``n_params``, ``kind``, ``family``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from torch import Tensor

__all__ = ["concat_operator_history", "operator_snapshot"]


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def operator_snapshot(
    *,
    epoch: int,
    scalars: Mapping[str, float],
    superres: Mapping[int, float],
    shown: tuple[Tensor, Tensor, Tensor],
    grid: Mapping[str, np.ndarray],
    spectra: tuple[Tensor, Tensor],
    bands: tuple[Tensor, Sequence[int]],
    rollout: tuple[Tensor, np.ndarray] | None,
    attrs: Mapping[str, object],
) -> xr.Dataset:
    """Assemble the snapshot Dataset (see the module docstring)."""
    dims = tuple(grid)
    e = ("epoch",)

    def arr(t: Tensor | np.ndarray | list) -> np.ndarray:
        a = _np(t) if isinstance(t, Tensor) else np.asarray(t, float)
        return a[None]

    data: dict[str, tuple] = {k: (e, [float(v)]) for k, v in scalars.items()}
    factors = sorted(superres)
    data["superres_rel_l2"] = ((*e, "factor"), arr([superres[f] for f in factors]))
    for name, t in zip(("input", "prediction", "truth"), shown):
        data[name] = ((*e, "shown", *dims), arr(t[:, 0]))
    data["spectrum_prediction"] = ((*e, "k"), arr(spectra[0]))
    data["spectrum_truth"] = ((*e, "k"), arr(spectra[1]))
    errors, edges = bands
    data["band_error"] = ((*e, "band"), arr(errors))
    coords: dict[str, object] = {
        "epoch": [epoch],
        "factor": factors,
        "shown": np.arange(shown[0].shape[0]),
        "k": np.arange(spectra[0].shape[0]),
        "band": np.arange(len(edges) + 1),
        "band_lo": ("band", np.asarray([0, *edges], float)),
        "band_hi": ("band", np.asarray([*edges, np.inf], float)),
        **dict(grid),
    }
    if rollout is not None:
        data["rollout_rel_l2"] = ((*e, "t"), arr(rollout[0]))
        coords["t"] = rollout[1]
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(attrs)
    return ds


def concat_operator_history(snapshots: Sequence[xr.Dataset]) -> xr.Dataset:
    """One Dataset along ``epoch`` from a run's snapshots."""
    return xr.concat(list(snapshots), dim="epoch", data_vars="minimal", join="outer")

"""Operator-learning datasets: input functions from GRFs, outputs from our solvers.

Each family is one frozen config (``resolution``, ``n_samples``, ``seed``, physics)
and :func:`generate_dataset` turns it into an ``xarray.Dataset`` (dims ``sample``,
``x`` [, ``y``] [, ``t``]; the config as JSON in ``attrs["config"]``). Cache them on
disk with :class:`explorer.io.DatasetCache`.
"""

from __future__ import annotations

import json
from typing import Any

from explorer.data.operators.antiderivative import AntiderivativeDataConfig
from explorer.data.operators.base import (
    AbstractDatasetConfig,
    DatasetKind,
    default_device,
    generate_chunk,
    generate_dataset,
)
from explorer.data.operators.burgers import BurgersDataConfig
from explorer.data.operators.darcy import DarcyDataConfig
from explorer.data.operators.heat import HeatDataConfig
from explorer.data.operators.kuramoto_sivashinsky import KSDataConfig
from explorer.data.operators.navier_stokes import NavierStokesDataConfig

__all__ = [
    "DATASETS",
    "AbstractDatasetConfig",
    "AntiderivativeDataConfig",
    "BurgersDataConfig",
    "DarcyDataConfig",
    "DatasetKind",
    "HeatDataConfig",
    "KSDataConfig",
    "NavierStokesDataConfig",
    "dataset_config_from_dict",
    "default_device",
    "generate_chunk",
    "generate_dataset",
]

DATASETS: dict[str, type[AbstractDatasetConfig]] = {
    cls.family: cls
    for cls in (
        BurgersDataConfig,
        HeatDataConfig,
        KSDataConfig,
        DarcyDataConfig,
        NavierStokesDataConfig,
        AntiderivativeDataConfig,
    )
}
"""Family name -> config class (the name is ``attrs["family"]`` of a dataset)."""


def dataset_config_from_dict(data: dict[str, Any] | str) -> AbstractDatasetConfig:
    """The config from :meth:`AbstractDatasetConfig.to_dict` or the JSON stored
    with a dataset (whose generator version must be this code's)."""
    d = dict(json.loads(data) if isinstance(data, str) else data)
    family = d.pop("family", None)
    cls = DATASETS.get(family)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(
            f"dataset family {family!r} is unknown; allowed: {', '.join(DATASETS)}"
        )
    generator = d.pop("generator", cls.generator)
    if generator != cls.generator:
        raise ValueError(
            f"{family} dataset generator = {generator!r} is not allowed: these data "
            f"were made by another version of the generator; allowed: {cls.generator}"
        )
    return cls(**d)

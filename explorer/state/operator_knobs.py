"""Knobs of an operator-learning run: the dataset, the network, the training recipe.

Each family of :data:`explorer.data.operators.DATASETS` and each operator network
gets a generated Parameterized class of its own knobs (like a problem's knobs in
:class:`~explorer.state.ProblemState`), bounded by the config's ``BOUNDS``; the
controllers here swap it when the family or the network changes. Defaults are sized
for a 2-core CPU and a 2 GB box (the configs' own defaults are the benchmarks').
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from typing import Any

import param

from explorer.data.operators import DATASETS, AbstractDatasetConfig
from explorer.models import DeepONetConfig, FNOConfig, TFNOConfig, UNetConfig
from explorer.state._knobs import choice, number
from explorer.training import OperatorTrainConfig, OptimConfig

__all__ = [
    "FAMILY_DEFAULTS",
    "MODELS",
    "MODEL_DEFAULTS",
    "OperatorDataState",
    "OperatorModelState",
    "OperatorTrainingState",
    "SweepState",
]

#: Per family: knob values that differ from the config's defaults (sizes for a
#: 2-core CPU), and the train/test sizes and largest super-resolution factor.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    # ν = 0.05 to T = 0.5 keeps visible structure (the FNO paper's ν = 0.1 to T = 1
    # leaves u(T) nearly its mean); the solve then needs 256 points, not 1024. Both
    # flows conserve the mean, so a random one would flatter every relative error.
    "burgers": {"resolution": 128, "nu": 0.05, "t_final": 0.5, "zero_mean": True},
    "heat": {"resolution": 128, "zero_mean": True},
    "ks": {"resolution": 64, "t_burn": 10.0, "n_times": 11},
    "darcy": {"resolution": 33},
    "navier_stokes": {
        "resolution": 32,
        "solver_resolution": 32,
        "n_times": 6,
        "dt": 0.01,
        "input_modes": 16,
    },
    "antiderivative": {"resolution": 101},
}
SIZES: dict[str, tuple[int, int, int]] = {  # n_train, n_test, superres
    "burgers": (200, 50, 4),
    "heat": (200, 50, 4),
    "ks": (40, 10, 2),
    "darcy": (100, 20, 2),
    "navier_stokes": (12, 4, 1),
    "antiderivative": (200, 50, 4),
}
_COMMON = ("resolution", "n_samples", "seed", "dtype")  # set by the data knobs
_RESOLUTION_SOFT = {1: (16, 1024), 2: (9, 129)}
_LABELS = {
    "nu": "Viscosity ν (nu)",
    "t_final": "Final time T",
    "alpha": "Smoothness α (alpha)",
    "tau": "Inverse length τ (tau)",
    "sigma": "Amplitude σ (sigma)",
    "input_modes": "Input Fourier modes K",
    "length": "Period L",
    "t_burn": "Burn-in time",
    "dt_record": "Time between records",
    "n_times": "Records per trajectory",
    "a_high": "Permeability a (high)",
    "a_low": "Permeability a (low)",
    "dt": "Solver time step",
    "solver_resolution": "Solver grid (at least)",
    "modes": "Fourier modes",
    "projection": "Projection width",
    "branch_depth": "Branch depth",
    "trunk_depth": "Trunk depth",
    "basis": "Basis functions p",
    "levels": "Levels (halvings)",
    "zero_mean": "Zero-mean inputs",
    "level_set": "Level-set basis",
}

#: Network name -> its config class.
MODELS: dict[str, type] = {
    "fno": FNOConfig,
    "tfno": TFNOConfig,
    "deeponet": DeepONetConfig,
    "unet": UNetConfig,
}
MODEL_TITLES = {
    "fno": "FNO (Fourier neural operator)",
    "tfno": "TFNO (tensorised FNO)",
    "deeponet": "DeepONet (1-D)",
    "unet": "U-Net (convolutional baseline)",
}
#: Interactive defaults: a few seconds per epoch on 200 samples of 128 points.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "fno": {"modes": 16, "width": 32, "layers": 4, "projection": 64},
    "tfno": {"modes": 16, "width": 32, "layers": 4, "projection": 64, "rank": 8},
    "deeponet": {"sensors": 64, "width": 64, "basis": 64},
    "unet": {"width": 16, "levels": 3},
}
# Fields the session sets from the dataset (dimension, channels, grid, boundary).
_DERIVED = {
    "dim",
    "in_channels",
    "out_channels",
    "padding",
    "positional",
    "grid",
    "boundary",
    "dtype",
}


# ---- generated knob classes ---------------------------------------------------------
def _soft(lo: float, hi: float, default: float, integer: bool) -> tuple[float, float]:
    """A slider range around ``default``: a decade either side, inside the bounds."""
    if integer:
        return (lo, min(hi, max(8 * default, lo + 8)))
    if default > 0 and lo >= 0:
        return (max(lo, default / 10), min(hi, default * 10))
    return (lo, hi)


def _knob(
    cls: type, field: dataclasses.Field, bounds: dict[str, tuple], default: Any
) -> param.Parameter:
    name = field.name
    label = _LABELS.get(name, name.replace("_", " ").capitalize())
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is typing.Literal:
        objects = list(typing.get_args(hint))
        return param.Selector(
            default=default,
            objects=objects,
            label=label,
            doc=f"{cls.__name__}.{name}; allowed: {', '.join(map(str, objects))}",
        )
    if hint is bool:
        return param.Boolean(
            default, label=label, doc=f"{cls.__name__}.{name}; allowed: true, false"
        )
    integer = hint is int
    kind = param.Integer if integer else param.Number
    if name not in bounds:  # the config checks it (the session reports why)
        return kind(default, label=label, doc=f"{cls.__name__}.{name}")
    lo, hi = bounds[name]
    return kind(
        default,
        bounds=(lo, hi),
        softbounds=_soft(lo, hi, default, integer),
        label=label,
        doc=f"{cls.__name__}.{name}; allowed: from {lo:g} to {hi:g}",
    )


def _bounds_of(cls: type) -> dict[str, tuple]:
    raw = cls.BOUNDS
    if isinstance(raw, tuple):  # dataset configs: ((field, lo, hi), ...)
        return {name: (lo, hi) for name, lo, hi in raw}
    return dict(raw)


@functools.cache
def _data_knobs(family: str) -> type[param.Parameterized]:
    # Generated once per family: param registers every Parameterized class.
    cls = DATASETS[family]
    bounds = _bounds_of(cls)
    overrides = FAMILY_DEFAULTS.get(family, {})
    attrs: dict[str, param.Parameter] = {}
    for f in dataclasses.fields(cls):
        if f.name in _COMMON and f.name != "resolution":
            continue
        default = overrides.get(f.name, f.default)
        attrs[f.name] = _knob(cls, f, bounds, default)
    dim = 2 if "y" in cls().coords() else 1
    lo, hi = bounds["resolution"]
    soft = _RESOLUTION_SOFT[dim]
    attrs["resolution"].softbounds = (max(lo, soft[0]), min(hi, soft[1]))
    attrs["resolution"].label = "Resolution (grid points per side)"
    return type(f"{cls.__name__}Knobs", (param.Parameterized,), attrs)


@functools.cache
def _model_knobs(kind: str) -> type[param.Parameterized]:
    cls = MODELS[kind]
    bounds = _bounds_of(cls)
    overrides = MODEL_DEFAULTS[kind]
    attrs = {
        f.name: _knob(cls, f, bounds, overrides.get(f.name, f.default))
        for f in dataclasses.fields(cls)
        if f.name not in _DERIVED
    }
    return type(f"{cls.__name__}Knobs", (param.Parameterized,), attrs)


def knob_names(obj: param.Parameterized) -> list[str]:
    """The knobs of a generated knob object, in declaration order."""
    return [n for n in obj.param if n != "name"]


def knob_values(obj: param.Parameterized) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in knob_names(obj)}


# ---- controllers --------------------------------------------------------------------
class OperatorDataState(param.Parameterized):
    """Which dataset family, its physics and grid, how many samples, which seed.

    ``parameters`` holds the family's own knobs (its resolution and physics), rebuilt
    with that family's interactive defaults when :attr:`family` changes; the sizes
    follow the family too.
    """

    family = param.Selector(
        default="burgers",
        objects=list(DATASETS),
        doc=f"the dataset family; allowed: {', '.join(DATASETS)}",
    )
    n_train = param.Integer(
        200,
        bounds=(1, 10**6),
        softbounds=(10, 2000),
        label="Training samples",
        doc="input/output pairs (trajectories) to train on; allowed: 1 to 1000000",
    )
    n_test = param.Integer(
        50,
        bounds=(1, 10**6),
        softbounds=(4, 500),
        label="Test samples",
        doc="held-out pairs (trajectories) from another seed; allowed: 1 to 1000000",
    )
    superres = param.Selector(
        default=4,
        objects=[1, 2, 4, 8],
        label="Super-resolution up to",
        doc="test also on grids 2x, 4x ... finer with the same weights (zero-shot); "
        "allowed: 1, 2, 4, 8",
    )
    data_seed = param.Integer(
        0,
        bounds=(0, 2**30 - 1),
        label="Data seed",
        doc="seeds the input functions (test samples use another stream); "
        "allowed: 0 to 1073741823",
    )
    parameters = param.ClassSelector(
        class_=param.Parameterized,
        constant=True,
        doc="the family's knobs (resolution and physics), rebuilt with the family",
    )

    #: The knobs besides the family's own, in display order.
    KNOBS = ("n_train", "n_test", "superres", "data_seed")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._rebuild(sizes=False)

    @param.depends("family", watch=True)
    def _on_family(self) -> None:
        self._rebuild(sizes=True)

    def _rebuild(self, *, sizes: bool) -> None:
        with param.edit_constant(self):
            self.parameters = _data_knobs(self.family)(name=self.family)
        if sizes:
            n_train, n_test, superres = SIZES[self.family]
            self.param.update(n_train=n_train, n_test=n_test, superres=superres)

    @property
    def config_class(self) -> type[AbstractDatasetConfig]:
        return DATASETS[self.family]

    @property
    def dim(self) -> int:
        """Space dimensions of the family's grid (1 or 2)."""
        return 2 if "y" in self.config_class().coords() else 1

    def to_config(self) -> AbstractDatasetConfig:
        """The training set's config (``n_samples`` = :attr:`n_train`).

        Raises:
            ValueError: the config's own message (e.g. a cross-field limit).
        """
        return self.config_class(
            **knob_values(self.parameters),
            n_samples=self.n_train,
            seed=self.data_seed,
        )

    def values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KNOBS}


class OperatorModelState(param.Parameterized):
    """Which operator network and its knobs (``parameters``, rebuilt per network).

    Dimension, channels, padding and the grid convention are not knobs: the session
    sets them from the dataset.
    """

    kind = param.Selector(
        default="fno",
        objects=list(MODELS),
        label="Network",
        doc=f"the operator network; allowed: {', '.join(MODELS)}",
    )
    parameters = param.ClassSelector(
        class_=param.Parameterized,
        constant=True,
        doc="the network's knobs, rebuilt when the network changes",
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._rebuild()

    @param.depends("kind", watch=True)
    def _rebuild(self) -> None:
        with param.edit_constant(self):
            self.parameters = _model_knobs(self.kind)(name=self.kind)

    @property
    def config_class(self) -> type:
        return MODELS[self.kind]

    def to_config(self, **derived: Any) -> Any:
        """The network config: the knobs plus the dataset-derived fields given."""
        names = {f.name for f in dataclasses.fields(self.config_class)}
        extra = {k: v for k, v in derived.items() if k in names}
        return self.config_class(**knob_values(self.parameters), **extra)


class OperatorTrainingState(param.Parameterized):
    """Epochs, batches, optimiser and loss of an operator run.

    Bounds and choices are :class:`OperatorTrainConfig`'s and :class:`OptimConfig`'s
    (L-BFGS is not offered: operator training is mini-batch Adam).
    """

    epochs = number(
        OperatorTrainConfig,
        "epochs",
        doc="passes over the training pairs",
        default=20,
        softbounds=(1, 500),
    )
    batch_size = number(
        OperatorTrainConfig,
        "batch_size",
        label="Batch size",
        doc="pairs per optimiser step",
        softbounds=(1, 256),
    )
    lr = number(
        OptimConfig,
        "lr",
        label="Learning rate",
        doc="Adam learning rate at the start",
        default=3e-3,
        softbounds=(1e-4, 0.02),
    )
    optimizer = param.Selector(
        default="adam",
        objects=["adam", "adamw"],
        doc="mini-batch optimiser; allowed: adam, adamw",
    )
    schedule = choice(
        OptimConfig,
        "schedule",
        doc="learning-rate schedule; cosine decays to 0 over the run",
        default="cosine",
    )
    loss = choice(
        OperatorTrainConfig,
        "loss",
        doc=(
            "training loss: relative L2 (the FNO paper's) or relative H1, which "
            "weights slopes: on Burgers it gives the lower test L2 error too, on "
            "Darcy only with an output normaliser (bench/fno_darcy.py)"
        ),
    )
    snapshot_every = number(
        OperatorTrainConfig,
        "snapshot_every",
        label="Snapshot every",
        doc="epochs between snapshots (errors, samples, spectra)",
        softbounds=(1, 50),
    )

    #: The knob names, in display order.
    KNOBS = (
        "epochs",
        "batch_size",
        "lr",
        "optimizer",
        "schedule",
        "loss",
        "snapshot_every",
    )

    def to_optim(self) -> OptimConfig:
        return OptimConfig(
            optimizer=self.optimizer, lr=float(self.lr), schedule=self.schedule
        )

    def to_train(self, *, bands: tuple[int, ...]) -> OperatorTrainConfig:
        return OperatorTrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            loss=self.loss,
            snapshot_every=self.snapshot_every,
            bands=bands,
        )

    def values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KNOBS}


class SweepState(param.Parameterized):
    """A learning curve: the test error against N, or against DeepONet sensors.

    The values halve from the current setting: N = n_train, n_train/2, … (the
    training set is the pool) or m = sensors, m/2, … for a DeepONet.
    """

    parameter = param.Selector(
        default="n_train",
        objects=["n_train", "sensors"],
        label="Learning curve over",
        doc="what varies: training samples N, or DeepONet sensors m; "
        "allowed: n_train, sensors",
    )
    points = param.Integer(
        4,
        bounds=(2, 8),
        label="Points",
        doc="values of the sweep, halving from the current setting; allowed: 2 to 8",
    )
    seeds = param.Integer(
        1,
        bounds=(1, 5),
        label="Seeds per point",
        doc="networks trained per value (errors averaged); allowed: 1 to 5",
    )
    steps = param.Integer(
        200,
        bounds=(1, 100_000),
        softbounds=(10, 2000),
        label="Steps per training",
        doc="optimiser steps of every training (equal, so small N are not "
        "under-trained); allowed: 1 to 100000",
    )

    KNOBS = ("parameter", "points", "seeds", "steps")

    def sweep_values(self, top: int, least: int) -> list[int]:
        """``points`` values halving from ``top``, none below ``least``, distinct."""
        values = sorted({max(least, math.ceil(top / 2**i)) for i in range(self.points)})
        return values

    def values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KNOBS}

"""OperatorSpec: the frozen recipe of an operator-learning run, and its data.

The spec holds the training set's config, the test size, the largest zero-shot
super-resolution factor, the network, optimiser and training configs and the seed.
Test samples come from the same family and physics with another seed stream
(``TEST_SEED_OFFSET``), generated once on the finest grid and subsampled to the
coarser ones by the cache, so every factor scores the same functions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from explorer.data.operators import AbstractDatasetConfig, dataset_config_from_dict
from explorer.io import DatasetCache
from explorer.models import DeepONetConfig, FNOConfig, TFNOConfig, UNetConfig
from explorer.models.deeponet import check_sensors
from explorer.models.spectral_conv import check_modes
from explorer.training import OperatorData, OperatorTrainConfig, OptimConfig

__all__ = [
    "MODEL_CONFIGS",
    "TEST_SEED_OFFSET",
    "OperatorSpec",
    "finer_resolution",
    "is_closed",
    "load_operator_data",
]

#: Test samples of data seed s are drawn with seed s + 2³⁰: never a training seed.
TEST_SEED_OFFSET = 2**30
#: Network name (as in the query and exports) -> config class.
MODEL_CONFIGS: dict[str, type] = {
    "fno": FNOConfig,
    "tfno": TFNOConfig,
    "deeponet": DeepONetConfig,
    "unet": UNetConfig,
}
_NAMES = {cls: name for name, cls in MODEL_CONFIGS.items()}


def is_closed(config: AbstractDatasetConfig) -> bool:
    """True for grids that include both ends (x_i = i/(n − 1)), not periodic ones."""
    n = config.resolution
    return config.subsample_factor(2 * n) != 2


def finer_resolution(config: AbstractDatasetConfig, factor: int) -> int:
    """The resolution ``factor`` times finer whose every ``factor``-th point is
    ``config``'s grid (n·f periodic, (n − 1)·f + 1 closed)."""
    n = config.resolution
    return (n - 1) * factor + 1 if is_closed(config) else n * factor


@dataclass(frozen=True)
class OperatorSpec:
    """What an operator run is made of; the one bridge's output.

    Attributes:
        data: the training set (its ``n_samples`` is N).
        n_test: test samples (trajectories).
        superres: the largest factor of zero-shot super-resolution (1, 2, 4, 8).
        model: the network config (FNOConfig, TFNOConfig, DeepONetConfig,
            UNetConfig).
        optim: Adam/AdamW settings.
        train: epochs, batches, loss, snapshots.
        seed: seeds the network and the shuffling.
    """

    data: AbstractDatasetConfig
    n_test: int
    superres: int
    model: Any
    optim: OptimConfig
    train: OperatorTrainConfig
    seed: int

    def __post_init__(self) -> None:
        self.check()

    # ---- the data it needs -------------------------------------------------------
    @property
    def factors(self) -> tuple[int, ...]:
        """Super-resolution factors beyond 1 (2, 4, … up to ``superres``)."""
        return tuple(2**i for i in range(1, self.superres.bit_length()))

    def test_config(self, factor: int = 1) -> AbstractDatasetConfig:
        """The test set on the grid ``factor`` times finer than the training grid."""
        return dataclasses.replace(
            self.data,  # type: ignore[type-var]
            n_samples=self.n_test,
            seed=self.data.seed + TEST_SEED_OFFSET,
            resolution=finer_resolution(self.data, factor),
        )

    @property
    def data_key(self) -> tuple:
        """What the data depend on (a new network or recipe reuses them)."""
        return (self.data, self.n_test, self.superres)

    # ---- checks --------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a network that cannot read this grid, or an unreachable fine grid.

        Raises:
            ValueError: the network config's own message (modes above half the
                grid, more sensors than points), or which knob to lower.
        """
        if self.superres not in (1, 2, 4, 8):
            raise ValueError(
                f"superres = {self.superres!r} is not allowed; allowed: 1, 2, 4, 8"
            )
        if not 1 <= self.n_test <= 10**6:
            raise ValueError(
                f"n_test = {self.n_test!r} is out of range; allowed: 1 to 1000000"
            )
        data, model = self.data, self.model
        dim = 2 if "y" in data.coords() else 1
        grid = (data.resolution,) * dim
        name = type(model).__name__
        if isinstance(model, FNOConfig | TFNOConfig):
            check_modes(model.modes, grid, label=f"{name}.modes")
        elif isinstance(model, DeepONetConfig):
            if dim != 1:
                raise ValueError(
                    f"DeepONet is 1-D and the {data.family} data are 2-D; allowed: "
                    "fno, tfno, unet"
                )
            check_sensors(model.sensors, data.resolution)
        elif not isinstance(model, UNetConfig):
            raise ValueError(
                f"model is a {name}; allowed: {', '.join(c.__name__ for c in _NAMES)}"
            )
        fine = finer_resolution(data, self.superres)
        try:
            self.test_config(self.superres)
        except ValueError as err:
            raise ValueError(
                f"super-resolution up to {self.superres}x needs test data at "
                f"resolution {fine}: {err}; lower the super-resolution factor or the "
                "resolution"
            ) from None

    # ---- files ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON types (the recipe an exported history carries in ``run_spec``)."""
        train = dataclasses.asdict(self.train)
        train["bands"] = list(train["bands"])
        return {
            "data": self.data.to_dict(),
            "n_test": self.n_test,
            "superres": self.superres,
            "model": {
                "kind": _NAMES[type(self.model)],
                **dataclasses.asdict(self.model),
            },
            "optim": dataclasses.asdict(self.optim),
            "train": train,
            "seed": self.seed,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | str) -> OperatorSpec:
        """The spec of :meth:`to_dict` (or its JSON)."""
        d = json.loads(d) if isinstance(d, str) else d
        model = dict(d["model"])
        kind = model.pop("kind")
        if kind not in MODEL_CONFIGS:
            raise ValueError(
                f"model kind {kind!r} is unknown; allowed: {', '.join(MODEL_CONFIGS)}"
            )
        train = dict(d["train"])
        train["bands"] = tuple(train["bands"])
        return cls(
            data=dataset_config_from_dict(d["data"]),
            n_test=int(d["n_test"]),
            superres=int(d["superres"]),
            model=MODEL_CONFIGS[kind](**model),
            optim=OptimConfig(**d["optim"]),
            train=OperatorTrainConfig(**train),
            seed=int(d["seed"]),
        )


def load_operator_data(
    spec: OperatorSpec,
    cache: DatasetCache,
    progress: Callable[[float], None] | None = None,
) -> OperatorData:
    """The training, test and super-resolution sets of ``spec``, from ``cache``.

    Missing files are generated (the test set once, on the finest grid). ``progress``
    gets the fraction done, weighted by samples × grid points; an exception it
    raises stops the generation (the cache resumes from the finished chunks).
    """
    dim = 2 if "y" in spec.data.coords() else 1
    finest = spec.test_config(spec.superres)
    sizes = (
        spec.data.n_samples * spec.data.resolution**dim,
        spec.n_test * finest.resolution**dim,
    )
    total = float(sum(sizes))

    def part(offset: float, size: float) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, n: progress((offset + size * done / n) / total)

    train = cache.get(spec.data, progress=part(0.0, sizes[0]))
    fine = cache.get(finest, progress=part(sizes[0], sizes[1]))
    coarse = {f: cache.get(spec.test_config(f)) for f in (1, *spec.factors[:-1])}
    superres = {f: coarse.get(f, fine) for f in spec.factors}
    if progress is not None:
        progress(1.0)
    return OperatorData(train, coarse[1], superres)

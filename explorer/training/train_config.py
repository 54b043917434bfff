"""What a PINN training run does, besides the optimiser: points, weights, snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal, final

from explorer._validate import check_range
from explorer.data import SamplerConfig

__all__ = ["AdaptiveConfig", "CurriculumConfig", "TrainConfig", "WeightingConfig"]


@final
@dataclass(frozen=True)
class AdaptiveConfig:
    """Residual-based point refinement (Wu et al. 2023).

    Attributes:
        method: ``"rar"`` adds the highest-residual candidates (greedy RAR-G);
            ``"rad"`` redraws all interior points with p ∝ |r|ᵏ/⟨|r|ᵏ⟩ + c.
        every: refine every this many steps.
        n_add: RAR points added per refinement.
        n_candidates: candidates scored per refinement.
        k, c: RAD's exponent and floor.
    """

    method: Literal["none", "rar", "rad"] = "none"
    every: int = 500
    n_add: int = 100
    n_candidates: int = 10000
    k: float = 1.0
    c: float = 1.0

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "every": (1, 10**7),
            "n_add": (1, 10**6),
            "n_candidates": (16, 10**7),
            "k": (0.0, 10.0),
            "c": (0.0, 100.0),
        }
    )

    def __post_init__(self) -> None:
        if self.method not in ("none", "rar", "rad"):
            raise ValueError(
                f"adaptive method = {self.method!r} is unknown; allowed: none, rar, rad"
            )
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(f"adaptive {name}", getattr(self, name), lo, hi)


@final
@dataclass(frozen=True)
class WeightingConfig:
    """Loss-term weights.

    Attributes:
        method: ``"fixed"`` uses ``initial``; ``"gradnorm"`` sets λᵢ = Σⱼ‖∇Lⱼ‖ / ‖∇Lᵢ‖
            (learning-rate annealing, Wang, Teng & Perdikaris 2021, in the norm form
            of their later guide), so every weighted term pulls equally hard;
            ``"ntk"`` sets λᵢ = Σⱼ tr Kⱼⱼ / tr Kᵢᵢ from the NTK block traces
            (Wang, Yu & Perdikaris 2022).
        initial: starting weights by term name; missing terms start at 1.
        every: update every this many steps.
        alpha: moving-average factor: λ ← (1 − α) λ + α λ̂.
        ntk_points: points per term for the NTK trace estimate.
    """

    method: Literal["fixed", "gradnorm", "ntk"] = "fixed"
    initial: tuple[tuple[str, float], ...] = ()
    every: int = 100
    alpha: float = 0.9
    ntk_points: int = 64

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {"every": (1, 10**7), "alpha": (0.0, 1.0), "ntk_points": (1, 4096)}
    )

    def __post_init__(self) -> None:
        if self.method not in ("fixed", "gradnorm", "ntk"):
            raise ValueError(
                f"weighting = {self.method!r} is unknown; allowed: fixed, gradnorm, ntk"
            )
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(f"weighting {name}", getattr(self, name), lo, hi)
        for name, w in self.initial:
            check_range(f"weight of {name!r}", w, 0.0, 1e8)


@final
@dataclass(frozen=True)
class CurriculumConfig:
    """Ramp one PDE parameter from ``start`` to its target (Krishnapriyan et al. 2021).

    The parameter moves linearly over ``steps`` training steps, in ``stages`` equal
    jumps; the problem's own value is the target.
    """

    parameter: str = ""
    start: float = 0.0
    steps: int = 1000
    stages: int = 5

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[int, int]]] = MappingProxyType(
        {"steps": (1, 10**7), "stages": (1, 1000)}
    )

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(f"curriculum {name}", getattr(self, name), lo, hi)


@final
@dataclass(frozen=True)
class TrainConfig:
    """A PINN run apart from the network and the optimiser.

    Attributes:
        steps: optimiser steps.
        sampler: collocation points and how often to redraw them.
        adaptive: residual-based refinement.
        weighting: loss-term weights.
        causal_eps, causal_chunks: causal weighting (0 disables).
        curriculum: parameter ramp ("" parameter disables).
        snapshot_every: a snapshot (fields, errors) every this many steps.
        eval_grid: evaluation grid sizes (default: the problem's default grid).
        workers: CPU cores that each take a shard of the points with one
            intra-op thread: this thread and ``workers - 1`` processes (1: no
            sharding; see :mod:`explorer.training.parallel`). Losses that couple
            all points (causal weights, eigenproblems) always run on one.
    """

    steps: int = 2000
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    causal_eps: float = 0.0
    causal_chunks: int = 16
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    snapshot_every: int = 100
    eval_grid: tuple[tuple[str, int], ...] = ()
    workers: int = 1

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "steps": (0, 10**8),
            "workers": (1, 64),
            "snapshot_every": (1, 10**8),
            "causal_eps": (0.0, 1e4),
            "causal_chunks": (2, 256),
        }
    )

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(name, getattr(self, name), lo, hi)

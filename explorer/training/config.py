"""Optimiser settings: one frozen, validated dataclass (the knobs that matter)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

from explorer._validate import check_choice

__all__ = ["BFGSScaling", "OptimConfig", "OptimizerName", "ScheduleName"]

OptimizerName = Literal["adam", "adamw", "lbfgs", "adam+lbfgs", "bfgs", "adam+bfgs"]
BFGSScaling = Literal["al-baali", "oren-luenberger", "none"]
ScheduleName = Literal["constant", "exponential", "cosine", "step"]


def _real(name: str, value: object, lo: float, hi: float, *, open_lo: bool) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (lo < value if open_lo else lo <= value)
        and value <= hi
    )
    if not ok:
        lower = f"above {lo:g}" if open_lo else f"from {lo:g}"
        raise ValueError(
            f"OptimConfig.{name} = {value!r} is out of range; "
            f"allowed: a number {lower} up to {hi:g}"
        )


def _integer(name: str, value: object, lo: int, hi: int) -> None:
    if not (
        isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    ):
        raise ValueError(
            f"OptimConfig.{name} = {value!r} is out of range; "
            f"allowed: an integer from {lo} to {hi}"
        )


@final
@dataclass(frozen=True)
class OptimConfig:
    """How the parameters are optimised: Adam(W), a quasi-Newton method, or both.

    Attributes:
        optimizer: ``"adam+lbfgs"`` runs Adam for ``switch_step`` steps, then L-BFGS
            (the usual PINN recipe: Adam finds the basin, L-BFGS polishes).
            ``"bfgs"`` and ``"adam+bfgs"`` use dense self-scaled BFGS instead
            (:mod:`explorer.training.bfgs`): for networks up to a few thousand
            weights it reaches far lower losses than L-BFGS. The ``lbfgs_*`` and
            tolerance settings apply to both quasi-Newton methods.
        lr: Adam/AdamW learning rate at step 0 (1e-6 to 1).
        schedule: learning-rate schedule of the Adam phase (L-BFGS has none), with
            k the step and D = ``decay_steps``:
            ``"constant"``;
            ``"exponential"``: lr·rateᵏᐟᴰ, continuous (smooth, not staircase);
            ``"step"``: lr·rate^⌊k/D⌋, staircase;
            ``"cosine"``: lr·½(1 + cos πk/T), reaching 0 at k = T, with T the total
            steps (or the Adam phase, ``min(switch_step, total)``, for
            ``"adam+lbfgs"``).
        decay_rate: factor per ``decay_steps`` for ``"exponential"`` and ``"step"``
            (above 0 up to 1).
        decay_steps: steps per factor ``decay_rate`` (1 to 10⁷).
        weight_decay: AdamW's decoupled weight decay (0 to 1); other optimisers
            ignore it.
        switch_step: the step at which ``"adam+lbfgs"`` switches to L-BFGS (1 to 10⁷).
        lbfgs_lr: L-BFGS step scale; the strong-Wolfe line search starts from it
            (above 0 up to 10; 1 is the natural quasi-Newton step).
        lbfgs_max_iter: L-BFGS inner iterations per outer step (1 to 10000); the
            closure evaluations of a step are capped at 1.25× this (torch's
            ``max_eval`` default), which can end a step first.
        lbfgs_history: stored curvature pairs of L-BFGS (1 to 1000).
        bfgs_scaling: the self-scaling of BFGS: ``"al-baali"`` (τ = min(1, 1/b)),
            ``"oren-luenberger"`` (τ = 1/b) or ``"none"`` (plain BFGS).
        tolerance_grad: L-BFGS stops when max|∇L| ≤ this (0 to 1).
        tolerance_change: L-BFGS stops when the loss change, the step or the
            directional derivative falls below this (0 to 1).
    """

    optimizer: OptimizerName = "adam"
    lr: float = 1e-3
    schedule: ScheduleName = "constant"
    decay_rate: float = 0.9
    decay_steps: int = 1000
    weight_decay: float = 1e-2
    switch_step: int = 1000
    lbfgs_lr: float = 1.0
    lbfgs_max_iter: int = 20
    lbfgs_history: int = 50
    bfgs_scaling: BFGSScaling = "al-baali"
    tolerance_grad: float = 1e-9
    tolerance_change: float = 1e-12

    #: Allowed [lo, hi] of the numeric fields (lo excluded for those in
    #: ``OPEN_BELOW``): checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "lr": (1e-6, 1.0),
            "decay_rate": (0.0, 1.0),
            "decay_steps": (1, 10**7),
            "weight_decay": (0.0, 1.0),
            "switch_step": (1, 10**7),
            "lbfgs_lr": (0.0, 10.0),
            "lbfgs_max_iter": (1, 10_000),
            "lbfgs_history": (1, 1000),
            "tolerance_grad": (0.0, 1.0),
            "tolerance_change": (0.0, 1.0),
        }
    )
    OPEN_BELOW: ClassVar[frozenset[str]] = frozenset({"decay_rate", "lbfgs_lr"})

    def __post_init__(self) -> None:
        check_choice("OptimConfig.optimizer", self.optimizer, OptimizerName)
        check_choice("OptimConfig.schedule", self.schedule, ScheduleName)
        check_choice("OptimConfig.bfgs_scaling", self.bfgs_scaling, BFGSScaling)
        for name, (lo, hi) in self.BOUNDS.items():
            value = getattr(self, name)
            if isinstance(lo, int) and isinstance(hi, int):
                _integer(name, value, lo, hi)
            else:
                _real(name, value, lo, hi, open_lo=name in self.OPEN_BELOW)

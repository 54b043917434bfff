"""PINN training: optimisers, a step, and a loop that yields events."""

from explorer.training.config import OptimConfig
from explorer.training.loop import RunControl, Trainer, TrainEvent
from explorer.training.optim import Optimization, StepInfo
from explorer.training.run import RunSpec, build_trainer
from explorer.training.snapshot import concat_history
from explorer.training.train_config import (
    AdaptiveConfig,
    CurriculumConfig,
    TrainConfig,
    WeightingConfig,
)

__all__ = [
    "AdaptiveConfig",
    "CurriculumConfig",
    "OptimConfig",
    "Optimization",
    "RunControl",
    "RunSpec",
    "StepInfo",
    "TrainConfig",
    "TrainEvent",
    "Trainer",
    "WeightingConfig",
    "build_trainer",
    "concat_history",
]

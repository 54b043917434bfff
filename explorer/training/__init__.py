"""PINN training: optimisers, a step, and a loop that yields events."""

from explorer.training.config import OptimConfig
from explorer.training.learning_curves import LearningCurve, SweepEvent, fit_power_law
from explorer.training.loop import RunControl, Trainer, TrainEvent
from explorer.training.operator_data import OperatorData
from explorer.training.operator_loop import (
    OperatorEvent,
    OperatorTrainConfig,
    OperatorTrainer,
)
from explorer.training.operator_snapshot import concat_operator_history
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
    "LearningCurve",
    "OperatorData",
    "OperatorEvent",
    "OperatorTrainConfig",
    "OperatorTrainer",
    "OptimConfig",
    "Optimization",
    "RunControl",
    "RunSpec",
    "StepInfo",
    "SweepEvent",
    "TrainConfig",
    "TrainEvent",
    "Trainer",
    "WeightingConfig",
    "build_trainer",
    "concat_history",
    "concat_operator_history",
    "fit_power_law",
]

"""param controllers: the one bridge from knobs (widgets) to frozen configs."""

from explorer.state.compare import COMPARISONS, CompareSession
from explorer.state.diagnostics import DIAGNOSTICS, DiagnosticsState
from explorer.state.landscape_lab import LandscapeLabState
from explorer.state.model import ModelState
from explorer.state.operator import OperatorSession
from explorer.state.operator_spec import OperatorSpec
from explorer.state.problem import Expression, ProblemState, reference_solution
from explorer.state.run import RunStatus, TrainingRun
from explorer.state.session import PINNSession
from explorer.state.training import TrainingState

__all__ = [
    "COMPARISONS",
    "DIAGNOSTICS",
    "CompareSession",
    "DiagnosticsState",
    "Expression",
    "LandscapeLabState",
    "ModelState",
    "OperatorSession",
    "OperatorSpec",
    "PINNSession",
    "ProblemState",
    "RunStatus",
    "TrainingRun",
    "TrainingState",
    "reference_solution",
]

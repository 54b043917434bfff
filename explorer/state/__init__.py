"""param controllers: the one bridge from knobs (widgets) to frozen configs."""

from explorer.state.problem import Expression, ProblemState, reference_solution

__all__ = ["Expression", "ProblemState", "reference_solution"]

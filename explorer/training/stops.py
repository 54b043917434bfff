"""Why a quasi-Newton step (L-BFGS or BFGS) returned: one wording for both."""

from __future__ import annotations

__all__ = [
    "CONVERGED",
    "QUASI_NEWTON",
    "STOP_GRAD",
    "STOP_LOSS",
    "STOP_MAX_EVAL",
    "STOP_MAX_ITER",
    "STOP_NO_DESCENT",
    "STOP_STEP",
]

STOP_MAX_ITER = "max_iter reached"
STOP_MAX_EVAL = "max function evaluations reached"
STOP_GRAD = "gradient below tolerance_grad"
STOP_LOSS = "loss change below tolerance_change"
STOP_STEP = "step/direction change below tolerance_change"
STOP_NO_DESCENT = "directional derivative above -tolerance_change (no descent)"
#: Reasons that are tolerances met, not budgets spent.
CONVERGED = frozenset({STOP_GRAD, STOP_LOSS, STOP_STEP, STOP_NO_DESCENT})
#: Display names of the quasi-Newton phases, for status lines and messages.
QUASI_NEWTON = {"lbfgs": "L-BFGS", "bfgs": "BFGS"}

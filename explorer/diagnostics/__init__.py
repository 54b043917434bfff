"""Diagnostics of training: loss landscapes, Hessian spectra, NTKs, sharpness.

Each diagnostic is a function of a ``ParamsLoss`` (``params -> loss``, see
:func:`objective` and :func:`pinn_objective`) and a parameter dict (see
:func:`parameters`), or of a model and its points. It evaluates the model through
:func:`torch.func.functional_call`: the model's parameters are never written and
no ``.grad`` is left set. Results are xarray Datasets whose ``attrs`` record the
settings (and the seconds taken), ready for :mod:`explorer.plotting`.

Sizes are bounded: each module's ``LIMITS`` maps a setting to its allowed range,
and an oversize request raises ``ValueError`` naming the setting, its value and the
range. Defaults finish in seconds on a 2-core CPU for the PINNs of
:mod:`explorer.problems`.

Long diagnostics take ``progress`` (called with the fraction done) and ``cancel``
(a ``threading.Event`` or a callable returning True); when cancelled they raise
:class:`Cancelled` at the next batch boundary. ``training`` and ``diagnostics``
never import each other: the state layer calls these between training steps.
"""

from explorer.diagnostics._functional import (
    FlatSpec,
    Objective,
    ParamsLoss,
    objective,
    parameters,
    pinn_objective,
    pinn_pointwise,
)
from explorer.diagnostics._job import Cancelled
from explorer.diagnostics.hessian import (
    hessian_by_term,
    hessian_density,
    hessian_eigenvalues,
    hessian_trace,
)
from explorer.diagnostics.hessian_vector import HessianOperator, hvp
from explorer.diagnostics.landscape import (
    filter_normalize,
    loss_line,
    loss_plane,
    pca_directions,
    project_trajectory,
    random_direction,
)
from explorer.diagnostics.ntk import empirical_ntk, ntk_change, ntk_projection, pinn_ntk
from explorer.diagnostics.sharpness import sharpness

__all__ = [
    "Cancelled",
    "FlatSpec",
    "HessianOperator",
    "Objective",
    "ParamsLoss",
    "empirical_ntk",
    "filter_normalize",
    "hessian_by_term",
    "hessian_density",
    "hessian_eigenvalues",
    "hessian_trace",
    "hvp",
    "loss_line",
    "loss_plane",
    "ntk_change",
    "ntk_projection",
    "objective",
    "parameters",
    "pca_directions",
    "pinn_ntk",
    "pinn_objective",
    "pinn_pointwise",
    "project_trajectory",
    "random_direction",
    "sharpness",
]

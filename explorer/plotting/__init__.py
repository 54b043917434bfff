"""Pure plotting: xarray in, HoloViews out; never torch, never widgets."""

from explorer.plotting.diagnostics import (
    hessian_spectrum,
    landscape_contour,
    landscape_surface,
    loss_line_curve,
    sharpness_curve,
)
from explorer.plotting.eigen import eigen_views, energy_curve
from explorer.plotting.fields import (
    complex_field,
    eigenstates,
    field_curve,
    field_image,
    plot_solution,
)
from explorer.plotting.ntk import (
    ntk_change_curve,
    ntk_projection_plot,
    ntk_spectrum,
    width_sweep,
)
from explorer.plotting.operators import (
    band_error_curves,
    learning_curve,
    operator_error_curves,
    operator_fields,
    operator_samples,
    operator_spectra,
    rollout_errors,
    superres_errors,
)
from explorer.plotting.regression import gd_loss_curve, regression_fit
from explorer.plotting.run_fields import compare_fields, field_views, residual_map
from explorer.plotting.spectrum import error_spectrum, error_spectrum_data
from explorer.plotting.training import (
    compare_curves,
    error_curves,
    gradnorm_curves,
    loss_curves,
    weight_curves,
)

__all__ = [
    "band_error_curves",
    "compare_curves",
    "compare_fields",
    "complex_field",
    "eigen_views",
    "eigenstates",
    "energy_curve",
    "error_curves",
    "error_spectrum",
    "error_spectrum_data",
    "field_curve",
    "field_image",
    "field_views",
    "gd_loss_curve",
    "gradnorm_curves",
    "hessian_spectrum",
    "landscape_contour",
    "landscape_surface",
    "learning_curve",
    "loss_curves",
    "loss_line_curve",
    "ntk_change_curve",
    "ntk_projection_plot",
    "ntk_spectrum",
    "operator_error_curves",
    "operator_fields",
    "operator_samples",
    "operator_spectra",
    "plot_solution",
    "regression_fit",
    "residual_map",
    "rollout_errors",
    "sharpness_curve",
    "superres_errors",
    "weight_curves",
    "width_sweep",
]

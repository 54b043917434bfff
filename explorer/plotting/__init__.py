"""Pure plotting: xarray in, HoloViews out; never torch, never widgets."""

from explorer.plotting.fields import (
    complex_field,
    eigenstates,
    field_curve,
    field_image,
    plot_solution,
)

__all__ = [
    "complex_field",
    "eigenstates",
    "field_curve",
    "field_image",
    "plot_solution",
]

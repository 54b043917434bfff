"""plot_solution picks the right view for each Dataset layout, with the right data."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
import xarray as xr

from explorer.plotting import (
    complex_field,
    eigenstates,
    field_curve,
    field_image,
    plot_solution,
)

X = np.linspace(0.0, 1.0, 33)
T = np.linspace(0.0, 2.0, 11)


def space_time(signed: bool = False) -> xr.Dataset:
    u = np.exp(-T[:, None]) * np.sin((2 if signed else 1) * np.pi * X[None, :])
    ds = xr.Dataset({"u": (("t", "x"), u)}, coords={"t": T, "x": X})
    ds.attrs["title"] = "Heat"
    return ds


def test_space_time_field_is_an_image_with_x_across_and_t_up() -> None:
    image = plot_solution(space_time())
    assert isinstance(image, hv.Image)
    assert [d.name for d in image.kdims] == ["x", "t"]
    assert image.vdims[0].name == "u"
    # Values at (x, t) match the field: the array is not transposed.
    assert image[0.25, 1.0] == pytest.approx(np.exp(-1.0) * np.sin(np.pi * 0.25))
    assert image.opts.get().kwargs["title"] == "Heat"
    assert image.opts.get().kwargs["cmap"] == "viridis"


def test_signed_fields_get_a_zero_centred_diverging_map() -> None:
    opts = plot_solution(space_time(signed=True)).opts.get().kwargs
    assert opts["cmap"] == "RdBu_r"
    lo, hi = opts["clim"]
    assert lo == -hi and hi == pytest.approx(1.0, abs=1e-2)


def test_image_keeps_t_upwards_whatever_the_dim_order() -> None:
    ds = space_time()
    flipped = ds.transpose("x", "t")
    a, b = plot_solution(ds), plot_solution(flipped)
    assert [d.name for d in b.kdims] == ["x", "t"]
    np.testing.assert_array_equal(a.dimension_values("u"), b.dimension_values("u"))


def test_two_dimensional_steady_field_is_an_image_with_y_up() -> None:
    y = np.linspace(-1.0, 1.0, 17)
    u = X[:, None] + 10 * y[None, :]  # dims (x, y)
    image = plot_solution(xr.Dataset({"u": (("x", "y"), u)}, coords={"x": X, "y": y}))
    assert [d.name for d in image.kdims] == ["x", "y"]
    assert image[0.5, 1.0] == pytest.approx(0.5 + 10.0)


def test_space_time_in_two_dimensions_shows_the_final_time() -> None:
    y = np.linspace(0.0, 1.0, 9)
    u = T[:, None, None] + 0 * X[None, :, None] + 0 * y[None, None, :]
    ds = xr.Dataset({"u": (("t", "x", "y"), u)}, coords={"t": T, "x": X, "y": y})
    image = plot_solution(ds, title="wave")
    assert isinstance(image, hv.Image)
    np.testing.assert_allclose(image.dimension_values("u"), T[-1])
    assert "t = 2" in image.opts.get().kwargs["title"]


def test_one_dimensional_steady_field_is_a_curve() -> None:
    ds = xr.Dataset({"u": (("x",), X**2)}, coords={"x": X})
    curve = plot_solution(ds)
    assert isinstance(curve, hv.Curve)
    np.testing.assert_array_equal(curve.dimension_values("x"), X)
    np.testing.assert_array_equal(curve.dimension_values("u"), X**2)


def eigen_dataset(potential: bool) -> xr.Dataset:
    n = np.arange(1, 4)
    psi = np.sqrt(2) * np.sin(np.pi * n[:, None] * X[None, :])
    data = {"u": (("state", "x"), psi), "energy": (("state",), (np.pi * n) ** 2)}
    if potential:
        data["potential"] = (("x",), 0 * X)
    return xr.Dataset(data, coords={"x": X})


@pytest.mark.parametrize("potential", [False, True])
def test_eigenstates_sit_at_their_energies(potential: bool) -> None:
    ds = eigen_dataset(potential)
    overlay = plot_solution(ds)
    assert isinstance(overlay, hv.Overlay)
    states = [c for c in overlay if c.label.startswith("n=")]
    energies = ds["energy"].values
    assert len(states) == 3
    gap = (energies[-1] - energies[0]) / (len(energies) - 1)  # the mean spacing
    for curve, e in zip(states, energies):
        y = curve.dimension_values(1)
        assert np.abs(y - e).max() == pytest.approx(0.4 * gap)  # scaled to the gap
        assert y[0] == pytest.approx(e, abs=1e-9 * gap)  # ψ = 0 at the wall: on E_n
    assert any(c.label == "V(x)" for c in overlay) == potential
    lo, hi = overlay.opts.get().kwargs["ylim"]
    assert lo < energies[0] - 0.4 * gap and hi > energies[-1] + 0.4 * gap


def test_complex_field_shows_modulus_map_and_parts_at_the_end() -> None:
    u = np.cos(np.pi * X)[None, :] * np.cos(T)[:, None]
    v = np.cos(np.pi * X)[None, :] * np.sin(T)[:, None]
    ds = xr.Dataset(
        {"u": (("t", "x"), u), "v": (("t", "x"), v)}, coords={"t": T, "x": X}
    )
    layout = plot_solution(ds, title="NLS")
    assert isinstance(layout, hv.Layout)
    image, curves = layout
    assert isinstance(image, hv.Image)
    for x, t in [(0.25, T[3]), (0.75, T[-1]), (0.5, T[0])]:
        assert image[x, t] == pytest.approx(abs(np.cos(np.pi * x)), abs=1e-12)
    labels = [c.label for c in curves]
    assert labels == ["|h|", "Re h", "Im h"]
    np.testing.assert_allclose(curves.get(1).dimension_values(1), u[-1])
    np.testing.assert_allclose(curves.get(2).dimension_values(1), v[-1])


def test_steady_complex_field_is_three_curves() -> None:
    ds = xr.Dataset({"u": (("x",), X), "v": (("x",), -X)}, coords={"x": X})
    layout = complex_field(ds)
    assert len(layout) == 1
    np.testing.assert_allclose(layout[0].get(0).dimension_values(1), np.sqrt(2) * X)


def test_wrong_dims_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="2-D"):
        field_image(xr.DataArray(X, dims=("x",), coords={"x": X}))
    with pytest.raises(ValueError, match="1-D"):
        field_curve(space_time()["u"])


@pytest.mark.parametrize(
    "ds",
    [space_time(), space_time(signed=True), eigen_dataset(True)],
    ids=["image", "signed", "eigen"],
)
def test_views_render_with_bokeh(ds: xr.Dataset) -> None:
    figure = hv.render(plot_solution(ds), backend="bokeh")
    assert figure.title.text == ds.attrs.get("title", "")


def test_plotting_leaves_the_current_backend_alone() -> None:
    before = hv.Store.current_backend
    eigenstates(eigen_dataset(False))
    assert hv.Store.current_backend == before

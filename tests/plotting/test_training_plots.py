"""Plots of a PINN run history: the right elements, the right data, clear errors.

Most tests use small synthetic histories laid out as
:func:`explorer.training.snapshot.concat_history` lays them out; the last ones use
histories of real (two-step) training runs of each kind of problem.
"""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv
import numpy as np
import pytest
import xarray as xr
from bokeh.models import SaveTool

from explorer.plotting import (
    compare_curves,
    compare_fields,
    eigen_views,
    energy_curve,
    error_curves,
    error_spectrum,
    error_spectrum_data,
    field_views,
    gradnorm_curves,
    loss_curves,
    residual_map,
    weight_curves,
)

STEPS = (1, 50, 100)
X = np.linspace(-1.0, 1.0, 33)
T = np.linspace(0.0, 1.0, 11)
Y = np.linspace(0.0, 2.0, 17)


def make_history(layout: str = "tx", steps=STEPS, two: bool = False) -> xr.Dataset:
    """A run history: fields on ``layout``'s grid and the per-step scalars."""
    grids = {"tx": {"t": T, "x": X}, "x": {"x": X}, "xy": {"x": X, "y": Y}}[layout]
    dims = tuple(grids)
    mesh = np.meshgrid(*grids.values(), indexing="ij")
    ref = np.sin(np.pi * mesh[-1]) * (1 + mesh[0] if layout == "tx" else 1)
    data: dict = {}
    names = ("u", "v") if two else ("u",)
    for c, name in enumerate(names):
        truth = ref * (1 + c)
        err = np.stack([(0.5 / (i + 1)) * np.cos(np.pi * mesh[-1]) for i in steps])
        data[f"{name}_pred"] = (("step", *dims), truth[None] + err)
        data[f"{name}_err"] = (("step", *dims), err)
        data[f"{name}_ref"] = (dims, truth)
    residual = np.stack([np.abs(err[0]) * 10.0**-i + 1e-9 for i in range(len(steps))])
    data["residual"] = (("step", *dims), residual)
    coords = ["x", "t"] if layout == "tx" else list(dims)
    rng = np.random.default_rng(0)
    lo = [float(grids[c].min()) for c in coords]
    hi = [float(grids[c].max()) for c in coords]
    points = rng.uniform(lo, hi, size=(len(steps), 40, len(coords)))
    points[0, 30:] = np.nan  # RAR grows the point set: earlier snapshots pad with NaN
    data["points"] = (("step", "point", "coord"), points)
    n = np.arange(len(steps), dtype=float)
    scalars = {
        "loss_residual": 1e-1 * 10**-n,
        "loss_ic": 1e-2 * 2**-n,
        "loss_bc": np.array([1e-3, 0.0, 1e-4])[: len(steps)],  # a zero: a gap on log y
        "weight_residual": 1.0 + 0 * n,
        "weight_ic": 1.0 + 0 * n,
        "weight_bc": 1.0 + 0 * n,
        "gradnorm_residual": 3.0 + n,
        "gradnorm_ic": 0.5 + n,
        "gradnorm_bc": 0.1 + n,
        "rel_l2": 0.5 / (1 + n),
        "max_error": 1.0 / (1 + n),
    }
    scalars["loss"] = scalars["loss_residual"] + scalars["loss_ic"] + scalars["loss_bc"]
    if layout == "x":
        scalars["coef_energy"] = 9.0 + 0.2 * n
    for k, v in scalars.items():
        data[k] = (("step",), v)
    return xr.Dataset(
        data,
        coords={"step": list(steps), **grids, "coord": coords, "point": np.arange(40)},
    )


def eigen_reference() -> xr.Dataset:
    """Particle in a box on [-1, 1]: ψₙ = sin(nπ(x+1)/2), Eₙ = (nπ/2)²."""
    n = np.arange(1, 5)[:, None]
    states = np.sin(n * np.pi * (X[None, :] + 1) / 2)
    return xr.Dataset(
        {
            "u": (("state", "x"), states),
            "energy": (("state",), (n[:, 0] * np.pi / 2) ** 2),
        },
        coords={"x": X},
    )


def curves_of(overlay: hv.Overlay) -> dict[str, hv.Curve]:
    return {c.label: c for c in overlay if isinstance(c, hv.Curve)}


def opts(obj) -> dict:
    return obj.opts.get().kwargs


# ---- curves against step -----------------------------------------------------------
def test_loss_curves_draw_every_term_and_the_weighted_total_on_log_y() -> None:
    h = make_history()
    overlay = loss_curves(h)
    assert isinstance(overlay, hv.Overlay)
    curves = curves_of(overlay)
    assert set(curves) == {"residual", "ic", "bc", "total (weighted)"}
    np.testing.assert_array_equal(curves["ic"].dimension_values(0), STEPS)
    np.testing.assert_allclose(curves["ic"].dimension_values(1), h["loss_ic"])
    np.testing.assert_allclose(
        curves["total (weighted)"].dimension_values(1), h["loss"]
    )
    # A zero loss cannot sit on a log axis: it becomes a gap, not a crash.
    assert np.isnan(curves["bc"].dimension_values(1)[1])
    o = opts(overlay)
    assert o["logy"] is True and o["show_legend"] is True
    lo, hi = o["ylim"]
    assert lo < 1e-4 and hi > h["loss"].max()
    colors = {label: opts(c)["color"] for label, c in curves.items()}
    assert len(set(colors.values())) == 4  # one colour per term


def test_weight_and_gradnorm_curves_use_the_same_colour_per_term() -> None:
    h = make_history()
    weights, norms = curves_of(weight_curves(h)), curves_of(gradnorm_curves(h))
    assert set(weights) == set(norms) == {"residual", "ic", "bc"}
    np.testing.assert_allclose(norms["ic"].dimension_values(1), h["gradnorm_ic"])
    for term in weights:
        assert opts(weights[term])["color"] == opts(norms[term])["color"]
    # Constant weights: the log range is set around 1, not padded down to zero.
    lo, hi = opts(weight_curves(h))["ylim"]
    assert 0 < lo < 1 < hi


def test_error_curves_hold_rel_l2_and_max_error() -> None:
    h = make_history()
    overlay = error_curves(h)
    curves = curves_of(overlay)
    np.testing.assert_allclose(curves["relative L²"].dimension_values(1), h["rel_l2"])
    np.testing.assert_allclose(
        curves["max |error|"].dimension_values(1), h["max_error"]
    )
    assert opts(overlay)["logy"] is True
    # Less than two decades: explicit 1-2-5 ticks (bokeh's own leave gaps there).
    ticks = [t for t, _ in opts(overlay)["yticks"]]
    assert 0.2 in ticks and 0.5 in ticks and 1.0 in ticks


def test_compare_curves_one_curve_per_run() -> None:
    a, b = make_history(), make_history("x")
    overlay = compare_curves({"tanh": a, "sine": b}, variable="max_error")
    curves = curves_of(overlay)
    assert set(curves) == {"tanh", "sine"}
    np.testing.assert_allclose(curves["sine"].dimension_values(1), b["max_error"])
    assert opts(overlay)["logy"] is True
    # A signed variable cannot go on a log axis: linear y instead.
    signed = a.assign(lr=("step", [-1.0, 0.5, 1.0]))
    assert opts(compare_curves({"a": signed}, variable="lr"))["logy"] is False


# ---- fields ------------------------------------------------------------------------
def test_space_time_fields_share_a_colour_range_and_the_error_is_diverging() -> None:
    h = make_history("tx")
    layout = field_views(h)
    assert isinstance(layout, hv.Layout)
    pred, ref, err = layout
    assert all(isinstance(p, hv.Image) for p in (pred, ref, err))
    assert [d.name for d in pred.kdims] == ["x", "t"]
    assert opts(pred)["clim"] == opts(ref)["clim"]
    lo, hi = opts(err)["clim"]
    assert opts(err)["cmap"] == "RdBu_r" and lo == -hi
    assert hi == pytest.approx(np.abs(h["u_err"].isel(step=-1)).max())
    # Default: the last snapshot.
    last = h["u_pred"].isel(step=-1)
    for x, t in ((-0.5, 0.2), (0.25, 0.9)):
        assert pred[x, t] == pytest.approx(float(last.sel(x=x, t=t, method="nearest")))


def test_space_time_fields_with_t_add_a_slice_at_the_nearest_time() -> None:
    h = make_history("tx")
    layout = field_views(h, step=50, t=0.33)
    assert len(layout) == 4
    curves = curves_of(layout[-1])
    near = {"t": 0.3}  # the grid time nearest 0.33
    np.testing.assert_allclose(
        curves["prediction"].dimension_values(1),
        h["u_pred"].sel(step=50).sel(near, method="nearest").values,
    )
    np.testing.assert_allclose(
        curves["reference"].dimension_values(1),
        h["u_ref"].sel(near, method="nearest").values,
    )
    assert "t = 0.3" in opts(layout[-1])["title"]


def test_one_dimensional_fields_are_curves() -> None:
    h = make_history("x")
    compare, err = field_views(h, step=1)
    curves = curves_of(compare)
    assert set(curves) == {"prediction", "reference"}
    np.testing.assert_allclose(
        curves["prediction"].dimension_values(1), h["u_pred"].sel(step=1)
    )
    error = err if isinstance(err, hv.Curve) else err.get(0)
    np.testing.assert_allclose(error.dimension_values(1), h["u_err"].sel(step=1))


def test_two_dimensional_fields_are_images_with_y_up() -> None:
    h = make_history("xy")
    pred, ref, err = field_views(h)
    assert all(isinstance(p, hv.Image) for p in (pred, ref, err))
    assert [d.name for d in ref.kdims] == ["x", "y"]
    assert opts(pred)["clim"] == opts(ref)["clim"]
    assert ref[0.5, 0.25] == pytest.approx(
        float(h["u_ref"].sel(x=0.5, y=0.25, method="nearest")), abs=1e-12
    )


def test_two_components_show_the_modulus() -> None:
    h = make_history("tx", two=True)
    pred, ref, err = field_views(h)
    assert pred.vdims[0].name == ref.vdims[0].name == "|h|"
    assert ref.dimension_values(2).max() == pytest.approx(
        float(np.hypot(h["u_ref"], h["v_ref"]).max())
    )
    modulus = np.hypot(h["u_err"], h["v_err"]).isel(step=-1)
    assert err.vdims[0].name == "|h − h_ref|"
    np.testing.assert_allclose(
        np.sort(err.dimension_values(2)), np.sort(modulus.values.ravel())
    )
    assert opts(err)["clim"][0] == 0.0  # a modulus: sequential, from zero


def test_residual_map_overlays_the_collocation_points_without_nan_rows() -> None:
    h = make_history("tx")
    overlay = residual_map(h, step=1)
    image, points = overlay
    assert isinstance(image, hv.Image) and isinstance(points, hv.Points)
    assert opts(image)["logz"] is True
    assert len(points) == 30  # the ten NaN rows of step 1 are dropped
    want = h["points"].sel(step=1).dropna("point")
    np.testing.assert_allclose(points.dimension_values("x"), want.sel(coord="x"))
    np.testing.assert_allclose(points.dimension_values("t"), want.sel(coord="t"))
    lo, hi = opts(image)["clim"]
    assert hi == pytest.approx(float(h["residual"].sel(step=1).max()))
    assert 0 < lo < hi


def test_residual_map_in_one_dimension_is_a_curve_with_a_rug() -> None:
    h = make_history("x")
    overlay = residual_map(h)
    curve, rug = overlay
    assert isinstance(curve, hv.Curve) and isinstance(rug, hv.Scatter)
    assert opts(curve)["logy"] is True
    np.testing.assert_allclose(
        rug.dimension_values(0), h["points"].isel(step=-1).sel(coord="x")
    )
    assert rug.dimension_values(1).max() < curve.dimension_values(1).min()


def test_compare_fields_share_one_colour_range() -> None:
    a = make_history("tx")
    b = make_history("tx").isel(step=[0])  # a larger error
    layout = compare_fields({"late": a, "early": b})
    late, early = layout
    assert opts(late)["clim"] == opts(early)["clim"]
    peak = float(np.abs(b["u_err"]).max())
    assert opts(late)["clim"] == pytest.approx((-peak, peak))
    # Runs of different problems (grids): no linked axes.
    mixed = compare_fields({"a": a, "b": make_history("x")})
    assert opts(mixed)["shared_axes"] is False


# ---- spectrum ----------------------------------------------------------------------
def periodic(n: int = 64, length: float = 2 * np.pi) -> np.ndarray:
    return np.linspace(0.0, length, n, endpoint=False)


def test_a_single_sine_mode_puts_all_its_energy_at_its_wavenumber() -> None:
    x = periodic(64, 4.0)  # dk = 2π/4
    k0 = 2 * np.pi / 4.0 * 5
    h = xr.Dataset(
        {"u_err": (("step", "x"), [0.3 * np.sin(k0 * x), 0.1 * np.sin(k0 * x)])},
        coords={"step": [0, 10], "x": x},
    )
    spec = error_spectrum_data(h)
    assert spec.dims == ("step", "k")
    peak = int(np.argmax(spec.values[0]))
    assert spec["k"].values[peak] == pytest.approx(k0)
    assert spec.values[:, peak] == pytest.approx([0.3 / np.sqrt(2), 0.1 / np.sqrt(2)])
    others = np.delete(spec.values, peak, axis=1)
    assert np.abs(others).max() < 1e-12
    # Parseval: the shells add up to the mean square error.
    np.testing.assert_allclose((spec**2).sum("k"), (h["u_err"] ** 2).mean("x"))


def test_space_time_spectrum_is_the_rms_over_t() -> None:
    x, t = periodic(32), np.linspace(0.0, 1.0, 5)
    amp = 1.0 + t  # the mode's amplitude changes in time
    err = amp[:, None] * np.cos(3 * x)[None, :]
    h = xr.Dataset(
        {"u_err": (("step", "t", "x"), err[None])},
        coords={"step": [7], "t": t, "x": x},
    )
    spec = error_spectrum_data(h).sel(step=7)
    assert float(spec.sel(k=3.0)) == pytest.approx(np.sqrt(np.mean(amp**2) / 2))
    assert float(spec.drop_sel(k=3.0).max()) < 1e-12


def test_two_dimensional_spectrum_is_radial() -> None:
    x = periodic(32)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    err = np.sin(3 * xx) * np.sin(4 * yy)  # |k| = 5
    h = xr.Dataset(
        {"u_err": (("step", "x", "y"), err[None])},
        coords={"step": [0], "x": x, "y": x},
    )
    spec = error_spectrum_data(h).isel(step=0)
    assert float(spec["k"][np.argmax(spec.values)]) == pytest.approx(5.0)
    assert float(spec.sel(k=5.0)) == pytest.approx(0.5)  # RMS of sin·sin
    assert float(spec.drop_sel(k=5.0).max()) < 1e-12


def test_two_components_are_one_complex_error() -> None:
    x = periodic(32)
    h = xr.Dataset(
        {
            "u_err": (("step", "x"), [np.cos(2 * x)]),
            "v_err": (("step", "x"), [np.sin(2 * x)]),
        },
        coords={"step": [0], "x": x},
    )
    spec = error_spectrum_data(h).isel(step=0)
    assert float(spec.sel(k=2.0)) == pytest.approx(1.0)  # |e^{2ix}| = 1


def test_uneven_grids_are_resampled_and_the_hann_window_stays_local() -> None:
    x = np.sort(np.concatenate([periodic(48)[::2], periodic(48)[1::2][:-3] + 0.01]))
    h = xr.Dataset(
        {"u_err": (("step", "x"), [np.sin(4 * x)])}, coords={"step": [0], "x": x}
    )
    spec = error_spectrum_data(h).isel(step=0)
    assert float(spec["k"][np.argmax(spec.values)]) == pytest.approx(4.0, rel=0.1)
    grid = periodic(64)
    even = xr.Dataset(
        {"u_err": (("step", "x"), [np.sin(6 * grid)])}, coords={"step": [0], "x": grid}
    )
    hann = error_spectrum_data(even, window="hann").isel(step=0)
    power = hann.values**2
    assert power[5:8].sum() > 0.99 * power.sum()  # k₀ ± Δk
    with pytest.raises(ValueError, match="window = 'flat'"):
        error_spectrum_data(even, window="flat")


def test_error_spectrum_plots_the_data_on_log_axes() -> None:
    h = make_history("tx")
    mesh = error_spectrum(h)
    assert isinstance(mesh, hv.QuadMesh)
    o = opts(mesh)
    assert o["logz"] is True and o["logy"] is True and o["colorbar"] is True
    spec = error_spectrum_data(h)
    # 32 grid points: 16 shells above k = 0, one row each.
    values = mesh.dimension_values(2, flat=False)
    assert values.shape == (16, 3)
    lo = o["clim"][0]
    np.testing.assert_allclose(values, np.clip(spec.values[:, 1:].T, lo, None))


def test_error_spectrum_pools_fine_shells_into_log_bands() -> None:
    x = periodic(512)
    h = xr.Dataset(
        {"u_err": (("step", "x"), [np.cos(x) + 0.01 * np.cos(200 * x)])},
        coords={"step": [0], "x": x},
    )
    mesh = error_spectrum(h)
    values = mesh.dimension_values(2, flat=False)[:, 0]
    assert values.size <= 64
    assert values[0] == pytest.approx(1 / np.sqrt(2))  # k = 1 keeps its own row
    # Pooling keeps the power: Σ rows² · shells per row = Σ shells² (Δk = 1 here).
    edges = mesh.interface.coords(mesh, 1, edges=True, expanded=False)
    assert edges[0] == pytest.approx(0.5) and edges[-1] == pytest.approx(256.5)
    spec = error_spectrum_data(h).values[0, 1:]
    assert np.sum(values**2 * np.diff(edges)) == pytest.approx(np.sum(spec**2))


# ---- eigenproblems -----------------------------------------------------------------
def eigen_history() -> xr.Dataset:
    h = make_history("x")
    ref = eigen_reference()
    state = ref["u"].isel(state=1).values
    err = 0.05 * np.cos(np.pi * X)
    h["u_ref"] = ("x", state)
    h["u_pred"] = (("step", "x"), np.stack([state + err] * len(STEPS)))
    h["u_err"] = (("step", "x"), np.stack([err] * len(STEPS)))
    return h


def test_eigen_views_draw_the_matched_state_and_its_density() -> None:
    h = eigen_history()
    layout = eigen_views(h, eigen_reference(), step=50)
    psi, density = layout
    curves, squares = curves_of(psi), curves_of(density)
    assert set(curves) == {"PINN"} | {
        f"ψ{m}, E{m} = {e:.5g}"
        for m, e in enumerate(eigen_reference()["energy"].values)
    }
    np.testing.assert_allclose(curves["PINN"].dimension_values(1), h["u_pred"][1])
    np.testing.assert_allclose(squares["PINN"].dimension_values(1), h["u_pred"][1] ** 2)
    matched = [c for label, c in curves.items() if opts(c).get("line_dash") == "dashed"]
    assert len(matched) == 1 and matched[0].label.startswith("ψ1")
    assert "state 1" in opts(psi)["title"]


def test_energy_curve_shows_the_nearest_levels_only() -> None:
    h = eigen_history()
    ref = eigen_reference()  # levels 2.47, 9.87, 22.2, 39.5; the run goes 9.0 → 9.4
    overlay = energy_curve(h, ref)
    curves = curves_of(overlay)
    np.testing.assert_allclose(
        curves["PINN energy"].dimension_values(1), [9.0, 9.2, 9.4]
    )
    lines = [e for e in overlay if isinstance(e, hv.HLine)]
    assert [line.data for line in lines] == [pytest.approx(ref["energy"].values[1])]
    lo, hi = opts(overlay)["ylim"]
    assert lo < 9.0 and hi > ref["energy"].values[1]


# ---- single snapshots, bad arguments, the save tool --------------------------------
ALL: dict[str, Callable] = {
    "loss_curves": loss_curves,
    "weight_curves": weight_curves,
    "gradnorm_curves": gradnorm_curves,
    "error_curves": error_curves,
    "field_views": field_views,
    "residual_map": residual_map,
    "error_spectrum": error_spectrum,
    "eigen_views": lambda h: eigen_views(h, eigen_reference()),
    "energy_curve": lambda h: energy_curve(h, eigen_reference()),
    "compare_curves": lambda h: compare_curves({"a": h, "b": h}),
    "compare_fields": lambda h: compare_fields({"a": h, "b": h}),
}


@pytest.mark.parametrize("name", ALL)
def test_every_view_handles_one_snapshot_and_keeps_the_save_tool(name: str) -> None:
    h = eigen_history().isel(step=[0])
    obj = ALL[name](h)
    model = hv.render(obj, backend="bokeh")
    assert model.select({"type": SaveTool}), f"{name} lost bokeh's save tool"


def test_unknown_steps_and_variables_raise_errors_naming_the_argument() -> None:
    h = make_history("tx")
    with pytest.raises(ValueError, match=r"step = 999 is not in the history.*1, 50"):
        field_views(h, step=999)
    with pytest.raises(ValueError, match="step = 7"):
        residual_map(h, step=7)
    with pytest.raises(ValueError, match=r"t = 5\.0 is outside"):
        field_views(h, t=5.0)
    with pytest.raises(ValueError, match=r"t = 0\.5 was given.*no t dim"):
        field_views(make_history("x"), t=0.5)
    with pytest.raises(ValueError, match="variable = 'nope' is not in run 'a'"):
        compare_curves({"a": h}, variable="nope")
    with pytest.raises(ValueError, match="variable = 'u_pred' is a field"):
        compare_curves({"a": h}, variable="u_pred")
    with pytest.raises(ValueError, match="histories must be a non-empty mapping"):
        compare_fields({})
    with pytest.raises(ValueError, match=r"histories\['b'\] must be a run history"):
        compare_curves({"a": h, "b": "not a history"})
    with pytest.raises(ValueError, match="history must be a run history"):
        loss_curves(h["u_err"])
    with pytest.raises(ValueError, match="history has no gradnorm_<term> variables"):
        gradnorm_curves(h.drop_vars([v for v in h.data_vars if "gradnorm" in v]))
    with pytest.raises(ValueError, match="no variable 'max_error'"):
        error_curves(h.drop_vars("max_error"))
    with pytest.raises(ValueError, match="no variable 'coef_energy'"):
        energy_curve(h, eigen_reference())
    with pytest.raises(ValueError, match="reference must be the eigen solver's"):
        eigen_views(eigen_history(), xr.Dataset({"u": ("x", X)}, coords={"x": X}))


# ---- real runs ---------------------------------------------------------------------
REAL = {
    "burgers": (("t", 9), ("x", 32)),
    "poisson-1d": (("x", 32),),
    "poisson-2d": (("x", 12), ("y", 12)),
    "schrodinger": (("x", 32),),
    "nls": (("t", 9), ("x", 32)),
}


@pytest.fixture(scope="module")
def real_runs() -> dict[str, tuple[xr.Dataset, xr.Dataset]]:
    from explorer.data import SamplerConfig
    from explorer.models import MLPConfig
    from explorer.training.run import RunSpec, build_trainer
    from explorer.training.snapshot import concat_history
    from explorer.training.train_config import TrainConfig

    runs = {}
    for name, grid in REAL.items():
        spec = RunSpec(
            problem=name,
            net=MLPConfig(width=8, depth=2),
            train=TrainConfig(
                steps=2,
                snapshot_every=1,
                eval_grid=grid,
                sampler=SamplerConfig(n_interior=64, n_initial=16, n_boundary=16),
            ),
        )
        trainer = build_trainer(spec)
        snaps = [e.snapshot for e in trainer.run() if e.snapshot is not None]
        runs[name] = concat_history(snaps), trainer.reference
    return runs


@pytest.mark.parametrize("name", REAL)
def test_every_view_renders_a_real_history(name: str, real_runs) -> None:
    history, reference = real_runs[name]
    views = [
        loss_curves(history),
        weight_curves(history),
        gradnorm_curves(history),
        error_curves(history),
        field_views(history, t=0.5 if "t" in history.dims else None),
        residual_map(history),
        error_spectrum(history),
        compare_curves({name: history}),
        compare_fields({name: history, "again": history}),
    ]
    if "energy" in reference:
        views += [eigen_views(history, reference), energy_curve(history, reference)]
    for view in views:
        assert hv.render(view, backend="bokeh").select({"type": SaveTool})

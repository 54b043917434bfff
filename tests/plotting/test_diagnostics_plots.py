"""Landscape, curvature and NTK plots from real small results.

A 1 → 8 → 8 → 1 tanh network fitted to sin(πx) by a few dozen gradient-descent
steps (:mod:`explorer.training.regression`) provides a trajectory; the diagnostics
are the core's own functions on it, at sizes that take milliseconds. Each plot is
checked for the right elements and data, for clear errors, and rendered by bokeh.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
import torch
import xarray as xr

from explorer.diagnostics import (
    empirical_ntk,
    hessian_density,
    hessian_eigenvalues,
    loss_line,
    loss_plane,
    ntk_change,
    ntk_projection,
    objective,
    parameters,
    sharpness,
)
from explorer.plotting import (
    gd_loss_curve,
    hessian_spectrum,
    landscape_contour,
    landscape_surface,
    loss_line_curve,
    ntk_change_curve,
    ntk_projection_plot,
    ntk_spectrum,
    regression_fit,
    sharpness_curve,
    width_sweep,
)
from explorer.training.regression import RegressionConfig, RegressionTrainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run() -> dict:
    """A short training and every diagnostic of it."""
    torch.set_num_threads(1)
    config = RegressionConfig(target="sine", width=8, n_points=12, lr=0.3)
    trainer = RegressionTrainer(config)
    loss = objective(trainer.model, trainer.loss)
    path, sharp, kernels, losses = [parameters(trainer.model)], [], [], []
    kernels.append(empirical_ntk(trainer.model, trainer.x, targets=trainer.y))
    for event in trainer.run(40):
        losses.append(event.loss)
        if event.step % 10 == 0:
            path.append(parameters(trainer.model))
            sharp.append(sharpness(trainer.model, loss, lr=0.3, step=event.step))
            kernels.append(empirical_ntk(trainer.model, trainer.x, targets=trainer.y))
    now = parameters(trainer.model)
    plane = loss_plane(loss, now, directions="pca", trajectory=path, steps=9)
    plane = plane.assign_coords(snapshot=[0, 10, 20, 30, 40])
    density = hessian_density(loss, now, steps=20)
    top = hessian_eigenvalues(loss, now, k=3)
    spectrum = density.assign(top_eigenvalue=("mode", top["eigenvalue"].values))
    spectrum.attrs["lr"] = 0.3
    stacked = xr.Dataset(
        {
            "eigenvalue": (("step", "mode"), np.stack([k.eigenvalue for k in kernels])),
            "change": (
                "step",
                [float(ntk_change(kernels[0], k).change) for k in kernels],
            ),
        },
        coords={"step": [0, 10, 20, 30, 40]},
    )
    grid = torch.linspace(-1, 1, 21, dtype=torch.float64)[:, None]
    fit = xr.Dataset(
        {
            "target": ("x", torch.sin(torch.pi * grid[:, 0]).numpy()),
            "prediction": ("x", trainer.predict(grid).numpy()),
            "train_y": ("point", trainer.y.numpy()),
        },
        coords={"x": grid[:, 0].numpy(), "train_x": ("point", trainer.x[:, 0].numpy())},
        attrs={"step": 40},
    )
    return {
        "plane": plane,
        "line": loss_line(loss, path[0], now, steps_per_unit=8),
        "spectrum": spectrum,
        "sharpness": xr.concat(sharp, "step"),
        "ntk": stacked,
        "projection": ntk_projection(kernels[-1]),
        "fit": fit,
        "history": xr.Dataset(
            {"loss": ("step", np.asarray(losses))}, coords={"step": np.arange(40)}
        ),
    }


def elements(view: hv.Overlay, kind: type) -> list:
    return [e for e in view if type(e) is kind]


def renders(view: object) -> None:
    hv.render(view, backend="bokeh")


# ---- landscapes -------------------------------------------------------------------
def test_contour_shows_the_loss_its_levels_and_the_trajectory(run) -> None:
    plane = run["plane"]
    view = landscape_contour(plane)
    (image,) = elements(view, hv.Image)
    alpha, beta, loss = plane["alpha"].values, plane["beta"].values, plane["loss"]
    for i, j in ((0, 0), (0, 8), (8, 0), (2, 5)):  # (beta, alpha) entries
        assert image[alpha[j], beta[i]] == pytest.approx(float(loss[i, j]))
    assert elements(view, hv.Contours)
    (path,) = elements(view, hv.Path)
    assert np.allclose(path.data[0][:, 0], plane["trajectory_alpha"].values)
    trajectory, centre = elements(view, hv.Points)
    assert list(trajectory.dimension_values("step")) == [0, 10, 20, 30, 40]
    assert centre.array().tolist() == [[0.0, 0.0]]
    assert "PCA directions" in view.opts.get().kwargs["title"]
    renders(view)


def test_contour_log_scale_draws_log10_of_the_loss(run) -> None:
    plane = run["plane"]
    (image,) = elements(landscape_contour(plane, log=True), hv.Image)
    alpha, beta, loss = plane["alpha"].values, plane["beta"].values, plane["loss"]
    for i, j in ((0, 0), (0, 8), (2, 5)):
        assert image[alpha[j], beta[i]] == pytest.approx(np.log10(float(loss[i, j])))
    assert image.vdims[0].label == "log₁₀ loss"
    zero = plane.assign(loss=plane["loss"] * 0)
    with pytest.raises(ValueError, match="no positive value"):
        landscape_contour(zero, log=True)


def test_contour_refuses_what_is_not_a_landscape(run) -> None:
    with pytest.raises(ValueError, match="no variable 'loss_pde'"):
        landscape_contour(run["plane"], var="loss_pde")
    with pytest.raises(ValueError, match=r"expected \('beta', 'alpha'\)"):
        plane = run["plane"]
        landscape_contour(plane.assign(loss=plane["loss"].transpose()))
    with pytest.raises(ValueError, match="must be an xarray Dataset"):
        landscape_contour(np.zeros((3, 3)))


def test_surface_is_a_plotly_surface_with_the_trajectory_at_its_true_loss(run) -> None:
    plane = run["plane"]
    fig = landscape_surface(plane, log=True)
    surface, path = fig.data
    assert surface.type == "surface" and path.type == "scatter3d"
    assert np.allclose(surface.z, np.log10(plane["loss"].values))
    assert np.allclose(path.z, np.log10(plane["trajectory_loss"].values))
    assert list(path.text) == [f"step {s}" for s in (0, 10, 20, 30, 40)]


def test_line_curve_marks_both_ends(run) -> None:
    line = run["line"]
    view = loss_line_curve(line, log=True)
    (curve,) = elements(view, hv.Curve)
    assert np.allclose(curve.dimension_values(1), line["loss"].values)
    assert [v.data for v in elements(view, hv.VLine)] == [0.0, 1.0]
    renders(view)


# ---- curvature --------------------------------------------------------------------
def test_hessian_spectrum_draws_density_outliers_and_two_over_lr(run) -> None:
    spectrum = run["spectrum"]
    view = hessian_spectrum(spectrum)
    (area,) = elements(view, hv.Area)
    assert np.allclose(area.dimension_values(0), spectrum["eigenvalue"].values)
    (spikes,) = elements(view, hv.Segments)
    assert np.allclose(spikes.dimension_values(0), spectrum["top_eigenvalue"].values)
    (edge,) = elements(view, hv.VLine)
    assert edge.data == pytest.approx(2 / 0.3)
    top = spectrum["top_eigenvalue"].values[0]
    assert f"λ_max = {top:.3g}" in view.opts.get().kwargs["title"]
    renders(view)


def test_sharpness_curve_is_lambda_max_beside_two_over_lr(run) -> None:
    sharp = run["sharpness"]
    view = sharpness_curve(sharp, trace=True)
    labels = [c.label for c in elements(view, hv.Curve)]
    assert labels == ["λ_max", "2/η", "tr H"]
    lam = elements(view, hv.Curve)[0]
    assert list(lam.dimension_values(0)) == [10, 20, 30, 40]
    assert np.allclose(lam.dimension_values(1), sharp["lambda_max"].values)
    ratio = sharp["ratio"].values[-1]
    assert f"now {ratio:.2f} × 2/η" in view.opts.get().kwargs["title"]
    renders(view)
    with pytest.raises(ValueError, match="no variable 'lambda_max'"):
        sharpness_curve(sharp.drop_vars("lambda_max"))


# ---- NTK and the regression playground -------------------------------------------
def test_ntk_spectrum_has_one_curve_per_step(run) -> None:
    ntk = run["ntk"]
    view = ntk_spectrum(ntk)
    curves = elements(view, hv.Curve)
    assert [c.label for c in curves] == [f"step {s}" for s in (0, 10, 20, 30, 40)]
    assert np.allclose(
        curves[-1].dimension_values(1)[:3], ntk["eigenvalue"].values[-1, :3]
    )
    renders(view)
    with pytest.raises(ValueError, match="block = 'K' is not allowed"):
        ntk_spectrum(ntk, block="K")


def test_ntk_change_and_projection(run) -> None:
    change = ntk_change_curve(run["ntk"])
    (curve,) = [c for c in elements(change, hv.Curve)]
    assert curve.dimension_values(1)[0] == 0 and curve.dimension_values(1)[-1] > 0
    renders(change)
    projection = ntk_projection_plot(run["projection"])
    energy = run["projection"]["energy"].values
    (dots,) = elements(projection, hv.Scatter)
    assert np.allclose(np.nan_to_num(dots.dimension_values(1)), energy)
    renders(projection)


def test_width_sweep_fits_the_power_law() -> None:
    widths = np.array([16, 64, 256])
    sweep = xr.Dataset({"change": ("width", 0.8 / widths)}, coords={"width": widths})
    view = width_sweep(sweep)
    labels = [c.label for c in elements(view, hv.Curve)]
    assert labels == ["measured", "fit: width^-1.00", "1/width (Dyer & Gur-Ari 2020)"]
    fit = elements(view, hv.Curve)[1]
    assert np.allclose(fit.dimension_values(1), 0.8 / widths)
    renders(view)


def test_regression_fit_and_loss(run) -> None:
    fit = regression_fit(run["fit"])
    assert [e.label for e in fit] == ["target", "network", "training points"]
    renders(fit)
    loss = gd_loss_curve(run["history"])
    rises = int(np.sum(np.diff(run["history"]["loss"].values) > 0))
    assert f"({rises} of 39 steps went up)" in loss.opts.get().kwargs["title"]
    renders(loss)

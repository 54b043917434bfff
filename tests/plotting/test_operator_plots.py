"""Plots of operator runs, from real (tiny) trainings: the right elements and data.

Histories come from an FNO trained two epochs on periodic heat data (with 2x and 4x
test grids) and on Kuramoto-Sivashinsky trajectories; learning curves from two
values of N and of DeepONet sensors. Each training takes well under a second.
"""

from __future__ import annotations

import dataclasses

import holoviews as hv
import numpy as np
import pytest
import torch
import xarray as xr
from bokeh.models import SaveTool

from explorer.data.operators import (
    DarcyDataConfig,
    HeatDataConfig,
    KSDataConfig,
    generate_dataset,
)
from explorer.models import DeepONetConfig, FNOConfig, build_model
from explorer.plotting import (
    band_error_curves,
    learning_curve,
    operator_error_curves,
    operator_fields,
    operator_samples,
    operator_spectra,
    rollout_errors,
    superres_errors,
)
from explorer.training import (
    LearningCurve,
    OperatorData,
    OperatorTrainConfig,
    OperatorTrainer,
    OptimConfig,
    concat_operator_history,
)

TINY_FNO = FNOConfig(modes=4, width=8, layers=2, projection=16)
TRAIN = OperatorTrainConfig(epochs=2, batch_size=8, show_samples=3)
OPTIM = OptimConfig(lr=1e-2)


def _history(data: OperatorData, model: object = TINY_FNO) -> xr.Dataset:
    torch.set_num_threads(1)
    trainer = OperatorTrainer(build_model(model, seed=0), data, OPTIM, TRAIN)
    return concat_operator_history([e.snapshot for e in trainer.run() if e.snapshot])


def _heat_data() -> OperatorData:
    train = HeatDataConfig(resolution=32, n_samples=16, input_modes=8)
    fine = generate_dataset(
        dataclasses.replace(train, n_samples=8, seed=1, resolution=128), device="cpu"
    )
    return OperatorData(
        generate_dataset(train, device="cpu"),
        fine.isel(x=slice(None, None, 4)),
        {2: fine.isel(x=slice(None, None, 2)), 4: fine},
    )


@pytest.fixture(scope="module")
def heat() -> xr.Dataset:
    return _history(_heat_data())


@pytest.fixture(scope="module")
def ks() -> xr.Dataset:
    config = KSDataConfig(resolution=32, n_samples=6, n_times=4, t_burn=5.0)
    ds = generate_dataset(config, device="cpu")
    data = OperatorData(ds.isel(sample=slice(0, 4)), ds.isel(sample=slice(4, 6)))
    return _history(data)


@pytest.fixture(scope="module")
def curves() -> dict[str, xr.Dataset]:
    data = _heat_data()
    data = OperatorData(data.train, data.test)
    out = {}
    for parameter, model, values in (
        ("n_train", TINY_FNO, [4, 16]),
        (
            "sensors",
            DeepONetConfig(sensors=8, width=8, basis=8, grid="periodic"),
            [4, 8],
        ),
    ):
        lc = LearningCurve(
            model, data, OPTIM, TRAIN, parameter=parameter, values=values, steps=4
        )
        list(lc.run())
        out[parameter] = lc.result
    return out


def elements(view: hv.Dimensioned, kind: type) -> list:
    return list(view.traverse(lambda e: e, [kind]))


def option(view: hv.Dimensioned, name: str) -> object:
    return hv.Store.lookup_options("bokeh", view, "plot").kwargs.get(name)


def test_error_curves_show_loss_and_both_errors_per_epoch(heat: xr.Dataset) -> None:
    view = operator_error_curves(heat)
    curves = {c.label: c for c in elements(view, hv.Curve)}
    assert set(curves) == {
        "training loss",
        "train rel L²",
        "test rel L²",
        "train rel H¹",
        "test rel H¹",
    }
    test = curves["test rel L²"]
    assert list(test.dimension_values("epoch")) == [1, 2]
    np.testing.assert_allclose(test.dimension_values(1), heat["test_rel_l2"].values)
    assert option(view, "logy") is True
    # a rendered figure carries bokeh's save tool (the PNG export)
    fig = hv.render(view, backend="bokeh")
    assert any(isinstance(t, SaveTool) for t in fig.toolbar.tools)


def test_band_curves_label_each_band(heat: xr.Dataset) -> None:
    view = band_error_curves(heat)
    labels = [c.label for c in elements(view, hv.Curve)]
    assert labels == ["0 ≤ |k| < 4", "4 ≤ |k| < 16", "|k| ≥ 16"]
    values = elements(view, hv.Curve)[0].dimension_values(1)
    np.testing.assert_allclose(values, heat["band_error"].values[:, 0])


def test_samples_pair_truth_and_prediction(heat: xr.Dataset) -> None:
    view = operator_samples(heat, show_input=True)
    labels = [c.label for c in elements(view, hv.Curve)]
    assert labels[:3] == ["input 0", "truth 0", "prediction 0"]
    assert len(labels) == 9  # three samples
    pred = elements(view, hv.Curve)[2]
    np.testing.assert_allclose(
        pred.dimension_values(1), heat["prediction"].isel(epoch=-1, shown=0).values
    )
    assert "epoch 2" in str(option(view, "title"))
    first = operator_samples(heat, epoch=1, samples=[1])
    assert [c.label for c in elements(first, hv.Curve)] == ["truth 1", "prediction 1"]
    with pytest.raises(ValueError, match=r"samples = \[7\] out of range"):
        operator_samples(heat, samples=[7])
    with pytest.raises(ValueError, match="epoch = 9 is not in the history"):
        operator_samples(heat, epoch=9)
    with pytest.raises(ValueError, match="operator_fields"):
        operator_fields(heat)


def test_spectra_are_log_log_without_the_mean(heat: xr.Dataset) -> None:
    view = operator_spectra(heat, modes=4)
    truth, pred, line = elements(view, hv.Curve)
    assert truth.label == "truth" and pred.label == "prediction"
    assert line.label == "4 kept modes" and set(line.dimension_values(0)) == {4}
    assert truth.dimension_values(0)[0] == 1  # k = 0 is left out
    last = heat.isel(epoch=-1)
    np.testing.assert_allclose(
        pred.dimension_values(1), last["spectrum_prediction"].values[1:]
    )
    assert option(view, "logx") is True and option(view, "logy") is True
    assert len(elements(operator_spectra(heat), hv.Curve)) == 2  # no modes, no line


def test_superres_bars_name_each_grid(heat: xr.Dataset) -> None:
    view = superres_errors(heat)
    assert isinstance(view, hv.Bars)
    names = list(view.dimension_values(0))
    assert names == ["1× (s = 32)", "2× (s = 64)", "4× (s = 128)"]
    np.testing.assert_allclose(
        view.dimension_values(1), heat["superres_rel_l2"].isel(epoch=-1).values
    )


def test_rollout_against_time_for_trajectories_only(
    ks: xr.Dataset, heat: xr.Dataset
) -> None:
    view = rollout_errors(ks)
    curves = elements(view, hv.Curve)
    assert [c.label for c in curves] == ["epoch 1", "epoch 2"]
    np.testing.assert_allclose(curves[1].dimension_values(0), ks["t"].values)
    np.testing.assert_allclose(
        curves[1].dimension_values(1), ks["rollout_rel_l2"].isel(epoch=-1).values
    )
    with pytest.raises(ValueError, match="no variable 'rollout_rel_l2'"):
        rollout_errors(heat)


def test_2d_fields_are_four_images() -> None:
    config = DarcyDataConfig(resolution=9, n_samples=6, input_modes=4)
    ds = generate_dataset(config, device="cpu")
    data = OperatorData(ds.isel(sample=slice(0, 4)), ds.isel(sample=slice(4, 6)))
    model = FNOConfig(dim=2, modes=2, width=4, layers=1, projection=8)
    history = _history(data, model)
    view = operator_fields(history, sample=1)
    images = elements(view, hv.Image)
    assert len(images) == 4
    one = history.isel(epoch=-1, shown=1)
    np.testing.assert_allclose(
        images[3].dimension_values(2, flat=False).T,
        (one["prediction"] - one["truth"]).values,
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="operator_samples"):
        operator_samples(history)


def test_learning_curve_draws_fit_and_monte_carlo_reference(
    curves: dict[str, xr.Dataset],
) -> None:
    result = curves["n_train"]
    view = learning_curve(result)
    labels = [c.label for c in elements(view, hv.Curve)]
    slope = result.attrs["slope"]
    assert labels == ["mean", f"fit: slope {slope:.2f}", "Monte Carlo: slope -0.5"]
    ref = elements(view, hv.Curve)[2]
    mean = result["error"].values
    np.testing.assert_allclose(ref.dimension_values(1), mean[0] * np.array([1, 0.5]))
    assert option(view, "logx") is True and option(view, "logy") is True
    sensors = learning_curve(curves["sensors"])
    assert [c.label for c in elements(sensors, hv.Curve)][-1].startswith("fit")
    assert "DeepONet test error against sensors" in str(option(sensors, "title"))


def test_bad_inputs_are_refused_clearly(heat: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="'epoch' dim"):
        operator_error_curves(xr.Dataset())
    with pytest.raises(ValueError, match="no variable 'band_error'"):
        band_error_curves(heat.drop_vars("band_error"))
    with pytest.raises(ValueError, match="'value' dim"):
        learning_curve(heat)

"""Sharpness for the edge of stability: λ_max and trace beside 2/η."""

from __future__ import annotations

import pytest
import torch
import xarray as xr

from explorer.diagnostics import parameters, pinn_objective, sharpness


def test_lambda_max_and_trace_match_dense(regression) -> None:
    h = regression.dense_hessian()
    ds = sharpness(regression.net, regression.loss_fn, lr=0.1, tol=1e-10, max_iter=105)
    lam = float(torch.linalg.eigvalsh(h).max())
    assert abs(float(ds.lambda_max) - lam) <= 1e-6 * abs(lam)
    assert float(ds.two_over_lr) == 20.0
    assert float(ds.ratio) == pytest.approx(lam * 0.1 / 2, rel=1e-6)
    assert abs(float(ds.trace) - float(h.trace())) <= 4 * float(ds.trace_stderr)


def test_steps_concatenate(burgers) -> None:
    f = pinn_objective(burgers.loss, burgers.batch)
    runs = [
        sharpness(burgers.pinn, f, lr=1e-3, step=s, probes=0, max_iter=10)
        for s in (0, 10)
    ]
    history = xr.concat(runs, dim="step")
    assert list(history.step.values) == [0, 10]
    assert history.lambda_max.dims == ("step",)
    assert bool(history.trace.isnull().all())
    assert list(parameters(burgers.pinn)) == [
        n for n, _ in burgers.pinn.named_parameters()
    ]


def test_sharpness_limits(regression) -> None:
    with pytest.raises(ValueError, match=r"sharpness lr = 0.0 is out of range"):
        sharpness(regression.net, regression.loss_fn, lr=0.0)
    with pytest.raises(ValueError, match=r"sharpness probes = 1000 is out of range"):
        sharpness(regression.net, regression.loss_fn, probes=1000)

"""Loss landscapes: filter normalisation, exact centres, PCA planes, limits."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from explorer.diagnostics import (
    Cancelled,
    FlatSpec,
    HessianOperator,
    Objective,
    filter_normalize,
    loss_line,
    loss_plane,
    parameters,
    pca_directions,
    pinn_objective,
    project_trajectory,
    random_direction,
)

from .conftest import make_pinn_case


def test_filter_normalisation_per_filter(regression) -> None:
    params = regression.params
    g = torch.Generator().manual_seed(0)
    d = random_direction(params, generator=g)
    for name, w in params.items():
        if w.dim() <= 1:
            assert torch.equal(d[name], torch.zeros_like(w)), name  # biases fixed
            continue
        for i in range(w.shape[0]):  # every filter has its weights' norm
            assert torch.isclose(d[name][i].norm(), w[i].norm(), rtol=1e-12)
    copy = filter_normalize(d, params, one_dim="copy")
    assert torch.equal(copy["0.bias"], params["0.bias"])
    raw = random_direction(params, generator=g, normalization="none")
    assert not torch.isclose(raw["2.weight"][0].norm(), params["2.weight"][0].norm())
    with pytest.raises(ValueError, match="one_dim = 'keep' is not allowed"):
        filter_normalize(d, params, one_dim="keep")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plane_centre_is_the_current_loss_exactly(dtype) -> None:
    case = make_pinn_case(dtype=dtype, n_interior=64)
    f = pinn_objective(case.loss, case.batch, split=True)
    ds = loss_plane(f, parameters(case.pinn), steps=7, chunk=5)
    assert ds.attrs["evaluation"] == "vmap"
    with torch.no_grad():
        trainer_total = sum(case.loss.terms(case.batch).values())  # as Trainer sums
    centre = ds.sel(alpha=0.0, beta=0.0)
    assert float(centre.loss) == float(trainer_total)
    assert float(centre.loss) == ds.attrs["loss_center"]
    for term, value in case.loss.terms(case.batch).items():
        assert float(centre[f"loss_{term}"]) == float(value.detach())


def test_plane_matches_point_by_point(regression) -> None:
    params = regression.params
    d1 = random_direction(params, generator=torch.Generator().manual_seed(1))
    d2 = random_direction(params, generator=torch.Generator().manual_seed(2))
    ds = loss_plane(regression.loss_fn, params, directions=(d1, d2), steps=5, span=0.7)
    for a in ds.alpha.values:
        for b in ds.beta.values:
            p = {k: params[k] + a * d1[k] + b * d2[k] for k in params}
            exact = float(regression.loss_fn(p))
            got = float(ds.loss.sel(alpha=a, beta=b))
            assert abs(got - exact) <= 1e-12 * abs(exact)


def test_line_ends_are_exact(regression) -> None:
    start = {k: torch.zeros_like(v) + 0.1 for k, v in regression.params.items()}
    end = regression.params
    ds = loss_line(regression.loss_fn, start, end, steps_per_unit=8, margin=0.25)
    assert ds.alpha.values[0] == -0.25 and ds.alpha.values[-1] == 1.25
    assert float(ds.loss.sel(alpha=1.0)) == float(regression.loss_fn(end))
    assert float(ds.loss.sel(alpha=0.0)) == float(regression.loss_fn(start))
    mid = {k: 0.5 * (start[k] + end[k]) for k in start}
    assert float(ds.loss.sel(alpha=0.5)) == pytest.approx(
        float(regression.loss_fn(mid)), rel=1e-12
    )


def test_pca_reconstructs_a_planar_trajectory(regression) -> None:
    params = regression.params
    spec = FlatSpec(params)
    g = torch.Generator().manual_seed(5)
    basis, _ = torch.linalg.qr(torch.randn(spec.numel, 2, generator=g).double())
    u, v = basis.T
    # A spiral into θ: more spread along u than v, ending at the centre.
    t = torch.linspace(0, 1, 12, dtype=torch.float64)
    a = 2.0 * (1 - t) * torch.cos(6 * t)
    b = 0.7 * (1 - t) * torch.sin(6 * t)
    c = spec.flatten(params)
    trajectory = [spec.unflatten(c + ai * u + bi * v) for ai, bi in zip(a, b)]
    d1, d2, explained = pca_directions(trajectory, params)
    assert sum(explained) == pytest.approx(1.0, abs=1e-12)
    coords = project_trajectory(trajectory, params, (d1, d2))
    f1, f2 = spec.flatten(d1), spec.flatten(d2)
    for k, snap in enumerate(trajectory):
        rebuilt = c + coords[k, 0] * f1 + coords[k, 1] * f2
        assert torch.allclose(rebuilt, spec.flatten(snap), rtol=0, atol=1e-12)
    # The PCA frame is the (u, v) frame up to a rotation or reflection.
    truth = torch.stack([a, b], 1)
    rotation = torch.linalg.lstsq(coords, truth).solution
    assert torch.allclose(coords @ rotation, truth, atol=1e-12)
    assert torch.allclose(rotation.T @ rotation, torch.eye(2).double(), atol=1e-12)
    ds = loss_plane(
        regression.loss_fn, params, directions="pca", trajectory=trajectory, steps=5
    )
    assert np.allclose(ds.trajectory_alpha.values, coords[:, 0].numpy())
    assert abs(ds.alpha.values).max() >= abs(coords[:, 0]).max()
    exact = [float(regression.loss_fn(p)) for p in trajectory]
    assert np.allclose(ds.trajectory_loss.values, exact, rtol=1e-12)
    assert ds.attrs["directions"] == "pca"


def test_reverse_mode_terms_are_evaluated_point_by_point() -> None:
    # The wave equation's uₜ(x, 0) term would be zero under vmap, silently.
    case = make_pinn_case("wave", width=6, n_interior=24)
    f = pinn_objective(case.loss, case.batch, split=True)
    ds = loss_plane(f, parameters(case.pinn), steps=3)
    assert ds.attrs["evaluation"] == "sequential"
    centre = float(ds.loss_ic_velocity.sel(alpha=0.0, beta=0.0))
    assert centre == float(case.loss.terms(case.batch)["ic_velocity"].detach())
    assert centre > 0
    assert (ds.loss_ic_velocity.values > 0).all()


def test_undeclared_autograd_inside_is_caught() -> None:
    # A loss that differentiates by torch.autograd inside without saying so.
    from explorer.diagnostics import objective

    case = make_pinn_case("wave", width=6, n_interior=24)
    x = case.batch.initial.detach().requires_grad_(True)

    def slope() -> torch.Tensor:
        u = case.pinn(x)  # diagnostics evaluate with grad mode on
        (ut,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        return ut[:, 1].square().mean()

    f = objective(case.pinn, slope)
    params = parameters(case.pinn)
    d = random_direction(params, generator=torch.Generator().manual_seed(0))
    ds = loss_plane(f, params, directions=(d, d), steps=3)
    assert ds.attrs["evaluation"] == "sequential"
    corner = {k: params[k] - 2 * d[k] for k in params}
    exact = float(f(corner).detach())
    assert exact > 0
    assert float(ds.loss.sel(alpha=-1.0, beta=-1.0)) == pytest.approx(exact, rel=1e-12)
    op = HessianOperator(f, params)
    assert op.mode == "autograd" and op.fallback
    assert f.gradient_checked and not f.transformable  # remembered for next time
    assert HessianOperator(f, params).mode == "autograd"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 8}, r"steps = 8 is not allowed; allowed: odd numbers from 3"),
        ({"steps": 301}, r"steps = 301 is out of range; allowed: 3 to 201"),
        ({"chunk": 0}, r"chunk = 0 is out of range; allowed: 1 to 4096"),
        ({"span": 1e3}, r"span = 1000.0 is out of range"),
        ({"directions": "pca"}, r"directions = 'pca' needs a trajectory"),
        ({"directions": "up"}, r"directions = 'up' is not allowed"),
    ],
)
def test_plane_limits(regression, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        loss_plane(regression.loss_fn, regression.params, **kwargs)


def test_line_limits(regression) -> None:
    p = regression.params
    with pytest.raises(ValueError, match=r"steps_per_unit = 5000 is out of range"):
        loss_line(regression.loss_fn, p, p, steps_per_unit=5000)
    with pytest.raises(ValueError, match=r"margin = 3.0 is out of range"):
        loss_line(regression.loss_fn, p, p, margin=3.0)


def test_cancellation_stops_early(regression) -> None:
    stop = threading.Event()
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if len(seen) == 3:
            stop.set()

    with pytest.raises(Cancelled, match="loss_plane cancelled"):
        loss_plane(
            regression.loss_fn,
            regression.params,
            steps=41,
            chunk=4,
            progress=progress,
            cancel=stop,
        )
    assert len(seen) == 3 and seen[-1] < 0.05  # 3 of 421 chunks, then stopped
    calls = []
    with pytest.raises(Cancelled):
        loss_line(
            regression.loss_fn,
            regression.params,
            regression.params,
            chunk=2,
            cancel=lambda: calls.append(1) or len(calls) > 2,
        )
    assert len(calls) == 3


def test_plane_on_two_threads_equals_one() -> None:
    case = make_pinn_case(n_interior=64)
    f = pinn_objective(case.loss, case.batch, split=True)
    params = parameters(case.pinn)
    before = {k: v.clone() for k, v in case.pinn.state_dict().items()}
    two = loss_plane(f, params, steps=7, chunk=5, workers=2)
    one = loss_plane(f, params, steps=7, chunk=5, workers=1)
    assert (two.attrs["workers"], two.attrs["chunk"]) == (2, 5)  # 49 rows: 5 rounds
    assert one.attrs["workers"] == 1
    for name in one.data_vars:
        np.testing.assert_array_equal(two[name].values, one[name].values)
    for k, v in case.pinn.state_dict().items():  # the replicas are copies
        assert torch.equal(v, before[k]), k
    line = loss_line(f, params, params, steps_per_unit=6, workers=2)
    assert line.attrs["workers"] == 2
    np.testing.assert_allclose(line.loss.values, float(one.loss.sel(alpha=0, beta=0)))


def test_a_loss_without_replicas_runs_on_one_thread(regression) -> None:
    ds = loss_plane(regression.loss_fn, regression.params, steps=5, workers=2)
    assert ds.attrs["workers"] == 1  # objective() closes over its module


def test_out_of_memory_on_threads_goes_on_serially() -> None:
    def f(params):
        if threading.current_thread().name.startswith("explorer-grid"):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        return sum(v.square().sum() for v in params.values())

    def make() -> Objective:
        return Objective(f, replicate=make)

    params = {"w": torch.ones(3, 2, dtype=torch.float64)}
    d = ({"w": torch.ones(3, 2, dtype=torch.float64)},) * 2
    ds = loss_plane(make(), params, directions=d, steps=5, chunk=8, workers=2)
    assert (ds.attrs["workers"], ds.attrs["chunk"]) == (1, 3)  # 7 halved
    a, b = np.meshgrid(ds.alpha.values, ds.beta.values)
    np.testing.assert_allclose(ds.loss.values, 6 * (1 + a + b) ** 2, rtol=1e-14)


def test_cancelling_a_threaded_plane() -> None:
    case = make_pinn_case(n_interior=64)
    f = pinn_objective(case.loss, case.batch)
    seen: list[float] = []
    stop = threading.Event()

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if len(seen) == 2:
            stop.set()

    with pytest.raises(Cancelled):
        loss_plane(
            f,
            parameters(case.pinn),
            steps=41,
            chunk=4,
            workers=2,
            progress=progress,
            cancel=stop,
        )
    assert len(seen) == 2

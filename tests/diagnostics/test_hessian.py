"""Hessian diagnostics against the dense Hessian of small float64 networks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explorer.diagnostics import (
    FlatSpec,
    HessianOperator,
    hessian_by_term,
    hessian_density,
    hessian_eigenvalues,
    hessian_trace,
    hvp,
    parameters,
    pinn_objective,
)
from explorer.diagnostics.hessian import rademacher
from explorer.losses import PINNLoss

from .conftest import make_pinn_case

TOL = 1e-6  # the brief's bound; float64 results land near 1e-13


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_hvp_matches_dense(regression, mode) -> None:
    h = regression.dense_hessian()
    spec = FlatSpec(regression.params)
    op = HessianOperator(regression.loss_fn, regression.params, mode=mode)
    assert op.mode == mode and regression.loss_fn.gradient_checked
    v = torch.randn(spec.numel, generator=torch.Generator().manual_seed(3)).double()
    assert rel(op.matvec(v), h @ v) <= TOL
    vs = torch.randn(5, spec.numel, generator=torch.Generator().manual_seed(4))
    assert rel(op.matmat(vs.double()), vs.double() @ h) <= TOL
    assert rel(op.dense(), h) <= TOL
    named = hvp(regression.loss_fn, regression.params, spec.unflatten(v), mode=mode)
    assert rel(spec.flatten(named), h @ v) <= TOL


@pytest.mark.parametrize("which", ["largest", "smallest", "magnitude"])
def test_eigenvalues_match_dense(regression, which) -> None:
    exact = torch.linalg.eigvalsh(regression.dense_hessian()).numpy()
    order = {
        "largest": np.argsort(-exact),
        "smallest": np.argsort(exact),
        "magnitude": np.argsort(-np.abs(exact)),
    }[which]
    ds = hessian_eigenvalues(
        regression.loss_fn,
        regression.params,
        k=3,
        which=which,
        tol=1e-10,
        max_iter=105,
        vectors=True,
    )
    assert ds.attrs["converged"] == 1
    assert rel(ds.eigenvalue.values, exact[order[:3]]) <= TOL
    # Ritz vectors are eigenvectors: ‖Hy − λy‖ small.
    h = regression.dense_hessian().numpy()
    for lam, y in zip(ds.eigenvalue.values, ds.eigenvector.values):
        assert np.linalg.norm(h @ y - lam * y) <= 1e-6 * abs(exact).max()


def test_eigenvalues_stop_early_at_tolerance(regression) -> None:
    exact = torch.linalg.eigvalsh(regression.dense_hessian()).numpy().max()
    ds = hessian_eigenvalues(regression.loss_fn, regression.params, tol=1e-3)
    assert ds.attrs["converged"] == 1 and ds.attrs["iterations"] < 60
    # The residual bound holds: an eigenvalue lies within it.
    assert abs(ds.eigenvalue.values[0] - exact) <= ds.residual.values[0] + 1e-12


def test_trace_samples_are_exact_quadratic_forms(regression) -> None:
    h = regression.dense_hessian()
    ds = hessian_trace(regression.loss_fn, regression.params, probes=40, seed=7)
    z = rademacher(40, h.shape[0], torch.Generator().manual_seed(7))
    exact = torch.einsum("np,pq,nq->n", z, h, z).numpy()
    assert rel(ds.sample.values, exact) <= TOL
    # Unbiased: within 4 standard errors of tr H.
    assert abs(float(ds.trace) - float(h.trace())) <= 4 * float(ds.stderr)


def test_trace_of_a_diagonal_hessian_is_exact() -> None:
    # H = diag(12 aᵢ wᵢ²): every Rademacher probe gives zᵀHz = tr H exactly.
    a = torch.linspace(0.5, 2.0, 30, dtype=torch.float64)
    params = {"w": torch.linspace(-1.0, 1.0, 30, dtype=torch.float64)}
    ds = hessian_trace(lambda p: (a * p["w"] ** 4).sum(), params, probes=5)
    exact = float((12 * a * params["w"] ** 2).sum())
    assert abs(float(ds.trace) - exact) <= TOL * exact
    assert float(ds.stderr) <= 1e-12 * exact


def test_slq_quadrature_is_exact_with_full_steps(regression) -> None:
    h = regression.dense_hessian()
    p = h.shape[0]
    ds = hessian_density(regression.loss_fn, regression.params, steps=p, probes=2)
    z = rademacher(2, p, torch.Generator().manual_seed(0))
    q = z / z.norm(dim=1, keepdim=True)
    for i in range(2):
        nodes, weights = ds.ritz_value.values[i], ds.ritz_weight.values[i]
        for power in range(4):
            exact = float(q[i] @ torch.linalg.matrix_power(h, power) @ q[i])
            assert abs((weights * nodes**power).sum() - exact) <= TOL * max(
                1.0, abs(exact)
            )
    exact = torch.linalg.eigvalsh(h).numpy()
    assert rel([ds.ritz_value.values.max()], [exact.max()]) <= TOL
    assert rel([ds.ritz_value.values.min()], [exact.min()]) <= TOL
    mass = float(ds.density.integrate("eigenvalue"))
    assert abs(mass - 1.0) < 1e-3


def test_unused_parameters_have_zero_curvature() -> None:
    # ν is trainable: the bc term does not use it, the residual does.
    case = make_pinn_case(trainable=(("nu", 0.01),))
    params = parameters(case.pinn)
    assert "scalars.raw.nu" in params
    spec = FlatSpec(params)
    index = spec.names.index("scalars.raw.nu")
    start = sum(spec.sizes[:index])
    bc = pinn_objective(case.loss, case.batch, terms=("bc",))
    op = HessianOperator(bc, params)
    assert float(op.gradient[start]) == 0.0
    v = torch.ones(spec.numel, dtype=torch.float64)
    assert float(op.matvec(v)[start]) == 0.0
    ds = hessian_by_term(case.loss, case.batch, params, k=2, probes=4, max_iter=20)
    assert list(ds.term.values) == ["residual", "ic", "bc", "total"]
    assert np.isfinite(ds.eigenvalue.values).all()
    assert np.isfinite(ds.trace.values).all()


def test_by_term_hessians_sum_to_the_total() -> None:
    case = make_pinn_case()
    params = parameters(case.pinn)
    weights = {"residual": 1.0, "ic": 3.0, "bc": 0.5}
    total = HessianOperator(
        pinn_objective(case.loss, case.batch, weights=weights), params
    ).dense()
    parts = sum(
        HessianOperator(
            pinn_objective(case.loss, case.batch, weights=weights, terms=(t,)),
            params,
        ).dense()
        for t in weights
    )
    assert rel(parts, total) <= 1e-10


def test_autograd_fallback_for_reverse_mode_terms() -> None:
    # The wave equation's uₜ(x, 0) term differentiates by torch.autograd, which
    # torch.func cannot transform: the operator falls back and stays exact.
    case = make_pinn_case("wave", width=6, n_interior=24)
    params = parameters(case.pinn)
    f = pinn_objective(case.loss, case.batch)
    op = HessianOperator(f, params)
    assert op.mode == "autograd"
    spec = FlatSpec(params)
    flat = spec.flatten(params).requires_grad_(True)
    dense = torch.autograd.functional.hessian(lambda th: f(spec.unflatten(th)), flat)
    assert rel(op.dense(), dense) <= TOL
    assert all(p.grad is None for p in case.pinn.parameters())


def test_float32_pinn_eigenvalue_close_to_float64() -> None:
    case = make_pinn_case()
    pinn32 = copy.deepcopy(case.pinn).float()
    loss32 = PINNLoss(case.loss.problem, pinn32)
    lam = {}
    for name, loss, pinn, batch in (
        ("float64", case.loss, case.pinn, case.batch),
        ("float32", loss32, pinn32, case.batch.to(dtype=torch.float32)),
    ):
        ds = hessian_eigenvalues(
            pinn_objective(loss, batch), parameters(pinn), tol=1e-6
        )
        lam[name] = float(ds.eigenvalue[0])
    assert abs(lam["float32"] - lam["float64"]) <= 1e-4 * abs(lam["float64"])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"k": 50}, "k"),
        ({"max_iter": 10_000}, "max_iter"),
        ({"tol": 0.0}, "tol"),
    ],
)
def test_eigenvalue_limits(regression, kwargs, name) -> None:
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=rf"{name} = {value!r} is out of range"):
        hessian_eigenvalues(regression.loss_fn, regression.params, **kwargs)


def test_trace_and_density_limits(regression) -> None:
    with pytest.raises(ValueError, match=r"probes = 5000 .* allowed: 1 to 1000"):
        hessian_trace(regression.loss_fn, regression.params, probes=5000)
    with pytest.raises(ValueError, match=r"steps = 1000 .* allowed: 2 to 300"):
        hessian_density(regression.loss_fn, regression.params, steps=1000)
    with pytest.raises(ValueError, match=r"mode = 'sideways'"):
        HessianOperator(regression.loss_fn, regression.params, mode="sideways")

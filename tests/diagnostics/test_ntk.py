"""The empirical NTK against explicit Jacobian products."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.diagnostics import (
    empirical_ntk,
    ntk_change,
    ntk_projection,
    parameters,
    pinn_ntk,
)

from .conftest import make_pinn_case

TOL = 1e-10


def jacobian_rows(values: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """One autograd backward per output: the reference Jacobian (n, P)."""
    rows = []
    for v in values.reshape(-1):
        grads = torch.autograd.grad(
            v, params, retain_graph=True, allow_unused=True, materialize_grads=True
        )
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("pointwise", [True, False])
def test_network_ntk_is_the_jacobian_product(burgers, pointwise) -> None:
    x = burgers.batch.interior[:20]
    j = jacobian_rows(burgers.pinn(x), list(burgers.pinn.parameters()))
    ds = empirical_ntk(burgers.pinn, x, pointwise=pointwise, chunk=7)
    assert rel(ds.K.values, (j @ j.T).detach().numpy()) <= TOL
    exact = np.linalg.eigvalsh((j @ j.T).detach().numpy())[::-1]
    assert rel(ds.eigenvalue.values, exact) <= TOL
    assert float(ds.trace) == pytest.approx(float((j * j).sum()), rel=TOL)


def test_pinn_blocks_are_jacobian_products() -> None:
    case = make_pinn_case(trainable=(("nu", 0.02),))  # nu: unused by ic and bc
    params = list(case.pinn.parameters())
    ds = pinn_ntk(case.loss, case.batch, n_residual=24, n_boundary=8, chunk=5)
    sub_r = case.batch.interior[
        torch.div(torch.arange(24) * 48, 24, rounding_mode="floor")
    ]
    jr = jacobian_rows(case.loss.residual(sub_r), params)
    pointwise = case.loss.pointwise(case.batch)
    ic = pointwise["ic"][torch.div(torch.arange(8) * 16, 8, rounding_mode="floor")]
    bc = pointwise["bc"]  # 16 // 2 walls -> 8 + 8 = 16 points, strided to 8
    bc = bc[torch.div(torch.arange(8) * bc.shape[0], 8, rounding_mode="floor")]
    ju = jacobian_rows(torch.cat([ic, bc]), params)
    krr, kur, kuu = (a.detach().numpy() for a in (jr @ jr.T, ju @ jr.T, ju @ ju.T))
    assert rel(ds.K_rr.values, krr) <= TOL
    assert rel(ds.K_ur.values, kur) <= TOL
    assert rel(ds.K_uu.values, kuu) <= TOL
    assert list(ds.term.values) == ["ic"] * 8 + ["bc"] * 8
    assert float(ds.trace_rr) == pytest.approx(np.trace(krr), rel=TOL)
    full = np.block([[kuu, kur], [kur.T, krr]])
    assert rel(ds.eigenvalue.values, np.linalg.eigvalsh(full)[::-1]) <= 1e-8


def test_reverse_mode_terms_use_autograd_rows() -> None:
    case = make_pinn_case("wave", width=6, n_interior=24)
    ds = pinn_ntk(case.loss, case.batch, n_residual=8, n_boundary=4)
    velocity = ds.term.values == "ic_velocity"
    assert velocity.sum() == 4
    # torch.func would have seen uₜ(x, 0) as constant: its kernel rows must not be 0.
    assert np.abs(ds.K_uu.values[velocity][:, velocity]).max() > 0


def test_change_and_projection(burgers) -> None:
    x = burgers.batch.interior[:16]
    before = empirical_ntk(burgers.pinn, x)
    moved = {k: 1.1 * v for k, v in parameters(burgers.pinn).items()}
    after = empirical_ntk(burgers.pinn, x, params=moved)
    assert float(ntk_change(before, before).change) == 0.0
    assert float(ntk_change(before, after).change) > 0.01
    proj = ntk_projection(before)
    assert float(proj.energy.sum()) == pytest.approx(1.0, rel=1e-12)
    # The coefficients rebuild the error: Σ cₖ qₖ = e.
    _, vectors = np.linalg.eigh(before.K.values)
    rebuilt = vectors[:, ::-1] @ proj.coefficient.values
    assert np.allclose(rebuilt, before.error.values, atol=1e-12)
    blocks = pinn_ntk(burgers.loss, burgers.batch, n_residual=8, n_boundary=4)
    changes = ntk_change(blocks, blocks)
    assert set(changes.data_vars) == {"change_uu", "change_ur", "change_rr"}
    proj = ntk_projection(blocks)
    assert proj.sizes["mode"] == blocks.sizes["i_u"] + blocks.sizes["i_r"]
    with pytest.raises(ValueError, match="ntk_change needs two results"):
        ntk_change(proj, proj)


def test_ntk_limits(burgers) -> None:
    with pytest.raises(ValueError, match=r"points = 5000 is out of range"):
        empirical_ntk(burgers.pinn, torch.zeros(5000, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"n_residual = 4096 is out of range"):
        pinn_ntk(burgers.loss, burgers.batch, n_residual=4096)

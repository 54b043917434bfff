"""Taylor-mode jets of our networks equal reverse-mode derivatives, to rounding."""

from __future__ import annotations

import pytest
import torch

from explorer.autodiff import Partials
from explorer.losses import PINNOptions, build_pinn
from explorer.models import MLPConfig
from explorer.problems import make_problem

CASES = [
    ("burgers", {"x": 2, "t": 1}),
    ("ks", {"x": 4, "t": 1}),
    ("kdv", {"x": 3, "t": 1}),
    ("wave", {"x": 2, "t": 2}),
    ("nls", {"x": 2, "t": 1}),
    ("poisson-2d", {"x": 2, "y": 2}),
]


@pytest.mark.parametrize("activation", ["tanh", "sin", "gelu", "silu", "softplus"])
@pytest.mark.parametrize("fourier", [0, 8])
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize(("name", "orders"), CASES)
def test_jet_matches_reverse_mode(activation, fourier, hard, name, orders) -> None:
    p = make_problem(name)
    net = MLPConfig(
        depth=2,
        width=8,
        activation=activation,
        fourier_features=fourier,
        dtype="float64",
    )
    pinn = build_pinn(p, net, PINNOptions(hard_bc=hard, hard_ic=hard), seed=1)
    xt = p.domain().sample(40, generator=torch.Generator().manual_seed(0))
    names = p.domain().names
    jet = Partials(pinn, xt, names, orders=orders)
    plain = Partials(lambda z: pinn(z), xt, names)  # not a JetField: reverse mode
    for coord, k in orders.items():
        for order in range(k + 1):
            want = plain(coord * order).detach()
            got = jet(coord * order).detach()
            scale = want.abs().max() + 1e-12
            assert (got - want).abs().max() <= 1e-9 * scale, (coord, order)


def test_jet_keeps_the_parameter_graph() -> None:
    p = make_problem("burgers")
    pinn = build_pinn(p, MLPConfig(depth=2, width=8, dtype="float64"), seed=0)
    xt = p.domain().sample(30, generator=torch.Generator().manual_seed(0))
    p.residual(pinn, xt).square().mean().backward()
    grads = [q.grad for q in pinn.parameters()]
    ref = build_pinn(p, MLPConfig(depth=2, width=8, dtype="float64"), seed=0)
    p.residual(lambda z: ref(z), xt).square().mean().backward()
    for g, h in zip(grads, (q.grad for q in ref.parameters())):
        torch.testing.assert_close(g, h, rtol=1e-9, atol=1e-12)


def test_new_points_are_not_served_stale_cached_jets() -> None:
    p = make_problem("burgers")
    pinn = build_pinn(
        p,
        MLPConfig(depth=2, width=8, dtype="float64"),
        PINNOptions(hard_bc=True),
        seed=0,
    )
    g = torch.Generator().manual_seed(0)
    for _ in range(3):  # fresh tensors of the same shape, possibly at reused addresses
        xt = p.domain().sample(30, generator=g)
        a = p.residual(pinn, xt).detach()
        b = p.residual(lambda z: pinn(z), xt).detach()
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_reverse_mode_partials_survive_no_grad() -> None:
    """Under ``torch.no_grad()`` the derivatives are still right, not silently 0."""
    xt = torch.rand(16, 2, dtype=torch.float64)

    def u(z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z[:, 0]) * z[:, 1] ** 2

    with torch.no_grad():
        d = Partials(u, xt, ("x", "t"))
        ux, ut = d("x"), d("t")
    torch.testing.assert_close(ux, torch.cos(xt[:, 0]) * xt[:, 1] ** 2)
    torch.testing.assert_close(ut, 2 * torch.sin(xt[:, 0]) * xt[:, 1])

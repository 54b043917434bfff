"""Hard constraints hold exactly for random weights and compose with torch.func."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.func import functional_call, jvp, vmap

from explorer.autodiff import Partials
from explorer.models import (
    MLP,
    ConstrainedModel,
    Dirichlet,
    InitialCondition,
    MLPConfig,
    PeriodicEmbedding,
)

F64 = torch.float64


def _net(in_dim: int = 2, out_dim: int = 1, seed: int = 0, **kw: object) -> MLP:
    cfg = MLPConfig(in_dim=in_dim, out_dim=out_dim, depth=2, width=16, dtype="float64")
    return MLP(MLPConfig(**{**cfg.__dict__, **kw}), seed=seed)


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("seed", range(4))
def test_dirichlet_output_vanishes_on_the_walls(seed: int) -> None:
    a, b = -1.0, 2.0
    model = ConstrainedModel(
        _net(out_dim=2, seed=seed, fourier_features=8, fourier_scale=5.0),
        outputs=[Dirichlet((0,), (a,), (b,))],
    )
    t = _rand(50, 1, seed=seed)
    for wall in (a, b):
        u = model(torch.cat((torch.full_like(t, wall), t), dim=-1))
        assert u.shape == (50, 2) and torch.equal(u, torch.zeros_like(u))
    inside = model(torch.cat((a + (b - a) * _rand(50, 1, seed=9), t), dim=-1))
    assert inside.abs().min() > 0


def test_dirichlet_lift_holds_on_every_wall_of_a_box() -> None:
    def lift(xt: torch.Tensor) -> torch.Tensor:
        return torch.sin(3 * xt[..., 0]) + xt[..., 1] ** 2  # (n,): any field

    bc = Dirichlet((0, 1), (0.0, -1.0), (1.0, 1.0), lift=lift)
    model = ConstrainedModel(_net(seed=3), outputs=[bc])
    s = _rand(40, seed=1)
    walls = [
        torch.stack((torch.zeros_like(s), 2 * s - 1), -1),
        torch.stack((torch.ones_like(s), 2 * s - 1), -1),
        torch.stack((s, -torch.ones_like(s)), -1),
        torch.stack((s, torch.ones_like(s)), -1),
    ]
    for xy in walls:
        assert torch.equal(model(xy)[:, 0], lift(xy))
    centre = torch.tensor([[0.5, 0.0]], dtype=F64)
    assert float(bc.distance(centre)) == pytest.approx(1.0)


@pytest.mark.parametrize("harmonics", [1, 3])
def test_periodic_embedding_makes_the_field_and_its_derivatives_periodic(
    harmonics: int,
) -> None:
    L = 2 * math.pi
    emb = PeriodicEmbedding((0,), (L,), harmonics=harmonics)
    assert emb.out_dim(2) == 2 + 2 * harmonics - 1
    model = ConstrainedModel(_net(in_dim=emb.out_dim(2), seed=1), embedding=emb)
    xt = torch.cat((L * _rand(30, 1), _rand(30, 1, seed=2)), dim=-1)
    shifted = xt + torch.tensor([L, 0.0], dtype=F64)
    d0, d1 = (Partials(model, p, ("x", "t")) for p in (xt, shifted))
    for spec in ("", "x", "xx", "t"):
        torch.testing.assert_close(d1(spec), d0(spec), rtol=0, atol=1e-11)
    # Moving by half a period changes the field: periodicity is not constancy.
    half = xt + torch.tensor([L / 2, 0.0], dtype=F64)
    assert (model(half) - model(xt)).abs().max() > 1e-3


def test_periodic_embedding_layout() -> None:
    emb = PeriodicEmbedding((1, 0), (2.0, 4.0), harmonics=2)
    xyz = torch.tensor([[1.0, 0.5, 7.0]], dtype=F64)
    out = emb(xyz)
    assert out.shape == (1, emb.out_dim(3)) == (1, 9)
    c = 2 * math.pi
    want = [7.0]  # non-periodic z, then y (period 2), then x (period 4)
    want += [math.cos(c * k * 0.5 / 2) for k in (1, 2)]
    want += [math.sin(c * k * 0.5 / 2) for k in (1, 2)]
    want += [math.cos(c * k * 1.0 / 4) for k in (1, 2)]
    want += [math.sin(c * k * 1.0 / 4) for k in (1, 2)]
    torch.testing.assert_close(out[0], torch.tensor(want, dtype=F64))


def test_initial_condition_holds_exactly_and_composes_with_dirichlet() -> None:
    def u0(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(math.pi * x[..., 0])  # vanishes at x = 0 and x = 1

    t0, T = 0.25, 2.0
    model = ConstrainedModel(
        _net(seed=7),
        outputs=[Dirichlet((0,), (0.0,), (1.0,)), InitialCondition(1, t0, T, u0)],
    )
    x = _rand(60, 1)
    start = torch.cat((x, torch.full_like(x, t0)), dim=-1)
    assert torch.equal(model(start)[:, 0], u0(x))
    t = t0 + T * _rand(60, 1, seed=3)
    for wall in (0.0, 1.0):
        u = model(torch.cat((torch.full_like(t, wall), t), dim=-1))
        assert u.abs().max() < 1e-15  # sin(π) ≈ 1.2e-16, D exactly 0
    # The time factor reaches 1 at t0 + T: u = u0 + D·N there.
    end = torch.cat((x, torch.full_like(x, t0 + T)), dim=-1)
    dist = Dirichlet((0,), (0.0,), (1.0,)).distance(end)
    torch.testing.assert_close(model(end), u0(x)[:, None] + dist * model.net(end))


def test_initial_condition_passes_the_spatial_inputs_in_order() -> None:
    seen: list[torch.Tensor] = []

    def u0(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return x.sum(-1)

    ic = InitialCondition(time_coord=1, t0=0.0, span=1.0, u0=u0)
    xty = torch.tensor([[1.0, 0.0, 3.0]], dtype=F64)
    torch.testing.assert_close(ic(xty, torch.ones(1, 1, dtype=F64)), xty[:, :1] + 3)
    assert torch.equal(seen[0], torch.tensor([[1.0, 3.0]], dtype=F64))


def _composite() -> ConstrainedModel:
    emb = PeriodicEmbedding((0,), (1.0,))
    return ConstrainedModel(
        _net(in_dim=emb.out_dim(2), seed=4),
        embedding=emb,
        outputs=[InitialCondition(1, 0.0, 1.0, lambda x: torch.cos(2 * x[..., 0]))],
    )


def test_functional_call_routes_parameters_to_the_inner_net() -> None:
    model = _composite()
    names = {k for k, _ in model.named_parameters()}
    assert names == {f"net.{k}" for k, _ in model.net.named_parameters()}
    assert set(model.state_dict()) == {f"net.{k}" for k in model.net.state_dict()}
    xt = _rand(9, 2)
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.1)
    params = dict(other.named_parameters())
    torch.testing.assert_close(functional_call(model, params, (xt,)), other(xt))
    assert not torch.allclose(model(xt), other(xt))


def test_torch_func_derivative_through_constraints_matches_autograd() -> None:
    model = _composite()
    params = dict(model.named_parameters())
    xt = _rand(13, 2, seed=5)

    def point(p: torch.Tensor) -> torch.Tensor:
        return functional_call(model, params, (p.unsqueeze(0),)).squeeze(0)

    e_x = torch.tensor([1.0, 0.0], dtype=F64)
    u_x = vmap(lambda p: jvp(point, (p,), (e_x,))[1])(xt)
    xr = xt.clone().requires_grad_(True)
    g = torch.autograd.grad(model(xr).sum(), xr, create_graph=True)[0]
    torch.testing.assert_close(u_x[:, 0], g[:, 0])
    u_xx = torch.autograd.grad(g[:, 0].sum(), xr)[0][:, 0]
    torch.testing.assert_close(Partials(model, xt, ("x", "t"))("xx")[:, 0], u_xx)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Dirichlet((0,), (1.0,), (0.0,)), r"Dirichlet walls \(1.0, 0.0\)"),
        (lambda: Dirichlet((0, 1), (0.0,), (1.0,)), r"Dirichlet\.lows"),
        (lambda: Dirichlet((0, 0), (0.0, 0.0), (1.0, 1.0)), r"Dirichlet\.coords"),
        (lambda: PeriodicEmbedding((0,), (0.0,)), r"PeriodicEmbedding\.periods"),
        (lambda: PeriodicEmbedding((0,), (1.0,), 0), r"harmonics = 0"),
        (lambda: InitialCondition(1, 0.0, 0.0, abs), r"InitialCondition\.span = 0"),
        (
            lambda: InitialCondition(-1, 0.0, 1.0, abs),
            r"InitialCondition\.time_coord = -1",
        ),
    ],
)
def test_transform_errors_name_the_field(build: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()  # type: ignore[operator]

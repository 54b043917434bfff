"""The fused tanh jet node against the same jet recorded by autograd, finite
differences and torch.func."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.func import functional_call, grad, jvp, vmap

import explorer.models.tanh_jet as tanh_jet
from explorer.autodiff import Jet, input_jet
from explorer.models import MLP, MLPConfig
from explorer.models.tanh_jet import reference_tanh_mlp_jet, tanh_mlp_jet

ORDERS = [{0: 2, 1: 1}, {1: 2, 0: 1}, {0: 1}, {0: 2, 1: 2}, {0: 1, 1: 1}, {}]


def _layers(sizes: list[int], seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(b, a, generator=g, dtype=torch.float64).requires_grad_(),
            torch.randn(b, generator=g, dtype=torch.float64).requires_grad_(),
        )
        for a, b in itertools.pairwise(sizes)
    ]


def _jet(orders: dict[int, int], identity: bool, n: int = 11) -> Jet:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64).requires_grad_()
    if identity:
        return input_jet(x, orders)
    series = {
        i: [
            torch.randn(n, 2, generator=g, dtype=torch.float64).requires_grad_()
            for _ in range(k)
        ]
        for i, k in orders.items()
    }
    return Jet(x, series)


def _flat(jet: Jet, orders: dict[int, int]) -> list[torch.Tensor]:
    return [jet.value] + [t for i in orders for t in jet.series[i]]


def _leaves(jet: Jet, layers: list) -> list[torch.Tensor]:
    inputs = [] if jet.identity else [t for s in jet.series.values() for t in s]
    return [jet.value, *inputs, *(p for layer in layers for p in layer)]


@pytest.mark.parametrize("identity", [True, False])
@pytest.mark.parametrize("orders", ORDERS)
def test_fused_equals_recorded_values_and_gradients(orders, identity) -> None:
    layers = _layers([2, 6, 5, 6, 2])
    jet = _jet(orders, identity)
    fused = _flat(tanh_mlp_jet(jet, layers), orders)
    ref = _flat(reference_tanh_mlp_jet(jet, layers), orders)
    for a, b in zip(fused, ref):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-13)
    g = torch.Generator().manual_seed(2)
    weights = [torch.randn(a.shape, generator=g, dtype=a.dtype) for a in fused]
    leaves = _leaves(jet, layers)

    def grads(outs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        total = sum((w * o).sum() for w, o in zip(weights, outs))
        return torch.autograd.grad(total, leaves, materialize_grads=True)

    for a, b in zip(grads(fused), grads(ref)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("identity", [True, False])
def test_fused_passes_a_finite_difference_gradient_check(identity) -> None:
    layers = _layers([2, 4, 3, 1])
    orders = {0: 2, 1: 1}
    jet = _jet(orders, identity, n=5)
    leaves = _leaves(jet, layers)
    k = 1 + (0 if identity else 3)

    def f(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, inputs, params = tensors[0], tensors[1:k], tensors[k:]
        if identity:
            j = input_jet(x, orders)
        else:
            j = Jet(x, {0: list(inputs[:2]), 1: [inputs[2]]})
        pairs = list(zip(params[::2], params[1::2]))
        return tuple(_flat(tanh_mlp_jet(j, pairs), orders))

    assert torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-7)


def test_second_derivatives_through_the_fused_node_are_the_recorded_ones() -> None:
    """Hessian-vector products by double backward (the Hessian's autograd mode)."""
    layers = _layers([2, 5, 5, 1])
    params = [p for layer in layers for p in layer]
    orders = {0: 2, 1: 1}
    jet = _jet(orders, True)
    v = [torch.randn_like(p) for p in params]

    def hvp(fn) -> list[torch.Tensor]:
        out = fn(jet, layers)
        loss = sum(t.square().sum() for t in _flat(out, orders))
        g = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((a * b).sum() for a, b in zip(g, v))
        return list(torch.autograd.grad(dot, params))

    for a, b in zip(hvp(tanh_mlp_jet), hvp(reference_tanh_mlp_jet)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_torch_func_transforms_take_the_recorded_rule() -> None:
    """Under torch.func (the diagnostics) the MLP's jet is the recorded one, and its
    gradient equals plain autograd's through the fused node."""
    net = MLP(MLPConfig(in_dim=2, depth=2, width=6, dtype="float64"), seed=0)
    x = torch.rand(9, 2, dtype=torch.float64)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        jet = functional_call(net, p, (input_jet(x, {0: 2, 1: 1}),), {}, strict=True)
        return sum(t.square().sum() for t in _flat(jet, {0: 2, 1: 1}))

    # functional_call runs forward(): route it to forward_jet for this check.
    net.forward = net.forward_jet  # type: ignore[method-assign]
    by_func = grad(loss)(params)
    jet = net.forward_jet(input_jet(x, {0: 2, 1: 1}))
    total = sum(t.square().sum() for t in _flat(jet, {0: 2, 1: 1}))
    total.backward()
    for name, p in net.named_parameters():
        torch.testing.assert_close(by_func[name], p.grad, rtol=1e-12, atol=1e-12)


def _batched(layers: list, size: int, seed: int) -> list[torch.Tensor]:
    """``size`` perturbed copies of every parameter, stacked: flat, (w, b) order."""
    g = torch.Generator().manual_seed(seed)
    return [
        p.detach() + torch.randn(size, *p.shape, generator=g, dtype=p.dtype)
        for layer in layers
        for p in layer
    ]


def _vmapped_equals_recorded(
    jet: Jet, flat: list[torch.Tensor], orders: dict[int, int]
) -> None:
    """vmap over the stacked weights ``flat`` (no graph) against the recorded rule
    on each weight set."""
    jet = Jet(
        jet.value.detach(), {i: [t.detach() for t in s] for i, s in jet.series.items()}
    )

    def one(*params: torch.Tensor) -> list[torch.Tensor]:
        pairs = list(zip(params[::2], params[1::2]))
        return _flat(tanh_mlp_jet(jet, pairs), orders)

    with torch.no_grad():
        got = vmap(one)(*flat)
    for b in range(flat[0].shape[0]):
        pairs = [(w[b], bias[b]) for w, bias in zip(flat[::2], flat[1::2])]
        ref = _flat(reference_tanh_mlp_jet(jet, pairs), orders)
        for a, r in zip(got, ref):
            torch.testing.assert_close(a[b], r, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("identity", [True, False])
@pytest.mark.parametrize("orders", ORDERS)
def test_vmap_over_weights_runs_the_batched_node(orders, identity, monkeypatch):
    """A loss landscape's case: vmap over weights, no graph. The batched forward
    runs (spied) and gives each weight set's jet, as the recorded rule does on it."""
    calls = []
    spy = tanh_jet._VmappedTanhJet.vmap
    monkeypatch.setattr(
        tanh_jet._VmappedTanhJet,
        "vmap",
        staticmethod(lambda *a: calls.append(1) or spy(*a)),
    )
    layers = _layers([2, 6, 5, 6, 2])
    _vmapped_equals_recorded(_jet(orders, identity), _batched(layers, 4, 3), orders)
    assert calls, "the batched node did not run"


@pytest.mark.parametrize("identity", [True, False])
def test_the_batched_node_in_blocks_of_points_is_the_same(identity, monkeypatch):
    """Many points run in cache-sized blocks (here 64 of 200): the same jets."""
    monkeypatch.setattr(tanh_jet, "_BLOCK_BYTES", 1)
    orders = {0: 2, 1: 1}
    jet = _jet(orders, identity, n=200)
    _vmapped_equals_recorded(jet, _batched(_layers([2, 6, 5, 1]), 3, 5), orders)


def test_vmap_over_points_and_nested_vmaps_agree_with_the_recorded_rule() -> None:
    layers = [tuple(p.detach() for p in layer) for layer in _layers([2, 5, 4, 1])]
    x = torch.rand(3, 7, 2, dtype=torch.float64)  # three point sets
    flat = _batched(layers, 2, seed=4)

    def one(points: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        pairs = list(zip(params[::2], params[1::2]))
        jet = input_jet(points, {0: 2, 1: 1})
        return torch.stack(_flat(tanh_mlp_jet(jet, pairs), {0: 2, 1: 1}))

    with torch.no_grad():
        got = vmap(vmap(one, in_dims=(None, *[0] * 6)), in_dims=(0, *[None] * 6))(
            x, *flat
        )
    assert got.shape == (3, 2, 4, 7, 1)
    for i in range(3):
        for b in range(2):
            pairs = [(w[b], bias[b]) for w, bias in zip(flat[::2], flat[1::2])]
            jet = input_jet(x[i], {0: 2, 1: 1})
            ref = torch.stack(_flat(reference_tanh_mlp_jet(jet, pairs), {0: 2, 1: 1}))
            torch.testing.assert_close(got[i, b], ref, rtol=1e-13, atol=1e-13)


def test_vmap_with_a_graph_or_over_jvp_takes_the_recorded_rule() -> None:
    """Only one vmap with no graph runs the batched node: grad mode on (a graph to
    record), a jvp level under the vmap (jacfwd) or nested vmaps take the recorded
    rule."""
    assert not tanh_jet._vmap_only()
    seen = []

    def probe(x: torch.Tensor) -> torch.Tensor:
        seen.append(tanh_jet._vmap_only())
        return x * 2

    x = torch.ones(3, 2)
    vmap(probe)(x)  # grad mode on
    with torch.no_grad():
        vmap(probe)(x)
        vmap(lambda v: jvp(probe, (x[0],), (v,))[1])(x)
        vmap(vmap(probe))(x[None])  # nested: the batched node writes into slices
    assert seen == [False, True, False, False]


def test_third_order_jets_are_refused() -> None:
    layers = _layers([2, 3, 1])
    with pytest.raises(ValueError, match="second order"):
        tanh_mlp_jet(_jet({0: 3}, True), layers)

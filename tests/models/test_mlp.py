"""The MLP: registry contracts, init statistics, Fourier features, torch.func."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.func import functional_call, jacrev, jvp, vmap

import explorer.models
from explorer.autodiff import Partials
from explorer.models import MLP, MODELS, MLPConfig, build_model

F64 = torch.float64

# Example configs per registered model, small enough to run in milliseconds. Adding a
# model to MODELS without examples here fails test_every_model_has_examples.
EXAMPLES: dict[type[Any], list[Any]] = {
    MLPConfig: [
        MLPConfig(in_dim=2, out_dim=3, depth=2, width=8, dtype=dt, activation=a, **ff)
        for dt in ("float32", "float64")
        for a in ("tanh", "sin", "gelu", "silu", "softplus")
        for ff in ({}, {"fourier_features": 4, "fourier_scale": 2.0})
    ]
}
CONFIGS = [c for cs in EXAMPLES.values() for c in cs]


def _dtype(config: Any) -> torch.dtype:
    return F64 if config.dtype == "float64" else torch.float32


def _points(config: Any, n: int = 7, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, config.in_dim, generator=g, dtype=_dtype(config))


def test_every_model_has_examples() -> None:
    # Operator networks (another layout) have their contracts in their own file.
    from tests.models.test_operator_models import EXAMPLES as OPERATOR_EXAMPLES

    assert set(EXAMPLES) | set(OPERATOR_EXAMPLES) == set(MODELS)


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_shape_dtype_and_gradients(config: Any) -> None:
    net = build_model(config, seed=0)
    u = net(_points(config))
    assert u.shape == (7, config.out_dim)
    assert u.dtype == _dtype(config)
    assert all(p.dtype == _dtype(config) for p in net.parameters())
    u.square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("config", CONFIGS[::3], ids=repr)
def test_seed_fixes_weights_and_leaves_global_rng_alone(config: Any) -> None:
    state = torch.get_rng_state()
    a, b, c = (build_model(config, seed=s) for s in (3, 3, 4))
    assert torch.equal(torch.get_rng_state(), state)
    sa, sb, sc = (m.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert all(not torch.equal(sa[k], sc[k]) for k in sa if "weight" in k or k == "B")


def test_build_model_rejects_unknown_configs() -> None:
    with pytest.raises(TypeError, match=r"dict.*allowed: MLPConfig"):
        build_model({"width": 8}, seed=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("depth", 0),
        ("depth", 11),
        ("width", 2),
        ("width", 8.0),
        ("in_dim", 0),
        ("activation", "relu"),
        ("fourier_features", 257),
        ("fourier_scale", 0.0),
        ("init", "he"),
        ("w0", 0.5),
        ("dtype", "float16"),
    ],
)
def test_config_errors_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"MLPConfig\.{field} = {value!r}.*allowed"):
        MLPConfig(**{field: value})


@torch.no_grad()
def test_glorot_normal_statistics_and_zero_biases() -> None:
    net = MLP(MLPConfig(depth=2, width=256, dtype="float64"), seed=1)
    hidden = net.layers[1]
    std = math.sqrt(2.0 / (256 + 256))  # Glorot & Bengio 2010
    assert float(hidden.weight.std()) == pytest.approx(std, rel=0.02)
    assert all(float(layer.bias.abs().max()) == 0.0 for layer in net.layers)
    uni = MLP(MLPConfig(depth=2, width=256, init="glorot_uniform"), seed=1).layers[1]
    bound = math.sqrt(6.0 / (256 + 256))
    assert bound * 0.99 < float(uni.weight.abs().max()) <= bound


@torch.no_grad()
def test_siren_initialisation_bounds_and_unit_preactivations() -> None:
    w0, n = 10.0, 256
    cfg = MLPConfig(depth=5, width=n, activation="sin", w0=w0, dtype="float64")
    net = MLP(cfg, seed=0)
    first, *hidden = net.layers
    bounds = [1.0 / 2] + [math.sqrt(6.0 / n) / w0] * len(hidden)
    for layer, bound in zip(net.layers, bounds):
        w = layer.weight
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.95 * bound  # uniform fills its interval
        assert float(w.var()) == pytest.approx(bound**2 / 3, rel=0.1)
    # Sitzmann et al. Thm 1: with this init every hidden pre-activation ω₀(Wh + b)
    # has standard deviation ≈ 1 (arcsine-distributed h of variance 1/2), at any depth.
    g = torch.Generator().manual_seed(0)
    h = torch.sin(w0 * first(2 * torch.rand(4096, 2, generator=g, dtype=F64) - 1))
    for layer in hidden[:-1]:
        z = w0 * layer(h)
        assert float(z.std()) == pytest.approx(1.0, abs=0.15)
        h = torch.sin(z)


def test_fourier_features_are_a_fixed_buffer() -> None:
    m, sigma = 256, 3.0
    net = MLP(
        MLPConfig(fourier_features=m, fourier_scale=sigma, dtype="float64"), seed=0
    )
    assert "B" in dict(net.named_buffers()) and "B" in net.state_dict()
    assert all(p is not net.B for p in net.parameters())
    assert net.B.shape == (m, 2)
    assert float(net.B.std()) == pytest.approx(sigma, rel=0.1)
    assert net.layers[0].in_features == 2 * m
    x = _points(net.config)
    emb = net.embed(x)
    assert emb.shape == (7, 2 * m)
    proj = 2 * math.pi * x @ net.B.T
    torch.testing.assert_close(emb, torch.cat((proj.cos(), proj.sin()), dim=-1))
    before = net.B.clone()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(x).sum().backward()
    opt.step()
    assert torch.equal(net.B, before)


@pytest.mark.parametrize(
    "config",
    [
        MLPConfig(depth=2, width=4, dtype="float64"),
        MLPConfig(depth=2, width=4, dtype="float64", activation="sin"),
        MLPConfig(depth=1, width=4, dtype="float64", fourier_features=3),
    ],
    ids=repr,
)
def test_gradcheck_inputs_and_parameters(config: MLPConfig) -> None:
    net = MLP(config, seed=0)
    params = {k: v.detach().requires_grad_(True) for k, v in net.named_parameters()}
    names = list(params)
    x = _points(config, n=3).requires_grad_(True)

    def f(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        return functional_call(net, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params.values()))
    assert torch.autograd.gradgradcheck(f, (x, *params.values()))


def test_torch_func_derivatives_match_autograd() -> None:
    cfg = MLPConfig(out_dim=2, depth=2, width=16, dtype="float64", fourier_features=8)
    net = MLP(cfg, seed=2)
    params = dict(net.named_parameters())
    x = _points(cfg, n=11)

    def point(p: torch.Tensor) -> torch.Tensor:
        return functional_call(net, params, (p.unsqueeze(0),)).squeeze(0)

    e_t = torch.tensor([0.0, 1.0], dtype=F64)
    u_t = vmap(lambda p: jvp(point, (p,), (e_t,))[1])(x)  # (n, out_dim)
    jac = vmap(jacrev(point))(x)  # (n, out_dim, in_dim)
    xr = x.clone().requires_grad_(True)
    u = net(xr)
    rows = [
        torch.autograd.grad(u[:, c].sum(), xr, retain_graph=True)[0] for c in (0, 1)
    ]
    torch.testing.assert_close(u_t, torch.stack([r[:, 1] for r in rows], dim=-1))
    torch.testing.assert_close(jac, torch.stack(rows, dim=1))


def test_partials_match_the_closed_form_second_derivative() -> None:
    # One hidden tanh layer: u = W₂ tanh(W₁x + b₁) + b₂, so
    # u_xx = Σⱼ W₂ⱼ tanh''(zⱼ) W₁ⱼₓ² with tanh'' = −2 tanh (1 − tanh²).
    net = MLP(MLPConfig(depth=1, width=16, dtype="float64"), seed=5)
    with torch.no_grad():
        for layer in net.layers:
            layer.bias.normal_(generator=torch.Generator().manual_seed(0))
    x = _points(net.config, n=50)
    (l1, l2) = net.layers
    s = torch.tanh(l1(x))
    exact = (-2 * s * (1 - s**2) * l1.weight[:, 0] ** 2) @ l2.weight.T
    d = Partials(net, x, ("x", "t"))
    torch.testing.assert_close(d("xx"), exact, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(d.u, net(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    net = build_model(MLPConfig(fourier_features=4), seed=0).to("cuda")
    x = torch.rand(5, 2, device="cuda")
    assert Partials(net, x, ("x", "t"))("xx").device.type == "cuda"


def test_models_never_import_problems_or_training() -> None:
    # Static: importing explorer.models runs explorer/__init__, which loads problems.
    banned = ("problems", "solvers", "losses", "training", "state", "ui", "plotting")
    package = Path(explorer.models.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                bad = parts[0] == "explorer" and parts[1:2] and parts[1] in banned
                assert not bad, f"{path.name} imports {name}"

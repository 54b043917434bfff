"""Operator networks: registry contracts, the spectral layer against an explicit DFT,
resolution invariance of the FNO, TFNO parameter counts, refused configurations."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from explorer.models import (
    FNO,
    TFNO,
    DeepONet,
    DeepONetConfig,
    FNOConfig,
    SpectralConv,
    TFNOConfig,
    UNetConfig,
    build_model,
    truncated_dft,
)
from explorer.models.spectral_weights import DenseWeights

F64 = torch.float64

# Small configs per operator model; test_mlp.py checks that these and its own
# examples cover MODELS.
EXAMPLES: dict[type[Any], list[Any]] = {
    FNOConfig: [
        FNOConfig(modes=4, width=6, layers=2, projection=8, dtype="float64"),
        FNOConfig(dim=2, modes=3, width=5, layers=2, padding=0.25, positional="closed"),
        FNOConfig(in_channels=2, out_channels=3, modes=2, width=4, positional="none"),
    ],
    TFNOConfig: [
        TFNOConfig(modes=4, width=6, layers=2, rank=3, dtype="float64"),
        TFNOConfig(dim=2, modes=3, width=5, layers=2, factorization="cp", rank=4),
    ],
    DeepONetConfig: [
        DeepONetConfig(sensors=8, width=8, basis=5, dtype="float64"),
        DeepONetConfig(
            sensors=16, width=8, basis=5, grid="periodic", activation="tanh"
        ),
    ],
    UNetConfig: [
        UNetConfig(width=4, levels=2, dtype="float64"),
        UNetConfig(dim=2, in_channels=2, width=4, levels=2, boundary="edge"),
    ],
}
CONFIGS = [c for cs in EXAMPLES.values() for c in cs]


def _input(config: Any, n: int = 16, batch: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    dim = getattr(config, "dim", 1)
    c = getattr(config, "in_channels", 1)
    dtype = F64 if config.dtype == "float64" else torch.float32
    return torch.randn(batch, c, *([n] * dim), generator=g, dtype=dtype)


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_shape_dtype_gradients_and_seed(config: Any) -> None:
    net = build_model(config, seed=0)
    a = _input(config, n=18 if isinstance(config, UNetConfig) else 16)
    u = net(a)
    assert u.shape == (3, getattr(config, "out_channels", 1), *a.shape[2:])
    assert u.dtype == a.dtype
    u.square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    state = torch.get_rng_state()
    s1, s2, s3 = (build_model(config, seed=s).state_dict() for s in (5, 5, 6))
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert any(not torch.equal(s1[k], s3[k]) for k in s1)


def test_spectral_conv_is_an_explicit_truncated_dft() -> None:
    n, m, cin, cout = 8, 3, 2, 2
    torch.manual_seed(0)
    conv = SpectralConv(DenseWeights((cin, cout, m))).double()
    w = conv.weights().detach()  # (cin, cout, m) complex
    v = torch.randn(1, cin, n, dtype=F64)
    j = torch.arange(n, dtype=F64)
    k = torch.arange(m, dtype=F64)
    dft = torch.exp(-2j * math.pi * k[:, None] * j[None, :] / n)  # (m, n)
    vh = v.to(torch.complex128) @ dft.T  # (1, cin, m)
    oh = torch.einsum("bik,iok->bok", vh, w)
    # irfft: (1/n)[Re ô₀ + 2 Re Σ_{k≥1} ô_k e^{2πikj/n}] (the k = 0 term is real).
    basis = torch.exp(2j * math.pi * k[:, None] * j[None, :] / n)
    got = conv(v)
    expected = oh[..., 0].real[..., None] * torch.ones(n, dtype=F64)
    for kk in range(1, m):
        expected = expected + 2 * (oh[..., kk, None] * basis[kk]).real
    assert torch.allclose(got, expected / n, atol=1e-12)


@pytest.mark.parametrize("grid", [(9,), (16,), (10, 7), (12, 16)])
def test_truncated_dft_equals_torch_fft(grid: tuple[int, ...]) -> None:
    m = 3
    g = torch.Generator().manual_seed(3)
    v = torch.randn(2, 3, *grid, dtype=F64, generator=g)
    spectrum = torch.fft.rfftn(v, dim=tuple(range(2, v.ndim)))
    if len(grid) == 1:
        kept = spectrum[..., :m]
    else:
        kept = torch.cat([spectrum[..., :m, :m], spectrum[..., -m:, :m]], dim=-2)
    got = truncated_dft.truncated(v, m)
    assert torch.allclose(got, kept, rtol=0, atol=1e-12)
    oh = torch.randn(kept.shape, dtype=torch.complex128, generator=g)
    full = torch.zeros_like(spectrum)
    if len(grid) == 1:
        full[..., :m] = oh
    else:
        full[..., :m, :m], full[..., -m:, :m] = oh[..., :m, :], oh[..., m:, :]
    expected = torch.fft.irfftn(full, s=grid, dim=tuple(range(2, v.ndim)))
    got = truncated_dft.inverse(oh, grid)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)


def test_bases_cached_in_inference_mode_still_train() -> None:
    conv = SpectralConv(DenseWeights((1, 1, 6, 3)))
    with torch.inference_mode():  # the first call at this grid fills the cache
        conv(torch.randn(1, 1, 13, 11))
    conv(torch.randn(1, 1, 13, 11)).sum().backward()
    assert conv.weights.weight.grad is not None


def test_spectral_conv_gradcheck() -> None:
    torch.manual_seed(1)
    conv = SpectralConv(DenseWeights((2, 2, 6, 3))).double()
    v = torch.randn(1, 2, 6, 6, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (v,))


def _band_limited(n: int, batch: int = 2) -> torch.Tensor:
    x = torch.arange(n, dtype=F64) / n
    out = torch.zeros(batch, 1, n, dtype=F64)
    for b in range(batch):
        out[b, 0] = torch.sin(2 * math.pi * (x + 0.1 * b)) + 0.5 * torch.cos(
            6 * math.pi * x
        )
    return out


def test_spectral_conv_is_exactly_resolution_invariant() -> None:
    torch.manual_seed(2)
    conv = SpectralConv(DenseWeights((1, 3, 4))).double()
    coarse, fine = conv(_band_limited(16)), conv(_band_limited(64))
    assert torch.allclose(fine[..., ::4], coarse, atol=1e-12)


def test_fno_evaluates_at_twice_the_resolution() -> None:
    config = FNOConfig(modes=6, width=16, layers=3, dtype="float64")
    net = FNO(config, seed=0)
    with torch.no_grad():
        coarse = net(_band_limited(64))
        fine = net(_band_limited(128))
    # Pointwise layers commute with subsampling; the GELUs create modes above the
    # coarse Nyquist frequency that alias on 64 points: small, not zero.
    rel = (fine[..., ::2] - coarse).norm() / coarse.norm()
    assert float(rel) < 1e-3


def test_tfno_has_far_fewer_parameters_than_the_fno() -> None:
    def count(net: torch.nn.Module) -> int:
        return sum(p.numel() for p in net.parameters())

    fno = count(FNO(FNOConfig(), seed=0))
    tucker = count(TFNO(TFNOConfig(rank=8), seed=0))
    cp = count(TFNO(TFNOConfig(factorization="cp", rank=8), seed=0))
    # Dense spectral weights: 4 layers × 64·64·16 complex = 524288 reals.
    spectral = 4 * 64 * 64 * 16 * 2
    assert fno - spectral == tucker - 4 * 2 * (8 * 8 * 8 + 2 * 64 * 8 + 16 * 8)
    assert cp == fno - spectral + 4 * 2 * (8 + 8 * (64 + 64 + 16))
    assert tucker < 0.1 * fno and cp < 0.1 * fno


@pytest.mark.parametrize(
    ("net", "a", "match"),
    [
        (
            FNO(FNOConfig(modes=16), seed=0),
            torch.zeros(1, 1, 24),
            r"FNOConfig.modes = 16.*modes <= 12",
        ),
        (
            TFNO(TFNOConfig(dim=2, modes=8), seed=0),
            torch.zeros(1, 1, 32, 12),
            r"TFNOConfig.modes = 8.*32×12.*modes <= 6",
        ),
        (
            DeepONet(DeepONetConfig(sensors=50), seed=0),
            torch.zeros(1, 1, 40),
            r"DeepONetConfig.sensors = 50 exceeds the 40 points.*sensors <= 40",
        ),
        (
            FNO(FNOConfig(in_channels=2), seed=0),
            torch.zeros(1, 1, 64),
            r"FNOConfig expects input \(batch, 2, n\)",
        ),
    ],
)
def test_unworkable_inputs_are_refused_with_the_fix(
    net: torch.nn.Module, a: torch.Tensor, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        net(a)


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (FNOConfig, "dim", 3),
        (FNOConfig, "modes", 0),
        (FNOConfig, "padding", 2.0),
        (FNOConfig, "positional", "polar"),
        (TFNOConfig, "factorization", "tt"),
        (TFNOConfig, "rank", 0),
        (DeepONetConfig, "sensors", 1),
        (UNetConfig, "levels", 9),
    ],
)
def test_config_errors_name_the_field(cls: type, field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.{field} = {value!r}"):
        cls(**{field: value})


def test_deeponet_reads_sensors_and_evaluates_anywhere() -> None:
    net = DeepONet(DeepONetConfig(sensors=5, width=8, basis=4, dtype="float64"), seed=0)
    x = torch.linspace(0, 1, 9, dtype=F64)
    a = (2 * x + 1)[None, None]
    assert torch.allclose(
        net.sensor_values(a), 2 * torch.linspace(0, 1, 5, dtype=F64) + 1
    )
    y = torch.linspace(0, 1, 9, dtype=F64)
    assert torch.allclose(net.evaluate(a, y)[:, None], net(a))

"""The PINN network: a fully connected net with optional random Fourier features.

Layout: points ``(n, in_dim)`` in, values ``(n, out_dim)`` out, also for
``out_dim == 1`` (the loss, which knows the problem, squeezes scalar fields). The
forward pass is a plain stack of ``nn.Linear`` layers with no in-place ops and no
data-dependent branches, so it runs under ``torch.func`` (``functional_call``,
``vmap``, ``jvp``, ``jacrev``). Training takes input derivatives by
:meth:`MLP.forward_jet` (Taylor mode) at thousands of points per step, the hottest
code of the product: tanh jets up to second order run as one fused autograd node
(:mod:`explorer.models.tanh_jet`), which steps aside for ``torch.func``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer._rng import seeded
from explorer._validate import check_choice, check_range
from explorer.autodiff import Jet, jet_elementwise, jet_linear
from explorer.models.tanh_jet import tanh_mlp_jet

__all__ = ["MLP", "Activation", "MLPConfig"]

Activation = Literal["tanh", "sin", "gelu", "silu", "softplus"]
Init = Literal["glorot_normal", "glorot_uniform"]
DType = Literal["float32", "float64"]

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "silu": F.silu,
    "softplus": F.softplus,
}


def _activation_jet(name: str, z: Tensor, order: int) -> tuple[Tensor, list[Tensor]]:
    """σ(z) and σ′(z), ..., σ⁽ᵒʳᵈᵉʳ⁾(z) in closed form (sin already carries ω₀)."""
    if name == "tanh":  # σ′ = 1 − σ², then differentiate the polynomial in σ
        t = torch.tanh(z)
        d = [1 - t * t]
        if order > 1:
            d.append(-2 * t * d[0])
        if order > 2:
            d.append(-2 * (d[0] * d[0] + t * d[1]))
        if order > 3:
            d.append(-2 * (3 * d[0] * d[1] + t * d[2]))
        return t, d[:order]
    if name == "sin":
        s, c = torch.sin(z), torch.cos(z)
        return s, [c, -s, -c, s][:order]
    sg = torch.sigmoid(z)
    # Derivatives of the logistic sigmoid s: s′ = s(1−s), s″ = s′(1−2s),
    # s‴ = s′(1 − 6s + 6s²).
    s1 = sg * (1 - sg)
    s2 = s1 * (1 - 2 * sg)
    s3 = s1 * (1 - 6 * sg + 6 * sg * sg)
    if name == "softplus":
        return F.softplus(z), [sg, s1, s2, s3][:order]
    if name == "silu":  # (z s)⁽ᵏ⁾ = z s⁽ᵏ⁾ + k s⁽ᵏ⁻¹⁾
        ds = [sg, s1, s2, s3, s1 * (1 - 14 * sg + 36 * sg**2 - 24 * sg**3)]
        return z * sg, [z * ds[k] + k * ds[k - 1] for k in range(1, order + 1)]
    # GELU z Φ(z): Φ⁽ᵏ⁾ = φ·(1, −z, z² − 1, 3z − z³) for k = 1..4.
    phi = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    dcdf = [cdf, phi, -z * phi, (z * z - 1) * phi, (3 * z - z**3) * phi]
    return z * cdf, [z * dcdf[k] + k * dcdf[k - 1] for k in range(1, order + 1)]


@final
@dataclass(frozen=True)
class MLPConfig:
    """A fully connected PINN network.

    Attributes:
        in_dim: inputs per point, e.g. 2 for (x, t); under a periodic embedding, the
            embedding's output width (``PeriodicEmbedding.out_dim``), not the domain's.
        out_dim: field components, e.g. 2 for (Re u, Im u).
        depth: hidden layers (1 to 10).
        width: units per hidden layer (4 to 512).
        activation: ``"sin"`` is SIREN (Sitzmann et al. 2020) and always uses SIREN
            initialisation, ignoring ``init``.
        fourier_features: m random Fourier features (Tancik et al. 2020; Wang, Wang &
            Perdikaris 2021) ``[cos 2πBx, sin 2πBx]`` feeding the first layer with
            ``2m`` inputs, ``B ~ N(0, σ²)`` of shape ``(m, in_dim)``, fixed; 0 is off.
        fourier_scale: σ of B (0.1 to 100): the frequency band, in cycles per unit of
            input, that the network represents easily. Larger σ fits sharper features
            and overfits noise sooner.
        init: weight initialisation for non-sine activations; biases start at zero
            (Glorot normal as in DeepXDE's Burgers example).
        w0: SIREN frequency ω₀ (1 to 100): each sine layer computes sin(ω₀(Wz + b)).
            Hidden weights are scaled by 1/ω₀, so ω₀ sets only the first layer's band,
            about ω₀/in_dim radians per unit of input. Sitzmann's 30 suits images on
            [-1, 1]; PINN solutions on O(1) domains carry a few modes, where 30 starts
            training from a noisy field, so the default is 10. Lower it for long
            domains (KS on [0, 32π]) unless inputs are rescaled.
        dtype: parameter dtype; inputs must have the same dtype.
    """

    in_dim: int = 2
    out_dim: int = 1
    depth: int = 3
    width: int = 32
    activation: Activation = "tanh"
    fourier_features: int = 0
    fourier_scale: float = 1.0
    init: Init = "glorot_normal"
    w0: float = 10.0
    dtype: DType = "float32"

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "in_dim": (1, 64),
            "out_dim": (1, 64),
            "depth": (1, 10),
            "width": (4, 512),
            "fourier_features": (0, 256),
            "fourier_scale": (0.1, 100.0),
            "w0": (1.0, 100.0),
        }
    )

    def __post_init__(self) -> None:
        for name in ("in_dim", "out_dim", "depth", "width", "fourier_features"):
            lo, hi = self.BOUNDS[name]
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(
                    f"MLPConfig.{name} = {value!r} is not an integer; "
                    f"allowed: integers {lo} to {hi}"
                )
            check_range(f"MLPConfig.{name}", value, lo, hi)
        for name in ("fourier_scale", "w0"):
            check_range(f"MLPConfig.{name}", getattr(self, name), *self.BOUNDS[name])
        check_choice("MLPConfig.activation", self.activation, Activation)
        check_choice("MLPConfig.init", self.init, Init)
        check_choice("MLPConfig.dtype", self.dtype, DType)

    @property
    def torch_dtype(self) -> torch.dtype:
        """The parameters' torch dtype."""
        return torch.float64 if self.dtype == "float64" else torch.float32


@final
class MLP(nn.Module):
    """Fully connected net ``(n, in_dim) -> (n, out_dim)``, built from one config.

    Args:
        config: the architecture.
        seed: initialisation seed; weights and the Fourier matrix B are drawn inside
            :func:`explorer._rng.seeded`, so the global RNG is untouched.

    The parameters live on the CPU; move the module with ``.to(device)``.
    """

    def __init__(self, config: MLPConfig, *, seed: int) -> None:
        super().__init__()
        self.config = config
        dtype = config.torch_dtype
        m = config.fourier_features
        first = 2 * m if m else config.in_dim
        sizes = [first] + [config.width] * config.depth + [config.out_dim]
        with seeded(seed):
            # B is a buffer: it moves with .to() and is saved, but is never trained.
            B = torch.randn(m, config.in_dim, dtype=dtype) * config.fourier_scale
            self.register_buffer("B", B if m else None)
            self.layers = nn.ModuleList(
                nn.Linear(a, b, dtype=dtype) for a, b in itertools.pairwise(sizes)
            )
            for i, layer in enumerate(self.layers):
                self._init_layer(layer, first=i == 0)
        self._sine = config.activation == "sin"
        self._act = None if self._sine else _ACTIVATIONS[config.activation]
        self._w0 = float(config.w0)

    @torch.no_grad()
    def _init_layer(self, layer: nn.Linear, *, first: bool) -> None:
        if self.config.activation == "sin":
            # Sitzmann et al. 2020, Sec. 3.2: keeps pre-activations ~ U(-√6, √6)
            # through depth; biases as their reference code (PyTorch's default).
            n = layer.in_features
            bound = 1.0 / n if first else math.sqrt(6.0 / n) / self.config.w0
            layer.weight.uniform_(-bound, bound)
            layer.bias.uniform_(-1.0 / math.sqrt(n), 1.0 / math.sqrt(n))
            return
        if self.config.init == "glorot_normal":
            nn.init.xavier_normal_(layer.weight)
        else:
            nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)

    def embed(self, x: Tensor) -> Tensor:
        """The first layer's input: ``[cos 2πBx, sin 2πBx]`` ``(n, 2m)``, or ``x``."""
        if self.B is None:
            return x
        proj = (2.0 * math.pi) * (x @ self.B.T)
        return torch.cat((torch.cos(proj), torch.sin(proj)), dim=-1)

    def forward_jet(self, jet: Jet) -> Jet:
        """Propagate input derivatives through the net (Taylor mode, orders ≤ 4).

        The same arithmetic as :meth:`forward` on value and derivatives together:
        linear layers map every term by W, activations apply Faà di Bruno with
        closed-form σ⁽ᵏ⁾.
        """
        order = max((len(v) for v in jet.series.values()), default=0)
        if self.B is not None:
            z = jet_linear(jet, (2.0 * math.pi) * self.B, None)
            c, sn = torch.cos(z.value), torch.sin(z.value)
            cos = jet_elementwise(z, c, [-sn, -c, sn, c][:order])
            sin = jet_elementwise(z, sn, [c, -sn, -c, sn][:order])
            jet = Jet(
                torch.cat((cos.value, sin.value), -1),
                {
                    i: [torch.cat(p, -1) for p in zip(cos.series[i], sin.series[i])]
                    for i in jet.series
                },
            )
        if self.config.activation == "tanh" and order <= 2:
            return tanh_mlp_jet(jet, [(la.weight, la.bias) for la in self.layers])
        *hidden, last = self.layers
        for layer in hidden:
            if self._sine:
                z = jet_linear(jet, self._w0 * layer.weight, self._w0 * layer.bias)
            else:
                z = jet_linear(jet, layer.weight, layer.bias)
            value, derivs = _activation_jet(self.config.activation, z.value, order)
            jet = jet_elementwise(z, value, derivs)
        return jet_linear(jet, last.weight, last.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Values at points ``x`` ``(n, in_dim)``: ``(n, out_dim)``."""
        h = self.embed(x)
        *hidden, last = self.layers
        if self._sine:
            w0 = self._w0
            for layer in hidden:
                h = torch.sin(w0 * layer(h))
        else:
            act = self._act
            for layer in hidden:
                h = act(layer(h))
        return last(h)

"""A 1-D regression playground: full-batch gradient descent on a small MLP.

The optimisation phenomena of the landscape literature are cleanest here, away from
PDE residuals:

- *Edge of stability* (Cohen, Kaur, Li, Kolter & Talwalkar 2021): under full-batch
  gradient descent with step η the top Hessian eigenvalue λ_max rises
  ("progressive sharpening") until it reaches 2/η, then hovers there while the loss
  keeps falling, non-monotonically.
- *Bulk and outliers* (Sagun, Bottou & LeCun 2017; Papyan 2019): the Hessian
  spectrum is a bulk of eigenvalues near zero plus a few large outliers. For the
  squared loss L = ½·mean(e²) the Gauss–Newton part JᵀJ/n has rank ≤ n, so at
  least P − n eigenvalues of it are zero.
- *Lazy and rich training* (Jacot, Gabriel & Hongler 2018; Chizat, Oyallon & Bach
  2019): under the NTK parametrisation the network's tangent kernel moves less and
  less during training as the width grows: its relative change is bounded by
  O(1/√width), and Dyer & Gur-Ari (2020) argue it is O(1/width).

Nothing here prints, sleeps or starts threads; :meth:`RegressionTrainer.run` yields
one :class:`RegressionEvent` per step, and the consumer (the state layer, a test, a
notebook) computes diagnostics between steps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal, final, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer._rng import seeded
from explorer._validate import check_range
from explorer.training.loop import RunControl

__all__ = [
    "RegressionConfig",
    "RegressionEvent",
    "RegressionNet",
    "RegressionTrainer",
    "target_function",
]

Target = Literal["sine", "two_scales", "step", "bump"]
Activation = Literal["tanh", "gelu", "relu"]
Parametrization = Literal["standard", "ntk"]
DType = Literal["float32", "float64"]

_ACTIVATIONS = {"tanh": torch.tanh, "gelu": F.gelu, "relu": F.relu}


def target_function(name: Target, x: Tensor) -> Tensor:
    """The regression targets on [−1, 1].

    - ``sine``: sin(πx);
    - ``two_scales``: sin(πx) + ½ sin(6πx), a slow and a fast mode (spectral bias:
      the fast one is learned last);
    - ``step``: tanh(10x), a smoothed step;
    - ``bump``: exp(−25x²).
    """
    if name == "sine":
        return torch.sin(math.pi * x)
    if name == "two_scales":
        return torch.sin(math.pi * x) + 0.5 * torch.sin(6 * math.pi * x)
    if name == "step":
        return torch.tanh(10 * x)
    if name == "bump":
        return torch.exp(-25 * x * x)
    raise ValueError(
        f"target = {name!r} is not allowed; allowed: {', '.join(get_args(Target))}"
    )


@final
@dataclass(frozen=True)
class RegressionConfig:
    """Full-batch gradient descent on L(θ) = ½·mean((f_θ(xᵢ) − yᵢ)²), y = target(x).

    Attributes:
        target: the function to fit (see :func:`target_function`).
        n_points: training points, evenly spaced on [−1, 1] (both ends included).
        width: units per hidden layer.
        depth: hidden layers.
        activation: ``tanh``, ``gelu`` or ``relu``.
        parametrization: ``"standard"``: W ~ N(0, 1/fan_in), y = Wx + b (PyTorch's
            usual scaling); ``"ntk"``: W ~ N(0, 1), y = Wx/√fan_in + b (Jacot et al.):
            the same function at initialisation, but gradients scaled so that the
            tangent kernel has a finite limit as the width grows, and a fixed η
            trains every width.
        lr: the gradient-descent step η (no momentum, no schedule).
        seed: the network's initialisation.
        dtype: parameter dtype (float64 by default: Hessians of small nets are
            compared with 2/η to a few percent).
    """

    target: Target = "two_scales"
    n_points: int = 32
    width: int = 32
    depth: int = 2
    activation: Activation = "tanh"
    parametrization: Parametrization = "standard"
    lr: float = 0.2
    seed: int = 0
    dtype: DType = "float64"

    #: Allowed [lo, hi] of the numeric fields: checked here, read by the state layer.
    BOUNDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "n_points": (2, 1024),
            "width": (1, 2048),
            "depth": (1, 6),
            "lr": (1e-6, 100.0),
            "seed": (0, 2**31 - 1),
        }
    )

    def __post_init__(self) -> None:
        for name in ("n_points", "width", "depth", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(
                    f"RegressionConfig.{name} = {value!r} is not an integer; "
                    f"allowed: integers {self.BOUNDS[name][0]:g} to "
                    f"{self.BOUNDS[name][1]:g}"
                )
        for name, (lo, hi) in self.BOUNDS.items():
            check_range(f"RegressionConfig.{name}", getattr(self, name), lo, hi)
        for name, literal in (
            ("target", Target),
            ("activation", Activation),
            ("parametrization", Parametrization),
            ("dtype", DType),
        ):
            if getattr(self, name) not in get_args(literal):
                raise ValueError(
                    f"RegressionConfig.{name} = {getattr(self, name)!r} is not "
                    f"allowed; allowed: {', '.join(get_args(literal))}"
                )

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32


class RegressionNet(nn.Module):
    """The MLP 1 → width → … → width → 1 of a :class:`RegressionConfig`.

    Layout: ``(n, 1)`` in, ``(n,)`` out. Weights ``weight_k`` ``(out, in)`` and
    biases ``bias_k`` ``(out,)`` are plain parameters, so filter normalisation (one
    filter per row) and ``torch.func`` see the usual shapes.
    """

    def __init__(self, config: RegressionConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [1] + [config.width] * config.depth + [1]
        ntk = config.parametrization == "ntk"
        self._scales: list[float] = []
        with seeded(config.seed):
            for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
                w = torch.randn(fan_out, fan_in, dtype=config.torch_dtype)
                scale = 1.0 / math.sqrt(fan_in)
                # Same function at initialisation either way; only where 1/√fan_in
                # sits (in the weights or in the forward pass) differs.
                self.register_parameter(
                    f"weight_{k}", nn.Parameter(w if ntk else w * scale)
                )
                self.register_parameter(
                    f"bias_{k}",
                    nn.Parameter(torch.zeros(fan_out, dtype=config.torch_dtype)),
                )
                self._scales.append(scale if ntk else 1.0)
        self._act = _ACTIVATIONS[config.activation]

    def forward(self, x: Tensor) -> Tensor:
        h = x
        last = len(self._scales) - 1
        for k, scale in enumerate(self._scales):
            w, b = getattr(self, f"weight_{k}"), getattr(self, f"bias_{k}")
            h = F.linear(h, w) * scale + b if scale != 1.0 else F.linear(h, w, b)
            if k < last:
                h = self._act(h)
        return h.squeeze(-1)


@dataclass(frozen=True)
class RegressionEvent:
    """One gradient-descent step: ``loss`` is L(θ) before the step, at ``step − 1``."""

    step: int
    loss: float
    diverged: bool = False


class RegressionTrainer:
    """Full-batch gradient descent for a :class:`RegressionConfig`.

    Attributes:
        model: the network (stepped in place by :meth:`run`).
        x, y: the training points ``(n, 1)`` and targets ``(n,)``.
        step: steps taken.
    """

    def __init__(self, config: RegressionConfig) -> None:
        self.config = config
        self.model = RegressionNet(config)
        dtype = config.torch_dtype
        self.x = torch.linspace(-1, 1, config.n_points, dtype=dtype)[:, None]
        self.y = target_function(config.target, self.x[:, 0])
        self.step = 0
        self._optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr)

    def loss(self) -> Tensor:
        """L(θ) = ½·mean((f(x) − y)²) at the model's parameters (with a graph)."""
        return 0.5 * (self.model(self.x) - self.y).square().mean()

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """f(x) for points ``(m, 1)`` (no graph)."""
        return self.model(x.to(self.x.dtype))

    def train_step(self) -> RegressionEvent:
        """θ ← θ − η∇L(θ). A non-finite loss is reported, not stepped on."""
        loss = self.loss()
        value = float(loss.detach())
        if not math.isfinite(value):
            return RegressionEvent(self.step, value, diverged=True)
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        self._optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return RegressionEvent(self.step, value)

    def run(
        self, steps: int, *, control: RunControl | None = None
    ) -> Iterator[RegressionEvent]:
        """Take ``steps`` steps, yielding each; stops early on divergence or when
        ``control`` is stopped."""
        end = self.step + steps
        while self.step < end:
            if control is not None and not control.wait():
                return
            event = self.train_step()
            yield event
            if event.diverged:
                return

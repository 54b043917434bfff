"""Derivatives of fields with respect to their inputs.

Every PDE residual in :mod:`explorer.problems` takes its derivatives from here, so a
network, an exact solution written in torch, or any other batched function
``u: (n, d) -> (n,) | (n, c)`` is differentiated the same way.

Two methods, one answer:

- ``"reverse"`` (default): batched ``torch.autograd.grad`` with ``create_graph``.
  One backward pass gives every first derivative of every point at once: about 10x
  faster than nested forward mode for an MLP at 2,500 points (torch 2.13, CPU).
  It relies on each output row depending only on its own input row, which holds
  for pointwise fields: MLPs, hard-constraint transforms, closed-form solutions.
  Parameters keep their graph, so a loss built from these derivatives trains with
  ``.backward()``.
- ``"forward"``: ``vmap`` over points of nested ``torch.func.jvp``. Slower, but a
  pure function transform: use it inside other ``torch.func`` transforms (NTKs and
  Jacobians with respect to parameters), and for fields that mix rows.

Fields that are :class:`JetField` s (our networks) can skip the nested backward
passes: given the orders a residual needs (``orders={"x": 2, "t": 1}``), one forward
pass carries the value and every pure derivative ∂ᵏu/∂x_iᵏ through the layers as a
truncated Taylor series (Taylor-mode AD, written out here because torch has no
batched Taylor mode), and the loss's backward pass is an ordinary one. Measured on
2,540 points, a 3×20 tanh MLP, one CPU thread (torch 2.13), before the fused tanh
node: residual plus backward 5.6 ms against 5.8 ms by reverse mode for Burgers
(second order), 15.7 ms against 61 ms for Kuramoto–Sivashinsky (fourth order):
reverse mode's cost grows with each nested pass, the jet's only with the number of
terms.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.func import jvp, vmap

Field = Callable[[Tensor], Tensor]
"""A batched field: points ``(n, d)`` to values ``(n,)`` or ``(n, c)``."""

Method = Literal["reverse", "forward"]

__all__ = [
    "Field",
    "Jet",
    "JetField",
    "Method",
    "Partials",
    "input_jet",
    "jet_elementwise",
    "jet_linear",
    "jet_of",
    "jet_product",
    "jet_sum",
    "partial",
]


@dataclass(frozen=True)
class Jet:
    """A field's value and pure derivatives along chosen inputs.

    ``series[i][k - 1]`` is ∂ᵏ/∂x_iᵏ of ``value``; every tensor has its shape.
    ``identity`` marks :func:`input_jet`'s (a first layer may use its structure).
    """

    value: Tensor
    series: dict[int, list[Tensor]]
    identity: bool = False

    def map(self, fn: Callable[[Tensor], Tensor]) -> Jet:
        """Apply a linear map (a slice, a reshape) to every term."""
        return Jet(
            fn(self.value), {i: [fn(t) for t in s] for i, s in self.series.items()}
        )


class JetField(abc.ABC):
    """A field that can propagate a :class:`Jet` of its inputs (Taylor mode)."""

    @abc.abstractmethod
    def jet(self, xt: Tensor, orders: Mapping[int, int]) -> Jet:
        """Value and pure derivatives up to ``orders[i]`` along input ``i``."""


def input_jet(xt: Tensor, orders: Mapping[int, int]) -> Jet:
    """The jet of the identity map: ∂x/∂x_i = e_i, higher derivatives zero."""
    series = {}
    for i, k in orders.items():
        e = torch.zeros_like(xt)
        e[:, i] = 1.0
        series[i] = [e] + [torch.zeros_like(xt) for _ in range(k - 1)]
    return Jet(xt, series, identity=True)


def jet_linear(jet: Jet, weight: Tensor, bias: Tensor | None) -> Jet:
    """z = a Wᵀ + b: every derivative maps through W, only the value gets b."""
    value = torch.nn.functional.linear(jet.value, weight, bias)
    series = {
        i: [torch.nn.functional.linear(t, weight) for t in s]
        for i, s in jet.series.items()
    }
    return Jet(value, series)


def jet_elementwise(jet: Jet, value: Tensor, derivatives: Sequence[Tensor]) -> Jet:
    """y = σ(a) elementwise, given σ(a) and σ′(a), σ″(a), ... (as many as needed).

    Faà di Bruno for one direction, orders 1–4:
    y′ = σ′a′;  y″ = σ″a′² + σ′a″;  y‴ = σ‴a′³ + 3σ″a′a″ + σ′a‴;
    y⁗ = σ⁗a′⁴ + 6σ‴a′²a″ + σ″(3a″² + 4a′a‴) + σ′a⁗.
    """
    s = derivatives
    series = {}
    for i, a in jet.series.items():
        out = [s[0] * a[0]]
        if len(a) > 1:
            out.append(s[1] * (a[0] * a[0]) + s[0] * a[1])
        if len(a) > 2:
            out.append(s[2] * a[0] ** 3 + 3 * s[1] * a[0] * a[1] + s[0] * a[2])
        if len(a) > 3:
            out.append(
                s[3] * a[0] ** 4
                + 6 * s[2] * a[0] ** 2 * a[1]
                + s[1] * (3 * a[1] ** 2 + 4 * a[0] * a[2])
                + s[0] * a[3]
            )
        if len(a) > 4:
            raise ValueError("jets go up to fourth order; allowed orders: 1 to 4")
        series[i] = out
    return Jet(value, series)


_BINOMIAL = ((1,), (1, 1), (1, 2, 1), (1, 3, 3, 1), (1, 4, 6, 4, 1))


def jet_product(a: Jet, b: Jet) -> Jet:
    """The Leibniz rule: (ab)⁽ᵏ⁾ = Σⱼ C(k, j) a⁽ʲ⁾ b⁽ᵏ⁻ʲ⁾ along each direction."""
    series = {}
    for i, sa in a.series.items():
        ta, tb = [a.value, *sa], [b.value, *b.series[i]]
        series[i] = [
            sum(c * ta[j] * tb[k - j] for j, c in enumerate(_BINOMIAL[k]))
            for k in range(1, len(sa) + 1)
        ]
    return Jet(a.value * b.value, series)


def jet_sum(a: Jet, b: Jet) -> Jet:
    """a + b, term by term."""
    return Jet(
        a.value + b.value,
        {i: [x + y for x, y in zip(s, b.series[i])] for i, s in a.series.items()},
    )


def jet_of(f: Field, xt: Tensor, orders: Mapping[int, int]) -> Jet:
    """The jet of any pointwise field, by reverse mode (for cheap input transforms)."""
    names = [str(i) for i in range(xt.shape[-1])]
    d = Partials(f, xt, names)
    series = {i: [d(str(i) * k) for k in range(1, n + 1)] for i, n in orders.items()}
    return Jet(d.u, series)


def _pointwise(u: Field) -> Callable[[Tensor], Tensor]:
    # vmap wants a function of a single point; the field is written for batches.
    return lambda p: u(p.unsqueeze(0)).squeeze(0)


def _directional(
    g: Callable[[Tensor], Tensor], e: Tensor
) -> Callable[[Tensor], Tensor]:
    return lambda p: jvp(g, (p,), (e,))[1]


def partial(u: Field, xt: Tensor, axes: Sequence[int]) -> Tensor:
    """∂^k u / ∂x_{a1} ... ∂x_{ak} at every point of ``xt``, by forward mode.

    Args:
        u: batched field, ``(n, d) -> (n,)`` or ``(n, c)``.
        xt: points, ``(n, d)``.
        axes: input indices to differentiate along, e.g. ``(0, 0)`` for u_xx.

    Returns:
        The derivative with the shape of ``u(xt)``.

    Cost: 2^k forward evaluations per point for order k (nested jvp); composable
    with every ``torch.func`` transform.
    """
    d = xt.shape[-1]
    g = _pointwise(u)
    for a in axes:
        e = torch.zeros(d, dtype=xt.dtype, device=xt.device)
        e[a] = 1.0
        g = _directional(g, e)
    return vmap(g)(xt)


class Partials:
    """Named partial derivatives of one field at one set of points, computed on demand.

    ``d = Partials(u, xt, ("x", "t")); d("t") + d.u * d("x") - nu * d("xx")``. Each
    derivative is computed once per instance (an instance lives for one residual
    call), and with ``method="reverse"`` one backward pass yields the derivatives
    along every input at once, so u_x and u_t together cost one pass.
    """

    def __init__(
        self,
        u: Field,
        xt: Tensor,
        names: Sequence[str],
        *,
        orders: Mapping[str, int] | None = None,
        method: Method = "reverse",
    ) -> None:
        if method not in ("reverse", "forward"):
            raise ValueError(f"method {method!r} is unknown; allowed: reverse, forward")
        self._field = u
        self._method = method
        self._index = {n: i for i, n in enumerate(names)}
        self._cache: dict[str, Tensor] = {}
        self._from_jet = (
            bool(orders) and isinstance(u, JetField) and method == "reverse"
        )
        if self._from_jet:
            # Taylor mode: every derivative the residual declared, in one pass.
            jet = u.jet(xt, {self._index[n]: k for n, k in orders.items() if k})
            self._cache[""] = jet.value
            for n, k in orders.items():
                for order in range(1, k + 1):
                    self._cache[n * order] = jet.series[self._index[n]][order - 1]
        if method == "reverse" and not xt.requires_grad:
            xt = xt.detach().requires_grad_(
                True
            )  # a new leaf; the caller's is untouched
        self._xt = xt

    @property
    def u(self) -> Tensor:
        """The field's values, ``(n,)`` or ``(n, c)``."""
        if "" not in self._cache:
            with torch.enable_grad():
                self._cache[""] = self._field(self._xt)
        return self._cache[""]

    def __call__(self, spec: str) -> Tensor:
        """The partial named by ``spec``: "x" is u_x, "xxt" is u_xxt, "" is u."""
        key = "".join(sorted(spec))  # mixed partials commute for smooth fields
        if key in self._cache:
            return self._cache[key]
        unknown = [c for c in key if c not in self._index]
        if unknown:
            raise ValueError(
                f"derivative spec {spec!r} names an unknown input {unknown[0]!r}; "
                f"inputs are {tuple(self._index)}"
            )
        if not key:
            return self.u
        if self._method == "forward" or self._from_jet:  # jet caches hold no leaf
            axes = [self._index[c] for c in key]
            self._cache[key] = partial(self._field, self._xt, axes)
            return self._cache[key]
        # Reverse mode: differentiate the next-lower derivative (its spec minus one
        # letter) once, which gives its partials along every input; keep them all.
        lower = key[:-1]
        base = self(lower)
        for name, grad in self._gradients(base).items():
            self._cache.setdefault("".join(sorted(lower + name)), grad)
        return self._cache[key]

    def _gradients(self, values: Tensor) -> dict[str, Tensor]:
        xt = self._xt
        if not values.requires_grad:  # a field constant in xt: every partial is 0
            zero = torch.zeros_like(values)
            return dict.fromkeys(self._index, zero)
        with torch.enable_grad():  # slicing too: under no_grad it would cut the graph
            columns = values.unsqueeze(1) if values.dim() == 1 else values
            grads = [
                torch.autograd.grad(
                    columns[:, j].sum(),
                    xt,
                    create_graph=True,
                    materialize_grads=True,  # zero, not None, where u ignores an input
                )[0]
                for j in range(columns.shape[1])
            ]
        if values.dim() == 1:
            return {n: grads[0][:, i] for n, i in self._index.items()}
        return {
            n: torch.stack([g[:, i] for g in grads], dim=1)
            for n, i in self._index.items()
        }

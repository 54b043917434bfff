"""Losses as pure functions of a parameter dict, and flat parameter vectors.

Every diagnostic works on a ``ParamsLoss``: a callable ``params -> loss`` where
``params`` maps parameter names (``model.named_parameters()``) to tensors. It is
evaluated by :func:`torch.func.functional_call`, which swaps the given tensors into
the module for the duration of one call and puts the module's own parameters back
afterwards, so a diagnostic never writes to the model, never sets ``.grad`` and can
be transformed (``vmap`` over directions, ``grad``, ``vjp``, ``jacrev``).

Caveat: the swap is visible to another thread using the same module at the same
moment. Run diagnostics between training steps (from the trainer's event loop) or
while the run is paused, never concurrently with ``optimizer.step``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields

import torch
from torch import Tensor, nn
from torch.func import functional_call

from explorer.data import Collocation
from explorer.losses import PINNLoss

__all__ = [
    "REVERSE_MODE_TERMS",
    "FlatSpec",
    "Objective",
    "ParamsLoss",
    "evaluate",
    "functional",
    "objective",
    "parameters",
    "pinn_objective",
    "pinn_pointwise",
    "transformable",
]

ParamsLoss = Callable[[Mapping[str, Tensor]], Tensor | dict[str, Tensor]]
"""``params -> loss``: a scalar tensor, or a dict of named scalar tensors."""


def parameters(model: nn.Module) -> dict[str, Tensor]:
    """A detached copy of ``model``'s trainable parameters, by name."""
    return {
        name: p.detach().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


class _Call(nn.Module):
    # functional_call needs a module to reparametrise; this one holds the model as
    # its child "m" and calls any closure, so the closure may use the model freely.
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, fn: Callable[..., object], *args: object) -> object:
        return fn(*args)


def functional(model: nn.Module) -> Callable[..., object]:
    """``call(params, fn, *args)``: run ``fn(*args)`` with ``model``'s parameters
    replaced by ``params`` (missing names keep the model's own)."""
    wrapper = _Call(model)

    def call(params: Mapping[str, Tensor], fn: Callable[..., object], *args: object):
        named = {f"m.{k}": v for k, v in params.items()}
        return functional_call(wrapper, named, (fn, *args), strict=False)

    return call


#: PINN terms whose input derivatives :class:`PINNLoss` takes by reverse mode
#: (``torch.autograd.grad`` on the points). Inside a torch.func transform the field
#: does not look differentiable to autograd, so ``Partials`` returns zeros, silently:
#: diagnostics evaluate these terms by plain autograd instead.
REVERSE_MODE_TERMS = frozenset({"ic_velocity", "periodic"})


class Objective:
    """A ``ParamsLoss`` that says whether torch.func may transform it.

    Attributes:
        transformable: False when the loss takes derivatives by ``torch.autograd``
            inside (a torch.func transform would see them as zero).
        reverse_terms: for PINN losses, the terms that do.
        gradient_checked: a torch.func gradient has been compared with autograd's
            (and agreed, or ``transformable`` was cleared), so later Hessian
            operators on this loss skip that check.

    ``replicate``, when given, builds an equal objective on its own copy of the
    module: :func:`torch.func.functional_call` swaps tensors into a module, so two
    threads may evaluate at once only on two copies (landscape grids do).
    """

    def __init__(
        self,
        fn: Callable[[Mapping[str, Tensor]], object],
        *,
        transformable: bool = True,
        reverse_terms: frozenset[str] = frozenset(),
        replicate: Callable[[], Objective] | None = None,
    ) -> None:
        self._fn = fn
        self._replicate = replicate
        self.transformable = transformable
        self.reverse_terms = reverse_terms
        self.gradient_checked = False

    def __call__(self, params: Mapping[str, Tensor]):
        return self._fn(params)

    def replica(self) -> Objective | None:
        """An equal objective on a private copy of the module (None: not possible)."""
        return None if self._replicate is None else self._replicate()


def transformable(loss_fn: Callable[..., object]) -> bool:
    """False for an :class:`Objective` marked as needing autograd inside."""
    return bool(getattr(loss_fn, "transformable", True))


def evaluate(fn: Callable[..., object], *args: object) -> object:
    """``fn(*args)`` with autograd on, detached: a loss that differentiates by
    torch.autograd inside needs grad mode (under ``torch.no_grad`` the engine's
    reverse-mode ``Partials`` returns zeros), and the caller needs no graph."""
    with torch.enable_grad():
        out = fn(*args)
    if isinstance(out, Mapping):
        return {k: v.detach() for k, v in out.items()}
    return out.detach()


def objective(
    model: nn.Module, fn: Callable[[], Tensor], *, transformable: bool = True
) -> Objective:
    """A ``ParamsLoss`` from a closure that evaluates a loss with ``model``.

    ``fn()`` calls ``model`` as usual; ``objective(model, fn)(params)`` evaluates it
    with ``params`` in place of the model's parameters. Pass
    ``transformable=False`` if ``fn`` differentiates by ``torch.autograd`` (e.g.
    input derivatives by ``torch.autograd.grad``): torch.func transforms would
    silently see those derivatives as zero, so diagnostics then use autograd.
    (They also compare one torch.func result with autograd and fall back on a
    mismatch, but a flag is cheaper than a surprise.)

    >>> import torch
    >>> net = torch.nn.Linear(2, 1)
    >>> x = torch.ones(4, 2)
    >>> f = objective(net, lambda: net(x).square().mean())
    >>> zero = {k: torch.zeros_like(v) for k, v in parameters(net).items()}
    >>> float(f(zero))
    0.0
    """
    call = functional(model)
    return Objective(lambda params: call(params, fn), transformable=transformable)


def _leaf_points(batch: Collocation) -> Collocation:
    # Partials marks points as requiring grad unless they already do, which a
    # torch.func transform refuses; points that already do pass through untouched.
    return Collocation(
        **{
            f.name: getattr(batch, f.name).detach().requires_grad_(True)
            for f in fields(Collocation)
        }
    )


def _private(loss: PINNLoss) -> PINNLoss:
    # A shallow copy: evaluating terms stores causal weights on the loss object, which
    # must not leak transformed tensors into the trainer's loss.
    return copy.copy(loss)


def pinn_objective(
    loss: PINNLoss,
    batch: Collocation,
    *,
    weights: Mapping[str, float] | None = None,
    terms: Sequence[str] | None = None,
    split: bool = False,
) -> Objective:
    """The PINN's weighted loss Σₖ wₖ Lₖ(θ) on fixed points, as a ``ParamsLoss``.

    Args:
        loss: the PINN loss (its network is reparametrised, never modified).
        batch: the collocation points, fixed for every evaluation.
        weights: term weights (missing terms weigh 1, as in the trainer).
        terms: the terms to include (default: all the loss produces).
        split: return ``{"loss": total, "loss_<term>": wₖLₖ, ...}`` instead of the
            total, for landscapes per term.

    Raises:
        ValueError: ``terms`` names a term the loss does not produce.
    """
    private = _private(loss)
    points = _leaf_points(batch)
    call = functional(loss.pinn)
    weights = dict(weights or {})
    with torch.no_grad():
        available = tuple(private.terms(points))  # also warms the point-jet caches
    chosen = tuple(available if terms is None else terms)
    unknown = [t for t in chosen if t not in available]
    if unknown or not chosen:
        raise ValueError(
            f"terms = {tuple(terms or ())!r} is not allowed; allowed: a non-empty "
            f"subset of {available}"
        )

    def total() -> Tensor | dict[str, Tensor]:
        values = private.terms(points)
        parts = {f"loss_{k}": weights.get(k, 1.0) * values[k] for k in chosen}
        summed = sum(parts.values())
        return {"loss": summed, **parts} if split else summed

    reverse = frozenset(chosen) & REVERSE_MODE_TERMS
    return Objective(
        lambda params: call(params, total),
        transformable=not reverse,
        reverse_terms=reverse,
        replicate=lambda: pinn_objective(
            copy.deepcopy(loss), batch, weights=weights, terms=chosen, split=split
        ),
    )


def pinn_pointwise(loss: PINNLoss, batch: Collocation) -> Objective:
    """``params -> {term: pointwise errors}`` on fixed points (see
    :meth:`PINNLoss.pointwise`); each term's loss is the mean square of its errors.
    Its ``reverse_terms`` need autograd (see :data:`REVERSE_MODE_TERMS`)."""
    private = _private(loss)
    points = _leaf_points(batch)
    call = functional(loss.pinn)
    with torch.no_grad():
        names = frozenset(private.pointwise(points))
    reverse = names & REVERSE_MODE_TERMS
    return Objective(
        lambda params: call(params, private.pointwise, points),
        transformable=not reverse,
        reverse_terms=reverse,
    )


class FlatSpec:
    """Names and shapes of a parameter dict, to flatten it into one vector ``(P,)``.

    ``unflatten`` works on batches too: ``(..., P)`` becomes tensors
    ``(..., *shape)``.
    """

    def __init__(self, params: Mapping[str, Tensor]) -> None:
        self.names = tuple(params)
        self.shapes = tuple(tuple(v.shape) for v in params.values())
        self.sizes = tuple(math.prod(s) for s in self.shapes)
        self.numel = sum(self.sizes)

    def flatten(self, params: Mapping[str, Tensor]) -> Tensor:
        """Concatenate ``params`` (in this spec's order) along the last axis."""
        parts = [params[n] for n in self.names]
        lead = parts[0].shape[: parts[0].dim() - len(self.shapes[0])]
        return torch.cat([p.reshape(*lead, -1) for p in parts], dim=-1)

    def unflatten(self, vec: Tensor) -> dict[str, Tensor]:
        """Split a vector ``(..., P)`` into named tensors ``(..., *shape)``."""
        lead = vec.shape[:-1]
        chunks = torch.split(vec, self.sizes, dim=-1)
        return {
            n: c.reshape((*lead, *s))
            for n, c, s in zip(self.names, chunks, self.shapes)
        }


def scalar_loss(loss_fn: ParamsLoss) -> Callable[[Mapping[str, Tensor]], Tensor]:
    """``loss_fn`` if it returns a tensor; for a dict, its ``"loss"`` entry."""

    def f(params: Mapping[str, Tensor]) -> Tensor:
        out = loss_fn(params)
        if isinstance(out, Mapping):
            if "loss" not in out:
                raise ValueError(
                    f"the loss returned terms {tuple(out)} without a 'loss' entry; "
                    "curvature diagnostics need one scalar: return a tensor or "
                    "include 'loss'"
                )
            out = out["loss"]
        return out

    return f

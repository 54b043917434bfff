"""A PINN for a problem: the network, its hard constraints and trainable scalars.

``models`` knows nothing of PDEs; this is where a problem's domain, boundary and
initial conditions become input embeddings and output transforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import final

import torch
from torch import Tensor, nn

from explorer.autodiff import Jet, JetField
from explorer.losses.deflation import Deflation
from explorer.models import (
    MLP,
    ConstrainedModel,
    Dirichlet,
    InitialCondition,
    MLPConfig,
    PeriodicEmbedding,
    TrainableScalars,
)
from explorer.problems.base import AbstractProblem

__all__ = ["PINN", "PINNOptions", "build_pinn"]


@final
@dataclass(frozen=True)
class PINNOptions:
    """How the network meets its conditions.

    Attributes:
        hard_bc: Dirichlet walls built in (u = g + D·N) instead of a penalty term.
        hard_ic: the initial condition built in (u = u₀ + t/T·N) for evolution problems.
        periodic_embedding: periodic coordinates fed as cos/sin, so the net is exactly
            periodic; otherwise a penalty matches u and uₓ on opposite faces.
        trainable: coefficients fitted during training (inverse problems), with their
            initial guesses, e.g. ``(("nu", 0.05),)``; always includes the energy of
            eigenproblems (an ``("energy", E0)`` entry sets its starting guess).
        positive: trainable names kept positive through a log parameterisation.
    """

    hard_bc: bool = False
    hard_ic: bool = False
    periodic_embedding: bool = True
    trainable: tuple[tuple[str, float], ...] = ()
    positive: tuple[str, ...] = ()


class PINN(nn.Module, JetField):
    """A field ``(n, d) -> (n,)`` (or ``(n, c)``) plus trainable PDE scalars."""

    def __init__(
        self,
        field: nn.Module,
        scalars: TrainableScalars | None,
        components: int,
        built_in: frozenset[str] = frozenset(),
        deflation: Deflation | None = None,
    ) -> None:
        super().__init__()
        self.field = field
        self.scalars = scalars
        self.components = components
        self.built_in = built_in  # conditions met by construction: bc, ic, periodic
        self.deflation = deflation  # lower eigenstates projected out (excited states)

    @property
    def state(self) -> int:
        """Which eigenstate this network learns: the number of deflated states."""
        return 0 if self.deflation is None else self.deflation.energies.shape[0]

    def forward(self, xt: Tensor) -> Tensor:
        u = self.field(xt)
        u = u[..., 0] if self.components == 1 else u
        if self.deflation is not None:
            u = self.deflation.apply(self.field, xt, u)
        return u

    def jet(self, xt: Tensor, orders: Mapping[int, int]) -> Jet:
        jet = self.field.jet(xt, orders)
        jet = jet.map(lambda t: t[..., 0]) if self.components == 1 else jet
        if self.deflation is not None:
            jet = self.deflation.apply_jet(self.field, xt, jet)
        return jet

    def coefficients(self) -> dict[str, Tensor] | None:
        """Trainable coefficients to pass to ``problem.residual`` (None if none)."""
        return None if self.scalars is None else self.scalars()


def build_pinn(
    problem: AbstractProblem,
    net: MLPConfig,
    options: PINNOptions = PINNOptions(),
    *,
    seed: int,
    energy_guess: float | None = None,
    deflation: Deflation | None = None,
) -> PINN:
    """Build the PINN for ``problem``: ``net``'s in/out sizes are set from the problem.

    Args:
        problem: the PDE; its domain and conditions set the constraints.
        net: the network config (``in_dim``/``out_dim`` are overwritten).
        options: constraints and trainable coefficients.
        seed: initialisation seed.
        energy_guess: initial energy for eigenproblems (default: the potential's mean
            over the domain plus the lowest box mode, a rough but positive guess;
            with deflation, the highest deflated level plus the gap between the
            box's modes k and k + 1).
        deflation: lower eigenstates to project out, to learn an excited state
            (see :class:`~explorer.losses.deflation.Deflation`).
    """
    box = problem.domain()
    names = box.names
    embedding = None
    in_dim = box.dim
    periodic = [names.index(n) for n in names if n in box.periodic]
    if periodic and options.periodic_embedding:
        embedding = PeriodicEmbedding(
            coords=tuple(periodic),
            periods=tuple(box.highs[i] - box.lows[i] for i in periodic),
        )
        in_dim = embedding.out_dim(box.dim)
    outputs, built_in = [], set()
    if embedding is not None:
        built_in.add("periodic")
    walls = [i for i, n in enumerate(names) if n != "t" and n not in box.periodic]
    if options.hard_bc and walls:
        outputs.append(
            Dirichlet(
                coords=tuple(walls),
                lows=tuple(box.lows[i] for i in walls),
                highs=tuple(box.highs[i] for i in walls),
                lift=problem.boundary_condition,
            )
        )
        built_in.add("bc")
    if options.hard_ic and problem.kind == "evolution":
        it = names.index("t")
        outputs.append(
            InitialCondition(
                time_coord=it,
                t0=box.lows[it],
                span=box.highs[it] - box.lows[it],
                u0=problem.initial_condition,
            )
        )
        built_in.add("ic")
    config = replace(net, in_dim=in_dim, out_dim=problem.components)
    field = ConstrainedModel(
        MLP(config, seed=seed), embedding=embedding, outputs=outputs
    )
    initial = dict(options.trainable)
    specs = {s.name for s in problem.parameters()}
    if problem.kind == "eigen":
        specs.add("energy")  # its entry is the starting guess
    for name in initial:
        if name not in specs:
            raise ValueError(
                f"trainable coefficient {name!r} is not a parameter of {problem.name}; "
                f"allowed: {', '.join(sorted(specs))}"
            )
    if deflation is not None and problem.kind != "eigen":
        raise ValueError(
            f"deflation applies to eigenproblems; {problem.name} is a "
            f"{problem.kind} problem"
        )
    if problem.kind == "eigen":
        initial.setdefault("energy", _energy_guess(problem, energy_guess, deflation))
    scalars = None
    if initial:
        scalars = TrainableScalars(
            initial, positive=options.positive, dtype=config.torch_dtype
        )
    return PINN(field, scalars, problem.components, frozenset(built_in), deflation)


def _energy_guess(
    problem: AbstractProblem, guess: float | None, deflation: Deflation | None
) -> float:
    if guess is not None:
        return float(guess)
    box = problem.domain()
    lo, hi = box.bounds("x")
    if deflation is not None:  # E_{k-1} + (2k + 1)(π/L)²: exact for the box
        k = deflation.energies.shape[0]
        top = float(deflation.energies[-1])
        return top + (2 * k + 1) * (torch.pi / (hi - lo)) ** 2
    x = torch.linspace(lo, hi, 257, dtype=torch.float64)[:, None]
    # The residual's potential term: −ψ″ + Vψ = Eψ; use ⟨V⟩ + (π/L)² as a start.
    probe = problem.residual(lambda z: torch.ones_like(z[:, 0]), x, {"energy": 0.0})
    return float(probe.detach().mean()) + (torch.pi / (hi - lo)) ** 2

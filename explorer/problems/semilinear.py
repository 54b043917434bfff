"""Periodic evolution problems of the form uₜ = L u + N(u), for pseudo-spectral solvers.

A semilinear problem splits its right-hand side into a linear, constant-coefficient
part L, given by its Fourier symbol L(k), and a nonlinear part N, evaluated
pseudo-spectrally: derivatives in Fourier space, products in physical space. The
solver (:class:`explorer.solvers.spectral.SpectralETDRK4`) integrates L exactly and N
explicitly, and dealiases N; the problem only states the two parts and two scales that
the solver needs to pick its grid and time step.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from explorer.problems.base import AbstractProblem

__all__ = ["AbstractSemilinearProblem", "FourierGrid", "NonlinearTerm"]

NonlinearTerm = Callable[[Tensor], Tensor]
"""N in Fourier space: û ``(..., nk)`` to the spectrum of N(u), ``(..., nk)``."""


@dataclass(frozen=True, eq=False)
class FourierGrid:
    """A uniform periodic grid of ``n`` points on an interval of length ``length``.

    Real fields use the ``rfft`` layout (``nk = n//2 + 1`` modes), complex fields the
    full ``fft`` layout (``nk = n``). Transforms act on the last dimension and batch
    over the others.

    Attributes:
        n: grid points.
        length: period L.
        complex_field: True for complex-valued fields (``fft`` layout).
        k: angular wavenumbers 2πm/L of the modes, ``(nk,)``, in the real dtype of the
            field (float64 by default), on its device.
    """

    n: int
    length: float
    complex_field: bool
    k: Tensor

    @classmethod
    def build(
        cls,
        n: int,
        length: float,
        *,
        complex_field: bool,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> FourierGrid:
        """The grid with its wavenumbers in real ``dtype`` on ``device``."""
        d = length / n
        freq = torch.fft.fftfreq if complex_field else torch.fft.rfftfreq
        k = 2 * math.pi * freq(n, d=d, dtype=torch.float64, device=device)
        k = k.to(dtype)
        return cls(n, float(length), complex_field, k)

    @property
    def k_max(self) -> float:
        """The largest resolved angular wavenumber π n / L."""
        return math.pi * self.n / self.length

    def spectral(self, u: Tensor) -> Tensor:
        """Fourier coefficients of ``u`` ``(..., n)`` (unnormalised forward FFT)."""
        return torch.fft.fft(u) if self.complex_field else torch.fft.rfft(u)

    def physical(self, u_hat: Tensor) -> Tensor:
        """Grid values from Fourier coefficients (the inverse of :meth:`spectral`)."""
        if self.complex_field:
            return torch.fft.ifft(u_hat)
        return torch.fft.irfft(u_hat, n=self.n)


class AbstractSemilinearProblem(AbstractProblem):
    """A 1-D periodic evolution problem uₜ = L u + N(u) on x ∈ [a, a + L), t ∈ [0, T].

    Besides the usual problem methods, subclasses implement :meth:`linear_symbol`,
    :meth:`nonlinear_term` and :meth:`nonlinear_rate`, and may override
    :meth:`layer_width` (a resolution hint). Complex-valued problems
    (``components = 2``) expose real and imaginary parts as two real components
    ``(u, v)`` in :meth:`residual`, :meth:`initial_condition` and
    :meth:`exact_solution`, but the spectral solver evolves the complex field u + iv.
    """

    kind = "evolution"

    @property
    def complex_field(self) -> bool:
        """Whether the solver evolves a complex field (``components == 2``)."""
        return self.components == 2

    # ---- what the spectral solver needs -------------------------------------------
    @abc.abstractmethod
    def linear_symbol(self, k: Tensor) -> Tensor:
        """The Fourier symbol L(k): (L u)^(k) = L(k) û(k).

        Args:
            k: angular wavenumbers, float64, any shape.

        Returns:
            L(k) with the shape of ``k``, real (float64) or complex (complex128).
        """

    @abc.abstractmethod
    def nonlinear_term(self, grid: FourierGrid) -> NonlinearTerm:
        """N on ``grid`` as a map from û to the spectrum of N(u), not yet dealiased.

        Called once per solve, so constant tensors (e.g. i k) are built here and
        captured by the returned function; the function is called four times per
        time step on batches ``(batch, nk)`` and must not modify its input.
        """

    @abc.abstractmethod
    def nonlinear_rate(self, amplitude: float, k_max: float) -> float:
        """A bound on the rate (1/time) of N for max|u| ≤ ``amplitude``.

        The solver's explicit stages are stable and accurate for steps
        dt ≲ courant / rate: ``k_max`` (the largest dealiased wavenumber) enters
        advective terms (u uₓ gives amplitude·k_max), reactions do not.
        """

    def layer_width(self, amplitude: float) -> float:
        """The width of the thinnest layer the solution forms (a resolution hint).

        The solver refines its internal grid until ``k_max · width`` is large enough
        that the spectrum of a tanh/sech-shaped layer has decayed. The default, inf,
        means the output grid is trusted as it is.
        """
        return math.inf

    def initial_state(self, x: Tensor) -> Tensor:
        """u(x, 0) at grid points ``x`` ``(n,)``: real, or complex for complex fields.

        The default evaluates :meth:`initial_condition`; (u, v) becomes u + iv.
        """
        u0 = self.initial_condition(x[:, None])
        if self.complex_field:
            return torch.complex(u0[..., 0], u0[..., 1])
        return u0

    @property
    def interval(self) -> tuple[float, float]:
        """The periodic space interval [a, b)."""
        return self.domain().bounds("x")

    @property
    def t_end(self) -> float:
        """The final time T."""
        return self.domain().bounds("t")[1]

    # ---- validation ---------------------------------------------------------------
    def validate(self) -> None:
        """Checks that u₀ is continuous across the periodic boundary.

        A jump at x = a ≡ b is a discontinuity that a Fourier method resolves only
        with Gibbs oscillations; a kink (jump in uₓ) is allowed.
        """
        lo, hi = self.interval
        x = torch.tensor([lo, hi], dtype=torch.float64)
        u0 = self.initial_state(x)
        jump = float((u0[1] - u0[0]).abs())
        scale = max(1.0, float(u0.abs().max()))
        if not math.isfinite(jump) or jump > 1e-6 * scale:
            given = ", ".join(
                f"{s.name} = {getattr(self, s.name)!r}"
                for s in self.parameters()
                if s.is_expression
            )
            raise ValueError(
                f"{self.name}: the initial condition ({given}) is not periodic on "
                f"[{lo:g}, {hi:g}): it jumps by {jump:.3g} across x = {lo:g} ≡ {hi:g}; "
                "allowed: an initial condition with equal values at both ends "
                "(change it or the domain length)"
            )

"""The finite-difference eigensolver against exact spectra, literature values and
transcendental equations solved independently with brentq."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.special import eval_hermite
from scipy.stats import linregress

from explorer.problems import Poisson1D, Schrodinger1D
from explorer.solvers import solve
from explorer.solvers.eigen import EigenSolver, fix_sign

SOLVER = EigenSolver()


def _solve(problem: Schrodinger1D, n: int = 512, solver: EigenSolver = SOLVER):
    axes = {"x": problem.domain().axis("x", n)}
    fields = solver.solve(problem, axes)
    return axes["x"].numpy(), fields["energy"][1].numpy(), fields["u"][1].numpy()


def _hermite_function(n: int, x: np.ndarray, omega: float) -> np.ndarray:
    """ψₙ of V = ω²x²/4 (ħ²/2m = 1), ∫ψ² = 1, signed positive in its leftmost lobe."""
    xi = math.sqrt(omega / 2) * x
    norm = (omega / (2 * math.pi)) ** 0.25 / math.sqrt(2.0**n * math.factorial(n))
    return (-1) ** n * norm * eval_hermite(n, xi) * np.exp(-(xi**2) / 2)


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"width": 0.5, "n_states": 10},
        {"potential": "harmonic"},
        {"potential": "harmonic", "omega": 5.0, "n_states": 10},
    ],
)
def test_energies_match_the_exact_spectrum(values: dict) -> None:
    p = Schrodinger1D(**values)
    _, energy, _ = _solve(p)
    exact = p.exact_energies().numpy()
    np.testing.assert_allclose(energy, exact, rtol=1e-6 if p.n_states > 4 else 1e-8)


def test_states_match_the_exact_eigenfunctions() -> None:
    x, _, psi = _solve(Schrodinger1D(n_states=6))
    for n in range(6):
        exact = math.sqrt(2) * np.sin((n + 1) * math.pi * x)
        np.testing.assert_allclose(psi[n], exact, atol=1e-8)
    p = Schrodinger1D(potential="harmonic", omega=3.0, n_states=6)
    x, _, psi = _solve(p)
    for n in range(6):
        np.testing.assert_allclose(psi[n], _hermite_function(n, x, 3.0), atol=1e-7)
    ground = p.exact_solution(torch.as_tensor(x)[:, None]).numpy()
    np.testing.assert_allclose(psi[0], ground, atol=1e-7)


@pytest.mark.parametrize(
    ("values", "intervals"),
    [({}, (16, 32, 64, 128)), ({"potential": "harmonic"}, (32, 64, 128, 256))],
)
def test_order_of_convergence(values: dict, intervals: tuple[int, ...]) -> None:
    p = Schrodinger1D(**values)
    exact = p.exact_energies().numpy()
    err = [
        np.abs(_solve(p, 64, EigenSolver(m))[1] / exact - 1).max() for m in intervals
    ]
    slope = linregress(np.log(intervals), np.log(err)).slope
    assert abs(-slope - EigenSolver.order_space) < 0.3, (slope, err)


def _finite_well_levels(v0: float, w: float) -> tuple[float, float]:
    """Even: k tan(kw/2) = κ; odd: −k cot(kw/2) = κ; κ = √(V₀ − k²), E = k²."""
    kappa = lambda k: math.sqrt(v0 - k * k)  # noqa: E731
    top = math.sqrt(v0)
    even = brentq(
        lambda k: k * math.tan(k * w / 2) - kappa(k),
        1e-12,
        min(math.pi / w, top) - 1e-12,
    )
    odd = brentq(
        lambda k: -k / math.tan(k * w / 2) - kappa(k),
        math.pi / w + 1e-12,
        min(2 * math.pi / w, top) - 1e-12,
    )
    return even**2, odd**2


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"depth": 37.3, "width": 1.7, "half_width": 4.1},
        {"depth": 250.0, "width": 0.6},
    ],
)
def test_finite_well_against_the_transcendental_equations(values: dict) -> None:
    p = Schrodinger1D(potential="finite-well", **values)
    e0, e1 = _finite_well_levels(p.depth, p.width)
    _, energy, psi = _solve(p)
    np.testing.assert_allclose(energy[:2], [e0, e1], rtol=1e-6)
    assert np.all(psi[0] >= -1e-12)


def test_barrier_ground_state_against_its_transcendental_equation() -> None:
    """Box [−L, L] with V₀ on |x| < w/2: q tanh(qw/2) = −k cot(k(L − w/2))."""
    p = Schrodinger1D(potential="barrier", depth=30.0, width=1.0, half_width=3.0)
    d = p.half_width - p.width / 2

    def match(k: float) -> float:
        q = math.sqrt(p.depth - k * k)
        return q * math.tanh(q * p.width / 2) + k / math.tan(k * d)

    k = brentq(match, math.pi / (2 * d), math.pi / d - 1e-12)
    _, energy, _ = _solve(p)
    assert abs(energy[0] / k**2 - 1) < 1e-6


def test_quartic_oscillator_against_literature_values() -> None:
    """−ψ'' + x⁴ψ = Eψ: E₀..E₃ to 10 digits (Hioe & Montroll, J. Math. Phys. 1975)."""
    p = Schrodinger1D(potential="custom", custom_potential="x**4")
    _, energy, _ = _solve(p)
    literature = [1.0603620905, 3.7996730298, 7.4556979380, 11.6447455114]
    np.testing.assert_allclose(energy, literature, rtol=1e-9)


@pytest.mark.parametrize("potential", ["double-well", "barrier", "harmonic"])
def test_states_are_orthonormal_with_parity(potential: str) -> None:
    x, energy, psi = _solve(Schrodinger1D(potential=potential, depth=20.0))
    gram = np.trapezoid(psi[:, None, :] * psi[None, :, :], x, axis=-1)
    np.testing.assert_allclose(gram, np.eye(len(energy)), atol=1e-6)
    assert np.all(np.diff(energy) > 0)
    for n, state in enumerate(psi):  # symmetric V: ψₙ(−x) = (−1)ⁿ ψₙ(x)
        np.testing.assert_allclose(state[::-1], (-1) ** n * state, atol=1e-7)


def test_sign_convention() -> None:
    psi = np.array([[0.0, 0.0], [-1e-9, 0.0], [-0.2, 0.3], [0.5, -0.9], [0.0, 0.0]])
    fixed = fix_sign(psi)
    np.testing.assert_array_equal(fixed[:, 0], -psi[:, 0])  # first lobe was negative
    np.testing.assert_array_equal(fixed[:, 1], psi[:, 1])
    _, _, states = _solve(Schrodinger1D(potential="double-well", n_states=6))
    for state in states:
        lobe = np.flatnonzero(np.abs(state) > 1e-3 * np.abs(state).max())[0]
        assert state[lobe] > 0


def test_output_grid_dtype_and_progress() -> None:
    p = Schrodinger1D(potential="harmonic")
    axes = {"x": p.domain().axis("x", 33, dtype=torch.float32)}
    seen: list[float] = []
    fields = SOLVER.solve(p, axes, progress=seen.append)
    assert fields["u"][0] == ("state", "x") and fields["u"][1].shape == (4, 33)
    assert fields["energy"][0] == ("state",) and fields["u"][1].dtype == torch.float32
    assert seen[-1] == 1.0


def test_reference_datasets_for_every_potential() -> None:
    for potential in (
        "infinite-well",
        "finite-well",
        "barrier",
        "harmonic",
        "double-well",
    ):
        ds = solve(Schrodinger1D(potential=potential, n_states=3), {"x": 101})
        assert ds["u"].dims == ("state", "x") and ds["u"].shape == (3, 101)
        assert ds["energy"].shape == (3,) and np.isfinite(ds["u"].values).all()


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="intervals"):
        EigenSolver(8)
    with pytest.raises(ValueError, match="intervals"):
        EigenSolver(100.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schrodinger only"):
        SOLVER.solve(Poisson1D(), {"x": torch.linspace(0, 1, 9, dtype=torch.float64)})

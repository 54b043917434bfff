"""Schrödinger 1-D: residual with the energy coefficient, exact states, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.problems import Schrodinger1D, make_problem
from explorer.solvers import solve

POTENTIALS = ("infinite-well", "finite-well", "barrier", "harmonic", "double-well")


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"width": 2.5},
        {"potential": "harmonic"},
        {"potential": "harmonic", "omega": 0.7, "half_width": 10.0},
    ],
)
def test_exact_ground_state_has_zero_residual(
    values: dict, generator: torch.Generator
) -> None:
    p = Schrodinger1D(**values)
    x = p.domain().sample(256, generator=generator)
    energy = p.exact_energies(1)[0]
    r = p.residual(p.exact_solution, x, {"energy": energy}).detach()
    assert r.abs().max() <= 1e-12 * (1 + energy)
    # A wrong energy leaves (E − E′) ψ.
    r = p.residual(p.exact_solution, x, {"energy": energy + 1}).detach()
    torch.testing.assert_close(r, -p.exact_solution(x))


def test_energy_is_trainable(generator: torch.Generator) -> None:
    p = Schrodinger1D()
    x = p.domain().sample(64, generator=generator)
    energy = torch.tensor(9.0, dtype=torch.float64, requires_grad=True)
    p.residual(p.exact_solution, x, {"energy": energy}).square().mean().backward()
    assert energy.grad is not None and energy.grad < 0  # E too low: grow it


@pytest.mark.parametrize("coeffs", [None, {}, {"nu": torch.tensor(1.0)}])
def test_missing_energy_is_refused(coeffs: dict | None) -> None:
    p = Schrodinger1D()
    x = torch.rand(4, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="energy"):
        p.residual(p.exact_solution, x, coeffs)


def test_exact_energies_in_the_stated_units() -> None:
    torch.testing.assert_close(
        Schrodinger1D().exact_energies(3),
        torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64) * math.pi**2,
    )
    torch.testing.assert_close(
        Schrodinger1D(width=2.0).exact_energies(1),
        torch.tensor([math.pi**2 / 4], dtype=torch.float64),
    )
    torch.testing.assert_close(  # V = x²: E = 2n + 1
        Schrodinger1D(potential="harmonic").exact_energies(),
        torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64),
    )
    for potential in ("finite-well", "barrier", "double-well", "custom"):
        p = Schrodinger1D(potential=potential)
        assert p.exact_energies() is None
        assert p.exact_solution(torch.zeros(3, 1, dtype=torch.float64)) is None


@pytest.mark.parametrize("values", [{}, {"potential": "harmonic", "omega": 3.0}])
def test_exact_ground_state_is_normalised_and_positive(values: dict) -> None:
    p = Schrodinger1D(**values)
    lo, hi = p.domain().bounds("x")
    x = torch.linspace(lo, hi, 4001, dtype=torch.float64)
    psi = p.exact_solution(x[:, None])
    assert psi[1:-1].min() > 0
    norm = torch.trapezoid(psi**2, x)
    assert abs(float(norm) - 1) < 1e-7


def test_potentials_match_their_definitions() -> None:
    x = torch.tensor([-0.6, -0.2, 0.0, 0.3, 0.7], dtype=torch.float64)
    v = {
        name: Schrodinger1D(potential=name, depth=10.0, width=1.0).potential_energy(x)
        for name in POTENTIALS
    }
    assert v["finite-well"].tolist() == [10.0, 0.0, 0.0, 0.0, 10.0]
    assert v["barrier"].tolist() == [0.0, 10.0, 10.0, 10.0, 0.0]
    torch.testing.assert_close(v["harmonic"], x**2)  # ω = 2
    torch.testing.assert_close(v["double-well"], 10 * (4 * x**2 - 1) ** 2)
    custom = Schrodinger1D(potential="custom", custom_potential="3*x + 1")
    torch.testing.assert_close(custom.potential_energy(x), 3 * x + 1)


def test_cell_averages_are_exact() -> None:
    p = Schrodinger1D(potential="finite-well", depth=8.0, width=1.0)
    left = torch.tensor([-1.0, -0.75, 0.25, -0.1], dtype=torch.float64)
    right = torch.tensor([-0.5, -0.25, 1.25, 0.1], dtype=torch.float64)
    torch.testing.assert_close(
        p.potential_average(left, right),
        torch.tensor([8.0, 4.0, 6.0, 0.0], dtype=torch.float64),
    )
    q = Schrodinger1D(potential="double-well", depth=2.0, width=1.0)
    a, b = (
        torch.tensor([0.1], dtype=torch.float64),
        torch.tensor([0.9], dtype=torch.float64),
    )
    # ∫ 2(4x² − 1)² dx = 2(16x⁵/5 − 8x³/3 + x)
    antiderivative = lambda s: 2 * (16 * s**5 / 5 - 8 * s**3 / 3 + s)  # noqa: E731
    mean = (antiderivative(0.9) - antiderivative(0.1)) / 0.8
    torch.testing.assert_close(q.potential_average(a, b), torch.tensor([mean]).double())


def test_domains() -> None:
    assert Schrodinger1D(width=1.5).domain().bounds("x") == (0.0, 1.5)
    for name in POTENTIALS[1:]:
        box = Schrodinger1D(potential=name, half_width=7.5).domain()
        assert box.bounds("x") == (-7.5, 7.5)


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"n_states": 0}, "n_states"),
        ({"n_states": 11}, "n_states"),
        ({"n_states": 2.5}, "n_states"),
        ({"potential": "coulomb"}, "potential"),
        ({"potential": "finite-well", "width": 5.0, "half_width": 2.0}, "width"),
        ({"potential": "custom", "custom_potential": "log(x)"}, "custom_potential"),
        ({"potential": "custom", "custom_potential": "y**2"}, "custom_potential"),
        ({"depth": -1.0}, "depth"),
        ({"omega": 0.0}, "omega"),
        ({"potential": "harmonic", "half_width": 5.0}, "half_width"),
        ({"potential": "harmonic", "omega": 0.5, "n_states": 10}, "half_width"),
    ],
)
def test_bad_values_name_the_parameter(values: dict, name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        make_problem("schrodinger", values)


def test_reference_dataset_holds_states_and_energies() -> None:
    ds = solve(Schrodinger1D())
    assert ds["u"].dims == ("state", "x") and ds["u"].shape == (4, 512)
    assert ds["energy"].dims == ("state",)
    np.testing.assert_allclose(
        ds["energy"].values, (np.arange(1, 5) * np.pi) ** 2, rtol=1e-9
    )
    assert ds.attrs["solver"].startswith("finite-difference eigensolver")

"""Contracts every registered problem meets; adding a problem adds coverage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.problems import PROBLEMS, make_problem
from explorer.solvers import solve
from explorer.solvers.exact import grid_layout

NAMES = sorted(PROBLEMS)
EXACT = [n for n in NAMES if PROBLEMS[n]().has_exact]


def _energy(problem):
    # Eigenproblems take their energy as a coefficient (trainable in a PINN).
    if problem.kind != "eigen":
        return None
    return {"energy": problem.exact_energies(1)[0]}


@pytest.mark.parametrize("name", NAMES)
def test_declares_itself(name: str) -> None:
    cls = PROBLEMS[name]
    p = cls()
    assert cls.__doc__ and cls.equation and cls.title
    assert p.kind in ("evolution", "steady", "eigen")
    assert set(p.default_grid) <= set(p.domain().names)
    for spec in cls.parameters():
        assert spec.doc, f"{name}.{spec.name} has no doc"
        if spec.type in (int, float) and spec.choices is None:
            assert spec.bounds is not None, f"{name}.{spec.name} is unbounded"
            lo, hi = spec.bounds
            assert lo <= spec.default <= hi


@pytest.mark.parametrize("name", NAMES)
def test_out_of_bounds_values_are_refused_with_a_clear_message(name: str) -> None:
    for spec in PROBLEMS[name].parameters():
        if spec.bounds is None or spec.choices is not None:
            continue
        bad = spec.bounds[1] + abs(spec.bounds[1]) + 1
        with pytest.raises(ValueError) as err:
            make_problem(name, {spec.name: bad})
        assert repr(spec.name) in str(err.value) and "allowed" in str(err.value)
        with pytest.raises(ValueError, match=spec.name):
            make_problem(name, {spec.name: "not-a-number"}, strings=True)


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_has_zero_residual(
    name: str, generator: torch.Generator
) -> None:
    p = PROBLEMS[name]()
    xt = p.domain().sample(256, generator=generator)
    r = p.residual(p.exact_solution, xt, _energy(p)).detach()
    scale = 1.0 + p.exact_solution(xt).abs().max()
    assert r.abs().max() <= 1e-8 * scale


@pytest.mark.parametrize("name", [n for n in EXACT if PROBLEMS[n].kind == "evolution"])
def test_initial_and_boundary_conditions_agree_with_exact(
    name: str, generator: torch.Generator
) -> None:
    p = PROBLEMS[name]()
    box = p.domain()
    xt = box.sample(128, generator=generator)
    xt[:, box.names.index("t")] = 0.0
    u0 = p.initial_condition(xt[:, :1])
    torch.testing.assert_close(u0, p.exact_solution(xt), rtol=1e-7, atol=1e-7)
    if p.boundary == "dirichlet":
        lo, hi = box.bounds("x")
        xt[:64, 0], xt[64:, 0] = lo, hi
        xt[:, 1] = box.sample(128, generator=generator)[:, 1]
        torch.testing.assert_close(
            p.boundary_condition(xt), p.exact_solution(xt), rtol=1e-7, atol=1e-7
        )


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_on_a_small_grid(name: str) -> None:
    p = PROBLEMS[name]()
    grid = {k: min(v, 32) for k, v in p.default_grid.items()}
    ds = solve(p, grid)
    assert ds["u"].dims[-len(grid_layout(p)) :] == grid_layout(p)[-ds["u"].ndim :]
    assert np.isfinite(ds["u"].values).all()
    assert ds.attrs["problem"] == name
    for spec in p.parameters():
        assert f"param_{spec.name}" in ds.attrs


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_either_builds_or_raises_value_error(name: str, data) -> None:
    values = {}
    for spec in PROBLEMS[name].parameters():
        if spec.choices is not None:
            values[spec.name] = data.draw(st.sampled_from(spec.choices))
        elif spec.is_expression:
            values[spec.name] = data.draw(
                st.sampled_from([*sorted(spec.presets or {}), "sin(x", "x**", "1e999"])
            )
        elif spec.bounds is not None:
            lo, hi = spec.bounds
            number = st.floats(lo - 1, hi + 1, allow_nan=False)
            if spec.type is int:
                number = st.integers(int(lo) - 1, int(hi) + 1)
            values[spec.name] = data.draw(number)
    try:
        p = make_problem(name, values)
    except ValueError:
        return
    assert dataclasses.is_dataclass(p)
    assert p.domain().dim >= 1

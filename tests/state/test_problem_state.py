"""ProblemState: knobs from ParameterSpecs, re-solve on change, safe errors."""

from __future__ import annotations

import time

import numpy as np
import param
import pytest

from explorer.problems import PROBLEMS, Heat, make_problem
from explorer.solvers import solve
from explorer.state import Expression, ProblemState, reference_solution


@pytest.fixture
def state() -> ProblemState:
    return ProblemState(problem="heat")


def test_default_state_holds_the_default_solution(state: ProblemState) -> None:
    assert state.error == ""
    assert state.config == Heat()
    expected = solve(Heat())
    np.testing.assert_array_equal(state.solution["u"].values, expected["u"].values)
    assert state.solution["u"].dims == ("t", "x")


def test_every_spec_becomes_a_parameter_with_its_bounds_and_choices() -> None:
    for name, cls in PROBLEMS.items():
        knobs = ProblemState(problem=name).parameters
        for spec in cls.parameters():
            p = knobs.param[spec.name]
            if spec.is_expression:
                assert isinstance(p, Expression)
                assert p.presets == dict(spec.presets or {})
                assert p.variables == tuple(spec.variables or ())
            elif spec.choices is not None:
                assert isinstance(p, param.Selector)
                assert list(p.objects) == list(spec.choices)
            elif spec.type is bool:
                assert isinstance(p, param.Boolean)
            elif spec.type in (int, float):
                assert isinstance(
                    p, param.Integer if spec.type is int else param.Number
                )
                if spec.bounds is not None:
                    lo, hi = p.softbounds
                    assert spec.bounds[0] == lo and hi <= spec.bounds[1]
                    assert lo <= spec.default <= hi
            assert spec.name in p.doc or spec.doc in p.doc


def test_wide_bounds_get_a_slider_range_a_decade_above_the_default(
    state: ProblemState,
) -> None:
    # nu in (1e-4, 10) with default 0.1: a linear slider over (1e-4, 1).
    assert state.parameters.param.nu.softbounds == (1e-4, 1.0)
    assert state.parameters.param.length.softbounds == (0.1, 10.0)


def test_changing_a_knob_resolves(state: ProblemState) -> None:
    before = state.solution
    state.parameters.nu = 0.5
    assert state.error == ""
    assert state.config.nu == 0.5
    # Mode 1 decays as exp(-nu pi^2 t): check the new solution's peak at t = T.
    peak = float(state.solution["u"].isel(t=-1).max())
    assert peak == pytest.approx(np.exp(-0.5 * np.pi**2), rel=1e-4)  # grid max
    assert state.solution is not before


def test_out_of_bounds_value_sets_error_and_keeps_solution(state: ProblemState) -> None:
    good = state.solution
    state.parameters.nu = -1.0
    assert state.error.startswith("heat: parameter 'nu' = -1.0 is out of bounds")
    assert "0.0001 <= nu <= 10" in state.error
    assert state.solution is good
    assert state.config.nu == 0.1
    state.parameters.nu = 0.2  # a valid value clears the error
    assert state.error == ""
    assert state.config.nu == 0.2


def test_bad_expression_sets_error_and_keeps_solution(state: ProblemState) -> None:
    good = state.solution
    state.parameters.u0 = "sin(pi*x"
    assert "parameter 'u0'" in state.error
    assert state.solution is good
    state.parameters.u0 = "__import__('os')"
    assert "parameter 'u0'" in state.error
    assert state.solution is good


def test_expressions_take_preset_names_or_formulas(state: ProblemState) -> None:
    # The value is what the problem's field holds: a preset name (as some problems
    # give names a meaning of their own) or a formula.
    assert state.parameters.u0 == "mode-1"
    assert state.parameters.param.u0.presets["mode-1"] == "sin(pi*x)"
    state.parameters.u0 = "sin(2*pi*x)"
    assert state.error == ""
    u_end = state.solution["u"].isel(t=-1)
    assert float(u_end.max()) == pytest.approx(np.exp(-0.1 * 4 * np.pi**2), rel=1e-3)
    state.parameters.u0 = "modes-1-4"
    assert state.error == "" and state.config.u0 == "modes-1-4"


def test_switching_problem_rebuilds_the_knobs() -> None:
    others = [n for n in PROBLEMS if n != "heat"]
    if not others:
        pytest.skip("only one problem registered")
    state = ProblemState(problem="heat")
    heat_knobs = state.parameters
    state.problem = others[0]
    assert state.parameters is not heat_knobs
    assert set(state.values()) == {s.name for s in PROBLEMS[others[0]].parameters()}
    assert state.error == ""
    assert state.solution.attrs["problem"] == others[0]
    state.problem = "heat"
    assert state.values()["nu"] == 0.1  # fresh defaults


def test_reset_restores_defaults(state: ProblemState) -> None:
    state.parameters.nu = 2.0
    state.parameters.boundary_type = "periodic"
    state.reset()
    assert state.config == make_problem("heat")


def test_every_registered_problem_solves_with_defaults() -> None:
    for name in PROBLEMS:
        state = ProblemState(problem=name)
        assert state.error == "", name
        assert state.solution.attrs["problem"] == name
        assert all(
            np.isfinite(v.values).all() for v in state.solution.data_vars.values()
        )


def test_moving_back_to_a_value_hits_the_cache(state: ProblemState) -> None:
    state.parameters.nu = 0.3
    first = state.solution
    state.parameters.nu = 0.4
    hits = reference_solution.cache_info().hits
    start = time.perf_counter()
    state.parameters.nu = 0.3
    elapsed = time.perf_counter() - start
    assert reference_solution.cache_info().hits == hits + 1
    assert state.solution is first
    assert elapsed < 0.05


def test_a_change_resolves_in_well_under_a_second(state: ProblemState) -> None:
    start = time.perf_counter()
    state.parameters.nu = 0.123456
    assert time.perf_counter() - start < 0.5
    assert state.solve_ms < 500


def test_state_does_not_import_panel() -> None:
    import subprocess
    import sys

    code = (
        "import sys, explorer.state; "
        "bad = {'panel', 'bokeh', 'holoviews'} & set(sys.modules); "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

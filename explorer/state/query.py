"""A PINNSession's knobs as URL query text, and back, ignoring bad entries with notices.

Keys: ``problem`` (the name), ``problem.<parameter>``, ``model.<knob>``,
``training.<knob>`` and ``seed``; values are plain text (``true``/``false``,
integers, ``repr`` of floats, which round-trips exactly; expressions as typed).
URL-encoding is the front end's business (``urllib.parse.urlencode``).

Applying a query never raises for bad input: each unknown key or bad value is
skipped with a notice naming the key, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import param

from explorer.problems import PROBLEMS, make_problem, parse_value
from explorer.state.model import ModelState
from explorer.state.problem import ProblemState
from explorer.state.training import TrainingState

if TYPE_CHECKING:
    from explorer.state.session import PINNSession

__all__ = ["apply_query", "encode", "session_query", "set_from_text"]

_GROUPS = {"model": ModelState.KNOBS, "training": TrainingState.KNOBS}


def encode(value: Any) -> str:
    """A knob value as query text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def session_query(session: PINNSession) -> dict[str, str]:
    """Every knob of ``session`` (problem, its parameters, model, training, seed)."""
    query = {"problem": session.problem.problem}
    for name, value in session.problem.values().items():
        query[f"problem.{name}"] = encode(value)
    for group, names in _GROUPS.items():
        knobs = getattr(session, group)
        for name in names:
            query[f"{group}.{name}"] = encode(getattr(knobs, name))
    query["seed"] = encode(session.seed)
    return query


def apply_query(session: PINNSession, query: Mapping[str, str]) -> list[str]:
    """Set the knobs named in ``query``; return a notice per ignored entry.

    The problem is applied first (its parameters depend on it), then its
    parameters together, then model and training knobs in their display order (so
    a curriculum's parameter comes before its start), then the seed.
    """
    notices: list[str] = []
    rest = {str(k): str(v) for k, v in query.items()}
    if "problem" in rest:
        name = rest.pop("problem")
        if name in PROBLEMS:
            session.problem.problem = name
        else:
            allowed = ", ".join(PROBLEMS)
            notices.append(f"problem = {name!r} ignored: unknown; allowed: {allowed}")
    values = {
        k.removeprefix("problem."): rest.pop(k)
        for k in list(rest)
        if k.startswith("problem.")
    }
    _apply_problem_values(session.problem, values, notices)
    for group, names in _GROUPS.items():
        for name in names:
            key = f"{group}.{name}"
            if key in rest:
                set_from_text(
                    getattr(session, group), name, key, rest.pop(key), notices
                )
    if "seed" in rest:
        set_from_text(session, "seed", "seed", rest.pop("seed"), notices)
    for key, text in rest.items():
        notices.append(
            f"{key} = {text!r} ignored: unknown key; allowed: problem, seed, "
            "problem.<parameter>, model.<knob>, training.<knob>"
        )
    return notices


def _apply_problem_values(
    state: ProblemState, texts: Mapping[str, str], notices: list[str]
) -> None:
    specs = state.specs
    parsed: dict[str, Any] = {}
    for name, text in texts.items():
        if name not in specs:
            allowed = ", ".join(specs) or "none"
            notices.append(
                f"problem.{name} = {text!r} ignored: {state.problem} has no "
                f"parameter {name!r}; allowed: {allowed}"
            )
            continue
        try:
            parsed[name] = parse_value(specs[name], text)
        except ValueError as err:
            notices.append(f"problem.{name} = {text!r} ignored: {err}")
    base = state.values()
    try:
        make_problem(state.problem, base)
    except ValueError:  # judge each value against the defaults instead
        base = {n: s.default for n, s in specs.items()}
    good: dict[str, Any] = {}
    try:
        make_problem(state.problem, {**base, **parsed})
        good = parsed
    except ValueError:  # keep the values that are valid one by one
        for name, value in parsed.items():
            try:
                make_problem(state.problem, {**base, **good, name: value})
            except ValueError as err:
                notices.append(f"problem.{name} = {texts[name]!r} ignored: {err}")
            else:
                good[name] = value
    if good:
        state.parameters.param.update(**good)


def set_from_text(
    target: param.Parameterized,
    name: str,
    key: str,
    text: str,
    notices: list[str],
) -> None:
    """Set knob ``name`` of ``target`` from query text, or add a notice why not."""
    try:
        setattr(target, name, _decode(target.param[name], text))
    except ValueError as err:  # from parsing, or param's own bounds/choices check
        notices.append(f"{key} = {text!r} ignored: {err}")


def _decode(p: param.Parameter, text: str) -> Any:
    """Parse ``text`` as a value of parameter ``p`` (range checks are param's)."""
    if isinstance(p, param.Boolean):
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ValueError("not a bool; allowed: true or false")
    if isinstance(p, param.Selector):
        for obj in p.objects:
            if str(obj) == text:
                return obj
        raise ValueError(f"allowed: {', '.join(str(o) for o in p.objects)}")
    if isinstance(p, param.Integer):
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"not an integer; allowed: {_bounds(p)}") from None
        return _in_bounds(p, value)
    if isinstance(p, param.Number):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"not a number; allowed: {_bounds(p)}") from None
        if not math.isfinite(value):
            raise ValueError(f"not a finite number; allowed: {_bounds(p)}")
        return _in_bounds(p, value)
    return text


def _in_bounds(p: param.Number, value: float) -> float:
    lo, hi = p.bounds or (None, None)
    low_ok, high_ok = p.inclusive_bounds
    if (lo is not None and (value < lo or (value == lo and not low_ok))) or (
        hi is not None and (value > hi or (value == hi and not high_ok))
    ):
        raise ValueError(f"out of range; allowed: {_bounds(p)}")
    return value


def _bounds(p: param.Number) -> str:
    kind = "integers" if isinstance(p, param.Integer) else "numbers"
    lo, hi = p.bounds or (None, None)
    low = "above" if not p.inclusive_bounds[0] else "from"
    if lo is None and hi is None:
        return f"any {kind}"
    if hi is None:
        return f"{kind} {low} {lo:g}"
    if lo is None:
        return f"{kind} up to {hi:g}"
    return f"{kind} {low} {lo:g} to {hi:g}"

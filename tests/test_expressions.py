"""Tests for the safe formula parser: closed forms, autodiff, rejections, fuzzing."""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.expressions import (
    ALLOWED_FUNCTIONS,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    compile_expression,
)

X = np.linspace(-1.3, 1.7, 61)
PI = np.pi

CLOSED_FORMS: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
    ("cos(pi*x)", lambda x: np.cos(PI * x)),
    ("2*sech(x)", lambda x: 2 / np.cosh(x)),
    ("x**2*cos(pi*x)", lambda x: x**2 * np.cos(PI * x)),
    ("exp(-25*(x-0.5)**2)", lambda x: np.exp(-25 * (x - 0.5) ** 2)),
    ("-sin(pi*x)", lambda x: -np.sin(PI * x)),
    ("1 - abs(2*x - 1)", lambda x: 1 - np.abs(2 * x - 1)),
    ("x**2", lambda x: x**2),
    ("0.5*x**4", lambda x: 0.5 * x**4),
    ("where(abs(x) < 0.5, -1, 0)", lambda x: np.where(np.abs(x) < 0.5, -1.0, 0.0)),
    ("where(-0.2 <= x < 0.4, x, 2)", lambda x: np.where((x >= -0.2) & (x < 0.4), x, 2)),
    ("heaviside(x - 0.1)", lambda x: np.heaviside(x - 0.1, 0.5)),
    ("e**(-x**2) + 2**x", lambda x: np.exp(-(x**2)) + 2.0**x),
    ("x**(-2) - x**0.5", lambda x: x**-2.0 - np.sqrt(np.where(x < 0, np.nan, x))),
    ("tanh(x)/cosh(x)*sinh(x)", lambda x: np.tanh(x) / np.cosh(x) * np.sinh(x)),
    (
        "arctan(x) + arcsin(x/2) * arccos(x/2)",
        lambda x: np.arctan(x) + np.arcsin(x / 2) * np.arccos(x / 2),
    ),
    (
        "max(x, 0.3) - min(x, -0.2) + sign(x)",
        lambda x: np.maximum(x, 0.3) - np.minimum(x, -0.2) + np.sign(x),
    ),
    (
        "erf(3*x) + tan(x) + log(2 + x) + sqrt(2 + x)",
        lambda x: scipy.special.erf(3 * x) + np.tan(x) + np.log(2 + x) + np.sqrt(2 + x),
    ),
    ("+1e-3 * (x + 7) / 2", lambda x: 1e-3 * (x + 7) / 2),
]


@pytest.mark.parametrize(("source", "reference"), CLOSED_FORMS)
def test_closed_forms(
    source: str, reference: Callable[[np.ndarray], np.ndarray]
) -> None:
    x = torch.tensor(X, dtype=torch.float64)
    out = compile_expression(source)(x=x)
    assert out.shape == x.shape and out.dtype == torch.float64
    with np.errstate(all="ignore"):
        expected = reference(X)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-13, atol=1e-14)


def test_two_variables_broadcast_to_a_grid() -> None:
    x = torch.linspace(0, 1, 9, dtype=torch.float64)[:, None]
    y = torch.linspace(0, 1, 7, dtype=torch.float64)[None, :]
    out = compile_expression("sin(pi*x)*sin(2*pi*y)", ("x", "y"))(x=x, y=y)
    assert out.shape == (9, 7)
    expected = np.sin(PI * x.numpy()) * np.sin(2 * PI * y.numpy())
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("source", ["1", "pi", "-2.5", "e**2", "where(1 < 2, 3, 4)"])
def test_constants_broadcast_to_input(source: str, dtype: torch.dtype) -> None:
    x = torch.zeros(5, dtype=dtype)
    out = compile_expression(source)(x=x)
    assert out.shape == (5,) and out.dtype == dtype and out.device == x.device
    value = {"1": 1, "pi": PI, "-2.5": -2.5, "e**2": math.e**2, "where(1 < 2, 3, 4)": 3}
    torch.testing.assert_close(out, torch.full_like(x, value[source]))


def test_autograd_gradient_matches_analytic() -> None:
    x = torch.linspace(-1, 1, 41, dtype=torch.float64, requires_grad=True)
    u = compile_expression("x**2*cos(pi*x)")(x=x)
    (grad,) = torch.autograd.grad(u.sum(), x)
    xd = x.detach()
    expected = 2 * xd * torch.cos(PI * xd) - PI * xd**2 * torch.sin(PI * xd)
    torch.testing.assert_close(grad, expected, rtol=1e-13, atol=1e-13)


# torch warns once per process when forward-mode AD first loads its jit decompositions.
@pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)
def test_vmap_and_jvp() -> None:
    f = compile_expression("x**2*cos(pi*x) + 1")
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)

    def derivative(xi: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(lambda s: f(x=s), (xi,), (torch.ones_like(xi),))[1]

    values = torch.func.vmap(lambda xi: f(x=xi))(x)
    torch.testing.assert_close(values, f(x=x))
    expected = 2 * x * torch.cos(PI * x) - PI * x**2 * torch.sin(PI * x)
    torch.testing.assert_close(torch.func.vmap(derivative)(x), expected)
    constant = torch.func.vmap(lambda xi: compile_expression("3")(x=xi))(x)
    torch.testing.assert_close(constant, torch.full_like(x, 3.0))


def test_cached_and_hashable() -> None:
    f = compile_expression("sin(x)", ("x",))
    assert compile_expression("sin(x)", ("x",)) is f
    assert isinstance(f, Expression) and f == Expression("sin(x)", ("x",), f._fn)
    assert "sin" in ALLOWED_FUNCTIONS and "where" in ALLOWED_FUNCTIONS


def test_variable_mismatch_is_an_error() -> None:
    f = compile_expression("x + t", ("x", "t"))
    with pytest.raises(ExpressionError, match="missing"):
        f(x=torch.zeros(3))
    with pytest.raises(ExpressionError, match="unexpected"):
        f(x=torch.zeros(3), t=torch.zeros(3), y=torch.zeros(3))


REJECTED = {
    "y": "unknown name 'y'; allowed variables: x",
    "x.__class__": "Attribute",
    "__import__('os')": "'__import__' is not allowed",
    "open('/etc/passwd')": "'open' is not allowed",
    "(lambda: 1)()": "not allowed",
    "lambda: 1": "Lambda",
    "x[0]": "Subscript",
    "'abc'": "not a real number",
    "1j * x": "not a real number",
    "True": "not a real number",
    "9**9**9": "exponent",
    "x**1000": "exponent",
    "x**x": "exponents must be constants",
    "(-2)**x": "exponents must be constants",
    "x**(1e300)": "exceeds",
    "1" + "0" * 400: "exceeds",
    "x^2": "use \\*\\* for powers",
    "x // 2": "FloorDiv",
    "sin(x, 2)": "takes 1 argument",
    "sin(x=1)": "positional arguments only",
    "max(*x)": "positional arguments only",
    "sin": "must be called",
    "x < 1": "only allowed as where",
    "where(x, 1, 0)": "needs a comparison",
    "where(x == 0, 1, 0)": "Eq",
    "(y := 2)": "NamedExpr",
    "[x for x in x]": "ListComp",
    "x.sin()": "calling this is not allowed",
    "": "empty expression",
    "   ": "empty expression",
    "sin(x": "syntax error",
    "x +": "syntax error",
    "x\0": "syntax error",
    "x" + "+x" * 300: "longer than",
    "(" * 10000 + "x" + ")" * 10000: "longer than",
    "(" * 240 + "x" + ")" * 240: "syntax error",
    "-" * 450 + "x": "too complex",
    "sin(" * 60 + "x" + ")" * 60: "too complex",
    "+".join(["x"] * 200): "too complex",
}


@pytest.mark.parametrize("source", list(REJECTED))
def test_rejected_with_a_clear_message(source: str) -> None:
    with pytest.raises(ExpressionError, match=REJECTED[source]):
        compile_expression(source)


def test_long_inputs_are_rejected_before_parsing() -> None:
    assert len("x" + "+x" * 300) > MAX_LENGTH
    with pytest.raises(ExpressionError):
        compile_expression(123)  # type: ignore[arg-type]


class Executed(
    BaseException
):  # BaseException: the parser cannot swallow it as an error
    """Raised by the guard below when code would be executed."""


@contextlib.contextmanager
def no_code_execution() -> Iterator[None]:
    """Make eval/exec/open/imports/bytecode compilation raise while the parser runs."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise Executed(repr(args)[:80])

    real_import = builtins.__import__

    def stdlib_only(name: str, *args: object, **kwargs: object) -> object:
        # The tokenizer imports unicodedata to normalise non-ASCII identifiers, and
        # stdlib helpers (ast.walk) re-import modules that are already loaded: a
        # cached import runs no module code. Loading anything new is refused.
        if name != "unicodedata" and name not in sys.modules:
            raise Executed(name)
        return real_import(name, *args, **kwargs)

    real_compile = builtins.compile

    def ast_only(source: object, filename: object, mode: str, flags: int = 0, *a, **k):  # type: ignore[no-untyped-def]
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse is allowed, code objects are not
            raise Executed(repr(source)[:80])
        return real_compile(source, filename, mode, flags, *a, **k)

    saved = {
        n: getattr(builtins, n)
        for n in ("eval", "exec", "open", "__import__", "compile")
    }
    for name in ("eval", "exec", "open"):
        setattr(builtins, name, forbidden)
    builtins.__import__ = stdlib_only
    builtins.compile = ast_only
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(builtins, name, value)


def test_guard_catches_code_execution() -> None:
    attempts: list[Callable[[], object]] = [
        lambda: eval("1"),
        lambda: exec("1"),
        lambda: open("/dev/null"),
        lambda: __import__("a_module_not_loaded_yet"),  # loading new code
        lambda: compile("1", "<s>", "eval"),
    ]
    with no_code_execution():
        for attempt in attempts:
            with pytest.raises(Executed):
                attempt()
        assert isinstance(ast.parse("x", mode="eval"), ast.Expression)
    assert eval("1 + 1") == 2  # restored afterwards


TOKENS = "x y e pi 1 2.5 1e9 0 ( ) , + - * / ** < == sin where abs sech __import__"
TOKENS += " 'os' open . __class__ [ ] lambda : j not if else"
FUZZ = settings(max_examples=150, deadline=timedelta(seconds=1), derandomize=True)


def _compile_and_run(source: str) -> None:
    x = torch.linspace(-2, 2, 7, dtype=torch.float64)
    with no_code_execution():
        try:
            f = compile_expression(source)
        except ExpressionError:
            return
        out = f(x=x)
    assert out.shape == x.shape and out.dtype == torch.float64


@FUZZ
@given(st.text(max_size=80))
def test_fuzz_random_text(source: str) -> None:
    _compile_and_run(source)


@FUZZ
@given(st.lists(st.sampled_from([*TOKENS.split(), " "]), max_size=30).map("".join))
def test_fuzz_token_soup(source: str) -> None:
    _compile_and_run(source)


# Well-formed expressions: pairs (source text, numpy evaluation of the same formula).
_Node = tuple[str, Callable[[np.ndarray], np.ndarray]]
UNARY = {"sin": np.sin, "cos": np.cos, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
         "tanh": np.tanh, "sech": lambda a: 1 / np.cosh(a), "abs": np.abs,
         "arctan": np.arctan, "heaviside": lambda a: np.heaviside(a, 0.5)}  # fmt: skip
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def _constant(text: str, value: float) -> _Node:
    return text, lambda x: np.full_like(x, value)


LEAVES: st.SearchStrategy[_Node] = st.one_of(
    st.just(("x", lambda x: x)),
    st.sampled_from([("pi", PI), ("e", math.e)]).map(lambda c: _constant(*c)),
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: _constant(repr(v), v)),
    st.integers(0, 10**6).map(lambda v: _constant(str(v), v)),
)


def _extend(children: st.SearchStrategy[_Node]) -> st.SearchStrategy[_Node]:
    def binary(op: str, a: _Node, b: _Node) -> _Node:
        return f"({a[0]}){op}({b[0]})", lambda x: BINARY[op](a[1](x), b[1](x))

    def call(name: str, a: _Node) -> _Node:
        return f"{name}({a[0]})", lambda x: UNARY[name](a[1](x))

    def power(a: _Node, p: float) -> _Node:
        return f"({a[0]})**({p!r})", lambda x: np.power(a[1](x), p)

    def where(a: _Node, b: _Node, c: _Node, d: _Node) -> _Node:
        text = f"where(({a[0]}) < ({b[0]}), {c[0]}, {d[0]})"
        return text, lambda x: np.where(a[1](x) < b[1](x), c[1](x), d[1](x))

    powers = st.sampled_from([0, 1, 2, 3, -1, -2, 16, -16, 0.5, 1.5, -0.25])
    return st.one_of(
        st.builds(binary, st.sampled_from(sorted(BINARY)), children, children),
        st.builds(call, st.sampled_from(sorted(UNARY)), children),
        st.builds(power, children, powers),
        st.builds(lambda a: (f"-({a[0]})", lambda x: -a[1](x)), children),
        st.builds(where, children, children, children, children),
    )


@settings(max_examples=200, deadline=timedelta(seconds=1), derandomize=True)
@given(st.recursive(LEAVES, _extend, max_leaves=25))
def test_fuzz_grammar_matches_numpy(node: _Node) -> None:
    source, reference = node
    try:
        f = compile_expression(source)
    except (
        ExpressionError
    ) as err:  # only the size limits may refuse a well-formed formula
        assert "too complex" in str(err) or "longer than" in str(err)
        return
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)
    out = f(x=x).numpy()
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(x.numpy()), out.shape)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-8, equal_nan=True)

"""Safe, differentiable user formulas: ``"exp(-25*(x-0.5)**2)"`` → a torch callable.

The source is parsed with :func:`ast.parse` (``mode="eval"``) and checked against a
whitelist; nothing is ever passed to ``eval``/``exec`` or compiled to bytecode. The
checked tree is turned into a tree of closures over torch functions, so evaluation is
differentiable (autograd, ``torch.func.jvp``) and works under ``torch.func.vmap``.

Grammar (everything else is rejected with an :class:`ExpressionError`):

- numbers: int/float literals of magnitude at most ``MAX_LITERAL`` (no complex/bool);
- names: the declared variables and the constants ``pi`` and ``e``;
- operators: ``+ - * /``, unary ``+ -`` and ``**``. An exponent must be a constant
  (no variables) whose value ``p`` satisfies ``|p| <= MAX_EXPONENT``; the only
  exception is a positive constant base, ``a**f = exp(f*log(a))`` (e.g. ``e**(-x**2)``);
- calls of :data:`ALLOWED_FUNCTIONS` with positional arguments only;
- comparisons ``< <= > >=`` (chains like ``0 < x < 1`` allowed), only as the first
  argument of ``where(condition, a, b)``.

Source length, node count and nesting depth are bounded so that hostile input cannot
exhaust memory or the stack. Domain errors (``log(-1)``) give nan; callers check.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["ALLOWED_FUNCTIONS", "Expression", "ExpressionError", "compile_expression"]

MAX_LENGTH = 500
MAX_NODES = 300
MAX_DEPTH = 40
MAX_EXPONENT = 16
MAX_LITERAL = 1e6

# A compiled node: (variable values, zero tensor of the output shape) -> tensor.
_Fn = Callable[[dict[str, Tensor], Tensor], Tensor]


def _heaviside(x: Tensor) -> Tensor:
    # Built from comparisons so that it has zero slope under autograd and jvp.
    return (x > 0).to(x.dtype) + 0.5 * (x == 0).to(x.dtype)


# name -> (torch function, number of positional arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., Tensor], int]] = {
    "sin": (torch.sin, 1),
    "cos": (torch.cos, 1),
    "tan": (torch.tan, 1),
    "exp": (torch.exp, 1),
    "log": (torch.log, 1),
    "sqrt": (torch.sqrt, 1),
    "sinh": (torch.sinh, 1),
    "cosh": (torch.cosh, 1),
    "tanh": (torch.tanh, 1),
    "sech": (lambda a: 1.0 / torch.cosh(a), 1),
    "arcsin": (torch.arcsin, 1),
    "arccos": (torch.arccos, 1),
    "arctan": (torch.arctan, 1),
    "erf": (torch.special.erf, 1),
    "abs": (torch.abs, 1),
    "sign": (torch.sign, 1),
    "heaviside": (_heaviside, 1),
    "min": (torch.minimum, 2),
    "max": (torch.maximum, 2),
    "where": (torch.where, 3),
}
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(sorted(_FUNCTIONS))
_CONSTANTS = {"pi": math.pi, "e": math.e}
_BINOPS: dict[type[ast.operator], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Lt: torch.lt,
    ast.LtE: torch.le,
    ast.Gt: torch.gt,
    ast.GtE: torch.ge,
}


class ExpressionError(ValueError):
    """A formula that is not allowed; the message says what is wrong and what is."""


@dataclass(frozen=True)
class Expression:
    """A compiled formula; call it with one tensor per variable, e.g. ``f(x=x)``.

    Constants broadcast to the shape of the inputs; the result has their dtype/device.
    """

    source: str
    variables: tuple[str, ...]
    _fn: _Fn = field(repr=False, compare=False)

    def __call__(self, **values: Tensor) -> Tensor:
        missing = [v for v in self.variables if v not in values]
        extra = [k for k in values if k not in self.variables]
        if missing or extra:
            raise ExpressionError(
                f"expression {self.source!r} takes variables "
                f"{', '.join(self.variables)}; missing: {missing or 'none'}, "
                f"unexpected: {extra or 'none'}"
            )
        env = {k: torch.as_tensor(v) for k, v in values.items()}
        zero: Tensor | None = None
        for v in env.values():  # zeros_like stays batched under vmap
            zero = torch.zeros_like(v) if zero is None else zero + torch.zeros_like(v)
        if zero is None:  # no variables: a scalar
            zero = torch.zeros((), dtype=torch.get_default_dtype())
        return self._fn(env, zero)


def compile_expression(source: str, variables: tuple[str, ...] = ("x",)) -> Expression:
    """Parse and check ``source``, returning a differentiable torch callable.

    Args:
        source: the formula, e.g. ``"sin(pi*x)*sin(2*pi*y)"``.
        variables: the names it may use besides the constants ``pi`` and ``e``.

    Raises:
        ExpressionError: the formula is malformed, too large or not allowed.
    """
    if not isinstance(source, str):
        raise ExpressionError(
            f"expression must be a string, got {type(source).__name__}"
        )
    return _compile(source, tuple(variables))


@functools.lru_cache(maxsize=512)
def _compile(source: str, variables: tuple[str, ...]) -> Expression:
    for v in variables:
        if not v.isidentifier() or v in _CONSTANTS or v in _FUNCTIONS:
            raise ExpressionError(f"invalid variable name {v!r}")
    text = source.strip()
    if not text:
        raise ExpressionError(f"empty expression; {_allowed(variables)}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:  # also IndentationError; "too many nested parentheses"
        hint = "; use ** for powers" if "^" in text else ""
        raise ExpressionError(
            f"syntax error in {text[:60]!r}: {err.msg}{hint}"
        ) from None
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, deep nesting
        raise ExpressionError(
            f"cannot parse {text[:40]!r}: {type(err).__name__}"
        ) from None
    _check_size(tree)
    return Expression(source, variables, _Compiler(variables).node(tree.body))


def _allowed(variables: tuple[str, ...]) -> str:
    return (
        f"allowed variables: {', '.join(variables) or 'none'}; constants: pi, e; "
        f"functions: {', '.join(ALLOWED_FUNCTIONS)}; operators: + - * / **"
    )


def _check_size(tree: ast.AST) -> None:
    """Bound node count and depth iteratively: the recursive compiler stays shallow."""
    stack, count = [(tree, 0)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            what = f"{MAX_NODES} nodes" if count > MAX_NODES else f"depth {MAX_DEPTH}"
            raise ExpressionError(f"expression too complex (more than {what})")
        stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node))


def _const(value: float) -> _Fn:
    return lambda env, zero: zero + value


class _Compiler:
    """Turns a checked AST node into a closure; ExpressionError on anything else."""

    def __init__(self, variables: tuple[str, ...]) -> None:
        self.variables = variables

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what}; {_allowed(self.variables)}")

    def node(self, node: ast.expr) -> _Fn:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"literal {value!r} is not a real number")
            if not abs(value) <= MAX_LITERAL:  # int comparison first: no float overflow
                raise self.fail(
                    f"number {value!r} exceeds {MAX_LITERAL:g} in magnitude"
                )
            return _const(float(value))
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                name = node.id
                return lambda env, zero: env[name] + zero
            if node.id in _CONSTANTS:
                return _const(_CONSTANTS[node.id])
            if node.id in _FUNCTIONS:
                raise self.fail(
                    f"function {node.id!r} must be called, e.g. {node.id}(x)"
                )
            raise self.fail(f"unknown name {node.id!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            a = self.node(node.operand)
            if isinstance(node.op, ast.UAdd):
                return a
            return lambda env, zero: torch.neg(a(env, zero))
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self.power(node)
            op = _BINOPS.get(type(node.op))
            if op is None:
                hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
                raise self.fail(f"operator {type(node.op).__name__} not allowed{hint}")
            a, b = self.node(node.left), self.node(node.right)
            return lambda env, zero: op(a(env, zero), b(env, zero))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Compare):
            raise self.fail("comparisons are only allowed as where(condition, a, b)")
        raise self.fail(f"{type(node).__name__} syntax is not allowed")

    def is_constant(self, node: ast.expr) -> bool:
        return not any(
            isinstance(n, ast.Name) and n.id in self.variables for n in ast.walk(node)
        )

    def power(self, node: ast.BinOp) -> _Fn:
        base = self.node(node.left)
        expo = self.node(node.right)
        if self.is_constant(node.right):
            probe = torch.zeros((), dtype=torch.float64)
            p = float(expo({}, probe))
            if not abs(p) <= MAX_EXPONENT:  # also rejects nan
                raise self.fail(
                    f"exponent {p:g} is not a number with |p| <= {MAX_EXPONENT}"
                )
            q: float | int = int(p) if p.is_integer() else p
            return lambda env, zero: torch.pow(base(env, zero), q)
        if self.is_constant(node.left):
            a = float(base({}, torch.zeros((), dtype=torch.float64)))
            if a > 0 and math.isfinite(a):
                log_a = math.log(a)
                return lambda env, zero: torch.exp(expo(env, zero) * log_a)
        raise self.fail(
            f"exponents must be constants with |p| <= {MAX_EXPONENT} (variable "
            "exponents only with a positive constant base, e.g. e**(-x**2))"
        )

    def call(self, node: ast.Call) -> _Fn:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS:
            what = f"function {name!r}" if name else "calling this"
            raise self.fail(f"{what} is not allowed")
        fn, arity = _FUNCTIONS[name]
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes positional arguments only")
        if len(node.args) != arity:
            raise self.fail(f"{name}() takes {arity} argument(s), got {len(node.args)}")
        if name == "where":
            c, a, b = self.condition(node.args[0]), *map(self.node, node.args[1:])
            return lambda env, zero: torch.where(
                c(env, zero), a(env, zero), b(env, zero)
            )
        args = [self.node(a) for a in node.args]
        if arity == 1:
            (a,) = args
            return lambda env, zero: fn(a(env, zero))
        return lambda env, zero: fn(*(f(env, zero) for f in args))

    def condition(self, node: ast.expr) -> _Fn:
        if not isinstance(node, ast.Compare):
            raise self.fail(
                "where() needs a comparison first, e.g. where(x < 0, -1, 1)"
            )
        terms = [self.node(t) for t in (node.left, *node.comparators)]
        ops = []
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise self.fail(
                    f"comparison {type(op).__name__} not allowed (< <= > >=)"
                )
            ops.append(_CMPOPS[type(op)])

        def evaluate(env: dict[str, Tensor], zero: Tensor) -> Tensor:
            vals = [t(env, zero) for t in terms]
            out = ops[0](vals[0], vals[1])
            for i, op in enumerate(ops[1:], start=1):
                out = torch.logical_and(out, op(vals[i], vals[i + 1]))
            return out

        return evaluate

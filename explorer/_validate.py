"""The range and choice checks that configs share, so every refusal reads the same."""

from __future__ import annotations

from typing import get_args

__all__ = ["check_choice", "check_range"]


def check_range(label: str, value: float, lo: float, hi: float) -> None:
    """Refuse ``value`` unless it is a number (not a bool) with ``lo <= value <= hi``.

    The message names ``label``, the value and the allowed range, e.g.
    "MLPConfig.width = 1 is out of range; allowed: 4 to 512".
    """
    if isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(
            f"{label} = {value!r} is out of range; allowed: {lo:g} to {hi:g}"
        )


def check_choice(label: str, value: object, literal: object) -> None:
    """Refuse a value outside a ``Literal``'s choices, naming label and choices."""
    allowed = get_args(literal)
    if value not in allowed:
        raise ValueError(
            f"{label} = {value!r} is not allowed; allowed: "
            + ", ".join(repr(a) for a in allowed)
        )

"""An OperatorSession's knobs as URL query text, and back, with notices for bad entries.

Keys: ``family``, ``data.<knob>`` (the family's own knobs and ``n_train``,
``n_test``, ``superres``, ``data_seed``), ``model`` (the network), ``model.<knob>``,
``training.<knob>``, ``curve.<knob>`` and ``seed``. Values are plain text as in
:mod:`explorer.state.query` (whose parsing and range checks this reuses).

Applying a query never raises: each unknown key or refused value is skipped with a
notice naming the key, the value and what is allowed. The family and the network
are applied first, since their knobs depend on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import param

from explorer.state.operator_knobs import knob_names
from explorer.state.query import encode, set_from_text

if TYPE_CHECKING:
    from explorer.state.operator import OperatorSession

__all__ = ["apply_operator_query", "operator_query"]


def _names(knobs: param.Parameterized) -> list[str]:
    """A controller's declared knobs, or every knob of a generated knob class."""
    return list(getattr(knobs, "KNOBS", None) or knob_names(knobs))


def _groups(s: OperatorSession) -> dict[str, list[param.Parameterized]]:
    return {
        "data": [s.data.parameters, s.data],
        "model": [s.model.parameters],
        "training": [s.training],
        "curve": [s.curve],
    }


def operator_query(session: OperatorSession) -> dict[str, str]:
    """Every knob of ``session``."""
    s = session
    query = {"family": s.data.family}
    groups = _groups(s)
    for group, targets in groups.items():
        if group == "model":
            query["model"] = s.model.kind
        for target in targets:
            for name in _names(target):
                query[f"{group}.{name}"] = encode(getattr(target, name))
    query["seed"] = encode(s.seed)
    return query


def apply_operator_query(
    session: OperatorSession, query: Mapping[str, str]
) -> list[str]:
    """Set the knobs named in ``query``; return a notice per ignored entry."""
    s = session
    notices: list[str] = []
    rest = {str(k): str(v) for k, v in query.items()}
    for key, target in (("family", s.data), ("model", s.model)):
        if key in rest:
            name = "family" if key == "family" else "kind"
            set_from_text(target, name, key, rest.pop(key), notices)
    groups = _groups(s)
    for group, targets in groups.items():
        for target in targets:
            for name in _names(target):
                key = f"{group}.{name}"
                if key in rest:
                    set_from_text(target, name, key, rest.pop(key), notices)
    if "seed" in rest:
        set_from_text(s, "seed", "seed", rest.pop("seed"), notices)
    for key, text in rest.items():
        notices.append(
            f"{key} = {text!r} ignored: unknown key for {s.data.family} and "
            f"{s.model.kind}; allowed: family, model, seed, data.<knob>, "
            "model.<knob>, training.<knob>, curve.<knob>"
        )
    return notices

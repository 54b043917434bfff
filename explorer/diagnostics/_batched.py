"""Evaluate a ``ParamsLoss`` at many parameter points: vmap in chunks, else a loop.

Points along a line or a plane are ``θ(c) = base + Σₖ cₖ dₖ`` for coefficient rows
``c``. Each chunk of rows becomes one batched parameter dict, evaluated by
``torch.func.vmap`` in one call: a few large tensor ops instead of a Python loop of
small ones. A chunk that runs out of memory is halved and retried; a loss that
cannot be vmapped (data-dependent Python control flow, ``.item()``), or that
takes derivatives by ``torch.autograd`` inside (which vmap would silently zero),
is evaluated point by point instead, still through ``functional_call``, and the
result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor
from torch.func import vmap

from explorer.diagnostics._functional import ParamsLoss, evaluate, transformable
from explorer.diagnostics._job import Job

__all__ = ["evaluate_points"]


def _point(
    base: Mapping[str, Tensor], dirs: Sequence[Mapping[str, Tensor]], c: Tensor
) -> dict[str, Tensor]:
    """base + Σₖ c[..., k] dₖ, with a leading batch axis when ``c`` is 2-D."""
    out = {}
    for name, b in base.items():
        value = b
        for k, d in enumerate(dirs):
            ck = c[..., k].reshape(*c.shape[:-1], *([1] * b.dim()))
            value = value + ck * d[name]
        out[name] = value
    return out


def _as_dict(value: Tensor | Mapping[str, Tensor]) -> dict[str, Tensor]:
    return dict(value) if isinstance(value, Mapping) else {"loss": value}


def _is_memory_error(err: BaseException) -> bool:
    text = str(err).lower()
    return "out of memory" in text or "can't allocate" in text


def evaluate_points(
    loss_fn: ParamsLoss,
    base: Mapping[str, Tensor],
    dirs: Sequence[Mapping[str, Tensor]],
    coefficients: Tensor,
    *,
    chunk: int,
    job: Job,
    point: Callable[[Tensor], dict[str, Tensor]] | None = None,
) -> tuple[dict[str, Tensor], dict[str, object]]:
    """The loss at every row of ``coefficients`` ``(n, k)``.

    Args:
        loss_fn: params -> scalar or dict of scalars.
        base, dirs: the affine map from coefficients to parameters.
        coefficients: ``(n, len(dirs))``.
        chunk: rows per vmap call (halved on running out of memory).
        job: progress and cancellation, checked between chunks.
        point: an alternative map from a coefficient batch ``(b, k)`` to batched
            parameters (the line uses it to hit both end points exactly).

    Returns:
        ``{name: (n,) values}`` and how they were computed (``evaluation``:
        ``"vmap"`` or ``"sequential"``, ``chunk``, and a ``fallback`` reason).
    """
    make = point or (lambda c: _point(base, dirs, c))
    n = coefficients.shape[0]
    batched = vmap(loss_fn)
    parts: list[dict[str, Tensor]] = []
    info: dict[str, object] = {"evaluation": "vmap", "chunk": chunk}
    reason = _refuse_vmap(loss_fn, make(coefficients[:1]))
    if reason is not None:
        info.update(evaluation="sequential", fallback=reason)
        batched = _sequential(loss_fn)
    start = 0
    with torch.no_grad():
        while start < n:
            job.check(start / n)
            rows = coefficients[start : start + chunk]
            try:
                parts.append(_as_dict(batched(make(rows))))
            except RuntimeError as err:
                if _is_memory_error(err) and chunk > 1:
                    chunk = max(1, chunk // 2)
                    info["chunk"] = chunk
                    continue
                raise
            start += rows.shape[0]
    job.check(1.0)
    names = parts[0].keys()
    values = {k: torch.cat([p[k].reshape(-1) for p in parts]) for k in names}
    return values, info


def _refuse_vmap(loss_fn: ParamsLoss, first: dict[str, Tensor]) -> str | None:
    """Why vmap must not evaluate ``loss_fn`` (None if it may).

    Besides the declared flag, one point is evaluated both ways: a loss that takes
    derivatives by torch.autograd inside would get zeros for them under vmap,
    silently, and give a different value.
    """
    if not transformable(loss_fn):
        return "the loss differentiates by torch.autograd inside"
    with torch.no_grad():
        try:
            fast = _as_dict(vmap(loss_fn)(first))
        except RuntimeError as err:
            if _is_memory_error(err):
                raise
            return f"vmap failed: {str(err)[:160]}"
    plain = _as_dict(evaluate(loss_fn, {k: v[0] for k, v in first.items()}))
    for key, value in plain.items():
        ref = value.detach().reshape(())
        tol = float(torch.finfo(ref.dtype).eps) ** 0.5
        if abs(float(fast[key][0]) - float(ref)) > tol * (abs(float(ref)) + tol):
            return f"vmap and a plain call disagree on {key!r}"
    return None


def _sequential(loss_fn: ParamsLoss) -> Callable[[dict[str, Tensor]], dict]:
    """One functional call per row: the fallback for losses vmap cannot batch."""

    def run(params: dict[str, Tensor]) -> dict[str, Tensor]:
        rows = next(iter(params.values())).shape[0]
        outs = [
            _as_dict(evaluate(loss_fn, {k: v[i] for k, v in params.items()}))
            for i in range(rows)
        ]
        return {k: torch.stack([o[k] for o in outs]) for k in outs[0]}

    return run

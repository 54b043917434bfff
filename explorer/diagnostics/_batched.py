"""Evaluate a ``ParamsLoss`` at many parameter points: vmap in chunks, else a loop.

Points along a line or a plane are ``θ(c) = base + Σₖ cₖ dₖ`` for coefficient rows
``c``. Each chunk of rows becomes one batched parameter dict, evaluated by
``torch.func.vmap`` in one call: a few large tensor ops instead of a Python loop of
small ones. A chunk that runs out of memory is halved and retried; a loss that
cannot be vmapped (data-dependent Python control flow, ``.item()``), or that
takes derivatives by ``torch.autograd`` inside (which vmap would silently zero),
is evaluated point by point instead, still through ``functional_call``, and the
result says so.

Chunks run on ``workers`` threads at once when the loss can be replicated (see
:meth:`~explorer.diagnostics._functional.Objective.replica`), each thread with one
intra-op thread and its own copy of the module. Torch releases the GIL inside
each op, and a chunk's ops are large (tens of microseconds), so two threads come
close to two processes without spawning or pickling anything: the 41 × 41 plane
of bench/diagnostics.py went from 2.2 s to 1.1–1.3 s on two cores. (Two intra-op
threads instead lose here: see :mod:`explorer._threads`.)
"""

from __future__ import annotations

import math
import os
import queue
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor
from torch.func import vmap

from explorer._threads import one_thread
from explorer.diagnostics._functional import ParamsLoss, evaluate, transformable
from explorer.diagnostics._job import Job

__all__ = ["default_workers", "evaluate_points"]


def default_workers() -> int:
    """Threads for a grid: one per core, at most 2 (a laptop or a Binder box
    keeps a core for the server and the training run)."""
    return max(1, min(2, os.cpu_count() or 1))


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
    workers: int = 1,
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
        workers: threads evaluating chunks at once (vmapped losses with replicas
            only; chunks are then resized so every thread gets the same number).

    Returns:
        ``{name: (n,) values}`` and how they were computed (``evaluation``:
        ``"vmap"`` or ``"sequential"``, ``chunk``, ``workers``, and a ``fallback``
        reason).
    """
    make = point or (lambda c: _point(base, dirs, c))
    n = coefficients.shape[0]
    batched = vmap(loss_fn)
    parts: list[dict[str, Tensor]] = []
    info: dict[str, object] = {"evaluation": "vmap", "chunk": chunk, "workers": 1}
    reason = _refuse_vmap(loss_fn, make(coefficients[:1]))
    start = 0
    if reason is not None:
        info.update(evaluation="sequential", fallback=reason)
        batched = _sequential(loss_fn)
    elif workers > 1 and n > 1:
        fns = _replicas(loss_fn, workers)
        if len(fns) > 1:
            rounds = math.ceil(n / (chunk * len(fns)))
            chunk = math.ceil(n / (rounds * len(fns)))
            info.update(chunk=chunk, workers=len(fns))
            parts, start = _in_threads(fns, make, coefficients, chunk, job)
            if start < n:  # a chunk ran out of memory: go on here, halved
                chunk = max(1, chunk // 2)
                info.update(chunk=chunk, workers=1)
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


def _replicas(loss_fn: ParamsLoss, workers: int) -> list[ParamsLoss]:
    """``loss_fn`` and up to ``workers - 1`` private copies of it."""
    fns = [loss_fn]
    replica = getattr(loss_fn, "replica", None)
    while replica is not None and len(fns) < workers:
        twin = replica()
        if twin is None:
            break
        fns.append(twin)
    return fns


def _in_threads(
    fns: Sequence[ParamsLoss],
    make: Callable[[Tensor], dict[str, Tensor]],
    coefficients: Tensor,
    chunk: int,
    job: Job,
) -> tuple[list[dict[str, Tensor]], int]:
    """Chunks on ``len(fns)`` threads, each borrowing one replica per chunk.

    Returns the chunks' values in order and the first row not done: ``n``, or the
    start of a chunk that ran out of memory (the caller goes on from there).
    """
    free: queue.SimpleQueue = queue.SimpleQueue()
    for fn in fns:
        free.put(vmap(fn))

    def run(rows: Tensor) -> dict[str, Tensor]:
        fn = free.get()
        try:
            with one_thread(), torch.no_grad():
                return _as_dict(fn(make(rows)))
        finally:
            free.put(fn)

    n = coefficients.shape[0]
    starts = range(0, n, chunk)
    parts: list[dict[str, Tensor]] = []
    with ThreadPoolExecutor(len(fns), thread_name_prefix="explorer-grid") as pool:
        futures = [pool.submit(run, coefficients[s : s + chunk]) for s in starts]
        try:
            for s, future in zip(starts, futures):
                job.check(s / n)
                try:
                    parts.append(future.result())
                except RuntimeError as err:
                    if _is_memory_error(err):
                        return parts, s
                    raise
        finally:  # cancelled or failed: drop the chunks not started
            for future in futures:
                future.cancel()
    return parts, n


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

"""Data parallelism over collocation points on CPU threads.

A PINN step at DeepXDE's sizes (thousands of points, a 20–32 wide net) is a few
hundred small ops whose tensors do not stay in cache: PyTorch's intra-op threads
split each op in two and pay a fork/join per op (under OMP_WAIT_POLICY=PASSIVE about
as long as the op itself), so a second core barely helps. Splitting the *points*
instead lets each core run a whole forward and backward pass on its shard with one
intra-op thread, no synchronisation until the gradients are summed. These are
compute threads, like OpenMP's: no I/O, no UI, no state outside the step.

Only losses that are sums over points split this way; :meth:`PINNLoss.decomposable`
says which (causal weights and eigenproblems' norm and deflation couple all points).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from explorer.data import Collocation
from explorer.losses import Observations, PINNLoss

__all__ = ["ShardedLoss"]


def _one_thread() -> None:
    torch.set_num_threads(1)  # per OS thread: the caller's own setting is untouched


class ShardedLoss:
    """The weighted loss and its gradient, evaluated on ``workers`` point shards.

    Each call splits the batch (cached while the batch object is the same), runs
    every shard's forward pass on its own thread, then every shard's backward pass,
    and sums the gradients in shard order into ``param.grad``: the same seed and
    worker count give bit-identical steps.

    Args:
        loss: a loss whose :attr:`~PINNLoss.decomposable` is True.
        params: the parameters to differentiate.
        workers: threads and shards (2 or more).
    """

    def __init__(self, loss: PINNLoss, params: list[Tensor], workers: int) -> None:
        if workers < 2:
            raise ValueError(f"workers = {workers!r}; allowed: 2 or more to shard")
        self.loss = loss
        self.params = params
        self.workers = workers
        self._pool = ThreadPoolExecutor(
            workers, thread_name_prefix="explorer-shard", initializer=_one_thread
        )
        weakref.finalize(self, self._pool.shutdown, wait=False)
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._shards: list[tuple[PINNLoss, Collocation]] = []

    def _split(self, batch: Collocation) -> list[tuple[PINNLoss, Collocation]]:
        key = (id(batch), id(self.loss.problem))  # the curriculum swaps the problem
        with self._lock:
            if key != self._key:
                k = self.workers
                parts: list[dict[str, Tensor]] = [{} for _ in range(k)]
                for f in dataclasses.fields(Collocation):
                    pieces = torch.tensor_split(getattr(batch, f.name), k)
                    for part, piece in zip(parts, pieces):
                        part[f.name] = piece
                obs = self.loss.observations
                losses = [self.loss] * k
                if obs is not None:
                    points = torch.tensor_split(obs.points, k)
                    values = torch.tensor_split(obs.values, k)
                    losses = [
                        dataclasses.replace(self.loss, observations=Observations(p, v))
                        for p, v in zip(points, values)
                    ]
                self._shards = [(lo, Collocation(**p)) for lo, p in zip(losses, parts)]
                self._key = key
            return self._shards

    def __call__(
        self, batch: Collocation, weights: dict[str, float]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Set the parameters' ``.grad``; return the total and the terms, detached.

        Missing ``weights`` entries are set to 1, as the serial loss does.
        """
        shards = self._split(batch)
        sums = list(self._pool.map(_forward, shards))
        rows = {k: sum(s[k][1] for s in sums) for k in sums[0]}
        scale = {k: weights.setdefault(k, 1.0) / n for k, n in rows.items()}
        partials = [sum(scale[k] * t for k, (t, _) in s.items()) for s in sums]
        grads = list(self._pool.map(self._backward, partials))
        for i, p in enumerate(self.params):
            g = grads[0][i]
            for other in grads[1:]:
                g = g + other[i]
            p.grad = g
        terms = {k: sum(s[k][0].detach() for s in sums) / rows[k] for k in rows}
        total = sum(p.detach() for p in partials)
        return total, terms

    def _backward(self, partial: Tensor) -> tuple[Tensor, ...]:
        return torch.autograd.grad(partial, self.params, materialize_grads=True)


def _forward(shard: tuple[PINNLoss, Collocation]) -> dict[str, tuple[Tensor, Any]]:
    loss, batch = shard
    out = {}
    for name, err in loss.pointwise(batch).items():
        squares = err.square() if err.dim() == 1 else err.square().sum(-1)
        out[name] = (squares.sum(), squares.shape[0])
    return out

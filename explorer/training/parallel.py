"""Data parallelism over collocation points in worker processes.

A PINN step at DeepXDE's sizes (thousands of points, a 20–32 wide net) is a few
hundred small ops whose tensors do not stay in cache. PyTorch's intra-op threads
split each op in two and pay a fork/join per op (under OMP_WAIT_POLICY=PASSIVE about
as long as the op itself): the Burgers benchmark runs 45 steps/s on two threads
against 143 on one. Splitting the *points* instead lets each core run a whole
forward and backward pass on its shard with one intra-op thread. On threads that
still loses to one thread (130 steps/s: every op hands the GIL over, and both shards
start their Python-heavy forward passes at once), so the shards live in processes,
which scale as two separate programs do.

The calling thread computes the first shard itself (one intra-op thread while it
does); each other shard lives in a worker process holding a pickled copy of the loss
restricted to it. A worker's parameters are views of shared-memory buffers that the
trainer refreshes before every call, and it writes its gradient into a shared buffer
of its own: per call only a few small messages cross the pipes, and both sides poll
for them briefly before blocking (waking a blocked process cost 0.4 of the 3.5 ms
call; the Burgers A/B median against DeepXDE went from 3.1x to 3.2-3.6x). Workers
are spawned (never forked: the caller may run threads) on the first call, so a
script that trains with ``workers > 1`` needs the usual ``if __name__ ==
"__main__":`` guard; they are re-sent their shard when the batch or the problem
changes, and stopped with the loss.

Only losses that are sums over points split this way; :meth:`PINNLoss.decomposable`
says which (causal weights and eigenproblems' norm and deflation couple all points).
"""

from __future__ import annotations

import dataclasses
import pickle
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from typing import Any

import torch
import torch.multiprocessing as tmp
from torch import Tensor

from explorer._threads import one_thread
from explorer.data import Collocation
from explorer.losses import Observations, PINNLoss

__all__ = ["ShardedLoss"]

_START_TIMEOUT = 120.0  # seconds for a spawned worker to import torch and reply
_SPIN_S = 0.02  # seconds a waiting side polls before it blocks, see _spin


class ShardedLoss:
    """The weighted loss and its gradient, evaluated on ``workers`` point shards.

    Each call sends the current parameters to the worker processes, runs the
    forward and backward pass of every shard with one thread each (the first one
    here), and sums the gradients in shard order into ``param.grad``: the same
    seed and worker count give bit-identical steps, equal to one process's up to
    the order of summation.

    Args:
        loss: a loss whose :attr:`~PINNLoss.decomposable` is True, on the CPU.
        params: the parameters to differentiate.
        workers: shards (2 or more): this thread and ``workers - 1`` processes.
    """

    def __init__(self, loss: PINNLoss, params: list[Tensor], workers: int) -> None:
        if workers < 2:
            raise ValueError(f"workers = {workers!r}; allowed: 2 or more to shard")
        if any(p.device.type != "cpu" for p in params):
            raise ValueError("workers > 1 shards over CPU processes; allowed: CPU only")
        self.loss = loss
        self.params = params
        self.workers = workers
        self._shared = [p.detach().clone().share_memory_() for p in params]
        self._grads = [
            [torch.zeros_like(p).share_memory_() for p in self._shared]
            for _ in range(workers - 1)
        ]
        self._conns: list[Connection] = []
        self._seen: tuple[Any, ...] | None = None  # what the shards were built from
        self._local: tuple[PINNLoss, Collocation] | None = None  # the first shard
        self._rows: dict[str, int] = {}

    def close(self) -> None:
        """Stop the worker processes (also done when the loss is collected)."""
        if self._conns:
            self._finalizer()
            self._conns = []
            self._seen = None

    def __call__(
        self, batch: Collocation, weights: dict[str, float]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Set the parameters' ``.grad``; return the total and the terms, detached.

        Missing ``weights`` entries are set to 1, as the serial loss does.
        """
        self._prepare(batch)
        with torch.no_grad():
            torch._foreach_copy_(self._shared, self.params)
        scale = {k: weights.setdefault(k, 1.0) / n for k, n in self._rows.items()}
        for conn in self._conns:
            conn.send(("step", scale))
        with one_thread():
            grads, sums, partial = _gradient(*self._local, self.params, scale)
        replies = [(sums, partial)]
        replies += [self._receive(i) for i in range(len(self._conns))]
        for other in self._grads:
            grads = torch._foreach_add(grads, other)  # new tensors, in shard order
        for p, g in zip(self.params, grads):
            p.grad = g
        like = {"dtype": self.params[0].dtype}
        terms = {
            k: torch.tensor(sum(r[0][k] for r in replies) / n, **like)
            for k, n in self._rows.items()
        }
        return torch.tensor(sum(r[1] for r in replies), **like), terms

    # ---- workers --------------------------------------------------------------------
    def _prepare(self, batch: Collocation) -> None:
        seen = (batch, self.loss.problem, self.loss.observations)
        if self._seen is not None and all(a is b for a, b in zip(seen, self._seen)):
            return
        if not self._conns:
            self._start()
        local, *shards = self._split(batch)
        for conn, shard in zip(self._conns, shards):
            # One pickle keeps the identity of the parameters inside its loss.
            conn.send(("setup", pickle.dumps((*shard, self.params))))
        self._local = local
        rows = {k: n for k, (_, n) in _forward(*local).items()}
        for i in range(len(self._conns)):
            for k, n in self._receive(i, _START_TIMEOUT).items():
                rows[k] += n
        self._rows, self._seen = rows, seen

    def _start(self) -> None:
        ctx = tmp.get_context("spawn")  # fork is unsafe once threads exist
        procs = []
        for i in range(self.workers - 1):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve,
                args=(child, self._shared, self._grads[i]),
                name=f"explorer-shard-{i + 1}",
                daemon=True,
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            procs.append(proc)
        self._finalizer = weakref.finalize(self, _stop, list(self._conns), procs)

    def _split(self, batch: Collocation) -> list[tuple[PINNLoss, Collocation]]:
        """One (loss, points) per shard, with its share of the points and data."""
        k = self.workers
        parts: list[dict[str, Tensor]] = [{} for _ in range(k)]
        for f in dataclasses.fields(Collocation):
            for part, piece in zip(
                parts, torch.tensor_split(getattr(batch, f.name), k)
            ):
                part[f.name] = piece.clone()  # a view would pickle its whole base
        losses = [self.loss] * k
        obs = self.loss.observations
        if obs is not None:
            points = torch.tensor_split(obs.points, k)
            values = torch.tensor_split(obs.values, k)
            losses = [
                dataclasses.replace(
                    self.loss, observations=Observations(p.clone(), v.clone())
                )
                for p, v in zip(points, values)
            ]
        return [(loss, Collocation(**part)) for loss, part in zip(losses, parts)]

    def _receive(self, i: int, timeout: float | None = None) -> Any:
        conn, name = self._conns[i], f"the worker process of shard {i + 1}"
        try:
            _spin(conn)
            if timeout is not None and not conn.poll(timeout):
                raise TimeoutError(f"no answer in {timeout:.0f} s")
            status, *payload = conn.recv()
        except (EOFError, OSError) as e:
            self.close()
            raise RuntimeError(
                f"{name} stopped ({e!r}). Worker processes import the main "
                "module: a script that trains with workers > 1 needs its code "
                'under `if __name__ == "__main__":`; or train with workers=1.'
            ) from e
        if status == "error":
            self.close()
            raise RuntimeError(f"{name} failed (workers=1 runs it here):\n{payload[0]}")
        return payload[0] if len(payload) == 1 else payload


def _spin(conn: Connection) -> None:
    """Poll ``conn`` for up to ``_SPIN_S`` before the caller blocks on it.

    A process that blocks between steps is woken by the kernel about 0.3 ms late on
    this 2-core VM, twice per step (worker on "step", trainer on the reply): a
    tenth of the Burgers step. The wait between steps is the trainer's optimiser
    update, about 1 ms, so polling costs a core that would idle anyway.
    """
    end = time.perf_counter() + _SPIN_S
    while not conn.poll(0) and time.perf_counter() < end:
        pass


def _stop(conns: list[Connection], procs: list) -> None:
    for conn in conns:
        try:
            conn.send(None)
            conn.close()
        except OSError:
            pass
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()


def _gradient(
    loss: PINNLoss, batch: Collocation, params: list[Tensor], scale: dict[str, float]
) -> tuple[tuple[Tensor, ...], dict[str, float], float]:
    """A shard's gradient of its share of the weighted loss, its sums of squares
    by term, and that share."""
    sums = _forward(loss, batch)
    partial = sum(scale[k] * t for k, (t, _) in sums.items())
    grads = torch.autograd.grad(partial, params, materialize_grads=True)
    return grads, {k: t.item() for k, (t, _) in sums.items()}, partial.item()


def _forward(loss: PINNLoss, batch: Collocation) -> dict[str, tuple[Tensor, int]]:
    """Each term's sum of squares over this shard and its number of rows."""
    out = {}
    for name, err in loss.pointwise(batch).items():
        squares = err.square() if err.dim() == 1 else err.square().sum(-1)
        out[name] = (squares.sum(), squares.shape[0])
    return out


def _serve(conn: Connection, shared: list[Tensor], grads: list[Tensor]) -> None:
    """A worker's loop: ``setup`` answers row counts, ``step`` fills ``grads``."""
    torch.set_num_threads(1)
    loss = batch = params = None
    while True:
        try:
            _spin(conn)
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        try:
            if msg[0] == "setup":
                loss, batch, params = pickle.loads(msg[1])
                for p, s in zip(params, shared):
                    p.data = s  # the trainer's values, refreshed before each step
                sums = _forward(loss, batch)
                conn.send(("ok", {k: n for k, (_, n) in sums.items()}))
            else:
                g, sums, partial = _gradient(loss, batch, params, msg[1])
                torch._foreach_copy_(grads, g)
                conn.send(("ok", sums, partial))
        except Exception:  # reported to the trainer, which raises it
            conn.send(("error", traceback.format_exc()))

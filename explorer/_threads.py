"""One intra-op thread for a while: the right setting for PINN-sized work on a CPU.

A training step, a Hessian-vector product or a landscape chunk is hundreds of small
ops. PyTorch's intra-op threads split each one and pay a fork/join per op (under
OMP_WAIT_POLICY=PASSIVE about as long as the op): on DeepXDE's Burgers PINN and two
cores, one thread runs Adam 3x faster (143 against 45 steps/s) and the PyHessian
density loop 2.9x faster. More cores are used by sharding the points over processes
(:mod:`explorer.training.parallel`), not by splitting ops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["SMALL_WORK", "one_thread", "threads_for"]

#: Values per op (batch × channels × grid points) below which one thread wins: an
#: FNO step on 20 × 64 × 256 runs 1.8x faster on one thread than on two here, one
#: on 100 × 64 × 256 or on a 64² Darcy batch 1.3-1.6x slower.
SMALL_WORK = 1 << 20


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread for the calling OS thread (also a decorator).

    ``torch.set_num_threads`` is per OS thread under OpenMP, so other threads (a
    server's, another session's) keep their own setting.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def threads_for(values: int) -> contextlib.AbstractContextManager[None]:
    """:func:`one_thread` for work on tensors of under :data:`SMALL_WORK` values;
    torch's own setting for larger ones."""
    return one_thread() if values < SMALL_WORK else contextlib.nullcontext()

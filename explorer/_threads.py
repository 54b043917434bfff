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

__all__ = ["one_thread"]


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

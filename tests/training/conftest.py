"""Engine tests run tiny float64 networks: one intra-op thread is fastest.

With the default two threads on a shared 2-core machine, each tiny matmul pays a
thread hand-off; under any other load that made a 100-step Adam run 20-50x slower
(0.35 s alone vs 7-19 s contended). The setting is restored after each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

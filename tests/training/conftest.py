"""Engine tests run tiny float64 networks: one intra-op thread is fastest.

With the default two threads on a shared 2-core machine, each tiny matmul pays a
thread hand-off; under any other load that made a 100-step Adam run 20-50x slower
(0.35 s alone vs 7-19 s contended). The setting is restored after each test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here on one intra-op thread."""

"""Dataset tests solve tiny batches: one intra-op thread avoids hand-off overhead."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here on one intra-op thread."""

"""Shared fixtures: a float64 generator, the reference data folder, one intra-op
thread (tiny nets on a shared 2-core machine are fastest on one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from explorer._threads import one_thread

DATA = Path(__file__).parent / "data"


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    with one_thread():
        yield

"""one_thread: one intra-op thread inside, the caller's setting restored after."""

from __future__ import annotations

import threading

import pytest
import torch

from explorer._threads import one_thread


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_one_thread_inside_and_restored_after(two_threads) -> None:
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_restored_after_an_error_and_as_a_decorator(two_threads) -> None:
    @one_thread()
    def inside() -> int:
        return torch.get_num_threads()

    assert inside() == 1 and torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_another_os_thread_keeps_its_setting(two_threads) -> None:
    seen: list[int] = []
    inside, done = threading.Event(), threading.Event()

    def work() -> None:
        with one_thread():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=work)
    t.start()
    inside.wait(5)
    seen.append(torch.get_num_threads())  # this thread, while the other is inside
    done.set()
    t.join()
    assert seen == [2]

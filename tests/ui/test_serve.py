"""``explorer serve`` serves every lab on localhost."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from explorer.ui.panel import APPS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = _free_port()
    cmd = [sys.executable, "-m", "explorer.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("localhost", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    yield port, proc
    proc.terminate()
    proc.wait(timeout=20)


def test_every_app_answers(server) -> None:
    port, proc = server
    for name in APPS:
        with urllib.request.urlopen(f"http://localhost:{port}/{name}", timeout=60) as r:
            assert r.status == 200
            html = r.read().decode()
        assert "Neural PDE Explorer" in html
    assert proc.poll() is None, "the server died"


def test_warm_up_builds_a_lab_page_and_leaves_nothing_running() -> None:
    """`explorer serve` builds one page before it listens (the first visitor's page
    then builds warm); that page's session is closed again."""
    import threading

    from explorer.ui.panel.apps import warm_up

    before = {t.ident for t in threading.enumerate()}
    warm_up()
    extra = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [t for t in extra if not t.daemon], extra

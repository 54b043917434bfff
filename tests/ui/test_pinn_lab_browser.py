"""The PINN Lab in a real browser: train live, pause, reload from the URL, no errors.

Serves ``apps/pinn_lab.py`` with ``panel serve`` and drives it with Playwright and the
system Chromium (never a downloaded one). The run is tiny (set through the URL, which
the lab reads on load). Screenshots go to ``artifacts/``. Skipped when
``/usr/bin/chromium`` or playwright is missing.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ui._browser import ARGS, ARTIFACTS, CHROMIUM, ROOT, free_port

TIMEOUT = 40.0  # s; every wait ends as soon as its condition holds
# A tiny run that keeps training until paused.
TINY = {
    "model.depth": "2",
    "model.width": "16",
    "training.n_interior": "256",
    "training.snapshot_every": "20",
    "training.steps": "100000",
}

if not CHROMIUM.exists():
    pytest.skip(
        "needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        str(ROOT / "apps" / "pinn_lab.py"),
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
    ]
    log = tmp_path_factory.mktemp("panel") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}/pinn_lab"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(address, timeout=30):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"panel serve failed: {log.read_text()}"
                    ) from None
                time.sleep(0.3)
        yield address, log
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for(condition: Callable[[], bool], what: str) -> float:
    """Seconds until ``condition()`` holds (tolerating redraws in between)."""
    start = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - start
        except sync_api.Error:  # an element is being replaced
            pass
        assert time.monotonic() - start < TIMEOUT, f"timed out waiting for {what}"
        time.sleep(0.1)


class Lab:
    """A browser tab on the lab that records console errors and every request."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        # Requests cut short by the reload are aborted, not failed.
        page.on(
            "requestfailed",
            lambda r: (
                r.failure != "net::ERR_ABORTED"
                and self.failed.append(f"{r.url} ({r.failure}; {r.resource_type})")
            ),
        )
        page.goto(url)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.page.get_by_text("idle · step 0").wait_for(timeout=TIMEOUT * 1000)
        self.canvas(".lab-field-0").wait_for(timeout=TIMEOUT * 1000)

    def canvas(self, css_class: str):
        return self.page.locator(f"{css_class} canvas").first

    def pixels(self, css_class: str) -> str:
        return hashlib.sha256(self.canvas(css_class).screenshot()).hexdigest()

    def status(self) -> str:
        """The status line (the first alert; its text lives in a shadow root)."""
        return self.page.locator(".alert").first.evaluate(
            "e => Array.from((e.shadowRoot || e).children)"
            ".filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
            ".map(c => c.innerText).join('').trim()"
        )

    def step(self) -> int:
        """The step count in the status line."""
        return int(self.status().split("step ")[1].split("/")[0])

    def step_holds(self, seconds: float) -> bool:
        """The status's step count is the same ``seconds`` apart."""
        before = self.step()
        time.sleep(seconds)
        return self.step() == before

    def nu(self):
        # The Problem tab's first number box: Burgers' nu (the seed box is first).
        return self.page.locator("input.bk-input").nth(1)

    def query(self) -> dict[str, str]:
        # The page's own location: the lab moves it with history.pushState.
        search = self.page.evaluate("() => window.location.search")
        return dict(urllib.parse.parse_qsl(search.lstrip("?")))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(0.5)  # let bokeh finish layout
        self.page.screenshot(path=str(ARTIFACTS / f"pinn_lab_{name}.png"))

    def assert_clean(self, host: str) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        # blob: and data: URLs are the page's own; anything on the network must be
        # the lab's server.
        urls = [urllib.parse.urlparse(u) for u in self.requests]
        external = [
            u.geturl()
            for u in urls
            if u.scheme in ("http", "https", "ws", "wss") and u.netloc != host
        ]
        assert external == [], external


def test_train_pause_and_reload_from_the_url(served: tuple[str, Path]) -> None:
    address, log = served
    url = f"{address}?{urllib.parse.urlencode(TINY)}"
    host = urllib.parse.urlparse(address).netloc
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            lab = Lab(page, url)
            assert page.title() == "Neural PDE Explorer — PINN Lab"
            assert lab.nu().input_value() == "0.0032"  # Burgers' default
            assert page.get_by_text("to see the loss terms").is_visible()
            lab.shot("idle")

            # Change nu: the reference preview redraws and the URL follows.
            preview = lab.pixels(".lab-field-0")
            lab.nu().fill("0.02")
            lab.nu().press("Enter")
            wait_for(lambda: lab.query().get("problem.nu") == "0.02", "nu in the URL")
            wait_for(lambda: lab.pixels(".lab-field-0") != preview, "a new preview")
            assert lab.query()["model.width"] == "16"  # the whole experiment

            # Train: the loss plot appears, then changes; the fields change too.
            field = lab.pixels(".lab-field-0")
            page.get_by_role("button", name="▶ Train").click()
            wait_for(lambda: lab.canvas(".lab-loss").is_visible(), "the loss plot")
            wait_for(lambda: lab.pixels(".lab-field-0") != field, "a new field")
            loss = lab.pixels(".lab-loss")
            wait_for(lambda: lab.pixels(".lab-loss") != loss, "the loss plot to move")
            assert "running" in lab.status() and "steps/s" in lab.status()
            lab.shot("training")

            page.get_by_role("button", name="Pause").click()
            wait_for(lambda: lab.status().startswith("paused"), "the pause")
            # At most the step in flight lands (the status may lag behind the
            # redraw that follows a pause, on a busy machine), then nothing.
            paused_at = lab.step()
            time.sleep(4.0)
            assert lab.step() - paused_at <= 1
            assert lab.step_holds(1.5)
            lab.shot("paused")
            lab.assert_clean(host)

            # Reload: a new session from the URL, with the same settings.
            page.reload()
            lab.wait_loaded()
            assert lab.nu().input_value() == "0.02"
            assert lab.query()["problem.nu"] == "0.02"
            assert lab.query()["training.n_interior"] == "256"
            lab.shot("reloaded")
            lab.assert_clean(host)
        finally:
            browser.close()
    time.sleep(0.5)  # the server notices the closed sockets
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text

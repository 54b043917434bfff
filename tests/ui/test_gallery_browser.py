"""The Gallery in a real browser: it renders, reacts to widgets, logs no errors.

Serves ``apps/gallery.py`` with ``panel serve`` and drives it with Playwright and the
system Chromium (never a downloaded one). Screenshots go to ``artifacts/``. Skipped
when ``/usr/bin/chromium`` or playwright is missing.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from explorer.problems import PROBLEMS
from tests.ui._browser import ARGS, ARTIFACTS, CHROMIUM, ROOT, free_port

if not CHROMIUM.exists():
    pytest.skip(
        "needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        str(ROOT / "apps" / "gallery.py"),
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
    address = f"http://127.0.0.1:{port}/gallery"
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
        yield address
    finally:
        server.terminate()
        server.wait(timeout=20)


class Page:
    """A browser tab on the gallery that records console errors and failed requests."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.goto(url)
        self.canvas().wait_for(timeout=60_000)

    def canvas(self):
        return self.page.locator("canvas").first

    def plot_hash(self) -> str:
        return hashlib.sha256(self.canvas().screenshot()).hexdigest()

    def wait_for_new_plot(self, before: str, timeout: float = 10.0) -> float:
        """Seconds until the plot's pixels differ from ``before``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if self.plot_hash() != before:
                    return time.monotonic() - start
            except sync_api.Error:  # the canvas is being replaced
                pass
            time.sleep(0.05)
        raise AssertionError("the plot did not change")

    def settle(self) -> None:
        time.sleep(0.8)  # let bokeh finish layout before a screenshot

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.settle()
        self.page.screenshot(
            path=str(ARTIFACTS / f"gallery_{name}.png"), full_page=True
        )

    def status(self) -> str:
        alert = self.page.locator(".alert").first
        return alert.evaluate(
            "e => Array.from((e.shadowRoot || e).children)"
            ".filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
            ".map(c => c.innerText).join('').trim()"
        )

    def choose_problem(self, name: str) -> None:
        before = self.plot_hash()
        self.page.get_by_label("Problem").select_option(label=PROBLEMS[name].title)
        self.page.get_by_role("heading", name=PROBLEMS[name].title).wait_for()
        # The status names the problem once its solution is drawn.
        deadline = time.monotonic() + 30
        while not self.status().startswith(f"{name}: reference by"):
            assert time.monotonic() < deadline, self.status()
            time.sleep(0.05)
        self.wait_for_new_plot(before)

    def assert_clean(self) -> None:
        """No console errors except failed fetches of external resources (fonts)."""
        local = [
            u for u in self.failed if urlparse(u).hostname in ("127.0.0.1", "localhost")
        ]
        assert not local, local
        external = [u for u in self.failed if u not in local]
        unexplained = [
            e
            for e in self.errors
            if not (external and e.startswith("Failed to load resource"))
        ]
        assert not unexplained, unexplained


@pytest.fixture
def gallery(url: str) -> Iterator[Page]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            yield Page(page, url)
        finally:
            browser.close()


def test_heat_reacts_to_typed_values_and_expressions(gallery: Page) -> None:
    page = gallery.page
    assert page.title() == "Neural PDE Explorer — Gallery"
    assert page.locator(".katex").count() > 0  # the equation is typeset
    gallery.shot("heat_default")
    assert gallery.status().startswith("heat: reference by exact")

    # nu: the first number box of the sidebar (the editable slider's input).
    nu = page.locator("input.bk-input").first
    assert nu.input_value() == "0.1"
    before = gallery.plot_hash()
    nu.fill("1")
    nu.press("Enter")
    latency = gallery.wait_for_new_plot(before)
    assert latency < 3.0  # typically ~0.1-0.3 s; loose for loaded CI machines
    gallery.shot("heat_nu_1")

    u0 = page.get_by_label("Initial condition u₀(x) (u0)")
    before = gallery.plot_hash()
    u0.fill("sin(pi*x) + sin(3*pi*x)")
    u0.press("Enter")
    gallery.wait_for_new_plot(before)
    gallery.shot("heat_expression")

    before = gallery.plot_hash()
    u0.fill("sin(pi*x")  # invalid: the alert says why, the plot stays
    u0.press("Enter")
    page.locator(".alert-danger").wait_for()
    assert "parameter 'u0'" in gallery.status()
    assert gallery.plot_hash() == before
    gallery.shot("heat_error")
    gallery.assert_clean()


def test_two_dimensional_and_eigen_problems(gallery: Page) -> None:
    shown = 0
    for name in ("poisson-2d", "helmholtz-2d", "schrodinger", "nls", "burgers"):
        if name not in PROBLEMS:
            continue
        gallery.choose_problem(name)
        assert gallery.page.locator(".alert-danger").count() == 0
        gallery.shot(name)
        shown += 1
    if shown == 0:
        pytest.skip("no 2-D or eigen problem registered yet")
    gallery.assert_clean()


@pytest.mark.slow
def test_every_problem_renders(gallery: Page) -> None:
    for name in PROBLEMS:
        if name != "heat":
            gallery.choose_problem(name)
        assert gallery.page.locator(".alert-danger").count() == 0, name
        gallery.shot(f"all_{name}")
    gallery.assert_clean()

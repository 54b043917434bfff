"""PINN Lab: training speed with a browser attached, page load time, server memory.

One process serves the PINN Lab (threaded ``pn.serve``) and drives it with Playwright
and the system Chromium. Measured side by side, in alternating segments of
``--seconds`` each (A/B, ``--repeats`` pairs), on the same configuration:

- headless: a PINNSession training in its worker thread, no server involvement;
- served: the lab's own session, training after a click on Train, while the page
  is open and redrawing (the lab polls the session and streams plots to the page).

Also: page load to the first complete render (the reference preview drawn and the
status line showing), cold (the first session after start-up, which builds one page
to warm up as ``explorer serve`` does) and warm; and the RSS of
an ``explorer serve`` process (all four apps) with one PINN Lab session after it
trained as long as the served segments together (measured in its own process: this
one also ran the headless sessions). Prints one JSON line per result.

    OMP_WAIT_POLICY=PASSIVE python bench/pinn_lab.py [--seconds 15] [--repeats 3]

The machine may be shared: run it when it is quiet, and compare figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import panel as pn
import psutil
import torch

from explorer.state import PINNSession
from explorer.ui.panel.apps import lab_page, warm_up
from explorer.ui.panel.pinn_lab import PINNLab

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The lab's default run (Burgers, 3 x 32 tanh, 1024 Sobol points, Adam), long
# enough that no segment reaches the end.
QUERY = {"training.steps": "1000000"}
WARMUP = 2.0  # s of training before a segment's clock starts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rate(session: PINNSession, seconds: float) -> float:
    """Steps per second of a running session over ``seconds`` (after a warm-up)."""
    time.sleep(WARMUP)
    step0, t0 = session.status.step, time.perf_counter()
    time.sleep(seconds)
    step1, t1 = session.status.step, time.perf_counter()
    return (step1 - step0) / (t1 - t0)


def headless_segment(seconds: float) -> float:
    session = PINNSession()
    session.from_query(QUERY)
    session.train()
    try:
        return _rate(session, seconds)
    finally:
        session.close()


def served_rss(browser: Any, seconds: float) -> dict[str, Any]:
    """RSS of an ``explorer serve`` process after one session trained ``seconds``."""
    port = _free_port()
    cmd = [sys.executable, "-m", "explorer.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*cmd, "--address", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        url = f"http://127.0.0.1:{port}/pinn-lab?{urllib.parse.urlencode(QUERY)}"
        for _ in range(120):  # the server takes a few seconds to import and listen
            try:
                tab.goto(url)
                break
            except Exception:  # connection refused until it listens
                time.sleep(0.5)
        tab.get_by_text("idle · step 0").wait_for(timeout=60_000)
        loaded = psutil.Process(server.pid).memory_info().rss / 2**20
        tab.get_by_role("button", name="▶ Train").click()
        time.sleep(seconds)
        rss = psutil.Process(server.pid).memory_info().rss / 2**20
        status = tab.get_by_text(re.compile(r"running · step")).first.inner_text()
        tab.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "measure": "server_rss_one_session",
        "process": "explorer serve (all apps)",
        "rss_mb": round(rss, 1),
        "rss_after_page_load_mb": round(loaded, 1),
        "trained_s": seconds,
        "status": status.strip(),
        "target_mb": 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch intra-op threads")
    parser.add_argument("--loads", type=int, default=3, help="warm page loads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from playwright.sync_api import sync_playwright

    base = {
        "bench": "pinn_lab",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "cpus": os.cpu_count(),
        "problem": "burgers",
    }

    def emit(record: dict[str, Any]) -> None:
        print(json.dumps({**base, **record}), flush=True)

    labs: list[PINNLab] = []

    def served_page() -> pn.viewable.Viewable:  # apps.pinn_lab_page, keeping the lab
        pn.extension("katex")
        lab = PINNLab(PINNSession(), location=pn.state.location)
        lab.start()
        labs.append(lab)
        return lab_page(lab)

    warm_up()  # as `explorer serve` does before it listens
    port = _free_port()
    server = pn.serve(
        {"pinn-lab": served_page},
        port=port,
        address="127.0.0.1",
        threaded=True,
        show=False,
        start=True,
    )
    url = f"http://127.0.0.1:{port}/pinn-lab?{urllib.parse.urlencode(QUERY)}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)

            def load() -> tuple[Any, float]:
                tab = browser.new_page(viewport={"width": 1400, "height": 900})
                start = time.perf_counter()
                tab.goto(url)
                tab.locator(".lab-field-0 canvas").first.wait_for(timeout=60_000)
                tab.get_by_text("idle · step 0").wait_for(timeout=60_000)
                return tab, time.perf_counter() - start

            tab, cold = load()
            lab = labs[-1]
            draws: list[float] = []  # seconds of each redraw of the served page
            timed_draw = lab._timed_draw

            def logged_draw() -> float:
                seconds = timed_draw()
                draws.append(seconds)
                return seconds

            lab._timed_draw = logged_draw
            served: list[float] = []
            headless: list[float] = []
            frames = 0
            for _ in range(args.repeats):
                headless.append(headless_segment(args.seconds))
                before = lab.loss.frames
                tab.get_by_role("button", name="▶ Train").click()
                served.append(_rate(lab.session, args.seconds))
                frames += lab.loss.frames - before
                tab.get_by_role("button", name="Pause").click()
                time.sleep(0.5)
            hs, ss = statistics.median(headless), statistics.median(served)
            emit(
                {
                    "measure": "steps_per_second",
                    "headless": round(hs, 1),
                    "served_with_browser": round(ss, 1),
                    "ratio": round(ss / hs, 3),
                    "target_ratio": 0.8,
                    "segments_headless": [round(x, 1) for x in headless],
                    "segments_served": [round(x, 1) for x in served],
                    "seconds_per_segment": args.seconds,
                    "plot_redraws_served": frames,
                    "first_redraw_s": round(draws[0], 3) if draws else None,
                    "median_redraw_s": round(statistics.median(draws), 3)
                    if draws
                    else None,
                    "note": "segment 1 of served includes building the figures "
                    "(first redraw); shared, noisy 2-core machine",
                }
            )
            tab.close()
            warm = []
            for _ in range(args.loads):
                extra, seconds = load()
                warm.append(seconds)
                extra.close()
            emit(
                {
                    "measure": "page_load_to_first_render",
                    "cold_s": round(cold, 2),
                    "warm_s": [round(x, 2) for x in warm],
                    "warm_median_s": round(statistics.median(warm), 2),
                    "target_s": 3.0,
                }
            )
            emit(served_rss(browser, args.seconds * args.repeats))
            browser.close()
    finally:
        for lab in labs:
            lab.close()
        server.stop()


if __name__ == "__main__":
    main()

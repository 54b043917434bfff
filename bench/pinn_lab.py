"""PINN Lab: training speed with a browser attached, page load time, server memory.

One process serves the PINN Lab (threaded ``pn.serve``) and drives it with Playwright
and the system Chromium. Measured side by side, in alternating segments of
``--seconds`` each (A/B, ``--repeats`` pairs), on the same configuration:

- headless: a PINNSession training in its worker thread, no server involvement;
- served: the lab's own session, training after a click on Train, while the page
  is open and redrawing (the lab polls the session and streams plots to the page).

Also: page load to the first complete render (the reference preview drawn and the
status line showing), cold (first session of the process) and warm; the server
process's RSS with the one session after training. Prints one JSON line per result.

    OMP_WAIT_POLICY=PASSIVE python bench/pinn_lab.py [--seconds 15] [--repeats 3]

The machine may be shared: run it when it is quiet, and compare figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
import urllib.parse
from pathlib import Path
from typing import Any

import panel as pn
import psutil
import torch

from explorer.state import PINNSession
from explorer.ui.panel.apps import lab_page
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
            rss = psutil.Process().memory_info().rss / 2**20
            emit(
                {
                    "measure": "server_rss_one_session",
                    "rss_mb": round(rss, 1),
                    "target_mb": 1024,
                    "steps_trained": lab.session.status.step,
                    "snapshots": lab.session.run.snapshots,
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
            browser.close()
    finally:
        for lab in labs:
            lab.close()
        server.stop()


if __name__ == "__main__":
    main()

"""DeepXDE's examples/pinn_forward/Burgers.py (pytorch backend), timed like ours.

DeepXDE prints progress and its backend banner on stdout; every call into it runs
with stdout sent to stderr so that stdout stays one JSON object per line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import time
from typing import Any

import numpy as np
from _burgers_common import Reference

_QUIET = 10**9  # display_every: never print or test during a timed segment


def deepxde_missing() -> str | None:
    """Why DeepXDE cannot run here, or None when ``import deepxde`` works."""
    if importlib.util.find_spec("deepxde") is None:
        return "deepxde is not installed (pip install -e .[bench])"
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    if os.environ["DDE_BACKEND"] != "pytorch":
        return f"DDE_BACKEND={os.environ['DDE_BACKEND']}; this benchmark needs pytorch"
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import deepxde  # noqa: F401
    except Exception as exc:  # any import failure means: skip, and say why
        return f"import deepxde failed: {type(exc).__name__}: {exc}"
    return None


def _quiet():  # type: ignore[no-untyped-def]
    return contextlib.redirect_stdout(sys.stderr)


class DeepXDEBurgers:
    """The example's model: soft BC/IC, 2540 + 80 + 160 Hammersley points."""

    def __init__(self, seed: int) -> None:
        os.environ.setdefault("DDE_BACKEND", "pytorch")
        with _quiet():
            import deepxde as dde

            self.dde = dde
            dde.config.set_random_seed(seed)  # the benchmark's global RNG only
            geom = dde.geometry.Interval(-1, 1)
            timedomain = dde.geometry.TimeDomain(0, 0.99)
            geomtime = dde.geometry.GeometryXTime(geom, timedomain)

            def pde(x, y):  # type: ignore[no-untyped-def]
                dy_x = dde.grad.jacobian(y, x, i=0, j=0)
                dy_t = dde.grad.jacobian(y, x, i=0, j=1)
                dy_xx = dde.grad.hessian(y, x, i=0, j=0)
                return dy_t + y * dy_x - 0.01 / np.pi * dy_xx

            bc = dde.icbc.DirichletBC(
                geomtime, lambda x: 0, lambda _, on_boundary: on_boundary
            )
            ic = dde.icbc.IC(
                geomtime,
                lambda x: -np.sin(np.pi * x[:, 0:1]),
                lambda _, on_initial: on_initial,
            )
            data = dde.data.TimePDE(
                geomtime,
                pde,
                [bc, ic],
                num_domain=2540,
                num_boundary=80,
                num_initial=160,
            )
            net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
            self.model = dde.Model(data, net)
            self.model.compile("adam", lr=1e-3, verbose=0)
        self.phase = "adam"

    @staticmethod
    def default_maxiter() -> int:
        """DeepXDE's default L-BFGS iteration budget (``LBFGS_options["maxiter"]``)."""
        with _quiet():
            from deepxde.optimizers.config import LBFGS_options
        return int(LBFGS_options["maxiter"])

    def train_adam(self, steps: int) -> float:
        """Adam steps; returns the wall time of ``model.train`` (compiled already)."""
        with _quiet():
            t0 = time.perf_counter()
            self.model.train(iterations=steps, display_every=_QUIET, verbose=0)
            return time.perf_counter() - t0

    def train_lbfgs(self, maxiter: int) -> tuple[float, int]:
        """L-BFGS with DeepXDE's defaults, capped at ``maxiter`` iterations."""
        dde = self.dde
        with _quiet():
            from deepxde.optimizers.config import LBFGS_options

            dde.optimizers.set_LBFGS_options(maxiter=maxiter)
            # set_LBFGS_options does not redo the pytorch per-call split that the
            # module computed at import; redo it as config.py does.
            LBFGS_options["iter_per_step"] = min(1000, maxiter)
            LBFGS_options["fun_per_step"] = (
                LBFGS_options["maxfun"] * LBFGS_options["iter_per_step"] // maxiter
            )
            self.model.compile("L-BFGS", verbose=0)
            t0 = time.perf_counter()
            self.model.train(verbose=0)
            seconds = time.perf_counter() - t0
        state = self.model.opt.state_dict()["state"]
        iters = int(state[0]["n_iter"]) if state else 0
        return seconds, iters

    def error(self, ref: Reference) -> float:
        with _quiet():
            pred = self.model.predict(ref.points.astype(np.float32))
        return ref.rel_l2(pred)

    def full_run(self, args: argparse.Namespace, ref: Reference) -> dict[str, Any]:
        warm = min(args.warmup, args.adam_steps)
        self.train_adam(warm)
        timed = args.adam_steps - warm
        adam_s = self.train_adam(timed) if timed else 0.0
        err_adam = self.error(ref)
        lbfgs_s, iters = (0.0, 0)
        if args.lbfgs_steps:
            lbfgs_s, iters = self.train_lbfgs(args.lbfgs_steps)
        data = self.model.data
        return {
            "impl": "deepxde",
            "deepxde": self.dde.__version__,
            "adam_steps": args.adam_steps,
            "adam_steps_per_s": round(timed / adam_s, 2) if timed else None,
            "adam_seconds": round(adam_s, 2),
            "rel_l2_after_adam": err_adam,
            "rel_l2_final": self.error(ref),
            "lbfgs_iters": iters,
            "lbfgs_seconds": round(lbfgs_s, 2),
            "points": {
                "train_x": int(data.train_x.shape[0]),
                "residual": int(data.train_x_all.shape[0]),
                "distribution": data.train_distribution,
            },
        }

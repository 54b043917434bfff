"""PINN on viscous Burgers: our engine against DeepXDE's example, side by side.

Prints one JSON line per result (the same configuration in both: 3x20 tanh net,
Glorot normal, 2540 + 80 + 160 points drawn once, Adam lr 1e-3, then L-BFGS with
DeepXDE's PyTorch defaults), then the ratio of Adam steps per second. Errors are
relative L2 against DeepXDE's Burgers.npz on its own 256 x 100 grid.

Both get the same ``--threads``. DeepXDE spends them as PyTorch does, splitting every
op; ours shards the points over as many workers (this process and worker processes),
one intra-op thread each. The A/B mode also measures ours on one worker (one core
of the two) beside DeepXDE.

    OMP_WAIT_POLICY=PASSIVE python bench/pinn_burgers.py [--adam-steps 15000]
    python bench/pinn_burgers.py --skip-full --repeats 5   # A/B Adam segments
    python bench/pinn_burgers.py --best                    # our best recipe

DeepXDE is optional (``pip install -e .[bench]``); without it its lines say skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from explorer.data import SamplerConfig
from explorer.losses import PINNOptions, build_pinn
from explorer.models import MLPConfig
from explorer.training.config import OptimConfig
from explorer.training.loop import Trainer
from explorer.training.run import RunSpec
from explorer.training.train_config import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _burgers_common import DATA, Reference, emit, record_base
from _burgers_deepxde import DeepXDEBurgers, deepxde_missing

T_FINAL = 0.99  # DeepXDE's example and data stop at t = 0.99
LBFGS_PER_CALL = 1000  # DeepXDE (pytorch): iterations per LBFGS.step call


def explorer_spec(args: argparse.Namespace) -> RunSpec:
    """DeepXDE's Burgers setup in our terms (soft BC/IC, weight 1)."""
    inner = min(LBFGS_PER_CALL, args.lbfgs_steps) if args.lbfgs_steps else 1
    outer = math.ceil(args.lbfgs_steps / inner) if args.lbfgs_steps else 0
    optim = OptimConfig(
        optimizer="adam+lbfgs" if outer else "adam",
        lr=1e-3,
        switch_step=max(args.adam_steps, 1),
        lbfgs_lr=1.0,
        lbfgs_max_iter=inner,  # max_eval = 1.25x, as DeepXDE's fun_per_step
        lbfgs_history=100,  # DeepXDE maxcor
        tolerance_grad=1e-8,  # DeepXDE gtol
        tolerance_change=0.0,  # DeepXDE ftol
    )
    sampler = SamplerConfig(
        method="uniform", n_interior=2540, n_initial=160, n_boundary=80
    )
    train = TrainConfig(
        steps=args.adam_steps + outer,
        sampler=sampler,
        snapshot_every=10**8,
        workers=args.workers,
    )
    net = MLPConfig(depth=3, width=20, activation="tanh", init="glorot_normal")
    return RunSpec(
        problem="burgers",
        values=(("t_final", T_FINAL),),
        net=net,
        options=PINNOptions(),
        optim=optim,
        train=train,
        seed=args.seed,
    )


def make_trainer(spec: RunSpec, ref: Reference, device: str) -> Trainer:
    """``build_trainer`` on ``device``, with the file's grid as the reference."""
    problem = spec.make_problem()
    pinn = build_pinn(problem, spec.net, spec.options, seed=spec.seed).to(device)
    return Trainer(
        problem, pinn, spec.optim, spec.train, seed=spec.seed, reference=ref.dataset
    )


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_explorer(args: argparse.Namespace, ref: Reference) -> dict[str, Any]:
    """Full run: Adam (timed after a warm-up), then L-BFGS to DeepXDE's budget."""
    spec = explorer_spec(args)
    trainer = make_trainer(spec, ref, args.device)
    warm = min(args.warmup, args.adam_steps)
    for _ in trainer.run(warm):
        pass
    sync(args.device)
    t0 = time.perf_counter()
    for _ in trainer.run(args.adam_steps - warm):
        pass
    sync(args.device)
    adam_s = time.perf_counter() - t0
    err_adam = ref.error(trainer.pinn)
    iters = evals = 0
    reason = None
    t0 = time.perf_counter()
    for event in trainer.run():  # the remaining outer L-BFGS steps
        iters += event.info.iterations
        evals += event.info.evaluations
        reason = event.info.stop_reason
    sync(args.device)
    lbfgs_s = time.perf_counter() - t0
    timed = args.adam_steps - warm
    return {
        "impl": "explorer",
        "adam_steps": args.adam_steps,
        "adam_steps_per_s": round(timed / adam_s, 2) if timed else None,
        "adam_seconds": round(adam_s, 2),
        "rel_l2_after_adam": err_adam,
        "rel_l2_final": ref.error(trainer.pinn),
        "lbfgs_iters": iters,
        "lbfgs_evals": evals,
        "lbfgs_seconds": round(lbfgs_s, 2),
        "lbfgs_stop": reason,
        "points": {"interior": 2540, "boundary": 80, "initial": 160},
    }


def ab_segments(args: argparse.Namespace, ref: Reference) -> dict[str, Any]:
    """Alternate Adam segments on fresh models, side by side: ours with the points
    sharded over ``--workers`` cores, ours on one worker (one core), DeepXDE; the
    median ratios to DeepXDE."""
    spec = explorer_spec(args)
    train = dataclasses.replace(spec.train, steps=10**7)
    spec = dataclasses.replace(spec, optim=OptimConfig(lr=1e-3), train=train)
    serial = dataclasses.replace(spec, train=dataclasses.replace(train, workers=1))
    trainers = {
        "explorer": make_trainer(spec, ref, args.device),
        "explorer_one_worker": make_trainer(serial, ref, args.device),
    }
    dde = DeepXDEBurgers(args.seed)
    for trainer in trainers.values():
        for _ in trainer.run(args.warmup):
            pass
    dde.train_adam(args.warmup)
    rates: dict[str, list[float]] = {k: [] for k in (*trainers, "deepxde")}
    for _ in range(args.repeats):
        for name, trainer in trainers.items():
            sync(args.device)
            t0 = time.perf_counter()
            for _ in trainer.run(args.segment):
                pass
            sync(args.device)
            rates[name].append(args.segment / (time.perf_counter() - t0))
        rates["deepxde"].append(args.segment / dde.train_adam(args.segment))
    out: dict[str, Any] = {
        "mode": "ab_segments",
        "segment": args.segment,
        "repeats": args.repeats,
        "workers": args.workers,
    }
    for name, values in rates.items():
        out[f"{name}_steps_per_s"] = [round(v, 1) for v in values]
    for name in trainers:
        ratios = [a / b for a, b in zip(rates[name], rates["deepxde"])]
        out[f"ratio_{name}"] = [round(r, 3) for r in ratios]
        out[f"ratio_{name}_median"] = round(statistics.median(ratios), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="our point shards, one core each (default: --threads)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adam-steps", type=int, default=15000)
    parser.add_argument(
        "--lbfgs-steps", type=int, default=None, help="default: DeepXDE's maxiter"
    )
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=0, help="A/B Adam segments")
    parser.add_argument("--segment", type=int, default=500)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument(
        "--impl", choices=("both", "explorer", "deepxde"), default="both"
    )
    parser.add_argument("--best", action="store_true", help="our best recipe only")
    parser.add_argument("--budget", type=float, default=300.0, help="--best: seconds")
    parser.add_argument("--best-config", default="final", help="--best: preset name")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = args.threads
    torch.set_num_threads(args.threads)
    ref = Reference(DATA, args.device)
    base = record_base(args)
    if args.best:
        from _burgers_best import run_best

        emit(base, run_best(args, ref))
        return
    missing = deepxde_missing() if args.impl != "explorer" else "not requested"
    if args.lbfgs_steps is None:
        args.lbfgs_steps = 15000 if missing else DeepXDEBurgers.default_maxiter()
    results = {}
    if not args.skip_full:
        if args.impl != "deepxde":
            results["explorer"] = run_explorer(args, ref)
            emit(base, results["explorer"])
        if missing:
            emit(base, {"impl": "deepxde", "skipped": True, "reason": missing})
        else:
            results["deepxde"] = DeepXDEBurgers(args.seed).full_run(args, ref)
            emit(base, results["deepxde"])
        if len(results) == 2:
            a, b = results["explorer"], results["deepxde"]
            emit(
                base,
                {
                    "ratio_adam_steps_per_s": round(
                        a["adam_steps_per_s"] / b["adam_steps_per_s"], 3
                    ),
                    "adam_steps": args.adam_steps,
                    "rel_l2_final": {
                        "explorer": a["rel_l2_final"],
                        "deepxde": b["rel_l2_final"],
                    },
                },
            )
    if args.repeats and not missing:
        emit(base, ab_segments(args, ref))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

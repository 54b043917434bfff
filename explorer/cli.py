"""The ``explorer`` command: list problems, write reference solutions, serve the labs.

Errors from bad input print one line (``explorer: error: ...``) and exit with status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="explorer",
        description="Neural PDE Explorer: PDE problems, reference solutions, "
        "and live dashboards for PINNs and neural operators.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("problems", help="list the problem catalogue and parameters")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("name", nargs="?", help="show only this problem")

    s = sub.add_parser("solve", help="write a problem's reference solution (netCDF)")
    s.add_argument("problem", help="problem name (see `explorer problems`)")
    _add_set(s)
    s.add_argument("--nx", type=int, help="grid points in x")
    s.add_argument("--ny", type=int, help="grid points in y (2-D problems)")
    s.add_argument("--nt", type=int, help="time levels (evolution problems)")
    s.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    s.add_argument("--out", required=True, metavar="FILE.nc", help="output file")

    t = sub.add_parser("train", help="train a PINN; writes history.nc + checkpoint.pt")
    _train_arguments(t)
    r = sub.add_parser("resume", help="continue a run saved by `explorer train`")
    r.add_argument("directory", help="the run directory (--out of train)")
    r.add_argument("--steps", type=int, required=True, help="further steps")

    v = sub.add_parser("serve", help="serve the dashboards on localhost")
    v.add_argument("--port", type=int, default=5006)
    v.add_argument("--address", default="localhost")
    v.add_argument("--show", action="store_true", help="open a browser tab")
    return parser


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a problem parameter (repeatable)",
    )


def _train_arguments(t: argparse.ArgumentParser) -> None:
    t.add_argument("--problem", required=True, help="problem name")
    _add_set(t)
    t.add_argument("--out", required=True, metavar="DIR", help="run directory")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--seed", type=int, default=0)
    g = t.add_argument_group("network")
    g.add_argument("--depth", type=int, default=3)
    g.add_argument("--width", type=int, default=32)
    g.add_argument("--activation", default="tanh")
    g.add_argument("--fourier-features", type=int, default=0)
    g.add_argument("--fourier-scale", type=float, default=1.0)
    g.add_argument("--float64", action="store_true", help="train in float64")
    g.add_argument("--hard-bc", action="store_true", help="build Dirichlet walls in")
    g.add_argument("--hard-ic", action="store_true", help="build u(x,0) in")
    g.add_argument("--no-periodic-embedding", action="store_true")
    g.add_argument(
        "--fit",
        action="append",
        default=[],
        metavar="NAME=GUESS",
        help="fit a PDE coefficient from observations (inverse problem)",
    )
    g.add_argument(
        "--observations",
        type=int,
        default=0,
        help="noisy samples of the reference used as data",
    )
    g.add_argument("--noise", type=float, default=0.0, help="relative noise level")
    g.add_argument(
        "--state",
        type=int,
        default=0,
        help="eigenproblems: which state to learn (0 ground; k > 0 deflates the "
        "reference's k lower states)",
    )
    o = t.add_argument_group("optimiser")
    o.add_argument(
        "--optimizer",
        default="adam",
        help="adam, adamw, lbfgs, adam+lbfgs, bfgs, adam+bfgs",
    )
    o.add_argument("--lr", type=float, default=1e-3)
    o.add_argument("--schedule", default="constant")
    o.add_argument("--switch-step", type=int, default=1000)
    p = t.add_argument_group("points and weights")
    p.add_argument("--points", type=int, default=2000, help="interior points")
    p.add_argument("--initial-points", type=int, default=256)
    p.add_argument("--boundary-points", type=int, default=256)
    p.add_argument("--sampler", default="sobol", help="uniform, sobol, lhs, grid")
    p.add_argument("--resample-every", type=int, default=0)
    p.add_argument("--adaptive", default="none", help="none, rar, rad")
    p.add_argument("--adaptive-every", type=int, default=500)
    p.add_argument("--weighting", default="fixed", help="fixed, gradnorm, ntk")
    p.add_argument("--causal-eps", type=float, default=0.0)
    p.add_argument(
        "--curriculum",
        default="",
        metavar="NAME=START",
        help="ramp a parameter from START to its value",
    )
    p.add_argument("--curriculum-steps", type=int, default=1000)
    p.add_argument("--snapshot-every", type=int, default=100)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="CPU cores that each take a shard of the points (processes; try 2 on "
        "2 cores when the points number in the thousands)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "problems":
            return _problems(args)
        if args.command == "solve":
            return _solve(args)
        if args.command == "train":
            return _train(args)
        if args.command == "resume":
            return _resume(args)
        return _serve(args)
    except ValueError as err:
        print(f"explorer: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("explorer: interrupted; nothing was written", file=sys.stderr)
        return 130


def _problems(args: argparse.Namespace) -> int:
    from explorer.problems import PROBLEMS, get_problem_class

    classes = [get_problem_class(args.name)] if args.name else list(PROBLEMS.values())
    records = [_describe(cls) for cls in classes]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        print(f"{r['name']}: {r['title']} [{r['kind']}]")
        print(f"    {r['equation']}")
        for p in r["parameters"]:
            print(f"    {p['name']:<14} default {p['default']!r:<22} {p['allowed']}")
            print(f"    {'':<14} {p['doc']}")
        print()
    return 0


def _describe(cls: Any) -> dict:
    params = []
    for spec in cls.parameters():
        entry = {
            "name": spec.name,
            "type": "expression" if spec.is_expression else spec.type.__name__,
            "default": spec.default,
            "allowed": spec.allowed(),
            "doc": spec.doc,
        }
        if spec.bounds is not None:
            entry["bounds"] = list(spec.bounds)
        if spec.choices is not None:
            entry["choices"] = list(spec.choices)
        if spec.presets:
            entry["presets"] = dict(spec.presets)
        if spec.units:
            entry["units"] = spec.units
        params.append(entry)
    return {
        "name": cls.name,
        "title": cls.title,
        "kind": cls.kind,
        "equation": cls.equation,
        "exact_solution": bool(cls.has_exact)
        if isinstance(cls.has_exact, bool)
        else None,
        "default_grid": dict(cls.default_grid),
        "parameters": params,
    }


def _parse_sets(items: Sequence[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set {item!r} is malformed; allowed: NAME=VALUE")
        values[name.strip()] = value.strip()
    return values


def _solve(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from explorer.io import check_writable, save_dataset
    from explorer.problems import make_problem
    from explorer.solvers import solve

    problem = make_problem(args.problem, _parse_sets(args.values), strings=True)
    out = check_writable(args.out, what="--out")
    grid = {k: v for k, v in (("x", args.nx), ("y", args.ny), ("t", args.nt)) if v}
    device = _device(args.device, torch)
    with tqdm(
        total=100, desc=f"solve {problem.name}", unit="%", delay=0.5, leave=False
    ) as bar:

        def progress(fraction: float) -> None:
            bar.update(round(100 * fraction) - bar.n)

        ds = solve(problem, grid, device=device, progress=progress)
    save_dataset(ds, out)
    dims = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
    print(f"wrote {out} ({problem.name}; {dims}; solver {ds.attrs['solver']})")
    return 0


def _spec(args: argparse.Namespace) -> Any:
    from explorer.data import SamplerConfig
    from explorer.losses import PINNOptions
    from explorer.models import MLPConfig
    from explorer.problems import make_problem
    from explorer.training import (
        AdaptiveConfig,
        CurriculumConfig,
        OptimConfig,
        RunSpec,
        TrainConfig,
        WeightingConfig,
    )

    problem = make_problem(args.problem, _parse_sets(args.values), strings=True)
    fit = {k: _number(f"--fit {k}", v) for k, v in _parse_sets(args.fit).items()}
    curriculum = CurriculumConfig()
    if args.curriculum:
        ((name, start),) = _parse_sets([args.curriculum]).items()
        curriculum = CurriculumConfig(
            parameter=name,
            start=_number("--curriculum", start),
            steps=args.curriculum_steps,
        )
    return RunSpec(
        problem=problem.name,
        values=tuple(problem.values().items()),
        net=MLPConfig(
            depth=args.depth,
            width=args.width,
            activation=args.activation,
            fourier_features=args.fourier_features,
            fourier_scale=args.fourier_scale,
            dtype="float64" if args.float64 else "float32",
        ),
        options=PINNOptions(
            hard_bc=args.hard_bc,
            hard_ic=args.hard_ic,
            periodic_embedding=not args.no_periodic_embedding,
            trainable=tuple(fit.items()),
            positive=tuple(k for k, v in fit.items() if v > 0),
        ),
        optim=OptimConfig(
            optimizer=args.optimizer,
            lr=args.lr,
            schedule=args.schedule,
            switch_step=args.switch_step,
        ),
        train=TrainConfig(
            steps=args.steps,
            sampler=SamplerConfig(
                method=args.sampler,
                n_interior=args.points,
                n_initial=args.initial_points,
                n_boundary=args.boundary_points,
                resample_every=args.resample_every,
            ),
            adaptive=AdaptiveConfig(method=args.adaptive, every=args.adaptive_every),
            weighting=WeightingConfig(method=args.weighting),
            causal_eps=args.causal_eps,
            curriculum=curriculum,
            snapshot_every=args.snapshot_every,
            workers=args.workers,
        ),
        seed=args.seed,
        observations=args.observations,
        noise=args.noise,
        state=args.state,
    )


def _number(what: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} = {text!r} is not a number") from None


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from explorer.io import check_writable
    from explorer.training import build_trainer

    spec = _spec(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out!r} is a file; allowed: a directory path")
    # Refuse an unwritable --out before training, not after; missing parents are
    # created when the run is saved.
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    check_writable(ancestor / "checkpoint.pt", what="--out")
    return _run(spec, build_trainer(spec), None, args.out, spec.train.steps)


def _resume(args: argparse.Namespace) -> int:
    from explorer.io import load_run

    if args.steps < 1:
        raise ValueError(f"--steps {args.steps} is not allowed; allowed: >= 1")
    spec, trainer, history = load_run(args.directory)
    return _run(spec, trainer, history, args.directory, args.steps)


def _run(spec: Any, trainer: Any, history: Any, out: str, steps: int) -> int:
    from tqdm.auto import tqdm

    from explorer.io import save_run
    from explorer.training import concat_history

    snaps = [] if history is None else [history]
    start = trainer.step
    status = 0
    last = None
    try:
        with tqdm(total=steps, desc=f"train {spec.problem}", unit="step") as bar:
            for event in trainer.run(steps=steps if start else None):
                last = event
                bar.update(1)
                if event.snapshot is not None:
                    snaps.append(event.snapshot)
                    bar.set_postfix(
                        loss=f"{event.snapshot.loss.item():.3g}",
                        rel_l2=f"{event.snapshot.rel_l2.item():.3g}",
                    )
                if event.message and (event.diverged or event.info.converged):
                    bar.write(event.message)
    except KeyboardInterrupt:
        print(f"explorer: interrupted at step {trainer.step}; saving", file=sys.stderr)
        status = 130
    if last is not None and last.snapshot is None:
        snaps.append(trainer.snapshot(last.terms))
    history = concat_history(snaps) if snaps else None
    save_run(out, spec, trainer, history)
    if history is not None:
        final = history.isel(step=-1)
        fitted = "".join(
            f"; fitted {k[5:]} = {final[k].item():.6g}"
            for k in final
            if k.startswith("coef_")
        )
        print(
            f"wrote {out} (step {trainer.step}; loss {final.loss.item():.3g}; "
            f"relative L2 {final.rel_l2.item():.3g}{fitted})"
        )
    return status


def _device(name: str, torch: Any) -> Any:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r} is unknown; allowed: cpu, cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name!r} is not available here; allowed: cpu")
    return device


def _serve(args: argparse.Namespace) -> int:
    import panel as pn

    from explorer.ui.panel import APPS
    from explorer.ui.panel.apps import warm_up

    pn.extension()
    warm_up()  # the first visitor's page then builds as fast as later ones
    pn.serve(
        APPS,
        port=args.port,
        address=args.address,
        show=args.show,
        title={name: f"Neural PDE Explorer: {name}" for name in APPS},
        websocket_origin=[f"{args.address}:{args.port}", f"127.0.0.1:{args.port}"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

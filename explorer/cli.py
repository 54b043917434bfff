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
    s.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a problem parameter (repeatable)",
    )
    s.add_argument("--nx", type=int, help="grid points in x")
    s.add_argument("--ny", type=int, help="grid points in y (2-D problems)")
    s.add_argument("--nt", type=int, help="time levels (evolution problems)")
    s.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    s.add_argument("--out", required=True, metavar="FILE.nc", help="output file")

    v = sub.add_parser("serve", help="serve the dashboards on localhost")
    v.add_argument("--port", type=int, default=5006)
    v.add_argument("--address", default="localhost")
    v.add_argument("--show", action="store_true", help="open a browser tab")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "problems":
            return _problems(args)
        if args.command == "solve":
            return _solve(args)
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

    pn.extension()
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

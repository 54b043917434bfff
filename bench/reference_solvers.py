"""Time every problem's reference solve at its interactive default grid.

Prints one JSON line per problem. Target: each under 0.2 s on a 2-core CPU, so that a
slider move in the dashboards redraws the truth at once.

    OMP_WAIT_POLICY=PASSIVE python bench/reference_solvers.py [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from explorer.problems import PROBLEMS
from explorer.solvers import reference_solver, solve

TARGET_S = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, cls in PROBLEMS.items():
        problem = cls()
        solve(problem, device=args.device)  # warm-up: caches, lazy imports
        times = []
        for _ in range(args.repeats):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            solve(problem, device=args.device)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        record = {
            "bench": "reference_solve",
            "problem": name,
            "grid": dict(problem.default_grid),
            "solver": reference_solver(problem).name,
            "seconds_median": round(median, 4),
            "seconds_min": round(min(times), 4),
            "target_s": TARGET_S,
            "meets_target": median < TARGET_S,
            "device": args.device,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()

"""DeepONet learning curve on the antiderivative operator v ↦ ∫₀ˣ v.

Data: v a band-limited GRF on [0, 1] (α = 2, τ = 5, σ = 25, 16 modes), u exact, on
101 points; DeepONet with 100 sensors (width 64, two hidden layers each, 64 basis
functions, ReLU); Adam lr 1e-3 with a cosine schedule, the same number of optimiser
steps for every N. Reported: test relative L2 against N (mean over seeds), the fitted
log-log slope and the Monte-Carlo reference −½, then the error against the number of
sensors at the largest N.

    OMP_WAIT_POLICY=PASSIVE python bench/deeponet_antiderivative.py --threads 2

One JSON line per training and one per fit.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from explorer.data.operators import AntiderivativeDataConfig
from explorer.io import DatasetCache
from explorer.models import DeepONetConfig
from explorer.training import (
    LearningCurve,
    OperatorData,
    OperatorTrainConfig,
    OptimConfig,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _operator_common import DEFAULT_CACHE, base, emit, setup


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--values", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024]
    )
    p.add_argument("--sensors", type=int, nargs="+", default=[5, 10, 25, 50, 100])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = p.parse_args()
    setup(args.threads)
    common = base("deeponet_antiderivative", args)
    cache = DatasetCache(args.cache, device="cpu")
    config = AntiderivativeDataConfig(resolution=101, n_samples=max(args.values))
    data = OperatorData(
        cache.get(config),
        cache.get(dataclasses.replace(config, seed=1, n_samples=256)),
    )
    net = DeepONetConfig(sensors=100, width=64, basis=64)
    optim = OptimConfig(lr=1e-3, schedule="cosine")
    train = OperatorTrainConfig(batch_size=32, snapshot_every=10**5)
    seeds = list(range(args.seed, args.seed + args.seeds))
    for parameter, values, data_used in (
        ("n_train", args.values, data),
        ("sensors", args.sensors, data),
    ):
        curve = LearningCurve(
            net,
            data_used,
            optim,
            train,
            parameter=parameter,  # type: ignore[arg-type]
            values=values,
            seeds=seeds,
            steps=args.steps,
        )
        for event in curve.run():
            emit(
                common,
                {
                    "parameter": parameter,
                    "value": event.value,
                    "run_seed": event.seed,
                    "test_rel_l2": event.test_rel_l2,
                },
            )
        ds = curve.result
        assert ds is not None
        emit(
            common,
            {
                "parameter": parameter,
                "fit": "log-log least squares",
                "values": values,
                "mean_test_rel_l2": [float(v) for v in ds["error"].values],
                "slope": ds.attrs["slope"],
                "reference_slope": ds.attrs["reference_slope"],
                "steps": args.steps,
            },
        )


if __name__ == "__main__":
    main()

"""FNO 2-D on Darcy flow (the FNO paper's 2-D benchmark) at 64 × 64.

Data: −∇·(a∇u) = 1 on the unit square, u = 0 on the boundary, a ∈ {12, 3} from a
thresholded GRF (τ = 3, α = 2) with the paper's Neumann (cosine) basis, 64 modes per
axis (the paper sums every mode of its 421 grid; beyond 64 they are finer than this
grid's spacing), five-point FD with a sparse solve on the 64 × 64 vertex grid; 1000
train and 200 test samples. ``--level-set periodic --input-modes 16`` gives the
period-1 field this benchmark used before, whose phase boundaries are 1.4x as long.

The input is rescaled to a' = (a − 7.5)/4.5 ∈ {−1, 1} (the paper normalises its
inputs too). FNO: 12 modes, width 32, 4 layers, padding 0.1 (the data are not
periodic), closed-grid coordinates; its output is decoded as FNO(a)·σ + μ with μ, σ
the training outputs' pointwise mean and standard deviation, the paper's output
normaliser (``--no-normalize-output`` to learn u directly). Adam lr 1e-3, cosine,
batch 20, relative H1 training loss (``--loss l2`` for the paper's relative L2).
Target: test relative L2 ≤ 1e-2 (the paper: 0.0108 at s = 85 after 500 epochs).
Here 7.71e-3 after 200 epochs of 11.6 s on 2 CPU cores (seed 1: 8.11e-3; train
1.8e-3; below 1e-2 from epoch 30). The H1 loss is what gets there: after 50
epochs (one thread each, side by side) it gave 8.87e-3 against the L2 loss's
1.33e-2, and 200 epochs of the L2 loss stop at 1.09e-2. u has kinks where a
jumps; an error in their slope is small in L2 but not in H1, so the H1 loss fits
them and the L2 error follows. It needs the output normaliser: without it the H1
loss leaves 3.0e-2 after 50 epochs (test H1 5.5e-2), presumably as u's smooth
bulk, which the normaliser supplies, weighs little in the H1 norm.
Long runs take ``--checkpoint PATH`` and continue from it when restarted; they run
on cuda when present (``--device``).

    OMP_WAIT_POLICY=PASSIVE python bench/fno_darcy.py --threads 2 --epochs 200 \
        --checkpoint darcy-200.pt

One JSON line per result.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path
from typing import get_args

import torch
import xarray as xr
from torch import Tensor, nn

from explorer.data.operators import DarcyDataConfig
from explorer.data.operators.darcy import LevelSet
from explorer.io import DatasetCache
from explorer.models import FNOConfig, build_model
from explorer.training import OperatorData
from explorer.training.operator_data import pairs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _operator_common import DEFAULT_CACHE, base, cached, emit, setup, train


def rescale(ds: xr.Dataset) -> xr.Dataset:
    return ds.assign(a=(ds["a"] - 7.5) / 4.5)


class OutputNormalized(nn.Module):
    """``model(a)·σ + μ``, with μ, σ the pointwise mean and standard deviation of
    the training outputs ``y`` (the paper's ``UnitGaussianNormalizer``, decoded
    before the loss). Pointwise, so for the training grid only."""

    def __init__(self, model: nn.Module, y: Tensor) -> None:
        super().__init__()
        self.model, self.config = model, model.config
        self.register_buffer("mean", y.mean(0))
        self.register_buffer("std", y.std(0) + 1e-5)  # the paper's eps

    def forward(self, a: Tensor) -> Tensor:
        return self.model(a) * self.std + self.mean


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--loss", choices=("l2", "h1"), default="h1", help="training loss")
    p.add_argument("--trace-every", type=int, default=10, help="epochs per test error")
    p.add_argument(
        "--normalize-output",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decode the output with the training outputs' pointwise mean and std",
    )
    p.add_argument("--checkpoint", type=Path, help="save and resume the run here")
    p.add_argument("--modes", type=int, default=12, help="Fourier modes per axis")
    p.add_argument(
        "--level-set", choices=get_args(LevelSet), default="neumann", help="a's field"
    )
    p.add_argument("--input-modes", type=int, default=64, help="a's field's modes K")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    setup(args.threads)
    common = base("fno_darcy", args)
    cache = DatasetCache(args.cache, device="cpu")
    config = DarcyDataConfig(
        resolution=args.resolution,
        n_samples=args.n_train,
        level_set=args.level_set,
        input_modes=args.input_modes,
    )
    train_ds, seconds, made = cached(cache, config)
    if made:
        emit(
            common,
            {
                "metric": "generation_samples_per_s",
                "resolution": args.resolution,
                "value": args.n_train / seconds,
            },
        )
    test_ds, _, _ = cached(
        cache, dataclasses.replace(config, seed=1, n_samples=args.n_test)
    )
    data = OperatorData(rescale(train_ds), rescale(test_ds))
    net = FNOConfig(
        dim=2, modes=args.modes, width=32, layers=4, padding=0.1, positional="closed"
    )
    model = build_model(net, seed=args.seed)
    if args.normalize_output:
        _, y = pairs(data.train, dtype=torch.float32, device=torch.device("cpu"))
        model = OutputNormalized(model, y)
    model = model.to(args.device)
    trainer, times = train(
        model,
        data,
        epochs=args.epochs,
        batch_size=20,
        lr=1e-3,
        seed=args.seed,
        loss=args.loss,
        trace_every=args.trace_every,
        checkpoint=args.checkpoint,
    )
    scores = trainer.evaluate(data.test)
    emit(
        common,
        {
            "model": "explorer FNO 2D",
            "params": sum(p.numel() for p in model.parameters()),
            "modes": args.modes,
            "level_set": args.level_set,
            "input_modes": args.input_modes,
            "resolution": args.resolution,
            "epochs": args.epochs,
            "loss": args.loss,
            "normalize_output": args.normalize_output,
            "n_train": args.n_train,
            "test_rel_l2": scores["rel_l2"],
            "test_rel_h1": scores["rel_h1"],
            "train_rel_l2": trainer.evaluate(data.train)["rel_l2"],
            "target_rel_l2": 1e-2,
            "met_target": scores["rel_l2"] <= 1e-2,
            "seconds_per_epoch_median": statistics.median(times),
            "seconds_total": sum(times),
            "test_rel_l2_trace": trainer.trace,
        },
    )


if __name__ == "__main__":
    main()

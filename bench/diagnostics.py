"""Diagnostics on DeepXDE's Burgers PINN: ours against the usual ways, side by side.

The network and points are those of bench/pinn_burgers.py (3x20 tanh, Glorot
normal, float32; 2540 interior + 80 boundary + 160 initial points, uniform, drawn
once), after ``--adam-steps`` of Adam so that the weights are not the initial ones.
Prints one JSON line per result:

- ``landscape``: a 41 x 41 filter-normalised plane by ``loss_plane`` (vmap over
  grid points, chunks on two threads with a copy of the network each) beside the
  loss-landscapes library's way: set the weights in place, evaluate the loss (grad
  mode on, as its ``Loss`` metric does), ``.item()``, 1681 times. Both grids are
  compared.
- ``hessian_top1``, ``hessian_trace``, ``hessian_density``: ours against
  PyHessian's algorithms written out here as its ``hessian`` class runs them (the
  PyPI package does not import on current torch): a ``loss.backward(create_graph=
  True)`` gradient, then loops of ``torch.autograd.grad`` Hessian-vector products;
  power iteration with its stopping rule (relative change < tol), Hutchinson with
  Rademacher probes, and its Lanczos for SLQ. Same tolerance (1e-3) and probe/step
  counts; accuracies against a tight Lanczos reference (tol 1e-8). Ours are timed
  after that reference run, whose objective then carries its one-off torch.func
  versus autograd gradient check (as a reused objective does in a live session).
- Each baseline runs as its library does, on torch's default threads (two here),
  and once more on one intra-op thread, as ours run (``*_one_thread``): on this
  CPU most of each ratio is the per-op fork/join the two-thread loops pay
  (:mod:`explorer._threads`); the one-thread ratios show what is left.
- ``ntk``: the empirical NTK of 512 points for a 3x30 network (1981 parameters),
  and the PINN's K_uu/K_ur/K_rr blocks on 512 residual + 128 boundary/initial points.

    OMP_WAIT_POLICY=PASSIVE python bench/diagnostics.py [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer._threads import one_thread
from explorer.data import SamplerConfig, sample_collocation
from explorer.diagnostics import (
    empirical_ntk,
    hessian_density,
    hessian_eigenvalues,
    hessian_trace,
    loss_plane,
    parameters,
    pinn_ntk,
    pinn_objective,
)
from explorer.losses import PINNLoss, PINNOptions, build_pinn
from explorer.models import MLPConfig
from explorer.problems import make_problem

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _burgers_common import emit

T_FINAL = 0.99  # DeepXDE's example stops at t = 0.99
TOL = 1e-3  # PyHessian's default tolerance, used by both sides


def build(width: int, seed: int, adam_steps: int) -> tuple[PINNLoss, Any]:
    """DeepXDE's Burgers PINN (depth 3, tanh, Glorot normal, float32) and points."""
    problem = make_problem("burgers", {"t_final": T_FINAL})
    net = MLPConfig(depth=3, width=width, activation="tanh", init="glorot_normal")
    pinn = build_pinn(problem, net, PINNOptions(), seed=seed)
    sampler = SamplerConfig(
        method="uniform", n_interior=2540, n_initial=160, n_boundary=80
    )
    batch = sample_collocation(
        problem.domain(),
        sampler,
        generator=torch.Generator().manual_seed(seed),
        dtype=torch.float32,
    )
    loss = PINNLoss(problem, pinn)
    opt = torch.optim.Adam(pinn.parameters(), lr=1e-3)
    for _ in range(adam_steps):
        opt.zero_grad()
        sum(loss.terms(batch).values()).backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    return loss, batch


def _one_thread_seconds(run: Any) -> float:
    """Seconds of ``run()`` on one intra-op thread, as ours run (the baselines'
    second timing; see the module notes)."""
    with one_thread():
        t0 = time.perf_counter()
        run()
        return time.perf_counter() - t0


def _pyhessian(loss: PINNLoss, batch: Any, method: str, **kwargs: Any) -> Any:
    """A fresh PyHessian on the model (its gradient graph built), one method run."""
    ph = PyHessian(loss, batch)
    try:
        return getattr(ph, method)(**kwargs)
    finally:
        ph.close()


# ---- the loss-landscapes library's way: mutate the weights, evaluate, repeat ----
def landscape_loop(loss: PINNLoss, batch: Any, directions, grid) -> np.ndarray:
    params = dict(loss.pinn.named_parameters())
    start = {k: p.detach().clone() for k, p in params.items()}
    d1, d2 = directions
    out = np.empty((len(grid), len(grid)))
    for i, b in enumerate(grid):
        for j, a in enumerate(grid):
            with torch.no_grad():
                for k, p in params.items():
                    p.copy_(start[k] + float(a) * d1[k] + float(b) * d2[k])
            out[i, j] = sum(loss.terms(batch).values()).item()
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(start[k])
    return out


def bench_landscape(loss: PINNLoss, batch: Any, steps: int) -> dict[str, Any]:
    f = pinn_objective(loss, batch)
    params = parameters(loss.pinn)
    loss_plane(f, params, steps=3)  # warm-up (first vmap call)
    t0 = time.perf_counter()
    ds = loss_plane(f, params, steps=steps, seed=0)
    ours = time.perf_counter() - t0
    g = torch.Generator().manual_seed(0)  # the same directions loss_plane drew
    from explorer.diagnostics import random_direction

    dirs = tuple(random_direction(params, generator=g) for _ in range(2))
    landscape_loop(loss, batch, dirs, ds.alpha.values[:2])  # warm-up
    t0 = time.perf_counter()
    loop = landscape_loop(loss, batch, dirs, ds.alpha.values)
    theirs = time.perf_counter() - t0
    one = _one_thread_seconds(
        lambda: landscape_loop(loss, batch, dirs, ds.alpha.values)
    )
    diff = np.abs(loop - ds.loss.values).max() / np.abs(loop).max()
    return {
        "result": "landscape",
        "grid": f"{steps}x{steps}",
        "ours_s": round(ours, 3),
        "loop_s": round(theirs, 3),
        "ratio": round(theirs / ours, 2),
        "loop_one_thread_s": round(one, 3),
        "ratio_one_thread": round(one / ours, 2),
        "ours_ms_per_point": round(1e3 * ours / steps**2, 3),
        "loop_ms_per_point": round(1e3 * theirs / steps**2, 3),
        "chunk": ds.attrs["chunk"],
        "workers": ds.attrs["workers"],
        "evaluation": ds.attrs["evaluation"],
        "max_rel_diff_vs_loop": float(f"{diff:.3e}"),
        "target": "ours <= 10 s, ratio >= 5",
    }


# ---- PyHessian's algorithms (pyhessian/hessian.py, utils.py), as it runs them ----
def _group_product(xs, ys):
    return sum(torch.sum(x * y) for x, y in zip(xs, ys))


def _normalization(v):
    s = _group_product(v, v) ** 0.5
    s = s.cpu().item()
    return [vi / (s + 1e-6) for vi in v]


def _orthnormal(w, v_list):
    for v in v_list:
        alpha = -_group_product(w, v)
        w = [wi.data.add_(vi * alpha) for wi, vi in zip(w, v)]
    return _normalization(w)


class PyHessian:
    """PyHessian's single-batch ``hessian`` class: gradient graph built once."""

    def __init__(self, loss: PINNLoss, batch: Any) -> None:
        model = loss.pinn
        model.zero_grad()
        total = sum(loss.terms(batch).values())
        total.backward(create_graph=True)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.grads = [p.grad if p.grad is not None else 0.0 for p in self.params]
        self.model = model
        self.hvps = 0

    def hv(self, v):
        self.hvps += 1
        return torch.autograd.grad(
            self.grads,
            self.params,
            grad_outputs=v,
            only_inputs=True,
            retain_graph=True,
        )

    def eigenvalue(self, max_iter: int = 100, tol: float = TOL) -> float:
        gen = torch.Generator().manual_seed(0)
        v = [torch.randn(p.size(), generator=gen) for p in self.params]
        v = _normalization(v)
        eigenvalue = None
        for _ in range(max_iter):
            v = _orthnormal(v, [])
            hv = self.hv(v)
            tmp = _group_product(hv, v).cpu().item()
            v = _normalization(hv)
            if eigenvalue is None:
                eigenvalue = tmp
            elif abs(eigenvalue - tmp) / (abs(eigenvalue) + 1e-6) < tol:
                break
            else:
                eigenvalue = tmp
        return eigenvalue

    def _rademacher(self, gen):
        v = [torch.randint(0, 2, p.shape, generator=gen).float() for p in self.params]
        for vi in v:
            vi[vi == 0] = -1
        return v

    def trace(self, max_iter: int = 100, tol: float = 0.0) -> list[float]:
        gen = torch.Generator().manual_seed(1)
        samples, trace = [], 0.0
        for _ in range(max_iter):
            v = self._rademacher(gen)
            hv = self.hv(v)
            samples.append(_group_product(hv, v).cpu().item())
            if abs(np.mean(samples) - trace) / (abs(trace) + 1e-6) < tol:
                return samples
            trace = np.mean(samples)
        return samples

    def density(self, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
        gen = torch.Generator().manual_seed(2)
        v = _normalization(self._rademacher(gen))
        v_list, alphas, betas = [v], [], []
        w = None
        for i in range(iters):
            if i == 0:
                w_prime = self.hv(v)
                alpha = _group_product(w_prime, v)
                alphas.append(alpha.cpu().item())
                w = [a - alpha * b for a, b in zip(w_prime, v)]
            else:
                beta = torch.sqrt(_group_product(w, w))
                betas.append(beta.cpu().item())
                if betas[-1] != 0.0:
                    v = _orthnormal(w, v_list)
                else:
                    w = [torch.randn(p.size(), generator=gen) for p in self.params]
                    v = _orthnormal(w, v_list)
                v_list.append(v)
                w_prime = self.hv(v)
                alpha = _group_product(w_prime, v)
                alphas.append(alpha.cpu().item())
                w_tmp = [a - alpha * b for a, b in zip(w_prime, v)]
                w = [a - beta * b for a, b in zip(w_tmp, v_list[-2])]
        t = torch.zeros(iters, iters)
        for i in range(len(alphas)):
            t[i, i] = alphas[i]
            if i < len(alphas) - 1:
                t[i + 1, i] = betas[i]
                t[i, i + 1] = betas[i]
        values, vectors = torch.linalg.eig(t)
        return values.real.numpy(), (vectors[0, :].abs() ** 2).numpy()

    def close(self) -> None:
        self.model.zero_grad(set_to_none=True)


def bench_hessian(loss: PINNLoss, batch: Any, probes: int, steps: int) -> list[dict]:
    f = pinn_objective(loss, batch)
    params = parameters(loss.pinn)
    ref = hessian_eigenvalues(f, params, tol=1e-8, max_iter=300)
    lam = float(ref.eigenvalue[0])
    hessian_eigenvalues(f, params, tol=0.5, max_iter=2)  # warm-up
    out = []

    t0 = time.perf_counter()
    ours = hessian_eigenvalues(f, params, tol=TOL, max_iter=100)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ph = PyHessian(loss, batch)
    top = ph.eigenvalue(max_iter=100, tol=TOL)
    t_theirs = time.perf_counter() - t0
    mine = float(ours.eigenvalue[0])
    hvps = ph.hvps
    ph.close()
    t_one = _one_thread_seconds(
        lambda: _pyhessian(loss, batch, "eigenvalue", max_iter=100, tol=TOL)
    )
    # PyHessian's rule (relative change < tol) stops before its error is tol; at a
    # 1000x tighter tol its error is comparable to ours at TOL.
    t0 = time.perf_counter()
    ph = PyHessian(loss, batch)
    tight = ph.eigenvalue(max_iter=100, tol=TOL / 1000)
    t_tight = time.perf_counter() - t0
    ph.close()
    out.append(
        {
            "result": "hessian_top1",
            "tol": TOL,
            "ours_s": round(t_ours, 3),
            "pyhessian_s": round(t_theirs, 3),
            "ratio": round(t_theirs / t_ours, 2),
            "pyhessian_one_thread_s": round(t_one, 3),
            "ratio_one_thread": round(t_one / t_ours, 2),
            "ours_hvps": ours.attrs["iterations"],
            "pyhessian_hvps": hvps,
            "reference_lambda_max": lam,
            "ours_rel_err": float(f"{abs(mine - lam) / abs(lam):.3e}"),
            "pyhessian_rel_err": float(f"{abs(top - lam) / abs(lam):.3e}"),
            "pyhessian_tol_1e-6_s": round(t_tight, 3),
            "pyhessian_tol_1e-6_hvps": ph.hvps,
            "pyhessian_tol_1e-6_rel_err": float(f"{abs(tight - lam) / abs(lam):.3e}"),
            "target": "ratio >= 3",
        }
    )

    t0 = time.perf_counter()
    tr = hessian_trace(f, params, probes=probes, seed=1)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ph = PyHessian(loss, batch)
    samples = ph.trace(max_iter=probes, tol=0.0)
    t_theirs = time.perf_counter() - t0
    ph.close()
    t_one = _one_thread_seconds(
        lambda: _pyhessian(loss, batch, "trace", max_iter=probes, tol=0.0)
    )
    out.append(
        {
            "result": "hessian_trace",
            "probes": probes,
            "ours_s": round(t_ours, 3),
            "pyhessian_s": round(t_theirs, 3),
            "ratio": round(t_theirs / t_ours, 2),
            "pyhessian_one_thread_s": round(t_one, 3),
            "ratio_one_thread": round(t_one / t_ours, 2),
            "ours_trace": float(tr.trace),
            "ours_stderr": float(tr.stderr),
            "pyhessian_trace": float(np.mean(samples)),
            "pyhessian_stderr": float(np.std(samples, ddof=1) / math.sqrt(probes)),
            "target": "ratio >= 3",
        }
    )

    t0 = time.perf_counter()
    dens = hessian_density(f, params, steps=steps, probes=1, seed=2)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ph = PyHessian(loss, batch)
    nodes, weights = ph.density(iters=steps)
    t_theirs = time.perf_counter() - t0
    ph.close()
    t_one = _one_thread_seconds(lambda: _pyhessian(loss, batch, "density", iters=steps))
    out.append(
        {
            "result": "hessian_density",
            "steps": steps,
            "ours_s": round(t_ours, 3),
            "pyhessian_s": round(t_theirs, 3),
            "ratio": round(t_theirs / t_ours, 2),
            "pyhessian_one_thread_s": round(t_one, 3),
            "ratio_one_thread": round(t_one / t_ours, 2),
            "ours_top_node": float(dens.ritz_value.max()),
            "pyhessian_top_node": float(nodes.max()),
            "ours_weight_sum": float(dens.ritz_weight.sum()),
            "pyhessian_weight_sum": float(weights.sum()),
            "target": "ratio >= 3",
        }
    )
    return out


def bench_ntk(seed: int, points: int) -> list[dict]:
    loss, batch = build(width=30, seed=seed, adam_steps=0)
    n = sum(p.numel() for p in loss.pinn.parameters())
    x = batch.interior[:points]
    empirical_ntk(loss.pinn, x[:8])  # warm-up
    t0 = time.perf_counter()
    ds = empirical_ntk(loss.pinn, x)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    blocks = pinn_ntk(loss, batch, n_residual=points, n_boundary=64)
    t_pinn = time.perf_counter() - t0
    return [
        {
            "result": "ntk_network",
            "points": points,
            "params": n,
            "seconds": round(t_net, 3),
            "condition": float(ds.condition),
            "rank": ds.attrs["rank"],
            "target": "<= 2 s",
        },
        {
            "result": "ntk_pinn_blocks",
            "n_residual": blocks.attrs["n_residual"],
            "n_boundary_rows": blocks.sizes["i_u"],
            "params": n,
            "seconds": round(t_pinn, 3),
            "trace_rr": float(blocks.trace_rr),
            "trace_uu": float(blocks.trace_uu),
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adam-steps", type=int, default=500)
    parser.add_argument("--steps", type=int, default=41, help="plane grid per axis")
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--slq-steps", type=int, default=100)
    parser.add_argument("--ntk-points", type=int, default=512)
    parser.add_argument("--only", choices=("landscape", "hessian", "ntk"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = {
        "bench": "diagnostics",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "device": "cpu",
        "seed": args.seed,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    loss, batch = build(width=20, seed=args.seed, adam_steps=args.adam_steps)
    params = sum(p.numel() for p in loss.pinn.parameters())
    base = {**base, "params": params, "adam_steps": args.adam_steps}
    if args.only in (None, "landscape"):
        emit(base, bench_landscape(loss, batch, args.steps))
    if args.only in (None, "hessian"):
        for record in bench_hessian(loss, batch, args.probes, args.slq_steps):
            emit({**base, "load_avg_1m": round(os.getloadavg()[0], 2)}, record)
    if args.only in (None, "ntk"):
        for record in bench_ntk(args.seed, args.ntk_points):
            emit({**base, "load_avg_1m": round(os.getloadavg()[0], 2)}, record)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

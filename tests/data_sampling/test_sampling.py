"""Collocation sampling: shapes, placement, determinism and stratification."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree
from scipy.stats import qmc

from explorer.data import Collocation, SamplerConfig, sample_collocation, sample_points
from explorer.domains import Box
from explorer.problems import make_problem

METHODS = ("uniform", "sobol", "lhs", "grid")
BOXES = {
    "burgers": make_problem("burgers").domain(),
    "convection": make_problem("convection").domain(),  # periodic x
    "poisson-2d": make_problem("poisson-2d").domain(),
    "poisson-1d": make_problem("poisson-1d").domain(),
    "heat-2d": Box(
        ("x", "y", "t"), (0.0, -1.0, 0.0), (2.0, 1.0, 0.5), frozenset({"y"})
    ),
}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _inside(box: Box, pts: torch.Tensor) -> bool:
    lo = torch.tensor(box.lows, dtype=pts.dtype)
    hi = torch.tensor(box.highs, dtype=pts.dtype)
    return bool(((pts >= lo) & (pts <= hi)).all())


def _unit(box: Box, pts: torch.Tensor) -> np.ndarray:
    lo, hi = np.array(box.lows), np.array(box.highs)
    return (pts.numpy() - lo) / (hi - lo)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(BOXES))
def test_counts_shapes_and_placement(name: str, method: str) -> None:
    box = BOXES[name]
    cfg = SamplerConfig(method=method, n_interior=500, n_initial=64, n_boundary=96)
    col = sample_collocation(box, cfg, generator=_gen())
    d = box.dim
    n = col.interior.shape[0]
    if method == "grid":  # about n points
        assert abs(n - 500) <= 0.2 * 500
    else:
        assert n == 500
    for f in dataclasses.fields(col):
        t = getattr(col, f.name)
        assert t.dtype == torch.float64 and t.shape[1] == d
        assert _inside(box, t), f.name
    for i, c in enumerate(box.names):
        if c in box.periodic:  # periodic coordinates never reach the right end
            assert (col.interior[:, i] < box.highs[i]).all()
    # Initial points: on t = t_low, only when there is a t.
    if "t" in box.names:
        it = box.names.index("t")
        n_init = col.initial.shape[0]
        assert n_init == 64 if method != "grid" else abs(n_init - 64) <= 0.2 * 64
        assert (col.initial[:, it] == box.lows[it]).all()
    else:
        assert col.initial.shape == (0, d)
    # Walls: each non-periodic wall gets n_boundary // (2s) points (1 if 0-dimensional).
    space = [c for c in box.names if c != "t"]
    share = 1 if d == 1 else 96 // (2 * len(space))
    for c in space:
        i = box.names.index(c)
        on_lo = (col.boundary[:, i] == box.lows[i]).sum().item()
        on_hi = (col.boundary[:, i] == box.highs[i]).sum().item()
        if c in box.periodic:
            assert on_lo == on_hi == 0 or method == "grid"
        elif method == "grid":  # about `share` per wall, plus corners of other walls
            assert abs(on_lo - share) <= 0.2 * share + 2 and on_hi == on_lo
        else:
            assert on_lo == on_hi == share
    walls = sum(2 for c in space if c not in box.periodic)
    n_pairs = sum(1 for c in space if c in box.periodic) * share
    if method != "grid":
        assert col.boundary.shape[0] == walls * share
        assert col.periodic_low.shape == (n_pairs, d)
    assert col.periodic_low.shape == col.periodic_high.shape


@pytest.mark.parametrize("name", ["convection", "heat-2d"])
@pytest.mark.parametrize("method", METHODS)
def test_periodic_pairs_differ_by_one_period(name: str, method: str) -> None:
    box = BOXES[name]
    col = sample_collocation(box, SamplerConfig(method=method), generator=_gen(3))
    (c,) = box.periodic
    i = box.names.index(c)
    diff = col.periodic_high - col.periodic_low
    period = torch.tensor(box.highs[i] - box.lows[i], dtype=torch.float64)
    assert (diff[:, i] == period).all()
    others = [j for j in range(box.dim) if j != i]
    assert (diff[:, others] == 0).all()
    assert (col.periodic_low[:, i] == box.lows[i]).all()
    # The other coordinates are spread over their range, not collapsed.
    assert col.periodic_low[:, others].std(0).min() > 0.2 * min(
        box.highs[j] - box.lows[j] for j in others
    )


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_points_other_seed_other_points(method: str) -> None:
    box, cfg = BOXES["burgers"], SamplerConfig(method=method, n_interior=256)
    a = sample_collocation(box, cfg, generator=_gen(7))
    b = sample_collocation(box, cfg, generator=_gen(7))
    c = sample_collocation(box, cfg, generator=_gen(8))
    for f in dataclasses.fields(a):
        assert torch.equal(getattr(a, f.name), getattr(b, f.name))
    if method != "grid":
        assert not torch.equal(a.interior, c.interior)
        assert not torch.equal(a.boundary, c.boundary)
    # float32 sets are the float64 ones rounded: the dtype does not change the draw.
    d = sample_collocation(box, cfg, generator=_gen(7), dtype=torch.float32)
    assert torch.equal(d.interior, a.interior.float())


def test_sampling_leaves_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    sample_collocation(BOXES["burgers"], SamplerConfig(), generator=_gen())
    assert torch.equal(state, torch.random.get_rng_state())


def test_lhs_has_one_point_per_stratum_in_every_coordinate() -> None:
    box = BOXES["heat-2d"]
    n = 300
    pts = sample_points(box, n, "lhs", generator=_gen(1))
    strata = np.floor(_unit(box, pts) * n).astype(int)
    for j in range(box.dim):
        assert sorted(strata[:, j]) == list(range(n))
    # Uniform points miss strata (about n/e of them are empty).
    u = np.floor(_unit(box, sample_points(box, n, generator=_gen(1))) * n)
    assert len(np.unique(u[:, 0])) < 0.75 * n


@pytest.mark.parametrize("name", ["burgers", "poisson-2d", "heat-2d"])
def test_sobol_and_lhs_discrepancy_below_uniform(name: str) -> None:
    box, n = BOXES[name], 512
    disc = {}
    for m in ("uniform", "sobol", "lhs"):
        vals = [
            qmc.discrepancy(_unit(box, sample_points(box, n, m, generator=_gen(s))))
            for s in range(5)
        ]
        disc[m] = float(np.mean(vals))
    assert disc["sobol"] < 0.05 * disc["uniform"], disc
    assert disc["lhs"] < 0.3 * disc["uniform"], disc


def test_grid_is_a_tensor_product_with_equal_spacing() -> None:
    box = BOXES["convection"]  # x in [0, 2π) periodic, t in [0, 1]
    pts = sample_points(box, 2000, "grid", generator=_gen())
    xs, ts = torch.unique(pts[:, 0]), torch.unique(pts[:, 1])
    assert pts.shape[0] == len(xs) * len(ts)
    assert len(torch.unique(pts, dim=0)) == pts.shape[0]
    torch.testing.assert_close(xs, box.axis("x", len(xs)))  # right end omitted
    torch.testing.assert_close(ts, box.axis("t", len(ts)))  # both ends
    hx, ht = 2 * np.pi / len(xs), 1.0 / (len(ts) - 1)
    assert 0.8 < hx / ht < 1.25  # counts proportional to extents
    # Fill distance (the largest gap): about one spacing on the grid, much less than
    # for as many uniform random points (0.062 vs 0.112 here).
    probe = sample_points(box, 20000, generator=_gen(5)).numpy()
    fill = cKDTree(pts.numpy()).query(probe)[0].max()
    rand = sample_points(box, pts.shape[0], generator=_gen(6)).numpy()
    fill_rand = cKDTree(rand).query(probe)[0].max()
    assert fill <= np.hypot(hx, ht / 2) * (1 + 1e-12)  # hx: no wrap-around
    assert fill < 0.75 * fill_rand


def test_collocation_to_and_replace() -> None:
    col = sample_collocation(BOXES["burgers"], SamplerConfig(), generator=_gen())
    c32 = col.to("cpu", torch.float32)
    assert all(
        getattr(c32, f.name).dtype == torch.float32 for f in dataclasses.fields(col)
    )
    new = torch.zeros(10, 2, dtype=torch.float64)
    r = col.replace(interior=new)
    assert r.interior is new and r.boundary is col.boundary
    with pytest.raises(ValueError, match="expected"):
        col.replace(interior=torch.zeros(10, 3))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("method", "halton", "method = 'halton' is not allowed; allowed: uniform"),
        ("n_interior", 8, "n_interior = 8 is out of range; allowed: 16 to 200000"),
        ("n_interior", 100.0, "n_interior = 100.0 is not an integer"),
        ("n_boundary", -1, "n_boundary = -1 is out of range"),
        ("n_initial", True, "n_initial = True is not an integer"),
        ("resample_every", -5, "resample_every = -5 is out of range"),
    ],
)
def test_config_rejects_bad_values(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SamplerConfig(**{field: value})


def test_collocation_checks_pairing() -> None:
    z = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="pair"):
        Collocation(z, z, z, z, torch.zeros(3, 2))


def test_sample_points_rejects_unknown_fixed_coordinate() -> None:
    with pytest.raises(ValueError, match="'z'"):
        sample_points(BOXES["burgers"], 10, generator=_gen(), fixed={"z": 0.0})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", METHODS)
def test_cuda_targets_and_cuda_generators(method: str) -> None:
    box, cfg = BOXES["convection"], SamplerConfig(method=method)
    cpu = sample_collocation(box, cfg, generator=_gen(2))
    gpu = sample_collocation(box, cfg, generator=_gen(2), device="cuda")
    assert gpu.interior.is_cuda and torch.equal(gpu.to("cpu").interior, cpu.interior)
    g = torch.Generator(device="cuda").manual_seed(2)
    col = sample_collocation(box, cfg, generator=g, device="cuda")
    assert col.boundary.is_cuda and _inside(box, col.interior.cpu())

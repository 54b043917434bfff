"""Residual-based adaptive sampling (Wu et al. 2023): RAR-G and RAD."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import kstest
from torch import Tensor, nn

from explorer._rng import seeded
from explorer.autodiff import Partials
from explorer.data import rad_resample, rar_refine, residual_magnitude, sample_points
from explorer.domains import Box
from explorer.problems import make_problem

BOX = Box(("x", "y"), (0.0, 0.0), (1.0, 1.0))
X0 = torch.tensor([0.3, 0.6], dtype=torch.float64)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def peak(xt: Tensor) -> Tensor:
    """A residual concentrated at X0: exp(-100 |x - x0|²)."""
    return torch.exp(-100.0 * ((xt - X0) ** 2).sum(-1))


def _dist(pts: Tensor) -> float:
    return float((pts - X0).norm(dim=1).mean())


def test_rar_adds_exactly_the_largest_residual_candidates() -> None:
    points = sample_points(BOX, 200, "sobol", generator=_gen(1))
    out = rar_refine(points, peak, BOX, n_candidates=4000, n_add=50, generator=_gen(2))
    assert out.shape == (250, 2) and torch.equal(out[:200], points)
    added = out[200:]
    # The same generator state gives the same candidates: the 50 added are the 50
    # candidates nearest X0 (the residual decreases with distance).
    cand = sample_points(BOX, 4000, generator=_gen(2))
    nearest = cand[(cand - X0).norm(dim=1).argsort()[:50]]
    assert torch.equal(added[added[:, 0].argsort()], nearest[nearest[:, 0].argsort()])
    uniform = sample_points(BOX, 50, generator=_gen(3))
    assert _dist(added) < 0.2 * _dist(uniform)  # about 0.05 vs 0.4


def test_rar_ranks_vector_residuals_by_their_norm() -> None:
    def two(xt: Tensor) -> Tensor:  # (n, 2) with norm = peak
        r, a = peak(xt), 7.0 * xt[:, 0]
        return torch.stack([r * torch.cos(a), r * torch.sin(a)], dim=1)

    p = torch.zeros(0, 2, dtype=torch.float64)
    kw = {"n_candidates": 1000, "n_add": 20}
    a = rar_refine(p, two, BOX, generator=_gen(4), **kw)
    b = rar_refine(p, peak, BOX, generator=_gen(4), **kw)
    assert torch.equal(a, b)
    cand = sample_points(BOX, 10, generator=_gen(9))
    torch.testing.assert_close(residual_magnitude(two, cand), peak(cand))


def test_rad_concentrates_where_the_residual_is_large() -> None:
    # n well below n_candidates, so sampling without replacement follows the density.
    kw = {"n": 200, "n_candidates": 20000}
    uniform = _dist(sample_points(BOX, 200, generator=_gen(0)))
    default = _dist(rad_resample(peak, BOX, k=1.0, c=1.0, generator=_gen(0), **kw))
    greedy = _dist(rad_resample(peak, BOX, k=2.0, c=0.0, generator=_gen(0), **kw))
    # k=1, c=1: half the mass is uniform (mean distance ≈ 0.41), half the Gaussian
    # exp(-100 r²) of σ = 0.0707 (mean σ√(π/2) = 0.089): about 0.25 in all.
    assert 0.2 < default < 0.33 and default < 0.75 * uniform
    # k=2, c=0: the Gaussian exp(-200 r²), σ = 0.05, mean distance 0.0627.
    assert abs(greedy - 0.05 * math.sqrt(math.pi / 2)) < 0.1 * 0.0627
    assert greedy < 0.2 * uniform


def test_rad_with_k_zero_is_uniform() -> None:
    pts = rad_resample(peak, BOX, n=800, n_candidates=8000, k=0.0, generator=_gen(5))
    for j in range(2):
        assert kstest(pts[:, j].numpy(), "uniform").pvalue > 0.01
    assert abs(_dist(pts) - _dist(sample_points(BOX, 8000, generator=_gen(6)))) < 0.03


def test_rad_falls_back_to_uniform_for_a_zero_residual() -> None:
    zero = lambda xt: torch.zeros(xt.shape[0], dtype=xt.dtype)  # noqa: E731
    pts = rad_resample(zero, BOX, n=300, n_candidates=600, c=0.0, generator=_gen(7))
    assert pts.shape == (300, 2) and torch.isfinite(pts).all()
    assert len(torch.unique(pts, dim=0)) == 300  # drawn without replacement


@pytest.mark.parametrize("name", ["burgers", "convection", "poisson-2d"])
def test_adaptive_points_stay_in_real_domains_and_are_deterministic(name: str) -> None:
    box = make_problem(name).domain()
    lo = torch.tensor(box.lows, dtype=torch.float64)
    hi = torch.tensor(box.highs, dtype=torch.float64)
    r = lambda xt: torch.sin(3 * xt).sum(-1)  # noqa: E731
    p0 = sample_points(box, 64, generator=_gen(0))
    a = rar_refine(p0, r, box, n_candidates=500, n_add=32, generator=_gen(1))
    b = rad_resample(r, box, n=100, n_candidates=500, generator=_gen(1))
    for pts in (a, b):
        assert ((pts >= lo) & (pts <= hi)).all()
    assert torch.equal(
        a, rar_refine(p0, r, box, n_candidates=500, n_add=32, generator=_gen(1))
    )
    assert torch.equal(
        b, rad_resample(r, box, n=100, n_candidates=500, generator=_gen(1))
    )
    assert not torch.equal(
        b, rad_resample(r, box, n=100, n_candidates=500, generator=_gen(2))
    )


def test_model_residual_leaves_no_grad_and_no_graph() -> None:
    with seeded(0):
        net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    problem = make_problem("burgers")
    box = problem.domain()

    def field(xt: Tensor) -> Tensor:
        return net(xt).squeeze(-1)

    def residual(xt: Tensor) -> Tensor:
        return problem.residual(field, xt)

    p0 = sample_points(box, 16, generator=_gen(0))
    # Called under no_grad (as a trainer's bookkeeping might be): input derivatives
    # still work, and nothing keeps a graph or a gradient.
    with torch.no_grad():
        a = rar_refine(p0, residual, box, n_candidates=256, n_add=8, generator=_gen(1))
        b = rad_resample(residual, box, n=32, n_candidates=256, generator=_gen(1))
    for pts in (a, b):
        assert not pts.requires_grad and pts.grad_fn is None
    assert not p0.requires_grad and p0.grad is None
    assert all(q.grad is None for q in net.parameters())
    # The magnitude is the residual's own, computed by explicit autodiff.
    xt = sample_points(box, 5, generator=_gen(3))
    d = Partials(field, xt, ("x", "t"))
    ref = d("t") + d.u * d("x") - problem.nu * d("xx")
    mag = residual_magnitude(residual, xt)
    torch.testing.assert_close(mag, ref.detach().abs())
    assert not mag.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 10, "n_candidates": 5}, "n = 10 is out of range"),
        ({"n": 5, "n_candidates": 0}, "n_candidates = 0"),
        ({"n": 5, "n_candidates": 50, "k": -1.0}, "k = -1.0"),
        ({"n": 5, "n_candidates": 50, "c": float("nan")}, "c = nan"),
    ],
)
def test_rad_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rad_resample(peak, BOX, generator=_gen(), **kwargs)


def test_rar_rejects_bad_counts_and_bad_residual_shapes() -> None:
    p = torch.zeros(0, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_add = 9"):
        rar_refine(p, peak, BOX, n_candidates=8, n_add=9, generator=_gen())
    with pytest.raises(ValueError, match="expected"):
        rar_refine(
            p, lambda xt: peak(xt)[:3], BOX, n_candidates=8, n_add=1, generator=_gen()
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_adaptive_on_cuda_with_a_cpu_generator() -> None:
    x0 = X0.cuda()
    r = lambda xt: torch.exp(-100.0 * ((xt - x0) ** 2).sum(-1))  # noqa: E731
    p = torch.zeros(0, 2, dtype=torch.float64, device="cuda")
    a = rar_refine(p, r, BOX, n_candidates=500, n_add=10, generator=_gen())
    b = rad_resample(r, BOX, n=50, n_candidates=500, generator=_gen(), device="cuda")
    assert a.is_cuda and b.is_cuda

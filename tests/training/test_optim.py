"""Optimization: each optimiser descends, schedules, L-BFGS stop reasons, resume."""

from __future__ import annotations

import inspect
import io
import math
import re
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from explorer.training.config import OptimConfig
from explorer.training.optim import (
    STOP_GRAD,
    STOP_LOSS,
    STOP_MAX_EVAL,
    STOP_MAX_ITER,
    STOP_NO_DESCENT,
    STOP_STEP,
    Optimization,
    StepInfo,
    _TracedLBFGS,
)

F64 = torch.float64
Closure = Callable[[], Tensor]


def quadratic(
    diag: tuple[float, ...], start: tuple[float, ...]
) -> tuple[Tensor, Closure]:
    """L(x) = ½ Σ aᵢxᵢ², minimum 0 at x = 0."""
    a = torch.tensor(diag, dtype=F64)
    x = torch.tensor(start, dtype=F64, requires_grad=True)

    def closure() -> Tensor:
        x.grad = None
        loss = 0.5 * (a * x**2).sum()
        loss.backward()
        return loss

    return x, closure


def rosenbrock(start: tuple[float, float] = (-1.2, 1.0)) -> tuple[Tensor, Closure]:
    """L = (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1)."""
    x = torch.tensor(start, dtype=F64, requires_grad=True)

    def closure() -> Tensor:
        x.grad = None
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    return x, closure


def sine_fit(seed: int = 0) -> tuple[nn.Module, Closure]:
    """A 1-16-16-1 tanh MLP fitting sin(πx) on 64 points, in float64."""
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh())
    net.append(nn.Linear(16, 1))
    net = net.to(F64)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=F64))
    x = torch.linspace(-1, 1, 64, dtype=F64)[:, None]
    y = torch.sin(torch.pi * x)

    def closure() -> Tensor:
        net.zero_grad(set_to_none=True)
        loss = (net(x) - y).square().mean()
        loss.backward()
        return loss

    return net, closure


def run(opt: Optimization, closure: Closure, n: int) -> list[StepInfo]:
    return [opt.step(closure) for _ in range(n)]


# ---- config -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("optimizer", "sgd"),
        ("lr", 0.0),
        ("lr", 2.0),
        ("lr", float("nan")),
        ("lr", True),
        ("schedule", "linear"),
        ("decay_rate", 0.0),
        ("decay_rate", 1.5),
        ("decay_steps", 0),
        ("decay_steps", 2.5),
        ("weight_decay", -0.1),
        ("switch_step", 0),
        ("lbfgs_lr", 0.0),
        ("lbfgs_max_iter", 0),
        ("lbfgs_history", 0),
        ("tolerance_grad", -1e-9),
        ("tolerance_change", 2.0),
    ],
)
def test_bad_config_names_field_value_and_allowed(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"OptimConfig\.{field} = .*allowed:"):
        OptimConfig(**{field: value})


def test_bad_construction() -> None:
    x, _ = quadratic((1.0,), (1.0,))
    with pytest.raises(ValueError, match="total_steps = 0"):
        Optimization([x], OptimConfig(), total_steps=0)
    with pytest.raises(ValueError, match="leaf tensors"):
        Optimization([x.detach()], OptimConfig(), total_steps=10)
    with pytest.raises(ValueError, match=r"'adam'.*'lbfgs'"):
        Optimization([x], OptimConfig(optimizer="lbfgs"), 10).load_state_dict(
            Optimization([x], OptimConfig(), 10).state_dict()
        )


# ---- descent ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["adam", "adamw", "lbfgs", "adam+lbfgs", "bfgs", "adam+bfgs"]
)
def test_each_optimizer_lowers_rosenbrock(name: str) -> None:
    x, closure = rosenbrock()
    config = OptimConfig(optimizer=name, lr=0.05, switch_step=100, weight_decay=0.0)
    infos = run(Optimization([x], config, total_steps=300), closure, 300)
    start, end = infos[0].loss, float(closure().detach())
    assert start == pytest.approx(24.2)
    # Adam walks the banana valley slowly; L-BFGS reaches the minimum (1, 1).
    assert end < (0.1 if name in ("adam", "adamw") else 1e-12) * start
    if "bfgs" in name:
        assert torch.allclose(x.detach(), torch.ones(2, dtype=F64), atol=1e-8)


def test_adamw_decays_weights_adam_does_not() -> None:
    """With a zero loss gradient, AdamW shrinks w by (1 − lr·λ) per step; Adam not."""
    for name, factor in (("adamw", (1 - 0.1 * 0.5) ** 5), ("adam", 1.0)):
        w = torch.tensor([2.0], dtype=F64, requires_grad=True)

        def closure(w: Tensor = w) -> Tensor:
            w.grad = torch.zeros_like(w)
            return (0 * w).sum()

        config = OptimConfig(optimizer=name, lr=0.1, weight_decay=0.5)
        run(Optimization([w], config, total_steps=5), closure, 5)
        assert float(w.detach()) == pytest.approx(2.0 * factor, rel=1e-12)


def test_lbfgs_after_adam_polishes_a_network_fit() -> None:
    net, closure = sine_fit()
    config = OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=300)
    opt = Optimization(net.parameters(), config, total_steps=310)
    infos = run(opt, closure, 310)
    assert [i.phase for i in infos] == ["adam"] * 300 + ["lbfgs"] * 10
    adam_loss = infos[300].loss  # loss after 300 Adam steps
    final = float(closure().detach())
    # measured: 6.9e-5 after Adam, 3.8e-8 after L-BFGS (a factor of ~1800)
    assert adam_loss < 1e-3
    assert final < adam_loss / 300


# ---- schedules ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", lambda k: 0.1),
        ("exponential", lambda k: 0.1 * 0.5 ** (k / 10)),  # continuous
        ("step", lambda k: 0.1 * 0.5 ** (k // 10)),  # staircase
        ("cosine", lambda k: 0.1 * 0.5 * (1 + math.cos(math.pi * k / 40))),
    ],
)
def test_schedule_lr_sequence(schedule: str, expected: Callable[[int], float]) -> None:
    x, closure = quadratic((1.0,), (1.0,))
    config = OptimConfig(lr=0.1, schedule=schedule, decay_rate=0.5, decay_steps=10)
    opt = Optimization([x], config, total_steps=40)
    lrs = [info.lr for info in run(opt, closure, 40)]
    assert lrs == pytest.approx([expected(k) for k in range(40)], rel=1e-12)
    if schedule == "cosine":
        assert lrs[-1] < 2e-3 * lrs[0] and opt.lr == pytest.approx(0.0, abs=1e-18)


def test_cosine_spans_the_adam_phase_then_lbfgs_keeps_its_lr() -> None:
    x, closure = quadratic((1.0, 3.0), (1.0, 1.0))
    config = OptimConfig(
        optimizer="adam+lbfgs", lr=0.1, schedule="cosine", switch_step=20, lbfgs_lr=0.5
    )
    infos = run(Optimization([x], config, total_steps=30), closure, 22)
    assert infos[10].lr == pytest.approx(0.05, rel=1e-12)  # half way through Adam
    assert infos[19].lr == pytest.approx(0.05 * (1 + math.cos(math.pi * 19 / 20)))
    assert [(i.phase, i.lr) for i in infos[20:]] == [("lbfgs", 0.5)] * 2


# ---- L-BFGS stop reasons ------------------------------------------------------------
def lbfgs_step(closure: Closure, x: Tensor, **config: float) -> StepInfo:
    opt = Optimization([x], OptimConfig(optimizer="lbfgs", **config), total_steps=1)
    return opt.step(closure)


def test_stop_gradient_at_the_minimum() -> None:
    x, closure = quadratic((1.0, 4.0), (0.0, 0.0))
    info = lbfgs_step(closure, x)
    assert (info.stop_reason, info.iterations, info.evaluations) == (STOP_GRAD, 0, 1)
    assert info.converged and info.loss == 0.0


def test_stop_gradient_reached_during_the_call() -> None:
    x, closure = quadratic((1.0, 4.0), (1.0, 1.0))
    # tolerance_change = 0 disables the loss/step exits that would fire first
    info = lbfgs_step(closure, x, tolerance_change=0.0, lbfgs_max_iter=100)
    assert info.stop_reason == STOP_GRAD and info.converged
    assert 2 <= info.iterations <= 20  # measured: 9 (inexact Wolfe line searches)
    assert x.detach().abs().max() < 1e-9 / 4


def test_stop_max_iter() -> None:
    net, closure = sine_fit()
    config = OptimConfig(optimizer="lbfgs", lbfgs_max_iter=10)
    info = Optimization(net.parameters(), config, total_steps=1).step(closure)
    assert (info.stop_reason, info.iterations, info.converged) == (
        STOP_MAX_ITER,
        10,
        False,
    )
    assert 11 <= info.evaluations <= 12  # torch caps them at 1.25 max_iter


def test_stop_loss_change() -> None:
    """|g|² = 1.3e-3 > tol, so the search runs; it lands at t* ≈ 0.52 along −g,
    moving x by 0.016 (> tol) but lowering L by only 3.4e-4 (< tol)."""
    x, closure = quadratic((1.0, 4.0), (0.03, 0.005))
    info = lbfgs_step(closure, x, tolerance_change=1e-3)
    assert (info.stop_reason, info.iterations, info.converged) == (STOP_LOSS, 1, True)
    assert info.loss - float(closure().detach()) == pytest.approx(3.4e-4, rel=0.05)


def test_stop_step_change() -> None:
    """Stiff curvature: the exact line search takes t* ≈ 4e-4, a step of 2e-5."""
    x, closure = quadratic((1000.0, 4000.0), (5e-5, 1.25e-5))
    info = lbfgs_step(closure, x, tolerance_change=1e-3)
    assert (info.stop_reason, info.iterations, info.converged) == (STOP_STEP, 1, True)


def test_stop_no_descent_and_it_stays_put() -> None:
    x, closure = quadratic((1.0, 4.0), (0.01, 0.001))  # |g|² = 1.2e-4 < 1e-3
    opt = Optimization([x], OptimConfig(optimizer="lbfgs", tolerance_change=1e-3), 2)
    before = x.detach().clone()
    infos = run(opt, closure, 2)
    assert [i.stop_reason for i in infos] == [STOP_NO_DESCENT] * 2
    assert all(i.converged and i.iterations == 1 for i in infos)
    assert torch.equal(x.detach(), before)


def test_stop_max_function_evaluations() -> None:
    x, closure = rosenbrock()
    opt = _TracedLBFGS([x], max_iter=10, max_eval=2, line_search_fn="strong_wolfe")
    opt.step(closure)
    state = opt.state[x]
    assert opt.stop_reason(state["n_iter"], state["func_evals"]) == STOP_MAX_EVAL


def _oracle_lbfgs() -> type[torch.optim.Optimizer]:
    """torch's own LBFGS source, re-executed with each exit writing its condition
    to ``state["why"]``: an independent witness of why ``step`` returned."""
    source = inspect.getsource(inspect.getmodule(torch.optim.LBFGS))
    head, sep, step = source.partition("    def step(self, closure)")
    exit_pattern = (
        r"\n(?P<i> +)if (?P<c>[^\n]+):\n(?P=i)    (?P<s>break|return orig_loss)"
    )
    step, n = re.subn(
        exit_pattern,
        lambda m: (
            f"\n{m['i']}if {m['c']}:\n{m['i']}    state['why'] = {m['c']!r}\n"
            f"{m['i']}    {m['s']}"
        ),
        step,
    )
    if not sep or n != 7:
        pytest.skip(f"torch.optim.lbfgs changed shape ({n} exits); oracle unavailable")
    head = head.replace("from .optimizer import", "from torch.optim.optimizer import")
    namespace: dict[str, object] = {"__name__": "oracle_lbfgs"}
    exec(compile(head + sep + step, "oracle_lbfgs", "exec"), namespace)
    return namespace["LBFGS"]  # type: ignore[return-value]


ORACLE_REASON = {
    "opt_cond": STOP_GRAD,
    "gtd > -tolerance_change": STOP_NO_DESCENT,
    "n_iter == max_iter": STOP_MAX_ITER,
    "current_evals >= max_eval": STOP_MAX_EVAL,
    "d.mul(t).abs().max() <= tolerance_change": STOP_STEP,
    "abs(loss - prev_loss) < tolerance_change": STOP_LOSS,
}


@pytest.mark.parametrize(
    ("make", "config", "steps"),
    [
        (rosenbrock, {"lbfgs_max_iter": 4}, 30),
        (rosenbrock, {"lbfgs_max_iter": 7, "tolerance_change": 1e-6}, 12),
        (sine_fit, {"lbfgs_max_iter": 25, "tolerance_change": 1e-9}, 12),
        (sine_fit, {"lbfgs_max_iter": 50, "lbfgs_history": 5}, 8),
        (
            lambda: quadratic((1.0, 4.0), (1.0, 1.0)),
            {"lbfgs_max_iter": 100, "tolerance_change": 0.0},
            2,
        ),
        (
            lambda: quadratic((1000.0, 4000.0), (5e-5, 1.25e-5)),
            {"lbfgs_max_iter": 20, "tolerance_change": 1e-3},
            3,
        ),
        (
            lambda: quadratic((1.0, 4.0), (0.03, 0.005)),
            {"lbfgs_max_iter": 20, "tolerance_change": 1e-3},
            3,
        ),
    ],
    ids=["rosen", "rosen-tol", "mlp-tol", "mlp-history", "quad", "stiff", "flat"],
)
def test_stop_reasons_match_instrumented_torch(
    make: Callable, config: dict, steps: int
) -> None:
    ours, closure = make()
    theirs, their_closure = make()
    params = list(ours.parameters()) if isinstance(ours, nn.Module) else [ours]
    their_params = (
        list(theirs.parameters()) if isinstance(theirs, nn.Module) else [theirs]
    )
    opt = Optimization(params, OptimConfig(optimizer="lbfgs", **config), steps)
    oracle = _oracle_lbfgs()(
        their_params,
        lr=1.0,
        max_iter=config["lbfgs_max_iter"],
        history_size=config.get("lbfgs_history", 50),
        tolerance_grad=1e-9,
        tolerance_change=config.get("tolerance_change", 1e-12),
        line_search_fn="strong_wolfe",
    )
    reasons, expected = [], []
    for _ in range(steps):
        reasons.append(opt.step(closure).stop_reason)
        oracle.state[their_params[0]].pop("why", None)
        oracle.step(their_closure)
        why = oracle.state[their_params[0]].get("why")
        expected.append(ORACLE_REASON[why])
    assert reasons == expected
    assert all(torch.equal(a, b) for a, b in zip(params, their_params))


# ---- resume -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "config",
    [
        OptimConfig(lr=1e-2, schedule="cosine"),
        OptimConfig(optimizer="adamw", lr=1e-2, schedule="exponential", decay_steps=3),
        # crosses the switch in the second half, after the save
        OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=15, lbfgs_max_iter=5),
        # saves in the middle of the L-BFGS phase: its curvature memory must persist
        OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=5, lbfgs_max_iter=5),
        OptimConfig(optimizer="lbfgs", lbfgs_max_iter=3, lbfgs_history=4),
        # the dense BFGS estimate must persist too
        OptimConfig(optimizer="adam+bfgs", lr=1e-2, switch_step=5, lbfgs_max_iter=5),
    ],
    ids=["adam-cosine", "adamw-exp", "switch-after-save", "lbfgs-mid", "lbfgs", "bfgs"],
)
def test_restore_continues_bit_exactly(config: OptimConfig) -> None:
    net, closure = sine_fit(seed=1)
    opt = Optimization(net.parameters(), config, total_steps=20)
    run(opt, closure, 10)
    buffer = io.BytesIO()
    torch.save({"model": net.state_dict(), "optim": opt.state_dict()}, buffer)
    straight = run(opt, closure, 10)

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    net2, closure2 = sine_fit(seed=2)
    net2.load_state_dict(saved["model"])
    opt2 = Optimization(net2.parameters(), config, total_steps=20)
    opt2.load_state_dict(saved["optim"])
    assert (opt2.step_count, opt2.phase, opt2.lr) == (
        10,
        straight[0].phase,
        straight[0].lr,
    )
    resumed = run(opt2, closure2, 10)

    assert resumed == straight  # same phases, lrs, losses, stop reasons
    assert straight[-1].loss < straight[0].loss  # the second half did train
    for a, b in zip(net.parameters(), net2.parameters()):
        assert torch.equal(a, b)


def test_objective_change_clears_lbfgs_memory_only() -> None:
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(4, dtype=torch.float64))
    opt = Optimization([w], OptimConfig(optimizer="adam+lbfgs", switch_step=2), 10)

    def closure() -> Tensor:
        opt.zero_grad()
        loss = ((w - 1.0) ** 4).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert opt.state_dict()["lbfgs"]["state"]
    adam = opt.state_dict()["adam"]
    opt.objective_changed()
    assert not opt.state_dict()["lbfgs"]["state"]
    assert opt.state_dict()["adam"] == adam

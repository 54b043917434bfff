"""Point-sharded data parallelism: the same steps as one process, to rounding."""

from __future__ import annotations

import pytest
import torch

from explorer.data import SamplerConfig
from explorer.losses import Observations, PINNOptions
from explorer.training import OptimConfig, TrainConfig
from explorer.training.parallel import ShardedLoss
from explorer.training.train_config import CurriculumConfig
from tests.training.helpers import make_trainer, params_copy, same_state


def _params(trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in trainer.params])


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("burgers", {}),  # residual, ic, bc
        ("convection", {}),  # periodic embedding: residual, ic
        ("poisson-2d", {}),
        ("nls", {}),  # two components
        ("convection", {"curriculum": CurriculumConfig("beta", 1.0, 10, 2)}),
    ],
)
def test_sharded_steps_match_one_thread(name: str, kw: dict) -> None:
    serial = make_trainer(name, steps=20, **kw)
    sharded = make_trainer(name, steps=20, workers=3, **kw)
    assert serial._sharded is None and sharded._sharded is not None
    a, b = list(serial.run()), list(sharded.run())
    for ea, eb in zip(a, b):
        assert ea.terms.keys() == eb.terms.keys()
        for k in ea.terms:
            assert eb.terms[k] == pytest.approx(ea.terms[k], rel=1e-12, abs=1e-15)
    torch.testing.assert_close(_params(sharded), _params(serial), rtol=0, atol=1e-12)


def test_sharded_lbfgs_and_data_term_match_one_thread() -> None:
    g = torch.Generator().manual_seed(3)
    points = torch.rand(37, 2, generator=g, dtype=torch.float64)  # uneven shards
    values = torch.sin(points[:, 0])
    runs = []
    for workers in (1, 2):
        tr = make_trainer(
            "burgers",
            options=PINNOptions(trainable=(("nu", 0.02),), positive=("nu",)),
            optim=OptimConfig(optimizer="adam+lbfgs", lr=1e-2, switch_step=5),
            steps=8,
            workers=workers,
            trainer_kw={"observations": Observations(points, values)},
        )
        runs.append((list(tr.run()), tr))
    (a, ta), (b, tb) = runs
    assert "data" in a[-1].terms and a[-1].info.phase == "lbfgs"
    for ea, eb in zip(a, b):
        assert eb.info.loss == pytest.approx(ea.info.loss, rel=1e-10)
    # L-BFGS line searches amplify rounding differences of the summation order.
    torch.testing.assert_close(_params(tb), _params(ta), rtol=0, atol=1e-7)


def test_sharded_runs_are_deterministic() -> None:
    a = make_trainer("heat", steps=15, workers=2)
    b = make_trainer("heat", steps=15, workers=2)
    list(a.run())
    list(b.run())
    assert same_state(params_copy(a), params_copy(b))


def test_coupled_losses_stay_on_one_thread() -> None:
    causal = make_trainer("heat", steps=1, workers=2, causal_eps=1.0)
    eigen = make_trainer(
        "schrodinger",
        options=PINNOptions(hard_bc=True),
        steps=1,
        workers=2,
        sampler=SamplerConfig(n_interior=32, n_boundary=2, n_initial=0),
    )
    assert causal._sharded is None and eigen._sharded is None
    assert list(causal.run()) and list(eigen.run())


def test_worker_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="workers"):
        TrainConfig(workers=0)
    tr = make_trainer("heat", steps=1)
    with pytest.raises(ValueError, match="workers = 1"):
        ShardedLoss(tr.loss, tr.params, 1)


def test_a_dead_worker_gives_a_clear_error_and_close_stops_workers() -> None:
    tr = make_trainer("heat", steps=3, workers=2)
    list(tr.run(1))
    sharded = tr._sharded
    (conn,) = sharded._conns
    conn.send(None)  # the worker leaves its loop and exits
    with pytest.raises(RuntimeError, match=r"shard 1 stopped.*workers=1"):
        list(tr.run(1))
    assert sharded._conns == []  # closed after the failure
    list(tr.run(1))  # a new call spawns fresh workers
    procs = sharded._finalizer.peek()[2][1]
    sharded.close()
    assert not any(p.is_alive() for p in procs)


def test_a_failing_shard_reports_the_workers_traceback() -> None:
    tr = make_trainer("heat", steps=2, workers=2)
    list(tr.run(1))
    (conn,) = tr._sharded._conns
    conn.send(("step", {}))  # no scales: the worker's KeyError comes back
    with pytest.raises(RuntimeError, match=r"(?s)failed.*KeyError"):
        tr._sharded._receive(0)

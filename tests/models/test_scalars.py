"""Trainable scalars: initial values, log-space positivity, gradients, torch.func."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from explorer.models import TrainableScalars


def test_initial_values_and_raw_storage() -> None:
    s = TrainableScalars({"E": -2.5, "nu": 0.01}, positive=["nu"], dtype=torch.float64)
    values = s()
    assert s.names == ("E", "nu")
    assert float(values["E"].detach()) == -2.5
    assert float(values["nu"].detach()) == pytest.approx(0.01, rel=1e-14)
    assert float(s.state_dict()["raw.nu"].detach()) == pytest.approx(math.log(0.01))
    assert all(v.dtype == torch.float64 and v.dim() == 0 for v in values.values())


def test_log_parameterised_scalar_stays_positive_under_large_steps() -> None:
    s = TrainableScalars({"nu": 0.5}, positive=["nu"])
    opt = torch.optim.SGD(s.parameters(), lr=10.0)
    for _ in range(5):
        opt.zero_grad()
        s()["nu"].backward()  # gradient descent drives ν towards 0 ...
        opt.step()
        assert float(s()["nu"].detach()) > 0  # ... but never through it
    assert float(s()["nu"].detach()) < 0.5


def test_gradients_reach_every_scalar() -> None:
    s = TrainableScalars({"a": 1.0, "b": 2.0}, positive=["b"], dtype=torch.float64)
    v = s()
    (v["a"] ** 2 + v["b"]).backward()
    assert float(s.raw["a"].grad) == pytest.approx(2.0)
    assert float(s.raw["b"].grad) == pytest.approx(2.0)  # d exp(r)/dr = exp(r) = b


def test_functional_call_swaps_the_raw_values() -> None:
    s = TrainableScalars({"E": 1.0, "nu": 1.0}, positive=["nu"], dtype=torch.float64)
    raw = {
        "raw.E": torch.tensor(3.0, dtype=torch.float64),
        "raw.nu": torch.tensor(math.log(4.0), dtype=torch.float64),
    }
    out = functional_call(s, raw, ())
    assert float(out["E"].detach()) == 3.0
    assert float(out["nu"].detach()) == pytest.approx(4.0)
    assert float(s()["E"].detach()) == 1.0


@pytest.mark.parametrize(
    ("initial", "positive", "match"),
    [
        ({"nu": 0.0}, ["nu"], r"nu = 0\.0 .*> 0"),
        ({"E": float("nan")}, [], r"E = nan"),
        ({"not a name": 1.0}, [], r"'not a name'"),
        ({"E": 1.0}, ["nu"], r"positive names 'nu'"),
    ],
)
def test_errors_name_the_scalar(
    initial: dict[str, float], positive: list[str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        TrainableScalars(initial, positive=positive)

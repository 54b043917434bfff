"""Every diagnostic leaves the model as it found it: same bits, no .grad."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

from explorer.diagnostics import (
    Cancelled,
    empirical_ntk,
    hessian_by_term,
    hessian_density,
    hessian_eigenvalues,
    hessian_trace,
    loss_line,
    loss_plane,
    parameters,
    pinn_ntk,
    pinn_objective,
    sharpness,
)

from .conftest import PinnCase, make_pinn_case


def _plane(c: PinnCase) -> object:
    return loss_plane(pinn_objective(c.loss, c.batch), parameters(c.pinn), steps=3)


def _line(c: PinnCase) -> object:
    p = parameters(c.pinn)
    q = {k: 0.9 * v for k, v in p.items()}
    return loss_line(pinn_objective(c.loss, c.batch), q, p, steps_per_unit=2)


def _eig(c: PinnCase) -> object:
    return hessian_eigenvalues(pinn_objective(c.loss, c.batch), parameters(c.pinn))


def _trace(c: PinnCase) -> object:
    return hessian_trace(pinn_objective(c.loss, c.batch), parameters(c.pinn), probes=4)


def _density(c: PinnCase) -> object:
    return hessian_density(pinn_objective(c.loss, c.batch), parameters(c.pinn), steps=5)


def _by_term(c: PinnCase) -> object:
    return hessian_by_term(c.loss, c.batch, parameters(c.pinn), probes=2, max_iter=5)


def _ntk(c: PinnCase) -> object:
    return empirical_ntk(c.pinn, c.batch.interior[:8])


def _pinn_ntk(c: PinnCase) -> object:
    return pinn_ntk(c.loss, c.batch, n_residual=8, n_boundary=4)


def _sharp(c: PinnCase) -> object:
    return sharpness(c.pinn, pinn_objective(c.loss, c.batch), lr=1e-3, probes=2)


#: Every diagnostic, for the contract tests below (adding one adds coverage).
DIAGNOSTICS: dict[str, Callable[[PinnCase], object]] = {
    "loss_plane": _plane,
    "loss_line": _line,
    "hessian_eigenvalues": _eig,
    "hessian_trace": _trace,
    "hessian_density": _density,
    "hessian_by_term": _by_term,
    "empirical_ntk": _ntk,
    "pinn_ntk": _pinn_ntk,
    "sharpness": _sharp,
}


@pytest.mark.parametrize("name", sorted(DIAGNOSTICS))
@pytest.mark.parametrize("problem", ["burgers", "wave"])
def test_model_untouched(name: str, problem: str) -> None:
    # wave: the autograd fallbacks too. nu trainable: a parameter some terms ignore.
    trainable = (("c", 1.0),) if problem == "wave" else (("nu", 0.02),)
    case = make_pinn_case(problem, width=6, n_interior=24, trainable=trainable)
    before = {k: v.detach().clone() for k, v in case.pinn.state_dict().items()}
    flags = {k: p.requires_grad for k, p in case.pinn.named_parameters()}
    training = case.pinn.training
    DIAGNOSTICS[name](case)
    for k, v in case.pinn.state_dict().items():
        assert torch.equal(v, before[k]) and v.dtype == before[k].dtype, k
    for k, p in case.pinn.named_parameters():
        assert p.grad is None, k
        assert p.requires_grad == flags[k]
    assert case.pinn.training == training
    assert case.loss.last_causal_weights is None


def test_cancel_from_another_thread() -> None:
    case = make_pinn_case(n_interior=24)
    f = pinn_objective(case.loss, case.batch)
    stop = threading.Event()
    errors: list[BaseException] = []
    fractions: list[float] = []

    def report(fraction: float) -> None:
        fractions.append(fraction)
        if fraction > 0:
            stop.set()  # as a UI thread would, mid-run

    def work() -> None:
        try:
            hessian_density(
                f, parameters(case.pinn), steps=200, progress=report, cancel=stop
            )
        except Cancelled as err:
            errors.append(err)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(errors) == 1 and "hessian_density cancelled" in str(errors[0])
    assert max(fractions) < 0.05  # stopped after a step or two of 200

"""Checkpoints round-trip exactly, survive interrupted writes and refuse bad files."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explorer.io import Checkpoint, load_checkpoint, save_checkpoint
from explorer.io.checkpoint import FORMAT, VERSION
from explorer.training.config import OptimConfig
from explorer.training.optim import Optimization

CONFIG = {
    "problem": {"name": "heat", "values": {"nu": 0.1, "mode": 2}},
    "model": {"depth": 2, "width": 16, "activation": "tanh", "fourier": None},
    "train": {"steps": 100, "weights": [1.0, 10.0], "adaptive": False},
}


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()


def _data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(32, 2, generator=g, dtype=torch.float64)
    return x, torch.sin(3 * x).sum(1, keepdim=True)


def _adam_step(net: nn.Module, opt: torch.optim.Optimizer, x, y) -> None:
    opt.zero_grad()
    (net(x) - y).square().mean().backward()
    opt.step()


def _save_simple(path: Path, **changes: object) -> Path:
    args = {
        "model_state": _net().state_dict(),
        "optimizer_state": {},
        "config": CONFIG,
        "rng_state": {"seed": 7},
    }
    return save_checkpoint(path, **{**args, **changes})


def _one_line_error(path: Path, match: str, **kwargs: object) -> str:
    with pytest.raises(ValueError, match=match) as info:
        load_checkpoint(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_round_trip_restores_model_optimizer_generator_and_config(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)  # only for nn.Linear's default init in this test
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = _data(1)
    for _ in range(5):
        _adam_step(net, opt, x, y)
    gen = torch.Generator().manual_seed(42)
    torch.rand(10, generator=gen)  # advance it past its seed
    extra = {"step": 5, "history": torch.linspace(0, 1, 5), "names": ["u", "v"]}
    path = save_checkpoint(
        tmp_path / "run.pt",
        model_state=net.state_dict(),
        optimizer_state=opt.state_dict(),
        config=CONFIG,
        rng_state={"torch": torch.get_rng_state(), "sampler": gen.get_state(), "n": 3},
        extra=extra,
    )
    ckpt = load_checkpoint(path)
    assert isinstance(ckpt, Checkpoint)
    assert (ckpt.kind, ckpt.version, ckpt.config) == ("explorer.pinn", VERSION, CONFIG)
    assert ckpt.extra["step"] == 5 and ckpt.extra["names"] == ["u", "v"]
    assert torch.equal(ckpt.extra["history"], extra["history"])
    assert ckpt.rng_state["n"] == 3
    assert torch.equal(ckpt.rng_state["torch"], torch.get_rng_state())

    net2 = _net()
    net2.load_state_dict(ckpt.model_state)
    opt2 = torch.optim.Adam(net2.parameters(), lr=1e-2)
    opt2.load_state_dict(ckpt.optimizer_state)
    gen2 = torch.Generator()
    gen2.set_state(ckpt.rng_state["sampler"])
    assert torch.equal(torch.rand(8, generator=gen2), torch.rand(8, generator=gen))
    for _ in range(3):  # training continues identically
        _adam_step(net, opt, x, y)
        _adam_step(net2, opt2, x, y)
    for a, b in zip(net.parameters(), net2.parameters()):
        assert torch.equal(a, b)


def test_optimization_mid_lbfgs_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    x, y = _data(2)
    config = OptimConfig(optimizer="adam+lbfgs", switch_step=3, lbfgs_max_iter=4)

    def make(seed: int) -> tuple[nn.Module, Optimization, object]:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            net = _net()
        optim = Optimization(net.parameters(), config, total_steps=10)

        def closure() -> torch.Tensor:
            optim.zero_grad()
            loss = (net(x) - y).square().mean()
            loss.backward()
            return loss

        return net, optim, closure

    net, optim, closure = make(0)
    for _ in range(5):
        optim.step(closure)
    save_checkpoint(
        tmp_path / "c.pt",
        model_state=net.state_dict(),
        optimizer_state=optim.state_dict(),
        config={"optim": {"optimizer": config.optimizer}},
        rng_state={},
    )
    straight = [optim.step(closure) for _ in range(3)]
    ckpt = load_checkpoint(tmp_path / "c.pt")
    net2, optim2, closure2 = make(1)
    net2.load_state_dict(ckpt.model_state)
    optim2.load_state_dict(ckpt.optimizer_state)
    assert [optim2.step(closure2) for _ in range(3)] == straight
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net2.parameters()))


@pytest.mark.parametrize("interrupt", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_interrupted_write_keeps_the_old_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: BaseException
) -> None:
    path = _save_simple(tmp_path / "run.pt")
    before = path.read_bytes()
    real_save = torch.save

    def half_then_fail(obj: object, f: io.BufferedWriter) -> None:
        buffer = io.BytesIO()
        real_save(obj, buffer)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        f.flush()
        raise interrupt

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(type(interrupt)):
        _save_simple(path, config={"other": 1})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temp files
    monkeypatch.undo()
    assert load_checkpoint(path).config == CONFIG


def test_truncated_or_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = _save_simple(tmp_path / "run.pt")
    data = path.read_bytes()
    for size in (len(data) // 2, len(data) - 10, 100):
        path.write_bytes(data[:size])
        _one_line_error(path, "is corrupt or truncated: ")
    for size in (0, 3):
        path.write_bytes(data[:size])
        _one_line_error(path, f"is corrupt or truncated: only {size} bytes")


def test_flipped_byte_in_tensor_data_is_caught(tmp_path: Path) -> None:
    """torch.load alone would return the wrong numbers; the zip CRC32 catches it."""
    weights = torch.arange(1000, dtype=torch.float64)
    path = _save_simple(tmp_path / "run.pt", model_state={"w": weights})
    data = bytearray(path.read_bytes())
    at = data.find(weights.numpy().tobytes()) + 4000
    data[at] ^= 0xFF
    path.write_bytes(data)
    _one_line_error(path, "is corrupt or truncated: checksum mismatch in .*data/0")


@pytest.mark.parametrize(
    "content",
    [{"a": 1, "weights": torch.ones(3)}, torch.randn(4), [1, 2, 3]],
    ids=["dict", "tensor", "list"],
)
def test_foreign_torch_file_is_not_ours(tmp_path: Path, content: object) -> None:
    path = tmp_path / "foreign.pt"
    torch.save(content, path)
    _one_line_error(path, r"is not a Neural PDE Explorer checkpoint \(no format")


def test_text_file_and_missing_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("hello, this is not a checkpoint\n")
    _one_line_error(text, r"is not a Neural PDE Explorer checkpoint \(not a torch")
    _one_line_error(tmp_path / "absent.pt", "does not exist")
    _one_line_error(tmp_path, "does not exist or is not a file")


class _Evil:
    """Unpickling this creates a file: the shape of an arbitrary-code exploit."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    raw = pickle.dumps({"format": FORMAT, "payload": _Evil(marker)})
    pickle.loads(raw).get("payload").close()  # the payload is live when unpickled
    assert marker.exists()
    marker.unlink()

    zipped = tmp_path / "evil.pt"  # a real torch zip file carrying the payload
    torch.save({"format": FORMAT, "version": 1, "payload": _Evil(marker)}, zipped)
    assert not marker.exists()  # saving records the recipe; loading would run it
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(zipped, weights_only=True)
    message = _one_line_error(zipped, "is not a Neural PDE Explorer checkpoint: a safe")
    assert "open" in message  # names the refused global
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(raw)
    _one_line_error(plain, "is not a Neural PDE Explorer checkpoint")
    assert not marker.exists()


def test_kind_and_version_are_checked(tmp_path: Path) -> None:
    path = _save_simple(tmp_path / "op.pt", kind="explorer.operator")
    assert load_checkpoint(path, kind="explorer.operator").kind == "explorer.operator"
    _one_line_error(path, "holds 'explorer.operator', not 'explorer.pinn'")
    newer = tmp_path / "newer.pt"
    torch.save({"format": FORMAT, "version": VERSION + 1, "kind": "x"}, newer)
    _one_line_error(newer, "format version 2, newer than .* upgrade")
    partial = tmp_path / "partial.pt"
    torch.save({"format": FORMAT, "version": VERSION, "kind": "explorer.pinn"}, partial)
    _one_line_error(partial, r"is corrupt or truncated: missing \['model_state'")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"extra": {"arr": np.zeros(3)}}, r"extra\['arr'\] is a numpy.ndarray"),
        ({"extra": {"f": [1, {"g": lambda: 0}]}}, r"extra\['f'\]\[1\]\['g'\]"),
        ({"rng_state": {"gen": torch.Generator()}}, r"rng_state\['gen'\] is a torch"),
        ({"extra": {(1, 2): 3}}, "has key .* allowed: str or int keys"),
        ({"optimizer_state": [1]}, "optimizer_state is a list; allowed: a dict"),
        ({"config": {"a": object()}}, "config is not JSON"),
    ],
)
def test_save_refuses_what_a_safe_load_would_refuse(
    tmp_path: Path, changes: dict, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _save_simple(tmp_path / "run.pt", **changes)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        _save_simple(tmp_path / "missing" / "run.pt")

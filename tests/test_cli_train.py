"""`explorer train` and `explorer resume`: run records, bit-exact continuation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import xarray as xr

from explorer.cli import main
from explorer.io import load_run

TINY = ["--depth", "2", "--width", "8", "--points", "64", "--initial-points", "16"]
TINY += ["--boundary-points", "16", "--snapshot-every", "5", "--float64"]


def test_train_then_resume_continues_exactly(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert (
        main(["train", "--problem", "heat", "--steps", "20", "--out", str(a), *TINY])
        == 0
    )
    assert (
        main(["train", "--problem", "heat", "--steps", "10", "--out", str(b), *TINY])
        == 0
    )
    assert main(["resume", str(b), "--steps", "10"]) == 0
    _, ta, ha = load_run(a)
    _, tb, hb = load_run(b)
    assert ta.step == tb.step == 20
    for (k, x), y in zip(ta.pinn.state_dict().items(), tb.pinn.state_dict().values()):
        assert torch.equal(x, y), k
    assert list(hb.step.values) == [1, 5, 10, 15, 20]
    xr.testing.assert_equal(ha.drop_vars("wall_time"), hb.drop_vars("wall_time"))
    assert ha.attrs["run_spec"]


def test_inverse_problem_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "inv"
    argv = ["train", "--problem", "burgers", "--set", "nu=0.05", "--fit", "nu=0.02"]
    argv += ["--observations", "200", "--noise", "0.01", "--steps", "5", *TINY]
    argv += ["--workers", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "fitted nu = " in capsys.readouterr().out
    _, trainer, history = load_run(out)
    assert "coef_nu" in history
    assert trainer.loss.observations is not None


def test_excited_state_run_resumes(tmp_path: Path) -> None:
    out = tmp_path / "excited"
    argv = ["train", "--problem", "schrodinger", "--set", "n_states=2", "--state"]
    assert main([*argv, "1", "--steps", "5", *TINY, "--out", str(out)]) == 0
    assert main(["resume", str(out), "--steps", "5"]) == 0
    _, trainer, history = load_run(out)
    assert trainer.pinn.state == 1
    assert history.step.values[-1] == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--problem", "nope"], "problem 'nope' is unknown"),
        (["--problem", "heat", "--set", "nu=-3"], "'nu' = -3.0 is out of bounds"),
        (["--problem", "heat", "--fit", "mu=0.1"], "'mu' is not a parameter of heat"),
        (["--problem", "heat", "--lr", "5"], "lr"),
        (["--problem", "heat", "--optimizer", "sgd"], "optimizer"),
        (["--problem", "heat", "--width", "1"], "width"),
        (["--problem", "heat", "--adaptive", "magic"], "adaptive"),
        (["--problem", "heat", "--workers", "0"], "workers"),
        (["--problem", "heat", "--state", "1"], "heat is not an eigenproblem"),
        (
            ["--problem", "schrodinger", "--set", "n_states=2", "--state", "3"],
            "state = 3 cannot be deflated",
        ),
    ],
)
def test_bad_training_input_is_one_clear_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "run"
    assert main(["train", *argv, "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("explorer: error: ") and message in err
    assert "Traceback" not in err and not out.exists()


def test_resume_of_a_missing_or_foreign_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["resume", str(tmp_path / "missing"), "--steps", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "checkpoint.pt").write_text("not a checkpoint")
    assert main(["resume", str(tmp_path), "--steps", "1"]) == 2
    assert "checkpoint" in capsys.readouterr().err


def test_out_may_be_nested_but_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    nested = tmp_path / "runs" / "heat"
    argv = ["train", "--problem", "heat", "--steps", "2", *TINY]
    assert main([*argv, "--out", str(nested)]) == 0
    assert (nested / "checkpoint.pt").is_file()
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main([*argv, "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err

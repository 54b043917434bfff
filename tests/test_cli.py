"""The command line: catalogue listing, reference solves to netCDF, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from explorer.cli import main
from explorer.problems import PROBLEMS


def test_problems_json_lists_every_parameter(capsys: pytest.CaptureFixture) -> None:
    assert main(["problems", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in records} == set(PROBLEMS)
    for r in records:
        assert r["equation"] and r["parameters"]
        for p in r["parameters"]:
            assert {"name", "default", "allowed", "doc"} <= set(p)


def test_problems_text_names_bounds(capsys: pytest.CaptureFixture) -> None:
    assert main(["problems", "burgers"]) == 0
    out = capsys.readouterr().out
    assert "nu" in out and "0.001 <= nu <= 1" in out and "viscosity" in out


def test_solve_burgers_matches_deepxde_data(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "burgers.nc"
    assert (
        main(["solve", "burgers", "--nx", "256", "--nt", "101", "--out", str(out)]) == 0
    )
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.u.dims == ("t", "x")
    assert ds.attrs["problem"] == "burgers"
    assert ds.attrs["param_nu"] == pytest.approx(0.01 / np.pi)
    ref = np.load(data_dir / "Burgers.npz")
    np.testing.assert_allclose(ds.x.values, ref["x"].ravel(), atol=1e-15)
    np.testing.assert_allclose(ds.t.values[:100], ref["t"].ravel(), atol=1e-12)
    ours = ds.u.values[:100].T  # the file stops at t = 0.99 and stores (x, t)
    rel = np.linalg.norm(ours - ref["usol"]) / np.linalg.norm(ref["usol"])
    assert rel <= 1e-4
    ds.close()


def test_solve_allen_cahn_matches_raissi_data(tmp_path: Path, data_dir: Path) -> None:
    from scipy.io import loadmat

    out = tmp_path / "ac.nc"
    assert (
        main(["solve", "allen-cahn", "--nx", "512", "--nt", "201", "--out", str(out)])
        == 0
    )
    ds = xr.open_dataset(out, engine="h5netcdf")
    ref = loadmat(data_dir / "AC.mat")
    np.testing.assert_allclose(ds.x.values, ref["x"].ravel(), atol=1e-14)
    np.testing.assert_allclose(ds.t.values, ref["tt"].ravel(), atol=1e-14)
    ours = ds.u.values.T  # the file stores (x, t)
    rel = np.linalg.norm(ours - ref["uu"]) / np.linalg.norm(ref["uu"])
    assert rel <= 1e-4
    ds.close()


def test_solve_sets_parameters(tmp_path: Path) -> None:
    out = tmp_path / "heat.nc"
    argv = ["solve", "heat", "--set", "nu=0.5", "--set", "u0=sin(2*pi*x)"]
    assert main([*argv, "--nx", "33", "--nt", "5", "--out", str(out)]) == 0
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.attrs["param_nu"] == 0.5 and ds.attrs["param_u0"] == "sin(2*pi*x)"
    expected = np.sin(2 * np.pi * ds.x) * np.exp(-0.5 * (2 * np.pi) ** 2 * ds.t)
    np.testing.assert_allclose(ds.u, expected.transpose("t", "x"), atol=1e-12)
    ds.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "nope"], "problem 'nope' is unknown; allowed:"),
        (["solve", "burgers", "--set", "nu=-1"], "'nu' = -1.0 is out of bounds"),
        (["solve", "burgers", "--set", "nu=abc"], "'nu' = 'abc' is not a number"),
        (["solve", "burgers", "--set", "mu=1"], "parameter 'mu' is unknown"),
        (["solve", "burgers", "--set", "nu"], "malformed"),
        (["solve", "heat", "--set", "u0=open('x')"], "'u0'"),
        (["solve", "heat", "--nx", "1"], "grid size x=1"),
        (["solve", "heat", "--device", "tpu9"], "--device"),
    ],
)
def test_bad_input_is_one_clear_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main([*argv, "--out", str(tmp_path / "o.nc")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("explorer: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_unwritable_output_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "u.nc"
    assert main(["solve", "heat", "--out", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["solve", "heat", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_interrupted_solve_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "big.nc"
    # A long exact solve (4M points of Cole–Hopf quadrature), interrupted midway.
    cmd = [sys.executable, "-m", "explorer.cli", "solve", "burgers"]
    cmd += ["--nx", "4096", "--nt", "1024", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    seen, deadline = b"", time.monotonic() + 120
    while b"solve burgers" not in seen and time.monotonic() < deadline:
        chunk = os.read(proc.stderr.fileno(), 64)  # the progress bar: solving now
        if not chunk:
            break
        seen += chunk
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    err = (seen + rest).decode()
    assert proc.returncode != 0, "the solve finished before it could be interrupted"
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_console_script_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "explorer.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "problems" in out.stdout and "solve" in out.stdout and "serve" in out.stdout

"""netCDF results are written atomically and read back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from explorer.io import atomic_path, load_dataset, save_dataset


def test_round_trip(tmp_path: Path) -> None:
    ds = xr.Dataset(
        {"u": (("t", "x"), np.arange(6.0).reshape(2, 3))},
        coords={"t": [0.0, 1.0], "x": [0.0, 0.5, 1.0]},
        attrs={"problem": "heat", "param_nu": 0.1},
    )
    path = save_dataset(ds, tmp_path / "u.nc")
    back = load_dataset(path)
    xr.testing.assert_identical(back, ds)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "u.nc"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_rewrite(tmp_path: Path) -> None:
    target = tmp_path / "u.nc"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new but partial")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["u.nc"]


def test_unreadable_file_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match="not a readable netCDF file"):
        load_dataset(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(tmp_path / "missing.nc")

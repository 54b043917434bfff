"""The dataset cache: hit, resume after an interruption, subsample from a finer
file, and refuse (then rebuild) truncated, altered or mismatched files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import explorer.io.dataset_cache as dc
from explorer.data.operators import HeatDataConfig, generate_dataset
from explorer.io import CacheError, CacheWarning, DatasetCache

CONFIG = HeatDataConfig(resolution=32, n_samples=5, input_modes=8)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[range]]:
    """The sample ranges the cache generates (spy on generate_chunk)."""
    seen: list[range] = []
    real = dc.generate_chunk

    def spy(config, indices, device):  # type: ignore[no-untyped-def]
        seen.append(indices)
        return real(config, indices, device)

    monkeypatch.setattr(dc, "generate_chunk", spy)
    yield seen


def _cache(tmp_path: Path) -> DatasetCache:
    return DatasetCache(tmp_path, device="cpu", chunk_size=2)


def test_generates_once_then_hits(tmp_path: Path, calls: list[range]) -> None:
    cache = _cache(tmp_path)
    seen: list[tuple[int, int]] = []
    ds = cache.get(CONFIG, progress=lambda d, n: seen.append((d, n)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert [(r.start, r.stop) for r in calls] == [(0, 2), (2, 4), (4, 5)]
    assert cache.path(CONFIG).is_file()
    assert not cache.path(CONFIG).with_suffix(".partial").exists()
    again = cache.get(CONFIG)
    assert len(calls) == 3  # a hit: nothing generated
    xr.testing.assert_identical(ds, again)
    direct = generate_dataset(CONFIG, device="cpu")
    np.testing.assert_array_equal(ds["u"].values, direct["u"].values)


def test_interrupted_generation_resumes(tmp_path: Path, calls: list[range]) -> None:
    cache = _cache(tmp_path)

    def stop_after_first(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt("user pressed stop")

    with pytest.raises(KeyboardInterrupt):
        cache.get(CONFIG, progress=stop_after_first)
    assert not cache.path(CONFIG).exists()
    assert len(list(cache.path(CONFIG).with_suffix(".partial").glob("*.nc"))) == 1
    seen: list[int] = []
    ds = cache.get(CONFIG, progress=lambda d, n: seen.append(d))
    # The first chunk came from disk; only the other two were generated again.
    assert [(r.start, r.stop) for r in calls] == [(0, 2), (2, 4), (4, 5)]
    assert seen == [2, 4, 5]
    direct = generate_dataset(CONFIG, device="cpu")
    np.testing.assert_array_equal(ds["u"].values, direct["u"].values)


def test_a_truncated_file_is_reported_and_rebuilt(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    good = cache.get(CONFIG)
    path = cache.path(CONFIG)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CacheError, match="not a readable netCDF"):
        cache.load(CONFIG)
    with pytest.warns(CacheWarning, match="rebuilding"):
        ds = cache.get(CONFIG)
    xr.testing.assert_identical(ds, good)


def test_altered_attrs_or_numbers_are_refused(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    good = cache.get(CONFIG)
    path = cache.path(CONFIG)
    other = good.copy()
    other.attrs["config"] = HeatDataConfig(resolution=32, n_samples=5).to_json()
    other.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(CacheError, match="made by another config"):
        cache.load(CONFIG)
    changed = good.copy(deep=True)
    changed["u"][0, 0] = changed["u"][0, 0] + 1e-3  # checksum attr kept as it was
    changed.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(CacheError, match="checksum mismatch"):
        cache.load(CONFIG)
    with pytest.warns(CacheWarning, match="checksum mismatch"):
        ds = cache.get(CONFIG)
    xr.testing.assert_identical(ds, good)


def test_a_damaged_chunk_is_regenerated(tmp_path: Path, calls: list[range]) -> None:
    cache = _cache(tmp_path)
    with pytest.raises(RuntimeError):
        cache.get(CONFIG, progress=lambda d, n: (_ for _ in ()).throw(RuntimeError()))
    chunk = next(cache.path(CONFIG).with_suffix(".partial").glob("*.nc"))
    chunk.write_bytes(b"garbage")
    with pytest.warns(CacheWarning, match="regenerating the chunk"):
        cache.get(CONFIG)
    assert [(r.start, r.stop) for r in calls] == [(0, 2), (0, 2), (2, 4), (4, 5)]


def test_coarse_requests_are_subsampled_from_a_finer_file(
    tmp_path: Path, calls: list[range]
) -> None:
    cache = _cache(tmp_path)
    fine = cache.get(CONFIG.with_resolution(64))
    n_calls = len(calls)
    coarse = cache.get(CONFIG)
    assert len(calls) == n_calls  # nothing generated
    assert coarse.attrs["subsampled_from"] == cache.path(fine_config()).name
    assert coarse.sizes["x"] == 32
    np.testing.assert_array_equal(coarse["u"].values, fine["u"].values[:, ::2])
    # Generated at 32 directly: the same functions (heat data are exact).
    direct = cache.get(CONFIG, subsample=False)
    np.testing.assert_allclose(direct["u"].values, coarse["u"].values, atol=1e-6)
    # 48 does not divide 64: generated.
    assert cache.get(CONFIG.with_resolution(48)).sizes["x"] == 48


def fine_config() -> HeatDataConfig:
    return CONFIG.with_resolution(64)  # type: ignore[return-value]


def test_refuses_a_bad_chunk_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        DatasetCache(tmp_path, chunk_size=0)
    assert torch.device("cpu") == DatasetCache(tmp_path, device="cpu").device


class _NewerHeat(HeatDataConfig):
    """Heat data as a later generator would make them (the numbers changed)."""

    generator = HeatDataConfig.generator + 1


def test_a_file_of_an_older_generator_is_never_used(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    cache.get(CONFIG)
    newer = _NewerHeat(resolution=32, n_samples=5, input_modes=8)
    assert newer.to_dict() == CONFIG.to_dict()  # the same fields ...
    assert cache.path(newer) != cache.path(CONFIG)  # ... another file
    # The old file put where the new one belongs is refused, then rebuilt.
    cache.path(newer).write_bytes(cache.path(CONFIG).read_bytes())
    with pytest.raises(CacheError, match="made by another config"):
        cache.load(newer)
    with pytest.warns(CacheWarning, match="another config"):
        ds = cache.get(newer)
    assert '"generator": 2' in ds.attrs["config"]

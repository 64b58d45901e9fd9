"""The disk cache: atomic entries, stable keys, least-recently-used eviction."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from core.cache import DiskCache, cached_arrays, fingerprint_arrays, stable_hash


@dataclass(frozen=True)
class _Config:
    lr: float
    units: int


def test_stable_hash_is_deterministic_and_sensitive() -> None:
    assert stable_hash(_Config(0.1, 3)) == stable_hash(_Config(0.1, 3))
    assert stable_hash(_Config(0.1, 3)) != stable_hash(_Config(0.1, 4))
    assert stable_hash({"b": 1, "a": 2}) == stable_hash({"a": 2, "b": 1})


def test_fingerprint_sees_dtype_shape_and_content() -> None:
    a = np.arange(6, dtype=np.uint8)
    assert fingerprint_arrays(a) == fingerprint_arrays(a.copy())
    assert fingerprint_arrays(a) != fingerprint_arrays(a.reshape(2, 3))
    assert fingerprint_arrays(a) != fingerprint_arrays(a.astype(np.int16))
    b = a.copy()
    b[0] = 9
    assert fingerprint_arrays(a) != fingerprint_arrays(b)


def test_put_is_atomic_and_failed_writes_leave_nothing(tmp_path) -> None:
    cache = DiskCache(tmp_path)

    def failing(folder):
        (folder / "half.bin").write_bytes(b"x" * 10)
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        cache.put("runs", "k1", failing)
    assert cache.get("runs", "k1") is None
    assert list((tmp_path / "runs").iterdir()) == []

    entry = cache.put("runs", "k1", lambda folder: (folder / "a.txt").write_text("done"))
    assert cache.get("runs", "k1") == entry
    assert (entry / "a.txt").read_text() == "done"


def test_eviction_drops_least_recently_used_first(tmp_path) -> None:
    cache = DiskCache(tmp_path, limit_bytes=2500)
    for name in ("old", "middle"):
        cache.put("runs", name, lambda folder: (folder / "blob").write_bytes(b"x" * 1000))
    past = time.time() - 100
    os.utime(cache.entry_path("runs", "old"), (past, past))
    os.utime(cache.entry_path("runs", "middle"), (past + 50, past + 50))
    cache.get("runs", "old")  # touching makes "old" the most recently used
    cache.put("runs", "new", lambda folder: (folder / "blob").write_bytes(b"x" * 1000))
    assert cache.get("runs", "middle") is None
    assert cache.get("runs", "old") is not None
    assert cache.get("runs", "new") is not None


def test_cached_arrays_computes_once_even_from_many_threads(tmp_path) -> None:
    cache = DiskCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return {"features": np.arange(4.0)}

    threads = [threading.Thread(target=cached_arrays, args=("features", "k", compute), kwargs={"cache": cache}) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    np.testing.assert_array_equal(cached_arrays("features", "k", compute, cache=cache)["features"], np.arange(4.0))


def test_corrupt_array_entry_is_recomputed(tmp_path) -> None:
    cache = DiskCache(tmp_path)
    cached_arrays("features", "k", lambda: {"a": np.ones(1000)}, cache=cache)
    stored = cache.entry_path("features", "k") / "arrays.npz"
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    result = cached_arrays("features", "k", lambda: {"a": np.zeros(3)}, cache=cache)
    np.testing.assert_array_equal(result["a"], np.zeros(3))


def test_clear_removes_everything(tmp_path) -> None:
    cache = DiskCache(tmp_path)
    cache.put("runs", "k", lambda folder: (folder / "f").write_text("x"))
    cache.clear()
    assert cache.entries() == [] and cache.size_bytes() == 0


def test_clear_leaves_writes_in_progress_alone(tmp_path) -> None:
    cache = DiskCache(tmp_path)
    cache.put("runs", "done", lambda folder: (folder / "f").write_text("x"))
    in_progress = tmp_path / "runs" / ".tmp-other-1234"
    in_progress.mkdir()
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "vgg.h5").write_bytes(b"w")
    cache.clear()
    assert cache.entries() == []
    assert in_progress.is_dir()
    assert not (tmp_path / "weights").exists()


def test_listing_survives_entries_vanishing(tmp_path, monkeypatch) -> None:
    from pathlib import Path

    cache = DiskCache(tmp_path)
    cache.put("runs", "a", lambda folder: (folder / "f").write_text("x"))
    original_stat = Path.stat

    def vanishing(self, *args, **kwargs):
        if self.name == "a":
            raise FileNotFoundError(self)
        return original_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", vanishing)
    assert cache.entries() == []
    cache.evict()


def test_small_cached_arrays_are_read_once_shared_read_only_and_reread_when_replaced(tmp_path, monkeypatch) -> None:
    cache = DiskCache(tmp_path)
    cached_arrays("views", "k", lambda: {"maps": np.arange(6.0).reshape(2, 3)}, cache=cache)
    loads: list[int] = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: loads.append(1) or real_load(*args, **kwargs))
    first = cached_arrays("views", "k", lambda: pytest.fail("recomputed"), cache=cache, keep_in_memory=True)
    again = cached_arrays("views", "k", lambda: pytest.fail("recomputed"), cache=cache, keep_in_memory=True)
    assert len(loads) == 1 and again["maps"] is first["maps"]
    assert not first["maps"].flags.writeable  # every session shares it
    with pytest.raises(ValueError):
        first["maps"][0, 0] = 99.0
    # Another process replaces the entry: the new file is read, not the kept arrays.
    cache.discard("views", "k")
    cached_arrays("views", "k", lambda: {"maps": np.full((2, 3), 7.0)}, cache=cache)
    np.testing.assert_array_equal(cached_arrays("views", "k", lambda: pytest.fail("recomputed"), cache=cache, keep_in_memory=True)["maps"], 7.0)
    # Without keep_in_memory every call gets arrays of its own, free to change in place (features are standardised so).
    own = cached_arrays("views", "k", lambda: pytest.fail("recomputed"), cache=cache)
    own["maps"] += 1
    assert own["maps"].flags.writeable and cached_arrays("views", "k", lambda: pytest.fail("recomputed"), cache=cache)["maps"][0, 0] == 7.0

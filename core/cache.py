"""A disk cache of finished work (trained runs, extracted features), shared by all sessions.

Each entry is a directory ``<root>/<namespace>/<key>/``. It is written in a temporary
directory beside it and renamed into place, so a reader sees a whole entry or none; a
server killed mid-write leaves only a temporary directory, which the next eviction removes.
A directory's modification time is its last use, which drives least-recently-used eviction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from core import settings

_TEMP_PREFIX = ".tmp-"
_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def stable_hash(value: Any) -> str:
    """A short hash of a (possibly nested) dataclass or JSON-like value that is stable across runs.

    Python's ``hash()`` is salted per process, so it cannot key a cache that outlives the server.
    """
    text = json.dumps(value, sort_keys=True, default=_json_fallback, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _json_fallback(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__, **dataclasses.asdict(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot hash a {type(value).__name__} into a cache key")


def fingerprint_arrays(*arrays: np.ndarray) -> str:
    """A content hash of arrays (dtype, shape and bytes), to tell datasets apart in cache keys."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(memoryview(contiguous).cast("B"))
    return digest.hexdigest()[:20]


@contextmanager
def key_lock(namespace: str, key: str) -> Iterator[None]:
    """Serialise work on one key inside this server, so two sessions never compute it twice."""
    name = f"{namespace}/{key}"
    with _key_locks_guard:
        lock = _key_locks.setdefault(name, threading.Lock())
    with lock:
        yield


class DiskCache:
    """Whole-directory entries with atomic publication and least-recently-used eviction."""

    def __init__(self, root: Path | None = None, *, limit_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else settings.cache_dir()
        self.limit_bytes = limit_bytes if limit_bytes is not None else settings.cache_limit_bytes()

    def entry_path(self, namespace: str, key: str) -> Path:
        """Where the entry would live; it may not exist."""
        return self.root / namespace / key

    def get(self, namespace: str, key: str) -> Path | None:
        """The entry's directory if it exists, marking it as recently used."""
        path = self.entry_path(namespace, key)
        if not path.is_dir():
            return None
        now = time.time()
        try:
            os.utime(path, (now, now))
        except OSError:
            return None
        return path

    def put(self, namespace: str, key: str, write: Callable[[Path], None]) -> Path:
        """Publish an entry: ``write`` fills a temporary directory that is then renamed into place.

        If another writer published the same key first, its entry is kept and ours is dropped;
        both were computed from the same key, so either is correct.
        """
        final = self.entry_path(namespace, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f"{_TEMP_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            write(temporary)
            try:
                os.rename(temporary, final)
            except OSError:
                if not final.is_dir():
                    raise
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
        self.evict(keep=final)
        return final

    def discard(self, namespace: str, key: str) -> None:
        """Remove one entry, for example one found corrupt."""
        shutil.rmtree(self.entry_path(namespace, key), ignore_errors=True)

    def entries(self) -> list[Path]:
        """All published entries, oldest use first."""
        if not self.root.is_dir():
            return []
        found = []
        for namespace in _children(self.root):
            if not namespace.is_dir() or namespace.name.startswith("."):
                continue
            for entry in _children(namespace):
                used = _modified(entry)
                if used is not None and entry.is_dir() and not entry.name.startswith(_TEMP_PREFIX):
                    found.append((used, entry))
        return [entry for _, entry in sorted(found)]

    def size_bytes(self) -> int:
        """Disk used by the cache, temporary directories included."""
        return settings.directory_size_bytes(self.root) if self.root.is_dir() else 0

    def evict(self, *, keep: Path | None = None) -> list[Path]:
        """Drop stale temporaries and least-recently-used entries until under the size limit."""
        removed: list[Path] = []
        stale_after = time.time() - 3600
        for namespace in _children(self.root):
            for child in _children(namespace) if namespace.is_dir() else ():
                modified = _modified(child)
                if child.name.startswith(_TEMP_PREFIX) and modified is not None and modified < stale_after:
                    shutil.rmtree(child, ignore_errors=True)
        entries = self.entries()
        sizes = {entry: settings.directory_size_bytes(entry) for entry in entries}
        total = sum(sizes.values())
        for entry in entries:
            if total <= self.limit_bytes:
                break
            if keep is not None and entry == keep:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            total -= sizes[entry]
            removed.append(entry)
        return removed

    def clear(self) -> None:
        """Remove every published entry and loose file; writes in progress are left to finish.

        Deleting another session's temporary directory would make its training fail at the
        final rename, so only stale temporaries go (in :meth:`evict`).
        """
        for entry in self.entries():
            shutil.rmtree(entry, ignore_errors=True)
        for namespace in _children(self.root):
            for child in _children(namespace) if namespace.is_dir() else (namespace,):
                if child.is_file():
                    child.unlink(missing_ok=True)
            if namespace.is_dir() and not any(_children(namespace)):
                shutil.rmtree(namespace, ignore_errors=True)
        self.evict()


def _children(folder: Path) -> list[Path]:
    """A folder's children, or none if it vanished (another session may be clearing or evicting)."""
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def cached_arrays(
    namespace: str,
    key: str,
    compute: Callable[[], dict[str, np.ndarray]],
    *,
    cache: DiskCache | None = None,
) -> dict[str, np.ndarray]:
    """Arrays computed once per key and kept on disk (features, embeddings), recomputed if corrupt."""
    cache = cache or DiskCache()
    with key_lock(namespace, key):
        entry = cache.get(namespace, key)
        if entry is not None:
            try:
                with np.load(entry / "arrays.npz", allow_pickle=False) as stored:
                    return {name: stored[name] for name in stored.files}
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
                cache.discard(namespace, key)
        arrays = compute()
        cache.put(namespace, key, lambda tmp: np.savez(tmp / "arrays.npz", **arrays))
        return arrays

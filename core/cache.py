"""A disk cache of finished work (trained runs, extracted features, unpacked uploads), shared by all sessions.

Each entry is a directory ``<root>/<namespace>/<key>/``. It is written in a temporary
directory beside it and renamed into place, so a reader sees a whole entry or none; a
server killed mid-write leaves only a temporary directory, which the next eviction removes.
A directory's modification time is its last use, which drives least-recently-used eviction.

Entries belong to one of three pools, each with its own size limit and evicted only among
themselves, so one student's uploads can never push out the class's trained runs:

- ``runs``: trained runs (``DLLAB_CACHE_LIMIT_MB``, default 2048);
- ``data``: features and decoded datasets, recomputable from the data (``DLLAB_DATA_CACHE_LIMIT_MB``, default 2048);
- ``uploads``: unpacked uploads (``DLLAB_UPLOAD_CACHE_LIMIT_MB``, default 1024).

A cache folder that cannot be written (read-only, or its disk full) is not fatal: entries go
to a private temporary folder for the rest of the server's life, :func:`cache_problem` says
why for the pages' banner, and entries already in the read-only folder are still read.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import settings

_TEMP_PREFIX = ".tmp-"
_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()

POOLS = ("runs", "data", "uploads")
RUN_NAMESPACES = frozenset({"runs"})
UPLOAD_NAMESPACES = frozenset({"audio-uploads", "weights"})
# Not cache entries: the exercise links' secret and the class boards (``core.exercise``). Clearing
# trained runs must not void every exercise link handed out, so clear and eviction leave it alone.
KEPT_FOLDER = ".exercises"
# Errors that say "this folder cannot take writes" rather than "this entry is broken".
_UNWRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT})
_PROBE_SECONDS = 30.0


def pool_of(namespace: str) -> str:
    """Which pool (and so which size limit) a namespace's entries count against."""
    if namespace in RUN_NAMESPACES:
        return "runs"
    if namespace in UPLOAD_NAMESPACES:
        return "uploads"
    return "data"


class CacheWriteError(RuntimeError):
    """Neither the cache folder nor a private temporary folder could take the entry; the message says why."""


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


# ---------------------------------------------------------------------------------------------
# Whether the cache folder takes writes, and the private folder used when it does not


@dataclass
class _Writability:
    checked_at: float = 0.0
    problem: str | None = None  # why the folder takes no writes; None when it does
    fallback: Path | None = None


_writability: dict[str, _Writability] = {}
_writability_guard = threading.Lock()


def _reason(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk that holds the cache folder is full"
    return "the cache folder is read-only for the server"


def _state(root: Path) -> _Writability:
    with _writability_guard:
        return _writability.setdefault(str(root), _Writability())


def _probe(root: Path) -> str | None:
    """Create and remove a tiny file in ``root``; the reason it failed, or ``None``."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return _reason(error)
    return None


def _note_unwritable(root: Path, problem: str) -> None:
    state = _state(root)
    with _writability_guard:
        state.problem, state.checked_at = problem, time.monotonic()


def cache_problem(root: Path | None = None) -> str | None:
    """Why results are not being kept in the cache folder (read-only, disk full), or ``None`` when all is well.

    Re-checked at most every 30 s, so a folder that becomes writable again is used again.
    """
    root = Path(root) if root is not None else settings.cache_dir()
    state = _state(root)
    now = time.monotonic()
    if now - state.checked_at > _PROBE_SECONDS:
        # A full disk may still take the probe's empty file; then the next real write fails, falls
        # back and notes the problem again, so a disk that was freed is used again within 30 s.
        problem = _probe(root)
        with _writability_guard:
            state.problem, state.checked_at = problem, now
    return state.problem


def cache_problem_message(problem: str) -> str:
    """The banner every page shows while the cache folder takes no writes."""
    return (
        f"Results from now on are not kept: {problem}. Training still works, in a private temporary folder "
        f"that is lost when the server stops. Whoever runs the server can free space or fix the folder's "
        f"permissions, or point {settings.CACHE_DIR_ENV} at another folder."
    )


def _fallback_root(root: Path) -> Path:
    state = _state(root)
    with _writability_guard:
        if state.fallback is None or not state.fallback.is_dir():
            state.fallback = Path(tempfile.mkdtemp(prefix="dllab-private-cache-"))
        return state.fallback


@dataclass(frozen=True)
class ClearReport:
    """What "Clear cache" removed, and what it could not (with the reason)."""

    removed: int
    failed: int
    reason: str | None = None

    def describe(self) -> str:
        """One sentence for the page."""
        if not self.failed:
            return f"Cache cleared: {self.removed:,} entries removed."
        return (
            f"Removed {self.removed:,} entries; {self.failed:,} could not be removed ({self.reason}). "
            "Whoever runs the server can delete them by hand."
        )


@dataclass(frozen=True)
class PoolUsage:
    """Bytes used by one pool and its limit, for the sidebar."""

    pool: str
    used_bytes: int
    limit_bytes: int
    entries: int = field(default=0)


class DiskCache:
    """Whole-directory entries with atomic publication and least-recently-used eviction per pool."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        limit_bytes: int | None = None,
        data_limit_bytes: int | None = None,
        upload_limit_bytes: int | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else settings.cache_dir()
        self.limit_bytes = limit_bytes if limit_bytes is not None else settings.cache_limit_bytes()
        self.limits = {
            "runs": self.limit_bytes,
            "data": data_limit_bytes if data_limit_bytes is not None else settings.pool_limit_bytes("data"),
            "uploads": upload_limit_bytes if upload_limit_bytes is not None else settings.pool_limit_bytes("uploads"),
        }

    def _roots(self) -> list[Path]:
        """The cache folder, then the private fallback if writes ever had to go there."""
        fallback = _state(self.root).fallback
        return [self.root] + ([fallback] if fallback is not None and fallback.is_dir() else [])

    def entry_path(self, namespace: str, key: str) -> Path:
        """Where the entry would live in the cache folder; it may not exist."""
        return self.root / namespace / key

    def get(self, namespace: str, key: str) -> Path | None:
        """The entry's directory if it exists, marking it as recently used.

        An entry that is a symlink (not something this cache makes) is removed, so its key trains afresh.
        """
        found = self.candidates(namespace, key)
        return found[0] if found else None

    def candidates(self, namespace: str, key: str) -> list[Path]:
        """Every copy of the entry (the cache folder's, then the fallback's), each marked as recently used.

        A reader that finds the first one broken, and cannot remove it from a read-only folder,
        goes on to the next rather than retraining forever.
        """
        found = []
        for root in self._roots():
            path = root / namespace / key
            if path.is_symlink():
                _remove(path)
                continue
            if path.is_dir():
                now = time.time()
                try:
                    os.utime(path, (now, now))
                except OSError:
                    pass  # a read-only cache still serves what it holds; only its eviction order goes stale
                found.append(path)
        return found

    def discard_entry(self, path: Path) -> None:
        """Remove one copy of an entry found broken (a symlink is unlinked, never followed)."""
        _remove(path)

    def put(self, namespace: str, key: str, write: Callable[[Path], None]) -> Path:
        """Publish an entry: ``write`` fills a temporary directory that is then renamed into place.

        If another writer published the same key first, its entry is kept and ours is dropped;
        both were computed from the same key, so either is correct. When the cache folder takes no
        writes, the entry goes to the private fallback folder instead.
        """
        primary = self.root / namespace / key
        # A broken copy that a read-only folder would not let go of must not shadow the new one.
        if cache_problem(self.root) is None and not (primary.exists() and not primary.is_symlink()):
            try:
                return self._put_in(self.root, namespace, key, write)
            except OSError as error:
                if error.errno not in _UNWRITABLE_ERRNOS:
                    raise
                _note_unwritable(self.root, _reason(error))
        fallback = _fallback_root(self.root)
        try:
            return self._put_in(fallback, namespace, key, write)
        except OSError as error:
            if error.errno not in _UNWRITABLE_ERRNOS:
                raise
            raise CacheWriteError(
                f"This result could not be saved anywhere on the server: {_reason(error)}, and so is the temporary "
                "folder. Whoever runs the server needs to free disk space."
            ) from None

    def _put_in(self, root: Path, namespace: str, key: str, write: Callable[[Path], None]) -> Path:
        final = root / namespace / key
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_symlink():
            _remove(final)
        temporary = final.parent / f"{_TEMP_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            write(temporary)
            try:
                os.rename(temporary, final)
            except OSError:
                if not final.is_dir() or final.is_symlink():
                    raise
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
        self.evict(keep=final, pool=pool_of(namespace))
        return final

    def discard(self, namespace: str, key: str) -> None:
        """Remove one entry, for example one found corrupt (a symlink is unlinked, never followed)."""
        for root in self._roots():
            _remove(root / namespace / key)

    def namespace_entries(self, namespace: str) -> list[Path]:
        """The published entries of one namespace, in the cache folder and the fallback; symlinks are skipped."""
        found = []
        for root in self._roots():
            for entry in _children(root / namespace):
                if not entry.name.startswith(".") and not entry.is_symlink() and entry.is_dir():
                    found.append(entry)
        return found

    def entries(self, pool: str | None = None) -> list[Path]:
        """All published entries (of one pool, if given), oldest use first."""
        found = []
        for root in self._roots():
            for namespace in _children(root):
                if not namespace.is_dir() or namespace.is_symlink() or namespace.name.startswith("."):
                    continue
                if pool is not None and pool_of(namespace.name) != pool:
                    continue
                for entry in _children(namespace):
                    used = _modified(entry)
                    if used is not None and not entry.is_symlink() and entry.is_dir() and not entry.name.startswith(_TEMP_PREFIX):
                        found.append((used, entry))
        return [entry for _, entry in sorted(found)]

    def size_bytes(self) -> int:
        """Disk used by the cache, temporary directories included."""
        return sum(settings.directory_size_bytes(root) for root in self._roots() if root.is_dir())

    def usage(self) -> list[PoolUsage]:
        """Bytes used and allowed per pool."""
        usage = []
        for pool in POOLS:
            entries = self.entries(pool)
            used = sum(settings.directory_size_bytes(entry) for entry in entries)
            usage.append(PoolUsage(pool, used, self.limits[pool], len(entries)))
        return usage

    def evict(self, *, keep: Path | None = None, pool: str | None = None) -> list[Path]:
        """Drop stale temporaries, then least-recently-used entries of each pool (or one) until under its limit."""
        removed: list[Path] = []
        stale_after = time.time() - 3600
        for root in self._roots():
            for namespace in _children(root):
                for child in _children(namespace) if namespace.is_dir() and not namespace.is_symlink() else ():
                    modified = _modified(child)
                    if child.name.startswith(_TEMP_PREFIX) and modified is not None and modified < stale_after:
                        shutil.rmtree(child, ignore_errors=True)
        for name in (pool,) if pool is not None else POOLS:
            entries = self.entries(name)
            sizes = {entry: settings.directory_size_bytes(entry) for entry in entries}
            total = sum(sizes.values())
            for entry in entries:
                if total <= self.limits[name]:
                    break
                if keep is not None and entry == keep:
                    continue
                if _remove(entry) is None:
                    total -= sizes[entry]
                    removed.append(entry)
        return removed

    def clear(self) -> ClearReport:
        """Remove every published entry and loose file; writes in progress are left to finish.

        Deleting another session's temporary directory would make its training fail at the
        final rename, so only stale temporaries go (in :meth:`evict`). Returns what could not
        be removed, so the page never claims a clear that did not happen.
        """
        removed, failed, reason = 0, 0, None
        for entry in self.entries():
            problem = _remove(entry)
            if problem is None:
                removed += 1
            else:
                failed, reason = failed + 1, problem
        for root in self._roots():
            for namespace in _children(root):
                if namespace.name == KEPT_FOLDER:
                    continue
                loose = (namespace,) if namespace.is_file() or namespace.is_symlink() else _children(namespace)
                for child in loose:
                    if child.is_file() or child.is_symlink():
                        if child.name.startswith(".probe-"):
                            continue
                        problem = _remove(child)
                        if problem is not None:
                            failed, reason = failed + 1, problem
                if namespace.is_dir() and not namespace.is_symlink() and not any(_children(namespace)):
                    try:
                        namespace.rmdir()
                    except OSError:
                        pass
        self.evict()
        return ClearReport(removed, failed, reason)


def _remove(path: Path) -> str | None:
    """Delete a file, a symlink (never what it points to) or a folder; the reason it failed, or ``None``."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return "read-only file system" if error.errno == errno.EROFS else (error.strerror or "not allowed")
    return None


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
    keep_in_memory: bool = False,
) -> dict[str, np.ndarray]:
    """Arrays computed once per key and kept on disk (features, embeddings), recomputed if corrupt.

    ``keep_in_memory`` is for small views every session only reads (a run's feature maps): they are
    read once and handed out read-only, shared, while their file is unchanged. Without it each call
    gets arrays of its own, which it may change in place.
    """
    cache = cache or DiskCache()
    with key_lock(namespace, key):
        entry = cache.get(namespace, key)
        if entry is not None:
            path = entry / "arrays.npz"
            try:
                status = path.stat()
                stamp = (str(path), status.st_mtime_ns, status.st_size, status.st_ino)
                kept = _arrays_read.get(stamp) if keep_in_memory else None
                if kept is not None:
                    return dict(kept)
                with np.load(path, allow_pickle=False) as stored:
                    arrays = {name: stored[name] for name in stored.files}
                if keep_in_memory:
                    _keep_arrays(stamp, arrays)
                return dict(arrays)
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
                cache.discard(namespace, key)
        arrays = compute()
        cache.put(namespace, key, lambda tmp: np.savez(tmp / "arrays.npz", **arrays))
        return arrays


# Arrays read back from small entries (a run's feature maps, saliency, activation statistics), kept
# while their file is unchanged: a page shows them on every rerun, for every student looking at the
# same run, and unzipping them again was a measurable part of a page run under a class's load.
_MAX_ARRAYS_KEPT_BYTES = 64 * 1024 * 1024
_MAX_ARRAYS_ENTRY_BYTES = 4 * 1024 * 1024
_arrays_read: dict[tuple[str, int, int, int], dict[str, np.ndarray]] = {}
_arrays_read_lock = threading.Lock()


def _keep_arrays(stamp: tuple[str, int, int, int], arrays: dict[str, np.ndarray]) -> None:
    size = sum(array.nbytes for array in arrays.values())
    if size > _MAX_ARRAYS_ENTRY_BYTES:
        return  # datasets and features: the pages keep those in their own caches
    for array in arrays.values():
        array.setflags(write=False)  # shared by every session from now on
    with _arrays_read_lock:
        _arrays_read[stamp] = arrays
        while sum(a.nbytes for kept in _arrays_read.values() for a in kept.values()) > _MAX_ARRAYS_KEPT_BYTES:
            del _arrays_read[next(iter(_arrays_read))]  # the oldest first

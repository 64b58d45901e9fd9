"""Where DL Lab looks for data and keeps its cache, and how much memory this machine has."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "DLLAB_DATA_DIR"
CACHE_DIR_ENV = "DLLAB_CACHE_DIR"
CACHE_LIMIT_ENV = "DLLAB_CACHE_LIMIT_MB"
DEFAULT_CACHE_LIMIT_MB = 2048
# The cache's other pools (see core.cache): recomputable features and decoded data, and unpacked uploads.
POOL_LIMIT_ENVS = {"data": ("DLLAB_DATA_CACHE_LIMIT_MB", 2048), "uploads": ("DLLAB_UPLOAD_CACHE_LIMIT_MB", 1024)}


def data_dir() -> Path | None:
    """The local data directory from ``DLLAB_DATA_DIR``, or ``None`` when it is unset or missing.

    Relative paths are taken from the current working directory, so
    ``DLLAB_DATA_DIR=../shared/data streamlit run app.py`` works as written.
    """
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    return path if path.is_dir() else None


def no_data_dir_message() -> str:
    """How to give DL Lab a data directory, for pages whose folder option needs one."""
    return (
        f"There is no data directory: set {DATA_DIR_ENV} to a folder when starting the app "
        f"(e.g. `{DATA_DIR_ENV}=~/dllab-data streamlit run app.py`) and put one folder per dataset inside it."
    )


def resolve_data_subfolder(text_or_name: str | Path, data_directory: Path | None = None) -> Path:
    """The real path of a folder inside the data directory, from its name or a path typed below it.

    Symlinks and ``..`` are resolved first, so neither can lead outside: on a shared classroom
    server the pages may only read what the teacher put in ``DLLAB_DATA_DIR``. ``data_directory``
    defaults to :func:`data_dir`. Raises ``ValueError`` when there is no data directory, the text
    is empty, or the folder is not strictly inside the data directory. The message never says
    whether an outside path exists, nor where the data directory is on the server.
    """
    root = data_directory if data_directory is not None else data_dir()
    if root is None:
        raise ValueError(no_data_dir_message())
    root = Path(root).resolve()
    text = str(text_or_name).strip()
    if not text:
        raise ValueError("Choose a folder inside the data directory.")
    candidate = (root / Path(text).expanduser()).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise ValueError(
            f"{text[:60]!r} is not a folder inside the data directory; only its subfolders can be used."
        )
    if not candidate.is_dir():
        raise ValueError(f"{candidate.relative_to(root)} is not a folder in the data directory.")
    return candidate


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path``'s real location (symlinks and ``..`` resolved) is ``root`` or below it."""
    try:
        return Path(path).resolve().is_relative_to(Path(root).resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def data_subfolders(data_directory: Path | None = None) -> list[str]:
    """Names of the visible folders directly inside the data directory, for a folder menu.

    A symlink leading out is listed too, so whoever set up the server sees it refused by
    :func:`resolve_data_subfolder` with a reason, rather than wondering where it went.
    """
    root = data_directory if data_directory is not None else data_dir()
    if root is None:
        return []
    names = []
    try:
        with os.scandir(root) as listing:
            for entry in listing:
                try:
                    if not entry.name.startswith(".") and entry.is_dir():
                        names.append(entry.name)
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(names)


def cache_dir() -> Path:
    """The cache directory from ``DLLAB_CACHE_DIR``, default ``~/.cache/dllab``; created on demand.

    A folder that cannot be created is returned anyway: the cache then reports it read-only and
    keeps results in a private temporary folder (see ``core.cache``).
    """
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    if value:
        path = Path(value).expanduser().resolve()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "dllab"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return path


def _megabytes_env(name: str, default: int) -> int:
    try:
        megabytes = int(os.environ.get(name, default))
    except ValueError:
        megabytes = default
    return max(megabytes, 1) * 1_000_000


def cache_limit_bytes() -> int:
    """The size limit of the cache's trained runs; least-recently-used runs are evicted past it."""
    return _megabytes_env(CACHE_LIMIT_ENV, DEFAULT_CACHE_LIMIT_MB)


def pool_limit_bytes(pool: str) -> int:
    """The size limit of the cache's ``data`` (features, decoded datasets) or ``uploads`` pool."""
    name, default = POOL_LIMIT_ENVS[pool]
    return _megabytes_env(name, default)


def available_memory_bytes() -> int | None:
    """RAM the OS says a new allocation can get now (Linux ``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def resident_megabytes(pid: int | str = "self") -> float | None:
    """A process's resident memory (VmRSS) in MB, or ``None`` when ``/proc`` cannot tell (not Linux, or gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1000
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class DirectorySummary:
    """What a directory holds, for the sidebar."""

    path: Path
    entries: tuple[str, ...]
    total_bytes: int
    total_entries: int = 0


def directory_size_bytes(path: Path) -> int:
    """Total size of the regular files below ``path``."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


def summarize_directory(path: Path, *, max_entries: int = 12) -> DirectorySummary:
    """The first top-level names in ``path`` (folders marked with ``/``) and how many there are, without walking big trees.

    ``os.scandir`` knows from the directory listing itself which entries are folders, so a folder
    of 100,000 files costs one listing, not 100,000 ``stat`` calls.
    """
    names = []
    try:
        with os.scandir(path) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    folder = entry.is_dir()
                except OSError:
                    folder = False
                names.append(entry.name + ("/" if folder else ""))
    except OSError:
        pass
    names.sort()
    return DirectorySummary(path=path, entries=tuple(names[:max_entries]), total_bytes=0, total_entries=len(names))


def format_bytes(count: float) -> str:
    """A size in decimal units (MB = 10⁶ bytes), as used throughout the app."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")

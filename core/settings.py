"""Where DL Lab looks for data and keeps its cache, and how much memory this machine has."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "DLLAB_DATA_DIR"
CACHE_DIR_ENV = "DLLAB_CACHE_DIR"
CACHE_LIMIT_ENV = "DLLAB_CACHE_LIMIT_MB"
DEFAULT_CACHE_LIMIT_MB = 2048


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
    whether an outside path exists.
    """
    root = data_directory if data_directory is not None else data_dir()
    if root is None:
        raise ValueError(no_data_dir_message())
    root = Path(root).resolve()
    text = str(text_or_name).strip()
    if not text:
        raise ValueError(f"Choose a folder inside the data directory ({root}).")
    candidate = (root / Path(text).expanduser()).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise ValueError(
            f"{text!r} is not a folder inside the data directory ({root}); only its subfolders can be used."
        )
    if not candidate.is_dir():
        raise ValueError(f"{candidate.relative_to(root)} is not a folder in the data directory ({root}).")
    return candidate


def data_subfolders(data_directory: Path | None = None) -> list[str]:
    """Names of the visible folders directly inside the data directory, for a folder menu.

    A symlink leading out is listed too, so whoever set up the server sees it refused by
    :func:`resolve_data_subfolder` with a reason, rather than wondering where it went.
    """
    root = data_directory if data_directory is not None else data_dir()
    if root is None or not Path(root).is_dir():
        return []
    return [child.name for child in sorted(Path(root).iterdir()) if not child.name.startswith(".") and child.is_dir()]


def cache_dir() -> Path:
    """The cache directory from ``DLLAB_CACHE_DIR``, default ``~/.cache/dllab``; created on demand."""
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    if value:
        path = Path(value).expanduser().resolve()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "dllab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_limit_bytes() -> int:
    """The disk-cache size limit; least-recently-used entries are evicted past it."""
    try:
        megabytes = int(os.environ.get(CACHE_LIMIT_ENV, DEFAULT_CACHE_LIMIT_MB))
    except ValueError:
        megabytes = DEFAULT_CACHE_LIMIT_MB
    return max(megabytes, 1) * 1_000_000


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


@dataclass(frozen=True)
class DirectorySummary:
    """What a directory holds, for the sidebar."""

    path: Path
    entries: tuple[str, ...]
    total_bytes: int


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
    """The top-level names in ``path`` (folders marked with ``/``) without walking big trees."""
    names = []
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        names.append(child.name + ("/" if child.is_dir() else ""))
    return DirectorySummary(path=path, entries=tuple(names[:max_entries]), total_bytes=0)


def format_bytes(count: float) -> str:
    """A size in decimal units (MB = 10⁶ bytes), as used throughout the app."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")

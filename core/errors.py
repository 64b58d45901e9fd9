"""Turning an unexpected exception into text a student may see: no server paths, no walls of text."""

from __future__ import annotations

import errno
import re

# Absolute POSIX paths of two or more parts, at the start of the text or after a space, quote,
# bracket or '=': '/tmp/dllab-fit-x1/model.keras', but not 'cats/*.jpg' or a page's '/cnn_calculator'.
_PATH = re.compile(r"(?<![^\s'\"(\[=])/[^\s'\"/:,;)]+(?:/[^\s'\"/:,;)]*)+")
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def without_paths(text: str, *, limit: int = 200) -> str:
    """``text`` with every absolute path replaced by '…' and cut to ``limit`` characters."""
    cleaned = _PATH.sub("…", str(text))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def user_message(error: BaseException, *, limit: int = 200) -> str:
    """What went wrong, for a message box: the error's own words without server paths.

    ``OSError`` s keep their reason (``strerror``) and drop the file name they carry, which on a
    server is a temporary path that means nothing to the student and something to an attacker.
    """
    if isinstance(error, OSError):
        if error.errno in _DISK_FULL:
            return "the server's disk is full; whoever runs the server needs to free space"
        if error.strerror:
            return without_paths(error.strerror, limit=limit)
    return without_paths(str(error) or type(error).__name__, limit=limit)


def is_disk_full(error: BaseException) -> bool:
    """True for 'no space left on device' and 'disk quota exceeded'."""
    return isinstance(error, OSError) and error.errno in _DISK_FULL

"""Unpacking a downloaded release archive: only the files a loader reads, safely, all at once or not at all.

A release archive holds more than the loader needs (READMEs, scripts, notebooks) and, from a
hostile mirror or a tampered origin, could hold worse: links out of the folder, ``..`` paths,
device files. The checksum already makes the archives the app downloads the official ones; this
is the second fence, so that even an archive that got past it writes nothing but plain files
inside the folder the loader reads.
"""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from core.datasets.base import DatasetError

# Where a member goes, relative to the destination folder; ``None`` leaves it out.
Placement = Callable[[PurePosixPath], "PurePosixPath | None"]


def unpack_selected(archive: Path, folder: Path, place: Placement, *, expected: str) -> int:
    """Extract the regular files of ``archive`` that ``place`` keeps into ``folder``; returns how many.

    ``place`` gets each member's path inside the archive and returns where the file goes under
    ``folder``, or ``None`` to leave it out. Links, folders, devices, hidden names and any path with
    ``..`` are never written, and tarfile's ``"data"`` filter refuses whatever else would land
    outside. The files are unpacked into a hidden scratch folder beside ``folder`` and moved into
    place by one rename, so a reader sees the old folder or the whole new one, never a half; a
    failure leaves nothing behind. An archive that is not a tar archive, or has no file to keep
    (``expected`` says what should have been there), raises :class:`~core.datasets.DatasetError`.
    """
    new_parent = not folder.parent.exists()
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    placed = False
    try:
        staged = scratch / folder.name
        try:
            with tarfile.open(archive, "r:*") as bundle:
                chosen = []
                for member in bundle.getmembers():
                    target = _kept_target(member, place)
                    if target is not None:
                        chosen.append(member.replace(name=str(PurePosixPath(folder.name) / target), deep=False))
                if not chosen:
                    raise DatasetError(f"{archive.name} holds no {expected}; it is not the archive the app expects")
                bundle.extractall(scratch, members=chosen, filter="data")
        except tarfile.TarError as error:
            raise DatasetError(f"{archive.name} cannot be unpacked as a tar archive ({error})") from None
        if folder.exists() or folder.is_symlink():
            folder.rename(scratch / ".replaced")  # the loader did not accept it; the finally below removes it
        staged.rename(folder)
        placed = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if new_parent and not placed:
            with contextlib.suppress(OSError):  # an empty "fsdd/" would look like a start that failed halfway
                folder.parent.rmdir()
    return len(chosen)


def _kept_target(member: tarfile.TarInfo, place: Placement) -> PurePosixPath | None:
    if not member.isfile():
        return None
    source = PurePosixPath(member.name)
    if source.is_absolute() or any(part in ("", ".", "..") or part.startswith(".") for part in source.parts):
        return None  # ".." and hidden names (macOS "._x.jpg" companions) are never a dataset's file
    target = place(source)
    if target is None or target.is_absolute() or not target.parts or any(part in (".", "..") for part in target.parts):
        return None
    return target

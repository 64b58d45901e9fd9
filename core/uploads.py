"""Safe readers for files users upload: images, ``.npy`` arrays and zip archives.

Everything here treats the input as hostile. Each reader raises :class:`UploadError` (a
``ValueError``) with a message a student can act on; pages show it with ``st.error``.
"""

from __future__ import annotations

import io
import shutil
import stat
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

# A 100-megapixel photo decodes to 300 MB of RGB before any resizing; no page needs that.
MAX_IMAGE_PIXELS = 50_000_000
MAX_ZIP_FILES = 20_000
MAX_ZIP_BYTES = 1_000_000_000
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav"})
NPY_SUFFIXES = frozenset({".npy"})


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message names the file and the problem."""


Source = bytes | bytearray | Path | str | BinaryIO


def _as_stream(source: Source) -> BinaryIO:
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source)
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    return source


def open_image(source: Source, *, name: str = "image", max_pixels: int = MAX_IMAGE_PIXELS) -> "Image.Image":  # noqa: F821
    """Decode an image completely, refusing non-images, truncated files and decompression bombs."""
    from PIL import Image, UnidentifiedImageError

    stream = _as_stream(source)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that; make the warning an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(stream)
            except UnidentifiedImageError:
                raise UploadError(f"{name} is not an image Pillow can read (is it really a picture?)") from None
            width, height = image.size
            if width * height > max_pixels:
                raise UploadError(
                    f"{name} is {width:,}×{height:,} = {width * height / 1e6:,.0f} megapixels; the limit is "
                    f"{max_pixels / 1e6:,.0f} megapixels. Resize it first."
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(
            f"{name} has more than {Image.MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels, more than Pillow will decode "
            "safely (its decompression-bomb guard). Resize it first."
        ) from None
    except UploadError:
        raise
    except (OSError, SyntaxError, ValueError) as error:
        raise UploadError(f"{name} is corrupt or truncated and cannot be decoded: {error}") from None
    finally:
        if isinstance(source, (str, Path)):
            stream.close()
    return image


def load_npy(source: Source, *, name: str = "array.npy") -> np.ndarray:
    """Load a ``.npy`` file without ever unpickling; object arrays are refused with an explanation."""
    stream = _as_stream(source)
    try:
        if stream.read(6) != b"\x93NUMPY":
            raise UploadError(
                f"{name} is not a .npy file: it lacks the NumPy header (a CSV, an .npz archive or another "
                "format renamed?). Save each array with np.save."
            )
        stream.seek(0)
        array = np.load(stream, allow_pickle=False)
    except UploadError:
        raise
    except ValueError as error:
        if "pickle" in str(error).lower() or "object" in str(error).lower():
            raise UploadError(
                f"{name} holds Python objects (a pickled array). DL Lab never loads pickles from uploads, "
                "because unpickling can run arbitrary code. Save a numeric array, e.g. np.save(path, x.astype('float32'))."
            ) from None
        raise UploadError(f"{name} is not a valid .npy file: {error}") from None
    except (OSError, EOFError) as error:
        raise UploadError(f"{name} is not a valid .npy file (truncated or another format): {error}") from None
    finally:
        if isinstance(source, (str, Path)):
            stream.close()
    return array


@dataclass(frozen=True)
class ZipExtraction:
    """What came out of an archive: the files kept, and the names skipped because of their type."""

    root: Path
    files: tuple[Path, ...]
    skipped: tuple[str, ...] = field(default=())


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise UploadError(
            f"the zip contains the path {info.filename!r}, which points outside the archive's folder; "
            "DL Lab refuses such archives (a 'zip slip' could overwrite files)."
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadError(f"the zip contains a symbolic link {info.filename!r}; links are not allowed")
    return path


def safe_extract_zip(
    source: Source,
    destination: Path,
    *,
    suffixes: frozenset[str] | None = None,
    max_files: int = MAX_ZIP_FILES,
    max_total_bytes: int = MAX_ZIP_BYTES,
) -> ZipExtraction:
    """Extract a zip into the new directory ``destination``, refusing path tricks, bombs and oversize archives.

    Every member path is checked before anything is written; on any error ``destination`` is removed. The byte cap is enforced on the
    bytes actually inflated, not on the sizes the archive claims, so a lying header cannot
    smuggle a bomb through. Files whose suffix is not in ``suffixes`` are skipped and listed.
    """
    try:
        archive = zipfile.ZipFile(_as_stream(source))
    except (zipfile.BadZipFile, OSError, EOFError):
        raise UploadError("the upload is not a valid zip archive") from None
    kept: list[Path] = []
    skipped: list[str] = []
    with archive:
        members = []
        for info in archive.infolist():
            path = _member_path(info)
            if info.is_dir():
                continue
            hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
            if hidden or (suffixes is not None and path.suffix.lower() not in suffixes):
                skipped.append(info.filename)
                continue
            members.append((info, path))
        if len(members) > max_files:
            raise UploadError(f"the zip holds {len(members):,} files; the limit is {max_files:,}")
        declared = sum(info.file_size for info, _ in members)
        if declared > max_total_bytes:
            raise UploadError(
                f"the zip would unpack to {declared / 1e6:,.0f} MB; the limit is {max_total_bytes / 1e6:,.0f} MB"
            )
        destination.mkdir(parents=True, exist_ok=True)
        written = 0
        for info, path in members:
            target = destination.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as member, open(target, "wb") as output:
                    while chunk := member.read(1 << 20):
                        written += len(chunk)
                        if written > max_total_bytes:
                            raise UploadError(
                                f"the zip inflates past the {max_total_bytes / 1e6:,.0f} MB limit "
                                "(a zip bomb, or simply too much data)"
                            )
                        output.write(chunk)
            except UploadError:
                shutil.rmtree(destination, ignore_errors=True)
                raise
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError) as error:
                shutil.rmtree(destination, ignore_errors=True)
                raise UploadError(f"the zip member {info.filename!r} is corrupt: {error}") from None
            kept.append(target)
    return ZipExtraction(root=destination, files=tuple(kept), skipped=tuple(skipped))

"""Safe readers for files users upload: images, ``.npy`` arrays and zip archives.

Everything here treats the input as hostile. Each reader raises :class:`UploadError` (a
``ValueError``) with a message a student can act on; pages show it with ``st.error``.
"""

from __future__ import annotations

import errno
import io
import math
import shutil
import stat
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

from core import budget
from core.errors import user_message

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


def open_image(
    source: Source, *, name: str = "image", max_pixels: int = MAX_IMAGE_PIXELS, draft_size: int | None = None
) -> "Image.Image":  # noqa: F821
    """Decode an image completely, refusing non-images, truncated files and decompression bombs.

    With ``draft_size``, a JPEG is decoded at the smallest of 1/2, 1/4 or 1/8 scale that still
    covers ``draft_size``² (Pillow's draft mode), which is what a resize to that size needs.

    The result is upright (a JPEG's EXIF orientation applied) and 8-bit: 16-bit and float images
    (medical PNGs, scientific TIFFs) are scaled by their own range, since Pillow's plain conversion
    clips them and a 16-bit photo would come out nearly white.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

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
            if draft_size is not None and image.format == "JPEG":
                image.draft(image.mode, (draft_size, draft_size))
            image.load()
            image = _upright_8bit(ImageOps.exif_transpose(image) or image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(
            f"{name} has more than {Image.MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels, more than Pillow will decode "
            "safely (its decompression-bomb guard). Resize it first."
        ) from None
    except UploadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise UploadError(f"{name} is corrupt or truncated and cannot be decoded ({_short(error)})") from None
    finally:
        if isinstance(source, (str, Path)):
            stream.close()
    return image


def _upright_8bit(image: "Image.Image") -> "Image.Image":  # noqa: F821
    """Scale a 16-bit or 32-bit (integer or float) single-channel image by its real range into 8-bit ``L``."""
    from PIL import Image

    if image.mode not in ("I", "F") and not image.mode.startswith("I;"):
        return image
    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Image.new("L", image.size)
    low, high = float(finite.min()), float(finite.max())
    scaled = np.zeros(values.shape) if high <= low else (np.nan_to_num(values, nan=low) - low) / (high - low)
    return Image.fromarray(np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8), mode="L")


def image_header(source: Source, *, name: str = "image") -> tuple[int, int, str, str]:
    """An image's width, height, mode and format from its header alone, without decoding a pixel.

    Lets a folder's decoding cost be budgeted (pixels to decode, per file) before any of it is done.
    """
    from PIL import Image, UnidentifiedImageError

    stream = _as_stream(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                return image.size[0], image.size[1], image.mode, image.format or ""
    except UnidentifiedImageError:
        raise UploadError(f"{name} is not an image Pillow can read (is it really a picture?)") from None
    except Image.DecompressionBombError:
        raise UploadError(
            f"{name} has more than {Image.MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels, more than Pillow will decode "
            "safely (its decompression-bomb guard). Resize it first."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise UploadError(f"{name} is corrupt or truncated and cannot be decoded ({_short(error)})") from None
    finally:
        if isinstance(source, (str, Path)):
            stream.close()


def _short(error: BaseException, limit: int = 120) -> str:
    """An exception's text without any file path in it, short enough for a message box."""
    return user_message(error, limit=limit)


def npy_header(source: Source, *, name: str = "array.npy") -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` file claims, read with NumPy's own header reader and checked against the file.

    A 128-byte file can claim a (10**12,) float64 array; loading it would try to allocate 7 TiB.
    Here the claim is compared with the bytes the file really holds before anything is allocated.
    """
    stream = _as_stream(source)
    try:
        if stream.read(6) != b"\x93NUMPY":
            raise UploadError(
                f"{name} is not a .npy file: it lacks the NumPy header (a CSV, an .npz archive or another "
                "format renamed?). Save each array with np.save."
            )
        stream.seek(0)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise UploadError(
                    f"{name} is not a valid .npy file DL Lab reads: its header names format version "
                    f"{version[0]}.{version[1]} (np.save writes 1.0 or 2.0 for numeric arrays). Save it again with np.save."
                )
        except UploadError:
            raise
        except (ValueError, SyntaxError, EOFError, OSError, TypeError) as error:
            raise UploadError(f"{name} has a damaged .npy header ({_short(error)}); save it again with np.save.") from None
        if dtype.hasobject:
            raise UploadError(_PICKLE_MESSAGE.format(name=name))
        data_offset = stream.tell()
        stream.seek(0, io.SEEK_END)
        holds = stream.tell() - data_offset
    finally:
        if isinstance(source, (str, Path)):
            stream.close()
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != holds:
        shown = "×".join(f"{n:,}" for n in shape) or "a scalar"
        raise UploadError(
            f"{name} claims a {shown} array of {dtype} ({budget.format_megabytes(claimed)}) but holds "
            f"{budget.format_megabytes(holds)} of data: it is truncated or its header lies. Save it again with np.save."
        )
    return tuple(int(n) for n in shape), dtype


_PICKLE_MESSAGE = (
    "{name} holds Python objects (a pickled array). DL Lab never loads pickles from uploads, "
    "because unpickling can run arbitrary code. Save a numeric array, e.g. np.save(path, x.astype('float32'))."
)


def load_npy(source: Source, *, name: str = "array.npy", copies: float = 1.0) -> np.ndarray:
    """Load a ``.npy`` file without ever unpickling, after checking its header against the file and the budget.

    ``copies`` is how many float32-sized copies the caller will make of it, so the budget check
    covers what the array will cost downstream, not only the load.
    """
    shape, dtype = npy_header(source, name=name)
    values = math.prod(shape)
    budget.check_memory(
        f"{name} ({'×'.join(f'{n:,}' for n in shape)} values)",
        values * (dtype.itemsize + 4 * copies),
        "Upload fewer or smaller examples.",
    )
    stream = _as_stream(source)
    try:
        stream.seek(0)
        array = np.load(stream, allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "object" in str(error).lower():
            raise UploadError(_PICKLE_MESSAGE.format(name=name)) from None
        raise UploadError(f"{name} is not a valid .npy file ({_short(error)})") from None
    except (OSError, EOFError) as error:
        raise UploadError(f"{name} is not a valid .npy file (truncated or another format: {_short(error)})") from None
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


# Linux refuses longer names (Errno 36); deeper trees only serve to exhaust the filesystem.
MAX_NAME_BYTES = 255
MAX_MEMBER_DEPTH = 32
# ``zipfile`` builds an object per central-directory entry when it opens an archive, so a 200 MB
# upload of empty entries would cost gigabytes before any cap is checked: count them first.
MAX_ZIP_ENTRIES = 50_000


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    shown = _shown_name(info.filename)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise UploadError(
            f"the zip contains the path {shown!r}, which points outside the archive's folder; "
            "DL Lab refuses such archives (a 'zip slip' could overwrite files)."
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadError(f"the zip contains a symbolic link {shown!r}; links are not allowed")
    if info.flag_bits & 0x1:
        raise UploadError(
            f"the zip is password-protected (its member {shown!r} is encrypted), and DL Lab cannot open it. "
            "Zip the folder again without a password."
        )
    if len(path.parts) > MAX_MEMBER_DEPTH:
        raise UploadError(
            f"the zip nests folders {len(path.parts) - 1:,} deep (at {shown!r}); the limit is {MAX_MEMBER_DEPTH}. "
            "Zip a folder with one subfolder per class."
        )
    long_part = next((part for part in path.parts if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES), None)
    if long_part is not None:
        raise UploadError(
            f"the zip holds a file or folder name of {len(long_part):,} characters ({_shown_name(long_part)!r}); "
            f"names may be at most {MAX_NAME_BYTES} bytes. Rename it and zip again."
        )
    return path


def _shown_name(name: str, limit: int = 60) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _count_entries(stream: BinaryIO) -> int | None:
    """The entry count an archive's end record declares, read without parsing its whole directory."""
    try:
        end_record = zipfile._EndRecData(stream)  # type: ignore[attr-defined]  # the stdlib's own reader
    except (OSError, EOFError, ValueError, struct.error):
        return None
    finally:
        stream.seek(0)
    return None if not end_record else int(end_record[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


def _check_tree(members: list[tuple[zipfile.ZipInfo, PurePosixPath]]) -> None:
    """Refuse a member that is a file in one place and a folder in another (``x.png`` and ``x.png/y.png``)."""
    files = {path for _, path in members}
    for info, path in members:
        for parent in path.parents:
            if parent in files:
                raise UploadError(
                    f"the zip holds {_shown_name(str(parent))!r} both as a file and as a folder "
                    f"(of {_shown_name(info.filename)!r}); a folder cannot be unpacked there. Zip the folder again."
                )


def open_zip(source: Source) -> zipfile.ZipFile:
    """Open an uploaded archive after counting its entries, so a directory of millions is refused cheaply."""
    stream = _as_stream(source)
    declared_entries = _count_entries(stream)
    if declared_entries is not None and declared_entries > MAX_ZIP_ENTRIES:
        raise UploadError(f"the zip declares {declared_entries:,} entries; the limit is {MAX_ZIP_ENTRIES:,}")
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error):
        raise UploadError("the upload is not a valid zip archive (damaged, or another format renamed .zip)") from None


def checked_members(
    archive: zipfile.ZipFile, *, suffixes: frozenset[str] | None = None, max_files: int = MAX_ZIP_FILES
) -> tuple[list[tuple[zipfile.ZipInfo, PurePosixPath]], list[str]]:
    """The members to unpack (each path checked) and the names skipped for their type or for being hidden."""
    members = []
    skipped: list[str] = []
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
    _check_tree(members)
    return members, skipped


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
    Messages name members as the archive does, never where the server unpacks them.
    """
    with open_zip(source) as archive:
        members, skipped = checked_members(archive, suffixes=suffixes, max_files=max_files)
        declared = sum(info.file_size for info, _ in members)
        if declared > max_total_bytes:
            raise UploadError(
                f"the zip would unpack to {declared / 1e6:,.0f} MB; the limit is {max_total_bytes / 1e6:,.0f} MB"
            )
        kept: list[Path] = []
        written = 0
        try:
            destination.mkdir(parents=True, exist_ok=True)
            for info, path in members:
                target = destination.joinpath(*path.parts)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
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
                    raise
                except RuntimeError as error:
                    if "encrypted" in str(error) or "password" in str(error):
                        raise UploadError(
                            "the zip is password-protected, and DL Lab cannot open it. Zip the folder again without a password."
                        ) from None
                    raise UploadError(f"the zip member {_shown_name(info.filename)!r} is corrupt ({_short(error)})") from None
                except OSError as error:
                    if error.errno == errno.ENOSPC:
                        raise UploadError(
                            "the server's disk is full, so the zip cannot be unpacked; ask whoever runs the server to free space"
                        ) from None
                    raise UploadError(
                        f"the zip member {_shown_name(info.filename)!r} cannot be unpacked ({_short(error)})"
                    ) from None
                except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as error:
                    raise UploadError(f"the zip member {_shown_name(info.filename)!r} is corrupt ({_short(error)})") from None
                kept.append(target)
        except BaseException:
            shutil.rmtree(destination, ignore_errors=True)
            raise
    return ZipExtraction(root=destination, files=tuple(kept), skipped=tuple(skipped))

"""VGG16's ImageNet weights: where they are found (the user's file, the Keras cache, a download), uploads, checks.

:func:`locate_vgg16_weights` is the one place that says where the files live and when one is usable;
the transfer page, the ImageNet demo and :mod:`core.prefetch` all ask it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.datasets.base import Location
from core.datasets.keras_source import keras_models_dir, network_available, unreachable_mirror_note
from core.errors import user_message

NOTOP_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
FULL_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
CLASS_INDEX_FILE = "imagenet_class_index.json"
WEIGHTS_ENV = "DLLAB_VGG16_WEIGHTS"
PREFETCH_COMMAND = "python -m core.prefetch"
WEIGHTS_ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
_NOTOP_URL = WEIGHTS_ORIGIN_FOLDER + NOTOP_WEIGHTS_FILE
_NOTOP_MD5 = "6d6bbae143d832006294945121d1f1fc"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The published files are 58.9 MB and 553 MB; anything much smaller is an interrupted copy.
NOTOP_MIN_BYTES = 55_000_000
FULL_MIN_BYTES = 500_000_000
USER_FILE = "your file"  # where a file passed as ``user_path`` (an upload, say) was found


@dataclass(frozen=True)
class WeightsStatus:
    """Whether VGG16's ImageNet weights were found, where, and what to do when they were not."""

    available: bool
    path: Path | None
    origin: str  # "your file", "Keras cache", "download" or "missing"
    digest: str | None
    message: str


def keras_cache_weights_path(*, include_top: bool = False) -> Path:
    """Where Keras keeps (and looks for) VGG16's ImageNet weights: the no-top file, or the full one with ``include_top``."""
    return _cached_file(keras_models_dir(), include_top)


def _cached_file(keras_models: Path, include_top: bool) -> Path:
    # keras.applications.VGG16 downloads into models/ under these exact names and looks nowhere else.
    return keras_models / (FULL_WEIGHTS_FILE if include_top else NOTOP_WEIGHTS_FILE)


def locate_vgg16_weights(keras_models: Path, *, include_top: bool = False, user_path: str | Path | None = None) -> Location:
    """Where usable VGG16 ImageNet weights are: for the no-top file the user's first (``user_path``, else ``DLLAB_VGG16_WEIGHTS``), then ``keras_models``.

    A file counts only when it starts with the HDF5 signature and is not much smaller than the
    published one; otherwise ``problem`` says what is wrong with each file that was in the way.
    """
    min_bytes = FULL_MIN_BYTES if include_top else NOTOP_MIN_BYTES
    candidates: list[tuple[Path, str]] = []
    if not include_top:
        # The transfer page's own file is a no-top base; the ImageNet demo only ever uses Keras' full file.
        chosen = os.environ.get(WEIGHTS_ENV, "").strip()
        if user_path:
            candidates.append((Path(user_path).expanduser(), USER_FILE))
        elif chosen:
            candidates.append((Path(chosen).expanduser(), WEIGHTS_ENV))
    candidates.append((_cached_file(keras_models, include_top), "Keras cache"))
    problems = []
    for path, where in candidates:
        location = _weights_file(path, min_bytes, where)
        if location.found:
            return location
        if location.problem:
            problems.append(location.problem)
    return Location(None, "", "; ".join(problems))


def _weights_file(path: Path, min_bytes: int, where: str) -> Location:
    """``path`` when it holds usable weights, else why not (nothing to say about an absent cache file)."""
    if not path.is_file():
        # A file the user named is worth a word when absent; an empty Keras cache is the normal case.
        return Location(None, where, "" if where == "Keras cache" else f"the weights file {path} does not exist")
    try:
        with open(path, "rb") as handle:
            signature = handle.read(len(HDF5_SIGNATURE))
        size = path.stat().st_size
    except OSError as error:
        return Location(None, where, f"{path} cannot be read: {user_message(error)}")
    if signature != HDF5_SIGNATURE:
        return Location(None, where, f"{path} is not an HDF5 weights file; delete it and fetch again")
    if size < min_bytes:
        return Location(
            None,
            where,
            f"{path} is only {settings.format_bytes(size)} (the real file is over {settings.format_bytes(min_bytes)}): "
            "an interrupted copy; delete it and fetch again",
        )
    return Location(path, where)


def file_digest(path: Path | str) -> str:
    """SHA-256 of a file's content (first 20 hex digits), memoised by path, size and modification time."""
    path = Path(path)
    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()[:20]
    return _digests[key]


_digests: dict[tuple[str, int, int], str] = {}


def resolve_vgg16_weights(user_path: Path | str | None = None, *, allow_download: bool = True) -> WeightsStatus:
    """Find VGG16's no-top weights: the user's file (argument or ``DLLAB_VGG16_WEIGHTS``), the Keras cache, a download.

    Never raises for missing weights; the returned status says how to get them.
    """
    location = locate_vgg16_weights(keras_models_dir(), user_path=user_path)
    if location.path is not None:
        origin = "Keras cache" if location.where == "Keras cache" else USER_FILE
        return WeightsStatus(
            True, location.path, origin, file_digest(location.path),
            f"VGG16 ImageNet weights from {'the Keras cache' if origin == 'Keras cache' else 'your file'}.",
        )
    problems = [location.problem] if location.problem else []
    if allow_download and network_available():
        from core import download

        try:
            downloaded = download.fetch(download.VGG16_NOTOP_WEIGHTS, keras_models_dir() / NOTOP_WEIGHTS_FILE)
            return WeightsStatus(
                True, downloaded, "download", file_digest(downloaded),
                f"VGG16 ImageNet weights, downloaded from {download.source_label(download.VGG16_NOTOP_WEIGHTS)} into the Keras cache.",
            )
        except download.DownloadError as error:  # names the file, the source and the reason; shown as advice below
            problems.append(f"the download from {download.source_label(download.VGG16_NOTOP_WEIGHTS)} failed: {error.reason}")
    elif allow_download:
        note = unreachable_mirror_note()
        if note:
            problems.append(note.rstrip("."))
    advice = (
        f"VGG16's ImageNet weights are not on this machine and cannot be downloaded. To use them, run "
        f"`{PREFETCH_COMMAND}` once while online, or copy `{NOTOP_WEIGHTS_FILE}` (58 MB) into "
        f"`{keras_models_dir()}`, or upload it below, or set `{WEIGHTS_ENV}` to its path."
    )
    if problems:
        advice += " (" + "; ".join(problems) + ".)"
    return WeightsStatus(False, None, "missing", None, advice)


def store_uploaded_weights(data: bytes, *, name: str = "weights.h5") -> Path:
    """Check an uploaded VGG16 no-top weights file really fits VGG16, and keep it in the cache folder.

    Raises ``ValueError`` naming the upload (never the server's temporary file) when it is not
    HDF5 or its weights do not fit.
    """
    if not bytes(data[: len(HDF5_SIGNATURE)]) == HDF5_SIGNATURE:
        raise ValueError(f"{name} is not an HDF5 file; upload Keras' {NOTOP_WEIGHTS_FILE}")
    digest = hashlib.sha256(data).hexdigest()[:20]
    folder = settings.cache_dir() / "weights"
    target = folder / f"vgg16-notop-{digest}.h5"
    if not target.is_file():
        # Sessions share one process, so the temporary name must be unique per upload, not per pid.
        partial = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ValueError(f"{name} could not be kept on the server: {user_message(error)}") from None
        try:
            check_vgg16_weights(partial, name=name)
        except ValueError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
    return target


def check_vgg16_weights(path: Path | str, *, name: str | None = None) -> None:
    """Load the file into a VGG16 no-top base (at 32×32, which is cheap); ``ValueError`` if it does not fit."""
    from core.models.transfer import load_base_weights, vgg16_base

    shown = name or Path(path).name
    try:
        load_base_weights(vgg16_base((32, 32, 3)), path)
    except Exception:  # noqa: BLE001 - h5py and Keras raise many kinds for a file that is not these weights
        raise ValueError(
            f"{shown} is not VGG16's no-top ImageNet weights: its contents do not fit VGG16's convolutional base. "
            f"Upload Keras' {NOTOP_WEIGHTS_FILE} (58 MB), as `{PREFETCH_COMMAND}` downloads it."
        ) from None

"""Where the audio page's sounds come from, and what loading them will cost before any of it is done.

Five sources: the synthetic set, FSDD, a WAV folder in the data directory, an uploaded zip of WAVs
(unpacked once per content hash into the cache's uploads pool) and DATA.ML.200 Exercise 5's four
``.npy`` arrays. Costs are estimated from counts and headers only, so the page can refuse or wait
for a click before the heavy part.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from core.audio.comparison import EXERCISE
from core.budget import WorkEstimate, check_memory
from core.cache import DiskCache
from core.datasets import Dataset
from core.datasets.audio import (
    NPY_FILES,
    audio_npy_dataset,
    folder_work,
    fsdd_recordings,
    zip_work,
)
from core.datasets.synthetic_sounds import SYNTHETIC_CLASSES, synthetic_work
from core.uploads import AUDIO_SUFFIXES, load_npy, npy_header, safe_extract_zip

SOURCES = {
    "synthetic": "Synthetic sounds (offline)",
    "fsdd": "Free Spoken Digit Dataset",
    "folder": "WAV folder in the data directory",
    "zip": "Upload a zip of WAVs",
    "npy": f"Upload the four .npy files of {EXERCISE.name}",
}
MAX_ZIP_FILES = 10_000
MAX_ZIP_BYTES = 300_000_000
UPLOADS_NAMESPACE = "audio-uploads"
SYNTHETIC_CLIPS = len(SYNTHETIC_CLASSES) * (60 + 20)  # the built-in set: 60 training and 20 test clips per class


class UploadedFile(Protocol):
    """What the page's uploaders hand over: a name and the bytes."""

    name: str

    def getvalue(self) -> bytes:
        """The file's content."""


def upload_digest(payload: bytes) -> str:
    """A short content hash of an upload: the name its unpacked copy is cached under."""
    return hashlib.sha256(payload).hexdigest()[:20]


def npy_upload_dataset(files: Sequence[UploadedFile], axis_order: str) -> Dataset:
    """The four uploaded arrays, read without pickles after their headers are checked against the budget."""
    by_name = {file.name: file for file in files}
    missing = [name for name in NPY_FILES if name not in by_name]
    if missing:
        raise ValueError(f"still missing {', '.join(missing)}; upload all four of {', '.join(NPY_FILES)}")
    headers = {name: npy_header(by_name[name].getvalue(), name=name) for name in NPY_FILES}
    # Features become float32 once, are standardised in place and split (one more copy).
    needed = sum(math.prod(shape) * (dtype.itemsize + 8) for shape, dtype in headers.values())
    check_memory("The four .npy files", needed, "Upload fewer examples, or fewer bands or frames per example.")
    arrays = {name.removesuffix(".npy"): load_npy(by_name[name].getvalue(), name=name, copies=0) for name in NPY_FILES}
    return audio_npy_dataset(arrays, axis_order=axis_order)


def data_work(
    source: str, sample_rate: int, clip_seconds: float, data_dir: Path | None, folder: Path | None, payload: bytes | None
) -> tuple[int, WorkEstimate]:
    """Clips and the cost of loading them for a data choice, from counts and headers only."""
    if source == "fsdd":
        recordings = fsdd_recordings(data_dir)
        if recordings is not None:
            return folder_work(recordings, sample_rate, clip_seconds)
    if source in ("synthetic", "fsdd"):
        return SYNTHETIC_CLIPS, synthetic_work(sample_rate=sample_rate, clip_seconds=clip_seconds)
    if source == "folder" and folder is not None:
        return folder_work(folder, sample_rate, clip_seconds, fence=data_dir)
    if source == "zip" and payload is not None:
        return zip_work(payload, sample_rate, clip_seconds, max_files=MAX_ZIP_FILES)
    return 0, WorkEstimate(0.0, 0)


def unpacked_zip(digest: str, payload: bytes, *, cache: DiskCache | None = None) -> Path:
    """The folder an uploaded zip of WAVs is unpacked into, once per content hash, in the cache's uploads pool."""
    # Published by atomic rename, so a failed or interrupted unpack is never mistaken for a dataset;
    # the uploads pool has its own size limit, so unpacked zips never evict anyone's trained runs.
    uploads = cache or DiskCache()
    destination = uploads.get(UPLOADS_NAMESPACE, digest)
    if destination is None:
        destination = uploads.put(
            UPLOADS_NAMESPACE,
            digest,
            lambda folder: safe_extract_zip(payload, folder, suffixes=AUDIO_SUFFIXES, max_files=MAX_ZIP_FILES, max_total_bytes=MAX_ZIP_BYTES),
        )
    return destination

"""Data files that ship inside scikit-learn, read without importing it.

The offline defaults are scikit-learn's 8×8 digits and its two sample photos. Importing
scikit-learn to read them pulls in SciPy's statistics too: 1.4 s of a freshly started class
server's first page, measured with 50 simulated students. The files are read here exactly as
``sklearn.datasets.load_digits`` and ``load_sample_images`` read them (the tests compare them).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np


def sklearn_data_file(*parts: str) -> Path:
    """The path of a file inside the installed scikit-learn package (nothing is imported)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("scikit-learn is not installed (pip install -r requirements.txt); its bundled data are the offline defaults")
    return Path(spec.origin).parent.joinpath(*parts)


@functools.cache
def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as read-only ``uint8`` images ``(N, 8, 8, 1)`` scaled to 0–255, and their labels."""
    with gzip.open(sklearn_data_file("datasets", "data", "digits.csv.gz"), "rt") as csv:
        table = np.loadtxt(csv, delimiter=",")
    # The pixels are counts 0–16 of a 4×4 block; scale them to the 0–255 range real images use.
    images = np.round(table[:, :-1].reshape(-1, 8, 8) * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    labels = table[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.cache
def sample_photos() -> tuple[np.ndarray, ...]:
    """The two 427×640 RGB photos (a Chinese temple, a flower), in scikit-learn's order, read-only."""
    from PIL import Image

    photos = []
    for path in sorted(sklearn_data_file("datasets", "images").glob("*.jpg")):
        with Image.open(path) as image:
            photo = np.asarray(image)
        photo.setflags(write=False)
        photos.append(photo)
    return tuple(photos)

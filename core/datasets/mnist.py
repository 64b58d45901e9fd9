"""MNIST: ``mnist.npz`` or the four IDX files in the data directory, the Keras cache, a download, or digits."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.datasets.base import (
    Dataset,
    DatasetError,
    Location,
    nonempty_file,
    register_loader,
    subsample,
)
from core.datasets.digits import DIGITS_SOURCE, cached_scaled_digits, digits_arrays
from core import download
from core.datasets.keras_source import keras_datasets_dir, network_available, unreachable_mirror_note
from core.download import DownloadProgress, fetch

NPZ_FILE = "mnist.npz"  # Keras' own name, in its cache and in the data directory alike
# The layouts of the original distribution as people unpack it: loose, in mnist/, or torchvision's MNIST/raw/.
IDX_FOLDERS = ("", "mnist", "MNIST/raw")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped), the format of the original MNIST distribution."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path.name} is not an IDX file (bad magic number)")
    ndim = data[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header_end != expected:
        raise DatasetError(
            f"{path.name} is truncated or padded: header promises {expected:,} bytes of data, "
            f"file has {len(data) - header_end:,}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header_end).reshape(shape)


def idx_file(folder: Path, stem: str) -> Path | None:
    """The non-empty IDX file for ``stem`` in ``folder``, under any of its four spellings, or ``None``."""
    dotted = stem.replace("-idx", ".idx")  # the spelling some mirrors use: train-images.idx3-ubyte
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if nonempty_file(folder / name):
            return folder / name
    return None


def locate_mnist(data_dir: Path | None, keras_datasets: Path) -> Location:
    """Where MNIST is: ``mnist.npz`` or all four IDX files in the data directory, else ``mnist.npz`` in ``keras_datasets``."""
    if data_dir is not None:
        if nonempty_file(data_dir / NPZ_FILE):
            return Location(data_dir / NPZ_FILE, "data directory")
        for folder in (data_dir / relative for relative in IDX_FOLDERS):
            if all(idx_file(folder, stem) is not None for stem in IDX_FILES.values()):
                return Location(folder, "data directory")
    cached = keras_datasets / NPZ_FILE
    return Location(cached, "Keras cache") if nonempty_file(cached) else Location(None)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as missing:
        raise DatasetError(f"{path} lacks the array {missing}; expected Keras' mnist.npz keys") from None
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read as mnist.npz: {error}") from None
    return arrays


def _validate(arrays: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DatasetError(f"{where}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if len(x) != len(y):
            raise DatasetError(f"{where}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DatasetError(f"{where}: y_{split} has labels outside 0–9")
    return arrays


def _read_found(path: Path, where: str) -> tuple[dict[str, np.ndarray], str]:
    """The arrays at a place :func:`locate_mnist` returned, with the source line the page shows."""
    if where == "Keras cache":
        return _validate(_load_npz(path), str(path)), f"MNIST from the Keras cache ({path})"
    if path.is_file():
        return _validate(_load_npz(path), str(path)), f"MNIST from {path}"
    arrays = {key: read_idx(idx_file(path, stem) or path / stem) for key, stem in IDX_FILES.items()}
    return _validate(arrays, str(path)), f"MNIST IDX files from {path}"


def download_mnist(on_progress: Callable[[DownloadProgress], None] | None = None) -> tuple[dict[str, np.ndarray], str]:
    """Download ``mnist.npz`` (checked against Keras' checksum) to where Keras keeps it; its arrays and source."""
    path = fetch(download.MNIST, keras_datasets_dir() / NPZ_FILE, on_progress=on_progress)
    return _validate(_load_npz(path), str(path)), f"MNIST downloaded from {download.source_label(download.MNIST)}"


@register_loader("mnist")
def load_mnist(
    *, data_dir: Path | None = None, train_size: int | None = None, seed: int = 0, allow_download: bool = True
) -> Dataset:
    """MNIST as ``(N, 28, 28, 1)`` uint8 images; falls back to 8×8 digits with ``is_fallback=True``."""
    location = locate_mnist(data_dir, keras_datasets_dir())
    found = _read_found(location.path, location.where) if location.path is not None else None
    problems: list[str] = []
    if found is None and allow_download and network_available():
        try:
            found = download_mnist()
        except download.DownloadError as error:  # a bad mirror or a dropped network: the digits, and why
            problems.append(str(error))
    elif found is None and allow_download:
        problems += [note for note in (unreachable_mirror_note(),) if note]
    if found is None:
        x_train, y_train, x_test, y_test = digits_arrays(seed=seed, digits=cached_scaled_digits())
        x_train, y_train = subsample(x_train, y_train, train_size, seed=seed)
        return Dataset(
            name="mnist",
            x_train=x_train,
            y_train=y_train,
            x_test=x_test,
            y_test=y_test,
            class_names=tuple(str(digit) for digit in range(10)),
            source=" ".join([DIGITS_SOURCE + " Put mnist.npz in the data directory for real MNIST.", *problems]),
            is_fallback=True,
            recipe={"loader": "mnist", "variant": "digits_fallback", "train_size": train_size, "seed": seed},
        )
    arrays, source = found
    x_train, y_train = subsample(arrays["x_train"], arrays["y_train"].astype(np.int64), train_size, seed=seed)
    return Dataset(
        name="mnist",
        x_train=x_train[..., np.newaxis].astype(np.uint8),
        y_train=y_train,
        x_test=arrays["x_test"][..., np.newaxis].astype(np.uint8),
        y_test=arrays["y_test"].astype(np.int64),
        class_names=tuple(str(digit) for digit in range(10)),
        source=source,
        recipe={"loader": "mnist", "variant": "mnist", "train_size": train_size, "seed": seed},
    )

"""One place per dataset: for every layout a loader accepts, prefetch reports the very path the loader reads.

Each case writes a tiny copy of the dataset in its real format (npz, IDX, pickled CIFAR batches,
ELEC 576 PNG folders, FSDD WAVs, HDF5-signed weights) at one of the places the loaders look,
then asks both sides: :mod:`core.prefetch`'s finder (with the Keras home and data directory
passed in) and the loader itself (which reads ``KERAS_HOME``), whose ``source`` names the path it
read. They used to be written twice and drifted (prefetch missed CIFAR batches lying directly in
the data directory); these tests fail if they ever disagree again.
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import prefetch, transfer
from core.datasets import Location, load_dataset, wav
from core.datasets.audio import fsdd_recordings, locate_fsdd
from core.datasets.cifar import locate_cifar10, locate_gray_cifar
from core.datasets.mnist import IDX_FILES, locate_mnist


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """The Keras home the loaders read (``KERAS_HOME``, set per test) and an empty data directory."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Path(os.environ["KERAS_HOME"]), data_dir


def _names(source: str, path: Path) -> bool:
    """True when ``source`` names exactly ``path`` (not a file or folder inside it)."""
    return re.search(re.escape(str(path)) + r"(?![\w/.-])", source) is not None


# ---------------------------------------------------------------------------------------------
# MNIST


def _mnist_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": np.arange(20, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": np.arange(10, dtype=np.uint8) % 10,
    }


def _npz(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **_mnist_arrays())
    return path


def _idx(folder: Path, *, gz: bool, dotted: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in IDX_FILES.items():
        array = _mnist_arrays()[key]
        name = (stem.replace("-idx", ".idx") if dotted else stem) + (".gz" if gz else "")
        data = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
        (gzip.open if gz else open)(folder / name, "wb").write(data + array.tobytes())
    return folder


MNIST_LAYOUTS: dict[str, Callable[[Path, Path], Path]] = {
    "npz in the data directory": lambda keras, data: _npz(data / "mnist.npz"),
    "IDX files loose in the data directory": lambda keras, data: _idx(data, gz=False, dotted=False),
    "gzipped IDX files in mnist/": lambda keras, data: _idx(data / "mnist", gz=True, dotted=False),
    "IDX files spelled .idx in MNIST/raw/": lambda keras, data: _idx(data / "MNIST" / "raw", gz=False, dotted=True),
    "gzipped .idx spelling in mnist/": lambda keras, data: _idx(data / "mnist", gz=True, dotted=True),
    "npz in the Keras cache": lambda keras, data: _npz(keras / "datasets" / "mnist.npz"),
    "an empty npz in the data directory never hides the cached one": lambda keras, data: (
        (data / "mnist.npz").touch(),
        _npz(keras / "datasets" / "mnist.npz"),
    )[1],
}


@pytest.mark.parametrize("layout", MNIST_LAYOUTS)
def test_mnist_prefetch_and_loader_agree(roots, layout: str) -> None:
    keras_root, data_dir = roots
    expected = MNIST_LAYOUTS[layout](keras_root, data_dir)
    found = prefetch.find_mnist(keras_root, data_dir)
    assert found.path == expected and found == locate_mnist(data_dir, keras_root / "datasets")
    dataset = load_dataset("mnist", data_dir=data_dir)
    assert not dataset.is_fallback and _names(dataset.source, expected), dataset.source


# ---------------------------------------------------------------------------------------------
# CIFAR-10, colour and the ELEC 576 gray folders


def _cifar(folder: Path, *, train_batches: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for name in ("test_batch", *(f"data_batch_{index}" for index in range(1, train_batches + 1))):
        images = rng.integers(0, 256, (10, 3072), dtype=np.uint8)  # channel-major rows, as the archive stores them
        (folder / name).write_bytes(pickle.dumps({b"data": images, b"labels": list(range(10))}, protocol=2))
    return folder


CIFAR_LAYOUTS: dict[str, Callable[[Path, Path], Path]] = {
    "cifar-10-batches-py/ in the data directory": lambda keras, data: _cifar(data / "cifar-10-batches-py"),
    "the batches directly in the data directory": lambda keras, data: _cifar(data),
    "Keras 3's cache layout": lambda keras, data: _cifar(keras / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"),
    "Keras 2's cache layout": lambda keras, data: _cifar(keras / "datasets" / "cifar-10-batches-py"),
}


@pytest.mark.parametrize("layout", CIFAR_LAYOUTS)
@pytest.mark.parametrize("name", ["cifar10", "cifar10-gray28"])
def test_cifar_prefetch_and_loader_agree(roots, layout: str, name: str) -> None:
    keras_root, data_dir = roots
    expected = CIFAR_LAYOUTS[layout](keras_root, data_dir)
    found = prefetch.find_cifar10(keras_root, data_dir)
    assert found.path == expected and found == locate_cifar10(data_dir, keras_root / "datasets")
    assert found.problem == "only 2 of 5 training batches"
    dataset = load_dataset(name, data_dir=data_dir)  # the gray variant derives from the same colour batches
    assert not dataset.is_fallback and _names(dataset.source, expected), dataset.source
    assert len(dataset.x_train) == 20  # exactly the two batches prefetch counted


def test_an_empty_cifar_batch_counts_on_neither_side(roots) -> None:
    keras_root, data_dir = roots
    folder = _cifar(data_dir / "cifar-10-batches-py", train_batches=3)
    (folder / "data_batch_3").write_bytes(b"")
    assert prefetch.find_cifar10(keras_root, data_dir).problem == "only 2 of 5 training batches"
    assert len(load_dataset("cifar10", data_dir=data_dir).x_train) == 20


def _gray(root: Path) -> Path:
    for split in ("Train", "Test"):
        for label in ("0", "1"):
            (root / split / label).mkdir(parents=True)
            Image.fromarray(np.full((28, 28), 40 * (int(label) + 1), np.uint8), mode="L").save(root / split / label / "a.png")
    return root


@pytest.mark.parametrize("relative", ["elec576-cifar10-gray/CIFAR10", "CIFAR10", ""])
def test_gray_cifar_prefetch_and_loader_agree(roots, relative: str) -> None:
    keras_root, data_dir = roots
    expected = _gray(data_dir / relative)
    found = prefetch.find_gray_cifar(keras_root, data_dir)
    assert found == Location(expected, "data directory") == locate_gray_cifar(data_dir)
    dataset = load_dataset("cifar10-gray28", data_dir=data_dir)
    assert "ELEC 576" in dataset.source and _names(dataset.source, expected), dataset.source


# ---------------------------------------------------------------------------------------------
# FSDD


def _fsdd(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(800) / 8000)
    for digit in (0, 1):
        for index in range(6):  # 0–4 are FSDD's test recordings, 5 is for training
            wav.write_wav(folder / f"{digit}_jo_{index}.wav", tone, 8000)
    return folder


FSDD_LAYOUTS: dict[str, Callable[[Path, Path], Path]] = {
    "fsdd/recordings/ in the data directory": lambda keras, data: _fsdd(data / "fsdd" / "recordings"),
    "recordings/ in the data directory": lambda keras, data: _fsdd(data / "recordings"),
    "the recordings directly in the data directory": lambda keras, data: _fsdd(data),
    "the release archive unpacked in the data directory": lambda keras, data: _fsdd(
        data / "free-spoken-digit-dataset-1.0.10" / "recordings"
    ),
    "where Keras extracts the release": lambda keras, data: _fsdd(
        keras / "datasets" / "fsdd_extracted" / "free-spoken-digit-dataset-1.0.10" / "recordings"
    ),
    "a renamed archive extracted by Keras": lambda keras, data: _fsdd(keras / "datasets" / "fsdd_extracted" / "fork" / "recordings"),
    "fsdd/recordings/ in the Keras cache": lambda keras, data: _fsdd(keras / "datasets" / "fsdd" / "recordings"),
    "a recordings/ folder without WAVs in the data directory is passed over": lambda keras, data: (
        (data / "fsdd" / "recordings").mkdir(parents=True),
        _fsdd(keras / "datasets" / "fsdd_extracted" / "free-spoken-digit-dataset-1.0.10" / "recordings"),
    )[1],
}


@pytest.mark.parametrize("layout", FSDD_LAYOUTS)
def test_fsdd_prefetch_and_loader_agree(roots, layout: str) -> None:
    keras_root, data_dir = roots
    expected = FSDD_LAYOUTS[layout](keras_root, data_dir)
    found = prefetch.find_fsdd(keras_root, data_dir)
    assert found.path == expected and found == locate_fsdd(data_dir, keras_root / "datasets")
    assert fsdd_recordings(data_dir) == expected  # the audio page's cost estimate lists the same folder
    dataset = load_dataset("fsdd", data_dir=data_dir, clip_seconds=0.1, allow_download=False)
    assert dataset.name == "fsdd" and _names(dataset.source, expected), dataset.source
    assert f"from the {found.where} (" in dataset.source


# ---------------------------------------------------------------------------------------------
# VGG16's ImageNet weights


def _weights(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)  # sparse, so the 553 MB file costs nothing
        handle.seek(0)
        handle.write(transfer.weights.HDF5_SIGNATURE)
    return path


def test_vgg16_notop_prefetch_and_transfer_page_agree(roots, monkeypatch) -> None:
    keras_root, data_dir = roots
    assert not prefetch.find_vgg16_notop(keras_root, data_dir).found
    assert not transfer.resolve_vgg16_weights(allow_download=False).available
    cached = _weights(keras_root / "models" / transfer.NOTOP_WEIGHTS_FILE, 58_889_256)
    assert prefetch.find_vgg16_notop(keras_root, data_dir) == Location(cached, "Keras cache")
    status = transfer.resolve_vgg16_weights(allow_download=False)
    assert (status.path, status.origin) == (cached, "Keras cache")
    chosen = _weights(data_dir / "mine.h5", 58_889_256)
    monkeypatch.setenv(transfer.WEIGHTS_ENV, str(chosen))
    assert prefetch.find_vgg16_notop(keras_root, data_dir) == Location(chosen, transfer.WEIGHTS_ENV)
    status = transfer.resolve_vgg16_weights(allow_download=False)
    assert (status.path, status.origin) == (chosen, "your file")


def test_an_interrupted_weights_copy_is_refused_on_both_sides(roots) -> None:
    keras_root, data_dir = roots
    _weights(keras_root / "models" / transfer.NOTOP_WEIGHTS_FILE, 20_000_000)
    found = prefetch.find_vgg16_notop(keras_root, data_dir)
    assert not found.found and "interrupted copy" in found.problem
    status = transfer.resolve_vgg16_weights(allow_download=False)
    assert not status.available and found.problem in status.message


def test_a_user_file_that_is_not_hdf5_gives_way_to_the_keras_cache(roots, tmp_path) -> None:
    keras_root, _ = roots
    cached = _weights(keras_root / "models" / transfer.NOTOP_WEIGHTS_FILE, 58_889_256)
    fake = tmp_path / "fake.h5"
    fake.write_bytes(b"x" * 100)
    located = transfer.locate_vgg16_weights(keras_root / "models", user_path=fake)
    assert located == Location(cached, "Keras cache")
    (keras_root / "models" / transfer.NOTOP_WEIGHTS_FILE).unlink()
    missing = transfer.locate_vgg16_weights(keras_root / "models", user_path=fake)
    assert not missing.found and "not an HDF5 weights file" in missing.problem


def test_vgg16_full_prefetch_and_imagenet_demo_agree(roots) -> None:
    keras_root, data_dir = roots
    (keras_root / "models").mkdir(parents=True, exist_ok=True)
    (keras_root / "models" / transfer.CLASS_INDEX_FILE).write_text("{}")
    partial = _weights(keras_root / "models" / transfer.FULL_WEIGHTS_FILE, 20_000_000)
    found = prefetch.find_vgg16_full(keras_root, data_dir)
    status = transfer.imagenet_status()
    assert not found.found and not status.available and found.problem in status.message
    full = _weights(partial, 553_467_096)
    assert prefetch.find_vgg16_full(keras_root, data_dir) == Location(full, "Keras cache")
    status = transfer.imagenet_status()
    assert status.available and status.weights_path == full

"""MNIST loading order: data directory (npz or IDX), Keras cache, then the digits fallback."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from core.datasets import DatasetError, load_dataset, subsample_per_class
from core.datasets.mnist import read_idx


def _tiny_mnist(rng, n_train=30, n_test=10):
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }


def _write_idx(path, array, gz=False):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_offline_fallback_is_digits_and_says_so() -> None:
    dataset = load_dataset("mnist")
    assert dataset.is_fallback
    assert "not the real dataset" in dataset.source
    assert dataset.input_shape == (8, 8, 1)
    assert dataset.x_train.dtype == np.uint8 and dataset.x_train.max() == 255
    assert len(dataset.x_train) + len(dataset.x_test) == 1797


def test_npz_in_data_dir(tmp_path) -> None:
    arrays = _tiny_mnist(np.random.default_rng(0))
    np.savez(tmp_path / "mnist.npz", **arrays)
    dataset = load_dataset("mnist", data_dir=tmp_path)
    assert not dataset.is_fallback and "mnist.npz" in dataset.source
    assert dataset.input_shape == (28, 28, 1)
    np.testing.assert_array_equal(dataset.x_test[..., 0], arrays["x_test"])


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_in_data_dir(tmp_path, gz) -> None:
    arrays = _tiny_mnist(np.random.default_rng(1))
    for key, stem in {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                      "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}.items():
        _write_idx(tmp_path / (stem + (".gz" if gz else "")), arrays[key], gz)
    dataset = load_dataset("mnist", data_dir=tmp_path, train_size=12, seed=3)
    assert "IDX" in dataset.source
    assert len(dataset.x_train) == 12 and len(dataset.x_test) == 10


def test_truncated_idx_is_a_clear_error(tmp_path) -> None:
    _write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "y").write_bytes((tmp_path / "x").read_bytes()[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(tmp_path / "y")


def test_keras_cache_is_second(tmp_path, monkeypatch) -> None:
    keras_home = tmp_path / "kh"
    (keras_home / "datasets").mkdir(parents=True)
    np.savez(keras_home / "datasets" / "mnist.npz", **_tiny_mnist(np.random.default_rng(2)))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    dataset = load_dataset("mnist")
    assert "Keras cache" in dataset.source and not dataset.is_fallback


def test_wrong_shapes_are_rejected(tmp_path) -> None:
    arrays = _tiny_mnist(np.random.default_rng(0))
    arrays["x_train"] = arrays["x_train"][:, :20]
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DatasetError, match=r"expected \(N, 28, 28\)"):
        load_dataset("mnist", data_dir=tmp_path)


def test_pickled_npz_is_refused(tmp_path) -> None:
    np.savez(tmp_path / "mnist.npz", x_train=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(DatasetError):
        load_dataset("mnist", data_dir=tmp_path)


def test_subsample_per_class_is_balanced_and_seeded() -> None:
    x = np.arange(100)
    y = np.arange(100) % 4
    xs, ys = subsample_per_class(x, y, 5, seed=1)
    assert np.bincount(ys).tolist() == [5, 5, 5, 5]
    np.testing.assert_array_equal(xs, subsample_per_class(x, y, 5, seed=1)[0])


def test_shared_mnist_subset(shared_data) -> None:
    dataset = load_dataset("mnist", data_dir=shared_data)
    assert len(dataset.x_train) == 6309 and len(dataset.x_test) == 10000
    assert not dataset.is_fallback


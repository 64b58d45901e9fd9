"""CIFAR loaders on tiny fixtures the tests write in the official formats, plus the shared real subset."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.datasets import DatasetError, load_dataset
from core.datasets.cifar import CIFAR10_CLASSES, read_batch, to_gray28, to_model_input


def _images(count: int, offset: int) -> np.ndarray:
    """Images whose pixels encode (image, row, column, channel), so layout mistakes are visible."""
    rng = np.random.default_rng(offset)
    return rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)


def _write_batch(path: Path, images: np.ndarray, labels: list[int], *, protocol: int = 2) -> None:
    """One batch exactly as the official archive stores it: channel-major rows under bytes keys."""
    record = {
        b"batch_label": b"testing batch",
        b"labels": list(labels),
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
        b"filenames": [f"img{i}.png".encode() for i in range(len(images))],
    }
    path.write_bytes(pickle.dumps(record, protocol=protocol))


def _write_cifar_folder(folder: Path, *, per_class_train: int = 4, test_count: int = 10, protocol: int = 2) -> dict:
    folder.mkdir(parents=True)
    labels = [label for label in range(10) for _ in range(per_class_train)]
    x_train = _images(len(labels), 1)
    half = len(labels) // 2
    _write_batch(folder / "data_batch_1", x_train[:half], labels[:half], protocol=protocol)
    _write_batch(folder / "data_batch_2", x_train[half:], labels[half:], protocol=protocol)
    test_labels = [label % 10 for label in range(test_count)]
    x_test = _images(test_count, 2)
    _write_batch(folder / "test_batch", x_test, test_labels, protocol=protocol)
    meta = {b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_cases_per_batch": half}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return {"x_train": x_train, "y_train": np.array(labels), "x_test": x_test, "y_test": np.array(test_labels)}


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_official_batches_become_channels_last_images(tmp_path: Path, protocol: int) -> None:
    written = _write_cifar_folder(tmp_path / "cifar-10-batches-py", protocol=protocol)
    dataset = load_dataset("cifar10", data_dir=tmp_path)
    assert not dataset.is_fallback
    assert dataset.class_names == CIFAR10_CLASSES
    assert dataset.x_train.shape == (40, 32, 32, 3) and dataset.x_train.dtype == np.uint8
    # Training images are reshuffled by the per-class sampler only when asked; without it the
    # batches come back whole and in order.
    np.testing.assert_array_equal(dataset.x_train, written["x_train"])
    np.testing.assert_array_equal(dataset.y_train, written["y_train"])
    np.testing.assert_array_equal(dataset.x_test, written["x_test"])
    np.testing.assert_array_equal(dataset.y_test, written["y_test"])
    assert "official python batches" in dataset.source


def test_channel_major_rows_are_decoded_as_rgb(tmp_path: Path) -> None:
    # A pure-red, a pure-green and a pure-blue image: the first 1,024 bytes of a row are red.
    rows = np.zeros((3, 3072), dtype=np.uint8)
    for channel in range(3):
        rows[channel, channel * 1024 : (channel + 1) * 1024] = 255
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": rows, b"labels": [0, 1, 2]}, protocol=2))
    images, labels = read_batch(path)
    for channel in range(3):
        expected = np.zeros(3)
        expected[channel] = 255
        np.testing.assert_array_equal(images[channel].reshape(-1, 3).mean(axis=0), expected)
    assert labels.tolist() == [0, 1, 2]


class _RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("payload_kind", ["os.system", "eval"])
def test_a_malicious_pickle_is_refused_without_running(tmp_path: Path, payload_kind: str) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar_folder(folder)
    marker = tmp_path / "pwned"
    payload = _RunsACommand(marker) if payload_kind == "os.system" else _CallsEval()
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": payload, b"labels": [0]}, protocol=2))
    with pytest.raises(DatasetError, match="cannot be loaded safely"):
        load_dataset("cifar10", data_dir=tmp_path)
    assert not marker.exists()


def test_broken_batches_give_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar_folder(folder)
    batch = folder / "data_batch_1"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(DatasetError, match="data_batch_1"):
        load_dataset("cifar10", data_dir=tmp_path)
    _write_batch(batch, _images(2, 3), [0, 12])
    with pytest.raises(DatasetError, match="labels outside"):
        load_dataset("cifar10", data_dir=tmp_path)
    batch.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetError, match="3072"):
        load_dataset("cifar10", data_dir=tmp_path)
    batch.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DatasetError, match="dict"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_per_class_sampling_is_exact_and_seeded(tmp_path: Path) -> None:
    _write_cifar_folder(tmp_path / "cifar-10-batches-py", per_class_train=6, test_count=30)
    first = load_dataset("cifar10", data_dir=tmp_path, per_class=3, test_per_class=2, seed=5)
    assert set(first.class_counts("train").values()) == {3}
    assert set(first.class_counts("test").values()) == {2}
    again = load_dataset("cifar10", data_dir=tmp_path, per_class=3, test_per_class=2, seed=5)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    other = load_dataset("cifar10", data_dir=tmp_path, per_class=3, test_per_class=2, seed=6)
    assert not np.array_equal(first.x_train, other.x_train)
    assert "at most 3 per class" in first.source
    with pytest.raises(ValueError, match="per_class"):
        load_dataset("cifar10", data_dir=tmp_path, per_class=0)


def test_the_keras_cache_is_used_when_the_data_dir_has_nothing(tmp_path: Path) -> None:
    keras_folder = Path(os.environ["KERAS_HOME"]) / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    written = _write_cifar_folder(keras_folder)
    dataset = load_dataset("cifar10", data_dir=tmp_path)
    assert "Keras cache" in dataset.source and not dataset.is_fallback
    np.testing.assert_array_equal(dataset.x_test, written["x_test"])


@pytest.mark.parametrize(("name", "shape"), [("cifar10", (32, 32, 3)), ("cifar10-gray28", (28, 28, 1))])
def test_offline_fallback_is_labelled_as_not_cifar(name: str, shape: tuple[int, ...]) -> None:
    dataset = load_dataset(name, per_class=20, seed=0)
    assert dataset.is_fallback
    assert dataset.name == f"{name}-fallback"  # so its runs are never listed as CIFAR runs
    assert "NOT CIFAR-10" in dataset.source and "digits" in dataset.source
    assert dataset.input_shape == shape and dataset.x_train.dtype == np.uint8
    assert set(dataset.class_counts("train").values()) == {20}
    assert all(name.startswith("digit ") for name in dataset.class_names)
    # Upscaled digits still span the full brightness range (ink is bright, background dark).
    assert dataset.x_train.max() > 200 and dataset.x_train.min() == 0


def _write_elec576(root: Path, *, train_per_class: int = 3, test_per_class: int = 2) -> dict[str, list]:
    written: dict[str, list] = {"Train": [], "Test": []}
    rng = np.random.default_rng(7)
    for split, count in (("Train", train_per_class), ("Test", test_per_class)):
        for label in range(10):
            folder = root / split / str(label)
            folder.mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
                Image.fromarray(pixels, mode="L").save(folder / f"Image{index:05d}.png")
                written[split].append((label, pixels))
    return written


@pytest.mark.parametrize("layout", ["elec576-cifar10-gray/CIFAR10", "CIFAR10"])
def test_elec576_png_folders(tmp_path: Path, layout: str) -> None:
    written = _write_elec576(tmp_path / layout)
    dataset = load_dataset("cifar10-gray28", data_dir=tmp_path)
    assert not dataset.is_fallback and "ELEC 576" in dataset.source
    assert dataset.class_names == CIFAR10_CLASSES
    assert dataset.x_train.shape == (30, 28, 28, 1) and dataset.x_test.shape == (20, 28, 28, 1)
    # Each loaded image is one of the written ones, under the label of its folder.
    lookup = {pixels.tobytes(): label for label, pixels in written["Train"]}
    for image, label in zip(dataset.x_train[..., 0], dataset.y_train):
        assert lookup[image.tobytes()] == label
    sampled = load_dataset("cifar10-gray28", data_dir=tmp_path, per_class=2, test_per_class=1, seed=3)
    assert set(sampled.class_counts("train").values()) == {2}
    assert set(sampled.class_counts("test").values()) == {1}


def test_elec576_with_a_corrupt_png_names_the_file(tmp_path: Path) -> None:
    _write_elec576(tmp_path / "CIFAR10")
    bad = tmp_path / "CIFAR10" / "Train" / "4" / "Image00001.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="Image00001.png"):
        load_dataset("cifar10-gray28", data_dir=tmp_path)


def test_gray28_is_derived_from_colour_batches(tmp_path: Path) -> None:
    written = _write_cifar_folder(tmp_path / "cifar-10-batches-py")
    dataset = load_dataset("cifar10-gray28", data_dir=tmp_path)
    assert "converted to 28×28 grayscale" in dataset.source
    assert dataset.x_test.shape == (10, 28, 28, 1)
    expected = np.asarray(Image.fromarray(written["x_test"][0]).convert("L").resize((28, 28), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(dataset.x_test[0, :, :, 0], expected)
    np.testing.assert_array_equal(to_gray28(written["x_test"][:1])[0, :, :, 0], expected)


def test_uploaded_images_are_fitted_to_the_model_input() -> None:
    photo = Image.fromarray(np.full((50, 80, 4), 200, dtype=np.uint8), mode="RGBA")
    assert to_model_input(photo, (32, 32, 3)).shape == (32, 32, 3)
    gray = to_model_input(photo, (28, 28, 1))
    assert gray.shape == (28, 28, 1) and gray.dtype == np.uint8 and int(gray[0, 0, 0]) == 200


def test_shared_colour_subset(shared_data: Path) -> None:
    dataset = load_dataset("cifar10", data_dir=shared_data)
    assert len(dataset.x_train) == 5_438 and len(dataset.x_test) == 1_017
    assert dataset.y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert dataset.class_names == CIFAR10_CLASSES


def test_shared_elec576_gray(shared_data: Path) -> None:
    dataset = load_dataset("cifar10-gray28", data_dir=shared_data, per_class=800, seed=0)
    assert dataset.x_train.shape == (8_000, 28, 28, 1) and dataset.x_test.shape == (1_000, 28, 28, 1)
    assert set(dataset.class_counts("train").values()) == {800}

"""Image-folder datasets on tiny folders and zips written here: split, resizing, bad files, bad folders."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cache import DiskCache
from core.datasets import DatasetError, load_dataset
from core.datasets.images import (
    PHOTO_PATCHES_SOURCE,
    load_image_folder,
    load_image_zip,
    scan_image_folder,
    stratified_split,
)
from core.uploads import UploadError


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (30, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    pixels = (rng.integers(0, 255, (40, 40, 3)) // 2 + np.array(colour) // 2).astype(np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def _folder(root: Path, counts: dict[str, int]) -> Path:
    colours = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]
    for index, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for number in range(count):
            (root / name / f"{number:03d}.png").write_bytes(_png(colours[index % 3], size=(20 + number, 30)))
    return root


def test_stratified_split_resizes_and_keeps_class_balance(tmp_path: Path) -> None:
    root = _folder(tmp_path / "shapes", {"apple": 10, "grass": 20})  # red and green images
    dataset = load_image_folder(root, image_size=16, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert dataset.class_names == ("apple", "grass")
    assert dataset.x_train.shape[1:] == (16, 16, 3) and dataset.x_train.dtype == np.uint8
    # 20% of each class goes to test and to validation, the rest to training.
    assert dataset.class_counts("test") == {"apple": 2, "grass": 4}
    assert np.bincount(dataset.y_val).tolist() == [2, 4]
    assert dataset.class_counts("train") == {"apple": 6, "grass": 12}
    # The resized pixels are the folder's colours: red images are red, green are green.
    red = dataset.x_train[dataset.y_train == 0]
    assert red[..., 0].min() > 200 and red[..., 1].max() < 40
    again = load_image_folder(root, image_size=16, val_fraction=0.2, test_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again.y_test, dataset.y_test)  # a fixed seed gives the same split
    assert DiskCache().entries()  # the decoded folder is in the disk cache


def test_grayscale_has_one_channel(tmp_path: Path) -> None:
    dataset = load_image_folder(_folder(tmp_path / "g", {"a": 5, "b": 5}), image_size=12, color="grayscale")
    assert dataset.input_shape == (12, 12, 1)


def test_split_gives_every_class_train_val_and_test() -> None:
    labels = np.array([0] * 5 + [1] * 50)
    train, val, test = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=0)
    for part in (train, val, test):
        assert set(labels[part]) == {0, 1}
    assert len(train) + len(val) + len(test) == 55 and not set(train) & set(test)
    with pytest.raises(ValueError, match="half"):
        stratified_split(labels, val_fraction=0.3, test_fraction=0.3, seed=0)


def test_corrupt_and_fake_images_reported_by_name_and_non_images_counted(tmp_path: Path) -> None:
    root = _folder(tmp_path / "pets", {"cats": 6, "dogs": 6})
    (root / "cats" / "broken.jpg").write_bytes(_jpeg((200, 100, 50))[:400])  # truncated mid-scan
    (root / "dogs" / "secretly_text.png").write_text("this is not a picture", encoding="utf-8")
    (root / "dogs" / "README.txt").write_text("notes", encoding="utf-8")
    (root / "cats" / "labels.csv").write_text("a,b", encoding="utf-8")
    dataset = load_image_folder(root, image_size=16)
    corrupt = " ".join(dataset.extras["corrupt"])
    assert "broken.jpg" in corrupt and "secretly_text.png" in corrupt
    assert len(dataset.extras["corrupt"]) == 2
    assert dataset.extras["non_image_files"] == 2
    assert dataset.extras["files_per_class"] == {"cats": 6, "dogs": 6}


def test_folders_that_cannot_train_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="at least two class"):
        load_image_folder(_folder(tmp_path / "one", {"cats": 8}))
    with pytest.raises(DatasetError, match="'dogs' has 3"):
        load_image_folder(_folder(tmp_path / "few", {"cats": 8, "dogs": 3}))
    with pytest.raises(DatasetError, match="no subfolders"):
        (tmp_path / "flat").mkdir()
        (tmp_path / "flat" / "x.png").write_bytes(_png((1, 2, 3)))
        load_image_folder(tmp_path / "flat")
    with pytest.raises(DatasetError, match="not a folder"):
        load_image_folder(tmp_path / "missing")
    # Corrupt files can push a class under the minimum; that is caught after decoding.
    root = _folder(tmp_path / "after", {"cats": 8, "dogs": 5})
    (root / "dogs" / "000.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="'dogs' has 4"):
        load_image_folder(root)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_with_wrapping_folder_loads_and_counts_skipped_files() -> None:
    members = {f"data/{label}/{n}.png": _png(colour) for label, colour in (("a", (255, 0, 0)), ("b", (0, 0, 255))) for n in range(5)}
    members["data/notes.txt"] = b"hello"
    members["data/b/bad.png"] = b"not a png"
    dataset = load_image_zip(_zip(members), name="shapes.zip", image_size=8)
    assert dataset.class_names == ("a", "b")
    assert dataset.extras["non_image_files"] == 1
    assert any("bad.png" in message for message in dataset.extras["corrupt"])
    assert "shapes.zip" in dataset.source


def test_zip_slip_and_bad_zips_are_refused() -> None:
    with pytest.raises(UploadError, match="outside"):
        load_image_zip(_zip({"a/1.png": _png((1, 1, 1)), "../evil.png": _png((2, 2, 2))}))
    with pytest.raises(UploadError, match="not a valid zip"):
        load_image_zip(b"plain bytes")
    with pytest.raises(DatasetError, match="at least two class"):
        load_image_zip(_zip({f"only/{n}.png": _png((5, 5, 5)) for n in range(6)}))


def test_scan_lists_classes_in_name_order(tmp_path: Path) -> None:
    scan = scan_image_folder(_folder(tmp_path / "s", {"zebra": 5, "ant": 5}))
    assert scan.class_names == ("ant", "zebra") and scan.counts == {"ant": 5, "zebra": 5}


def test_cats_vs_dogs_offline_fallback_is_labelled() -> None:
    dataset = load_dataset("cats_vs_dogs", image_size=24)
    assert dataset.is_fallback and dataset.source == PHOTO_PATCHES_SOURCE
    assert dataset.input_shape == (24, 24, 1) and dataset.has_validation
    assert set(np.unique(dataset.y_train)) == {0, 1}


def test_shared_cats_vs_dogs_folder(shared_data: Path) -> None:
    dataset = load_dataset("cats_vs_dogs", data_dir=shared_data, image_size=32, color="rgb")
    assert not dataset.is_fallback and dataset.class_names == ("cats", "dogs")
    assert dataset.extras["files_per_class"] == {"cats": 300, "dogs": 300}
    total = len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test)
    assert total == 600 - len(dataset.extras["corrupt"])
    assert dataset.class_counts("test") == {"cats": 45, "dogs": 45}

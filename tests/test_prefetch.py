"""Prefetch: presence checks on files made in temporary folders, and the offline report; no network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import prefetch
from core.prefetch import (
    FAILED,
    FETCHED,
    MISSING,
    OPTIONAL,
    PRESENT,
    Item,
    check_all,
    find_cifar10,
    find_flowers,
    find_fsdd,
    find_gray_cifar,
    find_mnist,
    find_vgg16_full,
    find_vgg16_notop,
    format_table,
    missing_instructions,
)


def _touch(path: Path, size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)  # sparse, so the 553 MB weights file costs nothing
    return path


def _weights(path: Path, size: int) -> Path:
    _touch(path, size)
    with open(path, "r+b") as handle:
        handle.write(prefetch.HDF5_SIGNATURE)
    return path


def _mnist_npz(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    images = np.zeros((4, 28, 28), np.uint8)
    labels = np.arange(4, dtype=np.uint8)
    np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    return path


def _cifar_folder(folder: Path, train_batches: int = 5) -> Path:
    for name in ("test_batch", "batches.meta", *prefetch.CIFAR_TRAIN_BATCHES[:train_batches]):
        _touch(folder / name)
    return folder


def _everything(keras_home: Path, data_dir: Path) -> None:
    _mnist_npz(keras_home / "datasets" / "mnist.npz")
    _cifar_folder(keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    (data_dir / "elec576-cifar10-gray" / "CIFAR10" / "Train").mkdir(parents=True)
    (data_dir / "elec576-cifar10-gray" / "CIFAR10" / "Test").mkdir(parents=True)
    _weights(keras_home / "models" / prefetch.VGG16_NOTOP_FILE, 58_889_256)
    _weights(keras_home / "models" / prefetch.VGG16_FULL_FILE, 553_467_096)
    _touch(data_dir / "fsdd" / "recordings" / "0_jackson_0.wav")
    for kind in ("daisy", "roses"):
        _touch(keras_home / "datasets" / "flower_photos" / kind / "1.jpg")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    keras_home, data_dir = tmp_path / "keras", tmp_path / "data"
    keras_home.mkdir()
    data_dir.mkdir()
    return keras_home, data_dir


def test_nothing_is_found_in_empty_folders_or_without_a_data_dir(folders) -> None:
    keras_home, data_dir = folders
    for find in (find_mnist, find_cifar10, find_gray_cifar, find_vgg16_notop, find_vgg16_full, find_fsdd, find_flowers):
        assert find(keras_home, data_dir).path is None
        assert find(keras_home, None).path is None


def test_mnist_in_the_data_dir_wins_over_the_keras_cache(folders) -> None:
    keras_home, data_dir = folders
    cached = _mnist_npz(keras_home / "datasets" / "mnist.npz")
    assert find_mnist(keras_home, data_dir).path == cached
    assert find_mnist(keras_home, data_dir).where == "Keras cache"
    local = _mnist_npz(data_dir / "mnist.npz")
    assert find_mnist(keras_home, data_dir).path == local
    assert find_mnist(keras_home, data_dir).where == "data directory"


def test_mnist_idx_files_count_only_when_all_four_are_there(folders) -> None:
    keras_home, data_dir = folders
    stems = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for stem in stems[:3]:
        _touch(data_dir / "mnist" / stem)
    assert find_mnist(keras_home, data_dir).path is None
    _touch(data_dir / "mnist" / stems[3])
    assert find_mnist(keras_home, data_dir).path == data_dir / "mnist"


def test_an_empty_mnist_file_is_not_present(folders) -> None:
    keras_home, data_dir = folders
    _touch(keras_home / "datasets" / "mnist.npz", 0)
    assert find_mnist(keras_home, data_dir).path is None


def test_mnist_found_here_is_what_the_loader_reads(folders, monkeypatch) -> None:
    from core.datasets import load_dataset

    keras_home, data_dir = folders
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    _mnist_npz(keras_home / "datasets" / "mnist.npz")
    assert find_mnist(keras_home, None).path is not None
    dataset = load_dataset("mnist", data_dir=None)
    assert not dataset.is_fallback and "Keras cache" in dataset.source


def test_cifar_in_the_keras3_and_keras2_cache_layouts_and_the_data_dir(folders) -> None:
    keras_home, data_dir = folders
    keras2 = _cifar_folder(keras_home / "datasets" / "cifar-10-batches-py")
    assert find_cifar10(keras_home, data_dir).path == keras2
    keras3 = _cifar_folder(keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    assert find_cifar10(keras_home, data_dir).path == keras3
    local = _cifar_folder(data_dir / "cifar-10-batches-py", train_batches=2)
    found = find_cifar10(keras_home, data_dir)
    assert (found.path, found.where) == (local, "data directory")
    assert found.problem == "only 2 of 5 training batches"


def test_cifar_without_its_test_batch_is_not_present(folders) -> None:
    keras_home, data_dir = folders
    folder = _cifar_folder(data_dir / "cifar-10-batches-py")
    (folder / "test_batch").unlink()
    assert find_cifar10(keras_home, data_dir).path is None


def test_gray_cifar_needs_train_and_test_folders(folders) -> None:
    keras_home, data_dir = folders
    (data_dir / "elec576-cifar10-gray" / "CIFAR10" / "Train").mkdir(parents=True)
    assert find_gray_cifar(keras_home, data_dir).path is None
    (data_dir / "elec576-cifar10-gray" / "CIFAR10" / "Test").mkdir()
    assert find_gray_cifar(keras_home, data_dir).path == data_dir / "elec576-cifar10-gray" / "CIFAR10"


def test_vgg16_weights_by_exact_name_and_a_truncated_copy_is_refused(folders) -> None:
    keras_home, data_dir = folders
    notop = _weights(keras_home / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", 58_889_256)
    assert find_vgg16_notop(keras_home, data_dir).path == notop
    assert find_vgg16_full(keras_home, data_dir).path is None
    _weights(keras_home / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels.h5", 20_000_000)
    partial = find_vgg16_full(keras_home, data_dir)
    assert partial.path is None and "interrupted copy" in partial.problem and "20.0 MB" in partial.problem
    _touch(keras_home / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels.h5", 600_000_000)
    assert "not an HDF5 weights file" in find_vgg16_full(keras_home, data_dir).problem


def test_vgg16_notop_from_the_transfer_page_setting(folders, monkeypatch) -> None:
    from core import transfer

    keras_home, data_dir = folders
    chosen = _weights(data_dir / "my_vgg16.h5", 58_889_256)
    monkeypatch.setenv(transfer.WEIGHTS_ENV, str(chosen))
    assert find_vgg16_notop(keras_home, data_dir) == prefetch.Found(chosen, "DLLAB_VGG16_WEIGHTS")
    monkeypatch.setenv(transfer.WEIGHTS_ENV, str(data_dir / "nowhere.h5"))
    assert find_vgg16_notop(keras_home, data_dir).path is None
    assert transfer.NOTOP_WEIGHTS_FILE == prefetch.VGG16_NOTOP_FILE
    assert transfer.FULL_WEIGHTS_FILE == prefetch.VGG16_FULL_FILE


def test_fsdd_in_the_data_dir_and_where_keras_extracts_it(folders, monkeypatch) -> None:
    from core.datasets.audio import fsdd_cached_recordings

    keras_home, data_dir = folders
    extracted = keras_home / "datasets" / "fsdd_extracted" / "free-spoken-digit-dataset-1.0.10" / "recordings"
    extracted.mkdir(parents=True)
    assert find_fsdd(keras_home, data_dir).path is None  # a folder without WAVs is not the dataset
    _touch(extracted / "3_theo_12.wav")
    assert find_fsdd(keras_home, data_dir).path == extracted
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    assert fsdd_cached_recordings() == extracted  # the audio page looks in the same place
    local = _touch(data_dir / "fsdd" / "recordings" / "0_jackson_0.wav").parent
    assert find_fsdd(keras_home, data_dir) == prefetch.Found(local, "data directory")


def test_fsdd_origin_is_the_one_the_audio_loader_downloads() -> None:
    from core import download
    from core.datasets import audio

    assert prefetch.FSDD_ORIGIN == audio.FSDD_ORIGIN == download.FSDD.origin


def test_flower_photos_are_a_folder_of_class_folders_in_the_data_dir_or_the_keras_cache(folders) -> None:
    keras_home, data_dir = folders
    cached = keras_home / "datasets" / "flower_photos"
    _touch(cached / "daisy" / "1.jpg")
    (cached / "roses").mkdir()
    unfinished = find_flowers(keras_home, data_dir)
    assert unfinished.path is None and "1 class folder(s) with JPEG photos" in unfinished.problem  # an interrupted copy
    _touch(cached / "roses" / "2.JPG")
    assert find_flowers(keras_home, data_dir) == prefetch.Found(cached, "Keras cache")
    for kind in ("tulips", "sunflowers"):
        _touch(data_dir / "flower_photos" / kind / "3.jpeg")
    assert find_flowers(keras_home, data_dir) == prefetch.Found(data_dir / "flower_photos", "data directory")


def test_check_all_reports_present_missing_and_optional(folders) -> None:
    keras_home, data_dir = folders
    _mnist_npz(data_dir / "mnist.npz")
    states = {status.item.key: status.state for status in check_all(keras_home, data_dir)}
    assert states == {
        "mnist": PRESENT,
        "cifar10": MISSING,
        "cifar10-gray28": OPTIONAL,
        "vgg16-notop": MISSING,
        "vgg16-full": MISSING,
        "fsdd": MISSING,
        "flowers": MISSING,
    }


def _fake_item(key: str, marker: Path, fetch) -> Item:
    def find(keras_home: Path, data_dir: Path | None) -> prefetch.Found:
        return prefetch.Found(marker, "Keras cache") if marker.exists() else prefetch.Found(None)

    return Item(key, key.upper(), "a page", "1 kB", find, fetch, f"put {marker.name} somewhere", "a fallback is used")


def test_prefetch_offline_never_fetches(folders) -> None:
    keras_home, data_dir = folders

    def must_not_run() -> None:
        raise AssertionError("fetched while offline")

    items = [_fake_item("a", keras_home / "a.bin", must_not_run)]
    statuses = prefetch.prefetch(online=False, keras_root=keras_home, data_dir=data_dir, items=items, announce=lambda _: None)
    assert [status.state for status in statuses] == [MISSING]


def test_prefetch_online_fetches_reports_failures_and_carries_on(folders) -> None:
    keras_home, data_dir = folders
    good, broken, silent, there = (keras_home / name for name in ("good", "broken", "silent", "there"))
    _touch(there)

    def network_error() -> None:
        raise OSError("connection reset by peer")

    items = [
        _fake_item("broken", broken, network_error),
        _fake_item("good", good, lambda: _touch(good)),
        _fake_item("silent", silent, lambda: None),
        _fake_item("there", there, network_error),
    ]
    announced: list[str] = []
    statuses = prefetch.prefetch(online=True, keras_root=keras_home, data_dir=data_dir, items=items, announce=announced.append)
    by_key = {status.item.key: status for status in statuses}
    assert by_key["broken"].state == FAILED and by_key["broken"].detail == "OSError: connection reset by peer"
    assert by_key["good"].state == FETCHED and str(good) in by_key["good"].location
    assert by_key["silent"].state == FAILED and "nothing usable" in by_key["silent"].detail
    assert by_key["there"].state == PRESENT
    assert announced == ["Fetching BROKEN (about 1 kB)…", "Fetching GOOD (about 1 kB)…", "Fetching SILENT (about 1 kB)…"]
    table = format_table(statuses)
    assert "connection reset by peer" in table and table.splitlines()[0].startswith("item")


def test_missing_instructions_name_every_file_and_folder(folders) -> None:
    keras_home, _ = folders
    text = missing_instructions(check_all(keras_home, None), keras_home, None)
    for expected in (
        "$KERAS_HOME/datasets/mnist.npz",
        "$KERAS_HOME/datasets/cifar-10-batches-py/",
        "$KERAS_HOME/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "$KERAS_HOME/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "fsdd/recordings/",
        "$KERAS_HOME/datasets/flower_photos/",
        "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
        "elec576-cifar10-gray/CIFAR10/",
        "set DLLAB_DATA_DIR",
        str(keras_home),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    ):
        assert expected in text
    assert missing_instructions(check_all(keras_home, None)[2:3], keras_home, None) == ""


def test_main_offline_lists_what_is_missing_and_fails(folders, monkeypatch, capsys) -> None:
    keras_home, _ = folders
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    assert prefetch.main([]) == 1
    out = capsys.readouterr().out
    assert "Offline" in out and "nothing will be downloaded" in out
    assert "MNIST" in out and "missing" in out and "To supply the missing items by hand" in out


def test_main_succeeds_when_everything_is_present(folders, monkeypatch, capsys) -> None:
    keras_home, data_dir = folders
    _everything(keras_home, data_dir)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("DLLAB_DATA_DIR", str(data_dir))
    assert prefetch.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert out.count("present") == 7 and "Everything the app can use is here." in out


def test_main_only_limits_the_items(folders, monkeypatch, capsys) -> None:
    keras_home, _ = folders
    _mnist_npz(keras_home / "datasets" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    assert prefetch.main(["--check", "--only", "mnist"]) == 0
    assert "CIFAR" not in capsys.readouterr().out


def test_importing_the_groundwork_modules_never_imports_tensorflow() -> None:
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import sys, core.prefetch, core.query_state, ui.export, ui.shareable; "
        "print(sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Audio loaders and validators on tiny fixtures the tests write: .npy features, WAV folders, FSDD naming, zips."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.datasets import wav
from core.datasets import DatasetError, load_dataset
from core.datasets import audio as audio_data
from core.uploads import AUDIO_SUFFIXES, UploadError, safe_extract_zip
from test_download import Served, server  # noqa: F401 - the 127.0.0.1 file server fixture, used by name
from test_mirror import declare_official


def _arrays(**changes) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "X_train": rng.standard_normal((12, 8, 30)).astype(np.float32),
        "y_train": np.arange(12) % 3,
        "X_test": rng.standard_normal((6, 8, 30)).astype(np.float32),
        "y_test": np.arange(6) % 3,
    }
    arrays.update(changes)
    return arrays


def _tone(frequency: float, rate: int = 8000, seconds: float = 0.3) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)


# ---------------------------------------------------------------------------------------------
# .npy features


def test_seed_format_loads_and_keeps_bands_by_frames() -> None:
    dataset = audio_data.audio_npy_dataset(_arrays())
    assert dataset.x_train.shape == (12, 8, 30) and dataset.x_train.dtype == np.float32
    assert dataset.class_names == ("0", "1", "2") and dataset.extras["kind"] == "features"


def test_axis_order_is_detected_and_can_be_overridden() -> None:
    transposed = _arrays()
    transposed["X_train"] = np.swapaxes(transposed["X_train"], 1, 2)  # (N, frames=30, bands=8)
    transposed["X_test"] = np.swapaxes(transposed["X_test"], 1, 2)
    assert audio_data.detect_axis_order((30, 8)) == "frames_bands"
    assert audio_data.detect_axis_order((40, 501)) == "bands_frames"
    detected = audio_data.audio_npy_dataset(transposed)
    assert detected.x_train.shape == (12, 8, 30)
    np.testing.assert_array_equal(detected.x_train, _arrays()["X_train"])
    forced = audio_data.audio_npy_dataset(transposed, axis_order="bands_frames")
    assert forced.x_train.shape == (12, 30, 8)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"X_train": np.zeros((12, 240), np.float32)}, r"X_train has shape \(12, 240\); expected \(examples, bands, frames\)"),
        ({"X_test": np.zeros((6, 8, 31), np.float32)}, r"X_train examples are \(8, 30\) but X_test examples are \(8, 31\)"),
        ({"y_train": np.arange(11) % 3}, "X_train has 12 examples but y_train has 11 labels"),
        ({"y_test": np.array([0.0, 1.5, 2, 0, 1, 2])}, "y_test holds non-integer values"),
        ({"y_train": np.array([0, 1, -1] * 4)}, "y_train has the negative label -1"),
        ({"y_train": np.zeros(12, np.int64)}, r"y_train holds only one class \(0\)"),
        ({"y_test": np.array([0, 1, 2, 0, 1, 5])}, r"y_test has the label\(s\) \[5\], which never occur in y_train"),
        ({"X_train": np.array(["a"] * 12 * 8 * 30).reshape(12, 8, 30)}, "X_train has dtype <U1; features must be numbers"),
        ({"y_train": np.eye(3)[np.arange(12) % 3]}, r"y_train has shape \(12, 3\); expected a 1-D vector"),
    ],
)
def test_each_bad_npy_gets_its_own_message(changes: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        audio_data.audio_npy_dataset(_arrays(**changes))


def test_nan_features_are_reported_with_the_first_bad_example() -> None:
    x = _arrays()["X_train"].copy()
    x[4, 2, 3] = np.nan
    with pytest.raises(DatasetError, match="X_train has NaN or infinite values in 1 examples \\(the first is example 4\\)"):
        audio_data.audio_npy_dataset(_arrays(X_train=x))


def test_missing_array_is_named() -> None:
    arrays = _arrays()
    del arrays["y_test"]
    with pytest.raises(DatasetError, match="missing y_test.npy"):
        audio_data.audio_npy_dataset(arrays)


def test_npy_folder_loader_and_pickled_npy_refused(tmp_path: Path) -> None:
    for name, array in _arrays().items():
        np.save(tmp_path / f"{name}.npy", array)
    dataset = load_dataset("audio_npy", folder=tmp_path)
    assert len(dataset.x_test) == 6
    np.save(tmp_path / "X_test.npy", np.array([{"evil": 1}] * 6, dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="pickled array"):
        load_dataset("audio_npy", folder=tmp_path)
    (tmp_path / "y_test.npy").unlink()
    with pytest.raises(DatasetError, match="y_test.npy missing in"):
        load_dataset("audio_npy", folder=tmp_path)


# ---------------------------------------------------------------------------------------------
# WAV folders


def _write_fsdd(folder: Path, *, speakers=("george", "lucas"), indices=range(0, 7), digits=range(10)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for digit in digits:
        for speaker in speakers:
            for index in indices:
                wav.write_wav(folder / f"{digit}_{speaker}_{index}.wav", _tone(200 + 50 * digit), 8000)
    return folder


def test_fsdd_naming_uses_the_official_split(tmp_path: Path) -> None:
    folder = _write_fsdd(tmp_path / "recordings")
    dataset = load_dataset("wav_folder", folder=folder, sample_rate=8000, clip_seconds=0.5)
    # indices 0–4 are test: 10 digits × 2 speakers × 5 = 100 test, × 2 = 40 train
    assert len(dataset.x_test) == 100 and len(dataset.x_train) == 40
    assert dataset.x_train.shape[1] == 4000
    assert dataset.class_names == tuple(str(d) for d in range(10))
    assert all(int(name.split("_")[2].split(".")[0]) <= 4 for name in dataset.extras["test_files"])
    assert all(int(name.split("_")[2].split(".")[0]) >= 5 for name in dataset.extras["train_files"])
    assert "official split" in dataset.source
    for name, label in zip(dataset.extras["test_files"], dataset.y_test):
        assert int(name[0]) == label


def test_class_folders_with_a_seeded_split_resampling_and_an_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "sounds"
    for label, frequency in (("low", 200.0), ("high", 900.0)):
        (root / label).mkdir(parents=True)
        for index in range(5):
            wav.write_wav(root / label / f"{index}.wav", _tone(frequency, rate=16000), 16000)
    (root / "high" / "broken.wav").write_bytes(b"RIFF....WAVEnothing")
    dataset = load_dataset("wav_folder", folder=root, sample_rate=8000, clip_seconds=0.25, test_fraction=0.2)
    assert dataset.class_names == ("high", "low")
    assert len(dataset.x_train) + len(dataset.x_test) == 10
    assert dataset.x_train.shape[1] == 2000 and dataset.extras["sample_rate"] == 8000
    assert len(dataset.extras["unreadable"]) == 1 and "broken.wav" in dataset.extras["unreadable"][0]
    again = load_dataset("wav_folder", folder=root, sample_rate=8000, clip_seconds=0.25, test_fraction=0.2)
    np.testing.assert_array_equal(again.y_test, dataset.y_test)


def test_train_and_test_folders_are_used_as_given(tmp_path: Path) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for label in ("a", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            for index in range(count):
                wav.write_wav(tmp_path / split / label / f"{index}.wav", _tone(300), 8000)
    dataset = load_dataset("wav_folder", folder=tmp_path, clip_seconds=0.5)
    assert (len(dataset.x_train), len(dataset.x_test)) == (6, 4)


def test_unusable_folders_get_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    wav.write_wav(tmp_path / "only" / "a.wav", _tone(300), 8000)
    wav.write_wav(tmp_path / "only" / "b.wav", _tone(300), 8000)
    with pytest.raises(DatasetError, match="needs at least two"):
        load_dataset("wav_folder", folder=tmp_path, clip_seconds=0.5)
    loose = tmp_path / "loose"
    loose.mkdir()
    wav.write_wav(loose / "hello.wav", _tone(300), 8000)
    wav.write_wav(loose / "x.wav", _tone(300), 8000)
    with pytest.raises(DatasetError, match="not FSDD-named"):
        load_dataset("wav_folder", folder=loose, clip_seconds=0.5)
    with pytest.raises(DatasetError, match="holds no .wav files"):
        load_dataset("wav_folder", folder=_empty(tmp_path), clip_seconds=0.5)


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "readme.txt").write_text("no sounds")
    return folder


def test_zip_of_fsdd_folder_and_zip_slip_refused(tmp_path: Path) -> None:
    source = _write_fsdd(tmp_path / "src" / "recordings", speakers=("jo",), indices=range(0, 6), digits=range(3))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in source.iterdir():
            archive.write(path, f"my_digits/{path.name}")
        archive.writestr("my_digits/notes.txt", "ignored")
    extracted = safe_extract_zip(buffer.getvalue(), tmp_path / "out", suffixes=AUDIO_SUFFIXES)
    assert extracted.skipped == ("my_digits/notes.txt",)
    dataset = load_dataset("wav_folder", folder=tmp_path / "out", clip_seconds=0.5)
    assert (len(dataset.x_train), len(dataset.x_test)) == (3, 15)

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("sounds/a/1.wav", wav.wav_bytes(_tone(300), 8000))
        archive.writestr("../../escape.wav", wav.wav_bytes(_tone(300), 8000))
    with pytest.raises(UploadError, match="outside the archive"):
        safe_extract_zip(evil.getvalue(), tmp_path / "evil", suffixes=AUDIO_SUFFIXES)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "escape.wav").exists()


# ---------------------------------------------------------------------------------------------
# FSDD and the synthetic default


def test_fsdd_offline_without_data_falls_back_to_labelled_synthetic() -> None:
    dataset = load_dataset("fsdd", clip_seconds=0.5)
    assert dataset.is_fallback and dataset.name == "synthetic_sounds"
    assert "Synthetic" in dataset.source and "FSDD was not found" in dataset.source


def test_fsdd_is_found_in_the_data_directory(tmp_path: Path) -> None:
    _write_fsdd(tmp_path / "fsdd" / "recordings", speakers=("jo",), indices=range(0, 6), digits=range(2))
    dataset = load_dataset("fsdd", data_dir=tmp_path, clip_seconds=0.5)
    assert dataset.name == "fsdd" and not dataset.is_fallback and "data directory" in dataset.source


def _fsdd_release_tarball(tmp_path: Path) -> Path:
    recordings = _write_fsdd(tmp_path / "release" / "free-spoken-digit-dataset-1.0.9" / "recordings",
                             speakers=("jo",), indices=range(0, 6), digits=range(2))
    archive = tmp_path / audio_data.FSDD_ARCHIVE_NAME
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(recordings.parent, arcname="free-spoken-digit-dataset-1.0.9")
    return archive


def test_fsdd_downloaded_once_is_then_found_in_the_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server) -> None:  # noqa: F811
    body = _fsdd_release_tarball(tmp_path).read_bytes()
    declare_official(monkeypatch, audio_data.FSDD_ARCHIVE_NAME, body)
    server.files[audio_data.FSDD_ARCHIVE_NAME] = Served(body)
    monkeypatch.delenv("DLLAB_OFFLINE")
    downloaded = load_dataset("fsdd", clip_seconds=0.5, allow_download=True)
    assert downloaded.name == "fsdd" and "downloaded from mirror" in downloaded.source
    assert (len(downloaded.x_train), len(downloaded.x_test)) == (2, 10)
    # Once unpacked into the Keras cache it is found there with the network off.
    monkeypatch.setenv("DLLAB_OFFLINE", "1")
    cached = load_dataset("fsdd", clip_seconds=0.5)
    assert "Keras cache" in cached.source and len(server.requests) == 1
    np.testing.assert_array_equal(cached.x_test, downloaded.x_test)


def test_synthetic_loader_is_flagged_and_waveform() -> None:
    dataset = load_dataset("synthetic_sounds", train_per_class=2, test_per_class=1, clip_seconds=0.5)
    assert dataset.is_fallback and dataset.extras["kind"] == "waveform"
    assert dataset.x_train.shape == (16, 4000) and dataset.num_classes == 8


def test_the_synthetic_set_is_generated_once_per_cache_and_read_back_identical(monkeypatch) -> None:
    from core.datasets import synthetic_sounds

    generated: list[int] = []
    original = audio_data.synthetic_sounds

    def counting(**options):
        generated.append(1)
        return original(**options)

    monkeypatch.setattr(audio_data, "synthetic_sounds", counting)
    options = dict(train_per_class=3, test_per_class=2, clip_seconds=0.25, seed=7)
    first = load_dataset("synthetic_sounds", **options)
    again = load_dataset("synthetic_sounds", **options)
    other_seed = load_dataset("synthetic_sounds", **{**options, "seed": 8})
    assert len(generated) == 2  # the second load of seed 7 read the cache
    fresh = synthetic_sounds.synthetic_sounds(**options)
    for name, expected in zip(("x_train", "y_train", "x_test", "y_test"), fresh):
        np.testing.assert_array_equal(getattr(first, name), expected)
        np.testing.assert_array_equal(getattr(again, name), expected)
    assert again.fingerprint == first.fingerprint != other_seed.fingerprint


def test_shared_fsdd_has_the_official_split(shared_data: Path) -> None:
    if not (shared_data / "fsdd" / "recordings").is_dir():
        pytest.skip("no fsdd/recordings in the shared data")
    dataset = load_dataset("fsdd", data_dir=shared_data, clip_seconds=1.0, allow_download=False)
    assert (len(dataset.x_train), len(dataset.x_test)) == (2700, 300)
    assert dataset.extras["sample_rate"] == 8000 and not dataset.extras["unreadable"]
    assert np.bincount(dataset.y_test).tolist() == [30] * 10


def test_the_loaders_never_import_the_audio_topic() -> None:
    """Datasets are below topics: WAV reading and the synthetic sounds live here so the topic imports them, not the reverse."""
    import ast

    import core.datasets

    for path in Path(core.datasets.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if name == "core.audio" or name.startswith("core.audio.")], path.name

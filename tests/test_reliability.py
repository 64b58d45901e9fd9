"""The reliability and security suite (issue 7, section 5): every bad input a user can hand the app.

Each test drives the page where the input enters, the way a user would (upload widget, folder
path, text box), and checks three things: the page answers with a clear ``st.error``, there is
no traceback, and the run already trained before the bad input is still in the cache and loads.
The README table "Reliability: what bad input gets" lists the same inputs and messages.
"""

from __future__ import annotations

import io
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import (
    app_test,
    assert_baseline_intact,
    baseline_dataset,
    baseline_run,
    baseline_settings,
    cifar_page,
)
from core import settings
from core.datasets import wav as audio
from core.cache import DiskCache
from core.cifar import LabSettings
from core.training import RunResult, load_model, train

AUDIO = "app_pages/audio_models.py"
FEATURE_MAPS = "app_pages/feature_maps.py"
TRANSFER = "app_pages/transfer_learning.py"
CALCULATOR = "app_pages/cnn_calculator.py"
BASELINE = baseline_settings()
pytestmark = pytest.mark.slow
_cifar_page = cifar_page
_baseline_dataset = baseline_dataset
_baseline_run = baseline_run
_assert_baseline_intact = assert_baseline_intact


def _runs_table(at):
    tables = [frame.value for frame in at.dataframe if "status" in frame.value.columns]
    return tables[0] if tables else None


def _errors(at) -> list[str]:
    return [error.value for error in at.error]


def _assert_clear_error(at, *fragments: str) -> None:
    assert not at.exception, at.exception
    errors = _errors(at)
    assert any(all(fragment in error for fragment in fragments) for error in errors), errors


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


def _npy_files(**changes: np.ndarray) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(0)
    arrays = {
        "X_train": rng.standard_normal((24, 12, 30)).astype(np.float32),
        "y_train": np.arange(24) % 3,
        "X_test": rng.standard_normal((9, 12, 30)).astype(np.float32),
        "y_test": np.arange(9) % 3,
    }
    arrays.update(changes)
    return [(f"{name}.npy", _npy(array), "application/octet-stream") for name, array in arrays.items()]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _tone_wav(frequency: float, rate: int = 8000) -> bytes:
    return audio.wav_bytes(0.3 * np.sin(2 * np.pi * frequency * np.arange(rate // 2) / rate), rate)


# ---------------------------------------------------------------------------------------------
# Images: the CIFAR page's "upload your own image" (the run must stay shown and cached)


def _upload_to_cifar(baseline: RunResult, name: str, content: bytes, mime: str):
    at = _cifar_page()
    assert not at.exception and len(_runs_table(at)) == 1  # the cached run shows without training
    at.file_uploader(key="upload").set_value((name, content, mime)).run()
    return at


def test_corrupt_jpeg(baseline: RunResult) -> None:
    good = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(good, format="JPEG")
    corrupt = good.getvalue()[: len(good.getvalue()) // 2]  # a real JPEG header, half the data
    at = _upload_to_cifar(baseline, "holiday.jpg", corrupt, "image/jpeg")
    _assert_clear_error(at, "holiday.jpg", "corrupt or truncated")
    assert len(_runs_table(at)) == 1
    _assert_baseline_intact(baseline)


def test_text_file_renamed_png(baseline: RunResult) -> None:
    at = _upload_to_cifar(baseline, "notes.png", b"Remember to bring the slides.\n" * 20, "image/png")
    _assert_clear_error(at, "notes.png", "not an image")
    assert len(_runs_table(at)) == 1
    _assert_baseline_intact(baseline)


def test_100_megapixel_image_is_refused_before_decoding(baseline: RunResult) -> None:
    bomb = _png(Image.new("1", (10_000, 10_000)))  # 100 megapixels in a few kB
    assert len(bomb) < 100_000
    at = _upload_to_cifar(baseline, "huge.png", bomb, "image/png")
    # Pillow's own guard fires while reading the header, before any pixel is decoded.
    _assert_clear_error(at, "huge.png", "megapixels", "decompression-bomb guard", "Resize it first")
    assert len(_runs_table(at)) == 1
    _assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# Archives: the audio and transfer pages' zip uploads


def test_zip_bomb_is_refused_before_inflating(baseline: RunResult) -> None:
    # 310 MB of silence deflates to ~300 kB; the audio page's cap is 300 MB.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("sounds/zero/0.wav", "w", force_zip64=True) as member:
            block = bytes(10_000_000)
            for _ in range(31):
                member.write(block)
    assert len(bomb.getvalue()) < 2_000_000
    at = app_test(AUDIO, timeout=120)
    at.radio(key="audio_source").set_value("zip").run()
    at.file_uploader(key="zip_upload").set_value(("sounds.zip", bomb.getvalue(), "application/zip")).run()
    _assert_clear_error(at, "would unpack to 310 MB", "limit is 300 MB")
    assert not (settings.cache_dir() / "audio-uploads").exists() or not any(
        (settings.cache_dir() / "audio-uploads").rglob("*.wav")
    )
    _assert_baseline_intact(baseline)


def _evil_files(since: float) -> list[Path]:
    """Any ``evil.txt`` written since ``since`` in the places an escaping member could land."""
    places = [Path(tempfile.gettempdir()), settings.cache_dir(), settings.cache_dir().parent, Path.cwd(), Path.cwd().parent]
    found = []
    for place in places:
        for pattern in ("evil.txt", "*/evil.txt"):
            found += [path for path in place.glob(pattern) if path.stat().st_mtime >= since]
    return found


def test_zip_slip_writes_nothing_outside(baseline: RunResult) -> None:
    started = time.time() - 1
    archive = _zip({"cats/0.png": _png(Image.new("RGB", (8, 8))), "../evil.txt": b"gotcha", "../../evil.txt": b"gotcha"})
    at = app_test(TRANSFER)
    at.radio(key="tl_source").set_value("zip").run()
    at.file_uploader(key="tl_zip").upload("classes.zip", archive, "application/zip").run()
    _assert_clear_error(at, "../evil.txt", "outside the archive")
    assert _evil_files(started) == []
    _assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# Arrays: the audio page's .npy upload


def _upload_npy(files):
    at = app_test(AUDIO, timeout=120)
    at.radio(key="audio_source").set_value("npy").run()
    at.file_uploader(key="npy_upload").set_value(files).run()
    return at


def test_pickled_npy_is_never_unpickled(baseline: RunResult) -> None:
    at = _upload_npy(_npy_files(X_train=np.array([{"a": 1}] * 24, dtype=object)))
    _assert_clear_error(at, "X_train.npy", "pickled array", "never loads pickles")
    _assert_baseline_intact(baseline)


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"X_test": np.zeros((9, 12, 31), np.float32)}, ("X_test examples are (12, 31)",)),
        ({"y_train": np.arange(23) % 3}, ("24", "23")),
    ],
    ids=["wrong shape", "mismatched length"],
)
def test_npy_with_wrong_shape_or_length(baseline: RunResult, changes, fragments) -> None:
    at = _upload_npy(_npy_files(**changes))
    _assert_clear_error(at, *fragments)
    _assert_baseline_intact(baseline)


def test_nan_features(baseline: RunResult) -> None:
    features = np.random.default_rng(1).standard_normal((24, 12, 30)).astype(np.float32)
    features[3, 4, 5] = np.nan
    at = _upload_npy(_npy_files(X_train=features))
    _assert_clear_error(at, "NaN or infinite")
    _assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# Folders and sounds


def test_single_class_folder(baseline: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "one_class" / "cats").mkdir(parents=True)
    for index in range(6):
        (tmp_path / "one_class" / "cats" / f"{index}.png").write_bytes(_png(Image.new("L", (10, 10), index * 40)))
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path))  # the page reads only data-directory folders
    at = app_test(FEATURE_MAPS)
    at.radio(key="fm_source").set_value("folder").run()
    at.selectbox(key="fm_folder").set_value("one_class").run()
    _assert_clear_error(at, "cats")
    _assert_baseline_intact(baseline)


def test_single_class_wav_zip(baseline: RunResult) -> None:
    archive = _zip({f"sounds/low/{index}.wav": _tone_wav(250.0) for index in range(6)})
    at = app_test(AUDIO, timeout=120)
    at.radio(key="audio_source").set_value("zip").run()
    at.file_uploader(key="zip_upload").set_value(("one_class.zip", archive, "application/zip")).run()
    _assert_clear_error(at, "class")
    _assert_baseline_intact(baseline)


def test_wav_with_a_lying_header(baseline: RunResult) -> None:
    honest = _tone_wav(1000.0)
    # The data chunk claims a million bytes the file does not have.
    data_at = honest.index(b"data")
    lying = honest[: data_at + 4] + struct.pack("<I", 1_000_000) + honest[data_at + 8 :]
    members = {f"sounds/low/{index}.wav": _tone_wav(250.0) for index in range(5)}
    members.update({f"sounds/high/{index}.wav": honest for index in range(4)})
    members["sounds/high/liar.wav"] = lying
    at = app_test(AUDIO, timeout=120)
    at.radio(key="audio_source").set_value("zip").run()
    at.file_uploader(key="zip_upload").set_value(("sounds.zip", _zip(members), "application/zip")).run()
    # The other nine clips are fine, so the page keeps them and names the liar in a warning.
    assert not at.exception and not _errors(at)
    warnings = [warning.value for warning in at.warning]
    assert any("liar.wav" in text and "header lies" in text for text in warnings), warnings
    _assert_baseline_intact(baseline)


def test_kernel_larger_than_its_input(baseline: RunResult) -> None:
    at = app_test(CALCULATOR)
    at.selectbox(key="preset").set_value("cats_dogs_cnn").run()
    at.text_input(key="input_shape").input("2, 2, 1").run()
    _assert_clear_error(at, "kernel 3×3 is larger than its 2×2 input")
    _assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# Training that goes wrong, and a damaged cache


def test_learning_rate_10_diverges_and_the_page_says_so(baseline: RunResult) -> None:
    # The page's own slider stops at 0.1; a rate of 10 comes from the engine, as a shared cache
    # or a script would supply it. Measured: plain SGD at 10 makes the fast net's loss NaN at once.
    wild = LabSettings(per_class=10, epochs=1, optimizer="sgd", learning_rate=10.0, augment=False, one_cycle=False, batch_size=16)
    result = train(wild.train_config(), _baseline_dataset())
    assert result.status == "diverged" and "Diverged" in result.message
    at = _cifar_page()
    assert not at.exception
    # Not the page's current settings (its slider cannot reach 10), so the report is the runs table's row.
    table = _runs_table(at)
    assert sorted(table["status"]) == ["diverged", "ok"]
    assert not _errors(at)
    _assert_baseline_intact(baseline)


@pytest.mark.parametrize("victim", ["model.keras", "result.json"])
def test_truncated_cache_entry_is_retrained_not_a_crash(baseline: RunResult, victim: str) -> None:
    path = DiskCache().entry_path("runs", baseline.key) / victim
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    at = _cifar_page(timeout=180)
    assert not at.exception and not _errors(at)
    assert _runs_table(at) is None and not at.button(key="train").disabled  # the damaged run is gone
    at.button(key="train").click().run()
    assert not at.exception and not _errors(at)
    assert list(_runs_table(at)["status"]) == ["ok"]
    again = _baseline_run()
    assert again is not None and again.key == baseline.key
    assert load_model(again).count_params() == baseline.params

"""AppTest of the audio page: the synthetic default, controls, train all three, cached re-runs, uploads and bad data."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import app_test

from core.datasets import synthetic_sounds, wav

PAGE = "app_pages/audio_models.py"
pytestmark = pytest.mark.slow


def _small(at):
    """Short clips and one epoch, so a full training takes seconds."""
    at.slider(key="clip_seconds").set_value(0.5).run()
    at.number_input(key="epochs").set_value(1).run()
    at.selectbox(key="trees_choice").set_value(10).run()
    return at


def _results(at):
    """The results table (dataframes carry no key in AppTest, so find it by its columns)."""
    return next(frame.value for frame in at.dataframe if "macro-F1" in frame.value.columns)


def _npy(array: np.ndarray, *, pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=pickle)
    return buffer.getvalue()


def _npy_files(**changes) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(0)
    arrays = {
        "X_train": rng.standard_normal((24, 12, 30)).astype(np.float32),
        "y_train": np.arange(24) % 3,
        "X_test": rng.standard_normal((9, 12, 30)).astype(np.float32),
        "y_test": np.arange(9) % 3,
    }
    arrays.update(changes)
    files = []
    for name, array in arrays.items():
        content = _npy(array, pickle=array.dtype == object)
        files.append((f"{name}.npy", content, "application/octet-stream"))
    return files


def test_renders_on_the_synthetic_default_and_controls_rerun() -> None:
    at = app_test(PAGE, timeout=240)
    assert not at.exception
    assert any("Synthetic sounds" in warning.value for warning in at.warning)
    assert at.button(key="train_all").disabled is False
    at.slider(key="mel_bands").set_value(24).run()
    at.selectbox(key="frame_length").set_value(512).run()
    at.radio(key="feature_kind").set_value("mfcc").run()
    at.slider(key="mfcc_count").set_value(10).run()
    at.slider(key="examples_per_class").set_value(2).run()
    at.selectbox(key="trees_choice").set_value("other").run()
    at.number_input(key="trees_other").set_value(7).run()
    at.selectbox(key="rnn_cell").set_value("gru").run()
    assert not at.exception and not at.error


def test_train_all_three_then_cached_results_reappear_without_training(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _small(app_test(PAGE, timeout=300))
    at.button(key="train_all").click().run()
    assert not at.exception and not at.error
    results = _results(at)
    assert list(results["model"]) == ["Random forest (10 trees)", "CNN", "LSTM"]
    assert results["test accuracy"].between(0, 1).all()
    downloads = {button.key: button.label for button in at.get("download_button")}
    assert downloads == {
        "download_results": "Download as CSV",
        "download_cnn": "CNN (.keras)",
        "download_rnn": "LSTM (.keras)",
        "download_per_class": "Per-class accuracy as CSV",
    }
    at.run()
    assert at.button(key="train_all").disabled and list(_results(at)["model"]) == list(results["model"])

    # A new session with the same settings trains nothing: the queue would fail if called.
    import core.training.executor

    def refuse(*args, **kwargs):
        raise AssertionError("retrained a cached model")

    with monkeypatch.context() as patch:
        patch.setattr(core.training.executor.Executor, "submit", refuse)
        again = _small(app_test(PAGE, timeout=300))
        assert not again.exception and again.button(key="train_all").disabled
        assert list(_results(again)["model"]) == list(results["model"])

    # Labelling an uploaded clip refits the forest in memory (allowed again) and asks every model.
    clip = synthetic_sounds.synthetic_sounds(train_per_class=1, test_per_class=1, clip_seconds=0.5, seed=9)[0][0]
    again.file_uploader(key="wav_upload").set_value(("mine.wav", wav.wav_bytes(clip, 16000), "audio/wav")).run()
    assert not again.exception and not again.error
    again.file_uploader(key="wav_upload").set_value(("bad.wav", b"RIFF1234WAVEjunk", "audio/wav")).run()
    assert not again.exception and any("bad.wav" in error.value for error in again.error)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (_npy_files(X_train=np.array([{"a": 1}] * 24, dtype=object)), "pickled array"),
        (_npy_files(X_test=np.zeros((9, 12, 31), np.float32)), "X_test examples are (12, 31)"),
        (_npy_files(X_train=np.full((24, 12, 30), np.nan, np.float32)), "NaN or infinite"),
        (_npy_files(y_train=np.zeros(24, np.int64)), "only one class"),
        (_npy_files()[:3], "still missing y_test.npy"),
    ],
)
def test_bad_npy_uploads_show_an_error_not_a_traceback(files, message: str) -> None:
    at = app_test(PAGE, timeout=120)
    at.radio(key="audio_source").set_value("npy").run()
    at.file_uploader(key="npy_upload").set_value(files).run()
    assert not at.exception
    assert any(message in error.value for error in at.error), [error.value for error in at.error]


def test_good_npy_upload_with_axis_override_and_a_zip_upload() -> None:
    at = app_test(PAGE, timeout=120)
    at.radio(key="audio_source").set_value("npy").run()
    at.file_uploader(key="npy_upload").set_value(_npy_files()).run()
    assert not at.exception and not at.error
    at.radio(key="axis_order").set_value("frames_bands").run()
    assert not at.exception and not at.error

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, frequency in (("low", 250.0), ("high", 1000.0)):
            for index in range(5):
                tone = 0.3 * np.sin(2 * np.pi * frequency * np.arange(4000) / 8000)
                archive.writestr(f"set/{label}/{index}.wav", wav.wav_bytes(tone, 8000))
    at.radio(key="audio_source").set_value("zip").run()
    at.file_uploader(key="zip_upload").set_value(("sounds.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception and not at.error

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.wav", wav.wav_bytes(np.zeros(100), 8000))
    at.file_uploader(key="zip_upload").set_value(("evil.zip", evil.getvalue(), "application/zip")).run()
    assert not at.exception and any("outside the archive" in error.value for error in at.error)


def test_real_fsdd_from_the_data_directory_renders(shared_data, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (shared_data / "fsdd" / "recordings").is_dir():
        pytest.skip("no fsdd/recordings in the shared data")
    monkeypatch.setenv("DLLAB_DATA_DIR", str(shared_data))
    at = app_test(PAGE, timeout=240)
    at.radio(key="audio_source").set_value("fsdd").run()
    assert not at.exception and not at.error
    assert [metric.value for metric in at.metric][:3] == ["10", "2,430", "300"]
    at.radio(key="audio_source").set_value("folder").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="wav_folder").value.name == "fsdd"


def _linked(query: dict[str, str]):
    """The page opened from a link carrying ``query``, set before the page's first run as a browser would."""
    at = app_test(PAGE, query=query, timeout=240)
    assert not at.exception and not at.error
    return at


def test_a_link_restores_the_settings_and_a_bad_value_falls_back() -> None:
    at = _linked({
        "clip_seconds": "0.5", "mel_bands": "24", "feature_kind": "mfcc", "mfcc_count": "10", "trees_choice": "other",
        "trees_other": "7", "rnn_cell": "gru", "epochs": "2", "batch_size": "64", "learning_rate": "0.003", "patience": "0",
    })
    assert at.slider(key="clip_seconds").value == 0.5 and at.slider(key="mel_bands").value == 24
    assert at.radio(key="feature_kind").value == "mfcc" and at.slider(key="mfcc_count").value == 10
    assert at.selectbox(key="trees_choice").value == "other" and at.number_input(key="trees_other").value == 7
    assert at.selectbox(key="rnn_cell").value == "gru" and at.number_input(key="epochs").value == 2
    assert at.selectbox(key="batch_size").value == 64 and at.select_slider(key="learning_rate").value == 3e-3
    assert at.number_input(key="patience").value == 0
    assert len(at.toast) == 0

    bad = _linked({"hop_length": "100", "rnn_cell": "transformer", "epochs": "2"})
    assert bad.selectbox(key="hop_length").value == 128 and bad.selectbox(key="rnn_cell").value == "lstm"
    assert bad.number_input(key="epochs").value == 2
    notices = " ".join(toast.value for toast in bad.toast)
    assert "hop_length" in notices and "rnn_cell" in notices
    assert bad.query_params["hop_length"] == "128"

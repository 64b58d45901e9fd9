"""Audio model builders against closed-form parameter counts, the feature pipeline and the cached random forest."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from core.audio.comparison import CNN_NETWORK, cached_comparison, cnn_config, comparison_rows, network_label, reported_figures, rnn_config
from core.audio.feature_dataset import audio_features, clip_features
from core.audio.features import FeatureSettings
from core.audio.forest import forest_config, macro_f1
from core.calculator import describe_layers
from core.audio.sources import data_work, npy_upload_dataset, unpacked_zip, upload_digest
from core.datasets import load_dataset, stratified_split, wav
from core.datasets.audio import audio_npy_dataset
from core.training import cached_result, train


def exercise_cnn_params(bands: int, frames: int, classes: int) -> int:
    """conv 5×5×1×32 (+32), conv 5×5×32×32 (+32), dense from 32 × ⌊⌊(b−4)/2⌋/2⌋ × ⌊⌊(f−4)/2⌋/2⌋."""
    flat = 32 * (((bands - 4) // 2) // 2) * (((frames - 4) // 2) // 2)
    return (25 * 32 + 32) + (25 * 32 * 32 + 32) + (flat * classes + classes)


def recurrent_params(cell: str, bands: int, frames: int, classes: int, units: int = 32) -> int:
    """LSTM 4·(u(m+u)+u); GRU (Keras' reset_after) 3·(u(m+u)+2u); BiLSTM twice the LSTM; then dense over frames·outputs."""
    lstm = 4 * (units * (bands + units) + units)
    recurrent = {"lstm": lstm, "gru": 3 * (units * (bands + units) + 2 * units), "bilstm": 2 * lstm}[cell]
    outputs = units * (2 if cell == "bilstm" else 1)
    return recurrent + frames * outputs * classes + classes


def test_exercise_cnn_on_the_exercises_shape_has_the_closed_form_params() -> None:
    from core.models import build_model

    model = build_model("audio_cnn", (40, 501), 15)
    assert model.count_params() == exercise_cnn_params(40, 501, 15) == 562_159
    assert model.output_shape == (None, 15)
    # The exercise fed (40, 501, 1); the builder accepts that too.
    assert build_model("audio_cnn", (40, 501, 1), 15).count_params() == 562_159
    assert build_model("audio_cnn", (40, 61), 10).count_params() == exercise_cnn_params(40, 61, 10)


def test_exercise_cnn_is_built_from_the_homework_layers() -> None:
    from core.models import build_model

    model = build_model("audio_cnn", (40, 501), 15)
    assert model.name == "audio_cnn"
    built = [layer for layer in model.layers if layer.__class__.__name__ in ("Conv2D", "MaxPooling2D", "Flatten", "Dense")]
    kinds = {"Conv2D": "conv2d", "MaxPooling2D": "maxpool2d", "Flatten": "flatten", "Dense": "dense"}
    assert [kinds[layer.__class__.__name__] for layer in built] == [layer["type"] for layer in CNN_NETWORK.layers]
    convolutions = [layer for layer in built if layer.__class__.__name__ == "Conv2D"]
    written = [layer for layer in CNN_NETWORK.layers if layer["type"] == "conv2d"]
    assert [(c.filters, c.kernel_size, c.padding) for c in convolutions] == [
        (layer["filters"], (layer["kernel"], layer["kernel"]), layer["padding"]) for layer in written
    ]
    assert built[-1].units == 15 and built[-1].activation.__name__ == "softmax"


def test_the_page_states_the_cnn_and_the_figures_from_the_homework_table() -> None:
    assert describe_layers(CNN_NETWORK.layers[:-1]) == (
        "conv 5×5×32 → max-pool 2 → conv 5×5×32, same padding → max-pool 2 → flatten"
    )
    assert network_label(cnn_config()) == "CNN" and network_label(rnn_config("gru")) == "GRU"
    figures = reported_figures()
    assert {row["reported by"] for row in figures} == {"DATA.ML.200 Exercise 5 (Tampere)"}
    assert [row["reported test accuracy"] for row in figures] == [0.515, 0.583, 0.595, 0.449, 0.589]


@pytest.mark.parametrize("cell", ["lstm", "gru", "bilstm"])
def test_recurrent_builders_match_closed_forms(cell: str) -> None:
    from core.models import build_model

    model = build_model("audio_rnn", (40, 61), 10, cell=cell)
    assert model.count_params() == recurrent_params(cell, 40, 61, 10)


def test_exercise_lstm_reads_frames_as_timesteps() -> None:
    from core.models import build_model

    model = build_model("audio_rnn", (40, 501), 15, cell="lstm")
    assert model.count_params() == recurrent_params("lstm", 40, 501, 15)
    recurrent = next(layer for layer in model.layers if layer.__class__.__name__ == "LSTM")
    assert recurrent.input.shape == (None, 501, 40)
    assert recurrent.kernel_initializer.__class__.__name__ == "HeUniform"


def test_too_small_inputs_and_unknown_cells_are_clear_errors() -> None:
    from core.models import build_model

    with pytest.raises(ValueError, match="too small"):
        build_model("audio_cnn", (6, 40), 3)
    with pytest.raises(ValueError, match="cell must be one of"):
        build_model("audio_rnn", (13, 40), 3, cell="transformer")
    with pytest.raises(ValueError, match="cell must be one of"):
        rnn_config("transformer")


def test_exercise_defaults_in_the_configs() -> None:
    cnn = cnn_config()
    assert (cnn.batch_size, cnn.epochs, cnn.early_stopping_patience, cnn.optimizer) == (64, 50, 10, "adam")
    lstm = rnn_config()
    assert (lstm.batch_size, lstm.epochs, dict(lstm.model_options)["cell"]) == (32, 50, "lstm")


@pytest.fixture(scope="module")
def tiny_sounds():
    return load_dataset("synthetic_sounds", train_per_class=10, test_per_class=3, clip_seconds=0.5)


def test_features_are_cached_standardised_and_split(tiny_sounds, isolated_environment) -> None:
    settings = FeatureSettings(mel_bands=20)
    features = audio_features(tiny_sounds, settings)
    assert features.input_shape == (20, settings.frames(4000))
    assert len(features.x_train) + len(features.x_val) == 80 and len(features.x_val) == 8  # 1 per class
    assert abs(float(features.x_train.mean())) < 0.2
    assert list((isolated_environment / "audio-features").iterdir())
    again = audio_features(tiny_sounds, settings)
    np.testing.assert_array_equal(again.x_test, features.x_test)
    with pytest.raises(ValueError, match="8000 Hz"):
        audio_features(tiny_sounds, FeatureSettings(sample_rate=16000))


def test_stratified_split_holds_out_a_share_of_every_class() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2])
    keep, held, none = stratified_split(labels, val_fraction=0.2, test_fraction=0.0, seed=0)
    assert len(none) == 0
    assert np.bincount(labels[held]).tolist() == [2, 2]  # the single example of class 2 stays in training
    assert len(np.intersect1d(keep, held)) == 0 and len(keep) + len(held) == len(labels)


def test_forest_runs_through_the_engine_and_caches_scores_not_a_pickle(tiny_sounds, isolated_environment) -> None:
    features = audio_features(tiny_sounds, FeatureSettings(mel_bands=20))
    assert cached_result(forest_config(10), features) is None
    first = train(forest_config(10), features)
    assert not first.from_cache and 0 <= first.test_accuracy <= 1 and first.params > 10  # params: the trees' nodes
    assert first.test_predictions.shape == (24, 8)
    assert first.test_accuracy == pytest.approx(np.mean(first.predicted_labels == features.y_test))
    entry = next(path for path in (isolated_environment / "runs").iterdir() if path.is_dir())
    assert not any(path.suffix in {".pkl", ".pickle", ".joblib", ".keras"} for path in entry.iterdir())
    again = train(forest_config(10), features)
    assert again.from_cache and again.test_accuracy == first.test_accuracy
    np.testing.assert_array_equal(again.test_predictions, first.test_predictions)
    assert cached_result(forest_config(11), features) is None


def test_macro_f1_worked_example() -> None:
    # class 0: P=1, R=0.5 → F1 2/3; class 1: P=2/3, R=1 → F1 0.8; macro = (2/3 + 0.8) / 2
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2) == pytest.approx((2 / 3 + 0.8) / 2)


def test_macro_f1_agrees_with_scikit_learn_also_on_absent_classes() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for _ in range(300):
        classes, count = int(rng.integers(2, 12)), int(rng.integers(1, 40))
        y_true = rng.integers(0, classes, count)
        y_pred = rng.integers(0, max(1, classes - int(rng.integers(0, 3))), count)  # some classes never predicted
        expected = f1_score(y_true, y_pred, labels=np.arange(classes), average="macro", zero_division=0)
        assert macro_f1(y_true, y_pred, classes) == pytest.approx(expected, abs=1e-12)


def test_an_uploaded_clip_becomes_the_same_features(tiny_sounds) -> None:
    settings = FeatureSettings(mel_bands=20)
    features = audio_features(tiny_sounds, settings)
    clip = tiny_sounds.x_test[0]
    samples, rate = wav.read_wav(wav.wav_bytes(wav.resample(clip, 8000, 16000), 16000))
    image = clip_features(samples, rate, features)
    assert image.shape == (1, *features.input_shape)
    assert np.corrcoef(image.ravel(), features.x_test[0].ravel())[0, 1] > 0.95


def test_npy_features_cannot_label_a_wav() -> None:
    rng = np.random.default_rng(0)
    data = audio_npy_dataset({"X_train": rng.random((6, 8, 20)), "y_train": np.arange(6) % 2,
                              "X_test": rng.random((2, 8, 20)), "y_test": np.array([0, 1])})
    features = audio_features(data)
    assert features.input_shape == (8, 20)
    with pytest.raises(ValueError, match="no recipe"):
        clip_features(np.zeros(100, np.float32), 8000, features)
    rows = comparison_rows({"Random forest (5 trees)": train(forest_config(5), features)}, features.y_test, features.num_classes)
    assert rows[0]["model"] == "Random forest (5 trees)" and set(rows[0]) >= {"test accuracy", "macro-F1", "fit s", "predict s", "params"}


def test_spectrogram_image_puts_low_bands_at_the_bottom_in_magma() -> None:
    from core.viz import spectrogram_image

    image = np.zeros((4, 10))
    image[0] = 1.0  # the lowest band is the loudest
    picture = spectrogram_image(image, height=8, max_width=40)
    assert picture.shape == (8, 16, 3) and picture.dtype == np.uint8  # at least twice as wide as tall
    assert picture[-1].mean() > 200 and picture[0].max() < 10  # pale yellow at the bottom, near-black on top
    with pytest.raises(ValueError, match="bands, frames"):
        spectrogram_image(np.zeros(4))


def test_a_comparison_knows_what_ran_and_names_it(tiny_sounds, isolated_environment) -> None:
    features = audio_features(tiny_sounds, FeatureSettings(mel_bands=20))
    configs = {"forest": forest_config(5), "cnn": cnn_config(epochs=1), "rnn": rnn_config(epochs=1)}
    empty = cached_comparison(features, configs)
    assert empty.is_empty and empty.pending == 3 and empty.predictions == {} and empty.rows(features) == []
    forest = train(forest_config(5), features)
    found = cached_comparison(features, configs)
    assert not found.is_empty and found.pending == 2 and found.forest.from_cache
    np.testing.assert_array_equal(found.predictions["Random forest (5 trees)"], forest.predicted_labels)
    assert [row["model"] for row in found.rows(features)] == ["Random forest (5 trees)"]


def _sound_zip(classes: tuple[str, ...] = ("low", "high"), per_class: int = 3) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label in classes:
            for index in range(per_class):
                archive.writestr(f"set/{label}/{index}.wav", wav.wav_bytes(np.zeros(800), 8000))
    return buffer.getvalue()


def test_data_work_counts_clips_from_listings_and_headers_only() -> None:
    clips, work = data_work("synthetic", 8000, 1.0, None, None, None)
    assert clips == 8 * 80 and work.seconds > 0 and work.peak_bytes > 0
    assert data_work("zip", 8000, 1.0, None, None, _sound_zip())[0] == 6
    assert data_work("folder", 8000, 1.0, None, None, None) == (0, data_work("zip", 8000, 1.0, None, None, None)[1])


def test_an_uploaded_zip_is_unpacked_once_into_the_uploads_pool(isolated_environment) -> None:
    payload = _sound_zip()
    digest = upload_digest(payload)
    folder = unpacked_zip(digest, payload)
    assert folder.parent.name == "audio-uploads" and len(wav.wav_files(folder)) == 6
    assert unpacked_zip(digest, b"never read: the digest is cached already") == folder


def test_npy_uploads_name_what_is_missing() -> None:
    class Upload:
        def __init__(self, name: str, array: np.ndarray) -> None:
            self.name, buffer = name, io.BytesIO()
            np.save(buffer, array)
            self.content = buffer.getvalue()

        def getvalue(self) -> bytes:
            return self.content

    with pytest.raises(ValueError, match="still missing y_train.npy, X_test.npy, y_test.npy;"):
        npy_upload_dataset([Upload("X_train.npy", np.zeros((2, 4, 8)))], "auto")
    rng = np.random.default_rng(0)
    files = [Upload("X_train.npy", rng.random((6, 4, 8))), Upload("y_train.npy", np.arange(6) % 2),
             Upload("X_test.npy", rng.random((2, 4, 8))), Upload("y_test.npy", np.array([0, 1]))]
    assert npy_upload_dataset(files, "frames_bands").input_shape == (8, 4)

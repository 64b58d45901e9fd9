"""Audio model builders against closed-form parameter counts, the feature pipeline and the cached random forest."""

from __future__ import annotations

import numpy as np
import pytest

from core import audio
from core.audio_models import (
    audio_features,
    cached_forest_result,
    clip_features,
    cnn_config,
    comparison_rows,
    macro_f1,
    rnn_config,
    train_forest,
)
from core.datasets import load_dataset, stratified_split
from core.datasets.audio import audio_npy_dataset


def seed_cnn_params(bands: int, frames: int, classes: int) -> int:
    """conv 5×5×1×32 (+32), conv 5×5×32×32 (+32), dense from 32 × ⌊⌊(b−4)/2⌋/2⌋ × ⌊⌊(f−4)/2⌋/2⌋."""
    flat = 32 * (((bands - 4) // 2) // 2) * (((frames - 4) // 2) // 2)
    return (25 * 32 + 32) + (25 * 32 * 32 + 32) + (flat * classes + classes)


def recurrent_params(cell: str, bands: int, frames: int, classes: int, units: int = 32) -> int:
    """LSTM 4·(u(m+u)+u); GRU (Keras' reset_after) 3·(u(m+u)+2u); BiLSTM twice the LSTM; then dense over frames·outputs."""
    lstm = 4 * (units * (bands + units) + units)
    recurrent = {"lstm": lstm, "gru": 3 * (units * (bands + units) + 2 * units), "bilstm": 2 * lstm}[cell]
    outputs = units * (2 if cell == "bilstm" else 1)
    return recurrent + frames * outputs * classes + classes


def test_seed_cnn_on_the_seeds_shape_has_the_closed_form_params() -> None:
    from core.models import build_model

    model = build_model("audio_cnn", (40, 501), 15)
    assert model.count_params() == seed_cnn_params(40, 501, 15) == 562_159
    assert model.output_shape == (None, 15)
    # The seed fed (40, 501, 1); the builder accepts that too.
    assert build_model("audio_cnn", (40, 501, 1), 15).count_params() == 562_159
    assert build_model("audio_cnn", (40, 61), 10).count_params() == seed_cnn_params(40, 61, 10)


@pytest.mark.parametrize("cell", ["lstm", "gru", "bilstm"])
def test_recurrent_builders_match_closed_forms(cell: str) -> None:
    from core.models import build_model

    model = build_model("audio_rnn", (40, 61), 10, cell=cell)
    assert model.count_params() == recurrent_params(cell, 40, 61, 10)


def test_seed_lstm_reads_frames_as_timesteps() -> None:
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


def test_seed_defaults_in_the_configs() -> None:
    cnn = cnn_config()
    assert (cnn.batch_size, cnn.epochs, cnn.early_stopping_patience, cnn.optimizer) == (64, 50, 10, "adam")
    lstm = rnn_config()
    assert (lstm.batch_size, lstm.epochs, dict(lstm.model_options)["cell"]) == (32, 50, "lstm")


@pytest.fixture(scope="module")
def tiny_sounds():
    return load_dataset("synthetic_sounds", train_per_class=10, test_per_class=3, clip_seconds=0.5)


def test_features_are_cached_standardised_and_split(tiny_sounds, isolated_environment) -> None:
    settings = audio.FeatureSettings(mel_bands=20)
    features = audio_features(tiny_sounds, settings)
    assert features.input_shape == (20, settings.frames(4000))
    assert len(features.x_train) + len(features.x_val) == 80 and len(features.x_val) == 8  # 1 per class
    assert abs(float(features.x_train.mean())) < 0.2
    assert list((isolated_environment / "audio-features").iterdir())
    again = audio_features(tiny_sounds, settings)
    np.testing.assert_array_equal(again.x_test, features.x_test)
    with pytest.raises(ValueError, match="8000 Hz"):
        audio_features(tiny_sounds, audio.FeatureSettings(sample_rate=16000))


def test_stratified_split_holds_out_a_share_of_every_class() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2])
    keep, held, none = stratified_split(labels, val_fraction=0.2, test_fraction=0.0, seed=0)
    assert len(none) == 0
    assert np.bincount(labels[held]).tolist() == [2, 2]  # the single example of class 2 stays in training
    assert len(np.intersect1d(keep, held)) == 0 and len(keep) + len(held) == len(labels)


def test_forest_is_cached_as_json_and_npy_not_a_pickle(tiny_sounds, isolated_environment) -> None:
    features = audio_features(tiny_sounds, audio.FeatureSettings(mel_bands=20))
    assert cached_forest_result(features, 10) is None
    first = train_forest(features, 10)
    assert not first.from_cache and 0 <= first.test_accuracy <= 1 and first.nodes > 10
    assert first.test_probabilities.shape == (24, 8)
    assert first.test_accuracy == pytest.approx(np.mean(first.predicted_labels == features.y_test))
    entry = next((isolated_environment / "audio-forest").iterdir())
    assert sorted(path.name for path in entry.iterdir()) == ["probabilities.npy", "result.json"]
    again = train_forest(features, 10)
    assert again.from_cache and again.test_accuracy == first.test_accuracy
    np.testing.assert_array_equal(again.test_probabilities, first.test_probabilities)
    assert cached_forest_result(features, 11) is None


def test_macro_f1_worked_example() -> None:
    # class 0: P=1, R=0.5 → F1 2/3; class 1: P=2/3, R=1 → F1 0.8; macro = (2/3 + 0.8) / 2
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2) == pytest.approx((2 / 3 + 0.8) / 2)


def test_an_uploaded_clip_becomes_the_same_features(tiny_sounds) -> None:
    settings = audio.FeatureSettings(mel_bands=20)
    features = audio_features(tiny_sounds, settings)
    clip = tiny_sounds.x_test[0]
    samples, rate = audio.read_wav(audio.wav_bytes(audio.resample(clip, 8000, 16000), 16000))
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
    rows = comparison_rows(train_forest(features, 5), {}, features.y_test, features.num_classes)
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

"""Row-reading RNN/LSTM/GRU classifiers and the CNN baseline: parameter formulas against Keras, and training."""

from __future__ import annotations

import numpy as np
import pytest

from core import charts
from core.datasets import Dataset, load_dataset
from core.models import build_model
from core.sequence import (
    MODEL_KINDS,
    classifier_params,
    histories,
    misclassified,
    model_label,
    parse_learning_rate,
    recurrent_params,
    reported_rows,
    results_table,
    sequence_config,
)
from core.training import cached_result, train


def test_closed_form_recurrent_params_match_worked_examples() -> None:
    # units·(units+features+1) per gate; Keras' GRU (reset_after=True) has a second bias row.
    assert recurrent_params("simple_rnn", features=28, units=128) == 20_096
    assert recurrent_params("lstm", features=28, units=128) == 80_384
    assert recurrent_params("gru", features=28, units=128) == 60_672
    assert recurrent_params("lstm", features=40, units=32) == 9_344
    # The homework's models: recurrent layer plus Dense(10) = 128·10 + 10 = 1,290.
    assert classifier_params("lstm", (28, 28, 1), 10, units=128) == 80_384 + 1_290
    assert classifier_params("simple_rnn", (28, 28, 1), 10, units=128) == 20_096 + 1_290
    assert classifier_params("gru", (28, 28, 1), 10, units=128) == 60_672 + 1_290
    # CNN: 320 + 18,496 conv weights, 7·7·64 = 3,136 flattened into 128, then 10.
    assert classifier_params("row_cnn", (28, 28, 1), 10) == 320 + 18_496 + 3_136 * 128 + 128 + 1_290


@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("input_shape", [(28, 28, 1), (8, 8, 1)])
def test_builders_match_formulas_and_shapes(kind: str, input_shape: tuple[int, int, int]) -> None:
    for units in (50, 128, 300) if kind != "row_cnn" else (None,):
        options = {"units": units} if units is not None else {}
        model = build_model(kind, input_shape, 10, **options)
        assert model.count_params() == classifier_params(kind, input_shape, 10, units=units or 0)
        assert tuple(model.output_shape) == (None, 10)
        if units is not None:
            # Rows become timesteps: (batch, height, width), and the last hidden state is (batch, units).
            assert tuple(model.get_layer("rows_as_timesteps").output.shape) == (None, input_shape[0], input_shape[1])
            assert tuple(model.get_layer(kind).output.shape) == (None, units)
    probabilities = model.predict(np.zeros((2, *input_shape), dtype=np.float32), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_invalid_inputs_raise_clear_value_errors() -> None:
    with pytest.raises(ValueError, match="hidden units"):
        sequence_config("lstm", units=0)
    with pytest.raises(ValueError, match="hidden units"):
        build_model("gru", (28, 28, 1), 10, units=-3)
    with pytest.raises(ValueError, match="model must be one of"):
        sequence_config("transformer", units=128)
    with pytest.raises(ValueError, match="at least 4×4"):
        build_model("row_cnn", (2, 2, 1), 10)
    with pytest.raises(ValueError, match="kind must be one of"):
        recurrent_params("rnn", features=28, units=128)
    with pytest.raises(ValueError, match="learning_rate"):
        sequence_config("lstm", units=128, learning_rate=-1.0)
    for bad in ("abc", "", "0", "-1e-3", "nan", "inf", "1e9"):
        with pytest.raises(ValueError, match="learning rate"):
            parse_learning_rate(bad)
    assert parse_learning_rate(" 1e-3 ") == pytest.approx(0.001)
    assert parse_learning_rate("0.01") == pytest.approx(0.01)


def test_configurations_key_what_matters() -> None:
    # The CNN has no hidden state, so the units setting must not split its cache entries.
    assert sequence_config("row_cnn", units=50) == sequence_config("row_cnn", units=300)
    assert sequence_config("lstm", units=50) != sequence_config("lstm", units=300)
    homework_default = sequence_config("lstm", units=128)
    assert (homework_default.optimizer, homework_default.learning_rate, homework_default.batch_size) == ("rmsprop", 1e-3, 128)
    assert isinstance(sequence_config("gru", units=8, learning_rate=1).learning_rate, float)
    tuned = sequence_config("gru", units=128, lr_schedule="one_cycle", time_budget_seconds=60.0)
    assert (tuned.lr_schedule, tuned.time_budget_seconds) == ("one_cycle", 60.0) and tuned != sequence_config("gru", units=128)
    assert model_label(sequence_config("gru", units=300)) == "GRU (300)"
    assert model_label(sequence_config("row_cnn", units=300)) == "CNN"


def test_reported_figures_are_the_homeworks_and_published_numbers() -> None:
    rows = reported_rows()
    assert not any("seed" in row["reported by"].lower() for row in rows)
    homework = {row["model"]: row["reported test accuracy"] for row in rows if "ELEC 576 Assignment 2 (Rice)" in row["reported by"]}
    assert homework == {"RNN": 0.95, "LSTM": 0.98, "GRU": 0.976, "CNN": 0.986}
    public = {row["model"]: row["reported test accuracy"] for row in reported_rows() if "public" in row["reported by"]}
    assert public == {"RNN": 0.94, "LSTM": 0.985, "GRU": 0.989, "CNN": 0.993}


@pytest.fixture(scope="module")
def digits() -> Dataset:
    """The offline fallback, as the page sees it without a data directory."""
    dataset = load_dataset("mnist", data_dir=None, train_size=400, seed=0, allow_download=False)
    assert dataset.is_fallback and dataset.input_shape == (8, 8, 1)
    return dataset


@pytest.mark.slow
def test_one_epoch_through_the_engine_trains_caches_and_tabulates(digits: Dataset) -> None:
    configs = [sequence_config(kind, units=16, epochs=1, batch_size=64) for kind in ("gru", "row_cnn")]
    results = [train(config, digits) for config in configs]
    for config, result in zip(configs, results):
        assert result.status == "ok" and not result.from_cache and result.epochs_run == 1
        assert result.params == classifier_params(config.architecture, (8, 8, 1), 10, units=16)
        assert result.test_predictions.shape == (len(digits.x_test), 10)
        again = cached_result(config, digits)
        assert again is not None and again.from_cache and again.test_accuracy == result.test_accuracy
        assert train(config, digits).from_cache

    rows = results_table(results)
    assert [row["model"] for row in rows] == ["GRU (16)", "CNN"]
    assert [row["params"] for row in rows] == [3 * 16 * (16 + 8 + 2) + 170, classifier_params("row_cnn", (8, 8, 1), 10)]
    assert all(row["status"] == "ok" and 0 <= row["test accuracy"] <= 1 and row["total s"] > 0 for row in rows)

    frame = charts.history_frame(histories(results))
    # One epoch × {train, test} × {accuracy, loss} per model.
    assert len(frame) == 2 * 2 * 2
    assert set(frame["run"]) == {"GRU (16)", "CNN"} and set(frame["split"]) == {"train", "test"}

    mistakes = misclassified(results[0], digits.y_test, limit=5)
    assert 0 < len(mistakes) <= 5
    predicted = results[0].predicted_labels
    for mistake in mistakes:
        assert mistake.true_label == digits.y_test[mistake.index] != mistake.predicted_label == predicted[mistake.index]
    assert [m.confidence for m in mistakes] == sorted((m.confidence for m in mistakes), reverse=True)
    with pytest.raises(ValueError, match="test predictions"):
        misclassified(results[0], digits.y_test[:3])


@pytest.mark.shared_data
def test_real_mnist_is_read_as_28_rows_of_28_pixels(shared_data) -> None:
    dataset = load_dataset("mnist", data_dir=shared_data)
    assert not dataset.is_fallback
    assert (len(dataset.x_train), len(dataset.x_test)) == (6_309, 10_000)
    model = build_model("lstm", dataset.input_shape, dataset.num_classes, units=128)
    assert model.count_params() == 80_384 + 1_290
    assert tuple(model.get_layer("rows_as_timesteps").output.shape) == (None, 28, 28)

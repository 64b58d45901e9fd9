"""MNIST read row by row: SimpleRNN, LSTM and GRU classifiers and a small CNN baseline.

An image of height H and width W is read as a sequence of H timesteps, each the W pixels of
one row, so a 28×28 digit is 28 steps of 28 features (the 8×8 offline digits: 8 steps of 8).
One recurrent layer reads the rows and its last hidden state feeds Dense(classes, softmax).

Besides the builders, this module holds the experiment's pure helpers the page needs
(configurations, parameter formulas, tables, learning-curve data, misclassified examples).
Keras is imported inside the builders only, so the page can import this module cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.models import register_builder
from core.query_state import shown
from core.training import RunResult, TrainConfig

RECURRENT_KINDS = ("simple_rnn", "lstm", "gru")
MODEL_KINDS = RECURRENT_KINDS + ("row_cnn",)
DISPLAY_NAMES = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "row_cnn": "CNN"}
MAX_UNITS = 2048

# Gates per cell: SimpleRNN has one tanh update, an LSTM four (input, forget, cell, output),
# a GRU three (update, reset, candidate).
_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class ReportedAccuracy:
    """A test accuracy someone else reported, with where it comes from."""

    model: str
    accuracy: float
    source: str


SEED_SOURCE = "seed 003 homework answer (MNIST rows, 128 units, RMSProp 1e-3)"
PUBLIC_SOURCE = "public Keras runs on sequential MNIST, row by row (field notes)"
REPORTED_ACCURACIES: tuple[ReportedAccuracy, ...] = (
    ReportedAccuracy("RNN", 0.95, SEED_SOURCE),
    ReportedAccuracy("LSTM", 0.980, SEED_SOURCE),
    ReportedAccuracy("GRU", 0.976, SEED_SOURCE),
    ReportedAccuracy("CNN", 0.986, SEED_SOURCE),
    ReportedAccuracy("RNN", 0.94, PUBLIC_SOURCE),
    ReportedAccuracy("LSTM", 0.985, PUBLIC_SOURCE),
    ReportedAccuracy("GRU", 0.989, PUBLIC_SOURCE),
    ReportedAccuracy("CNN", 0.993, PUBLIC_SOURCE),
)


def _rows_as_sequence(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(timesteps, features) for an image: one timestep per row, every pixel of the row a feature."""
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    if len(input_shape) != 3:
        raise ValueError(f"expected an image shaped (height, width, channels), got {input_shape}")
    height, width, channels = input_shape
    return int(height), int(width) * int(channels)


def _check_units(units: int) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or not 1 <= units <= MAX_UNITS:
        raise ValueError(f"hidden units must be a whole number from 1 to {MAX_UNITS}, got {units!r}")
    return int(units)


def _recurrent_classifier(kind: str, input_shape: tuple[int, ...], num_classes: int, units: int) -> Any:
    import keras
    from keras import layers

    timesteps, features = _rows_as_sequence(input_shape)
    cell = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    inputs = keras.Input(shape=input_shape)
    rows = layers.Reshape((timesteps, features), name="rows_as_timesteps")(inputs)
    last_state = cell(_check_units(units), name=kind)(rows)
    outputs = layers.Dense(num_classes, activation="softmax", name="classifier")(last_state)
    return keras.Model(inputs, outputs, name=f"{kind}_{units}")


@register_builder("simple_rnn")
def build_simple_rnn(input_shape: tuple[int, ...], num_classes: int, *, units: int = 128) -> Any:
    """Rows as timesteps → SimpleRNN(units, tanh) → Dense(classes, softmax)."""
    return _recurrent_classifier("simple_rnn", input_shape, num_classes, units)


@register_builder("lstm")
def build_lstm(input_shape: tuple[int, ...], num_classes: int, *, units: int = 128) -> Any:
    """Rows as timesteps → LSTM(units) → Dense(classes, softmax)."""
    return _recurrent_classifier("lstm", input_shape, num_classes, units)


@register_builder("gru")
def build_gru(input_shape: tuple[int, ...], num_classes: int, *, units: int = 128) -> Any:
    """Rows as timesteps → GRU(units, Keras' default reset_after=True) → Dense(classes, softmax)."""
    return _recurrent_classifier("gru", input_shape, num_classes, units)


@register_builder("row_cnn")
def build_row_cnn(input_shape: tuple[int, ...], num_classes: int, *, dropout: float = 0.25) -> Any:
    """The CNN baseline: two conv(3×3)+max-pool blocks (32, 64 filters) → Dense(128) → dropout → softmax.

    ``same`` padding and 2×2 pooling keep it valid from 28×28 (7×7×64 at the end) down to the
    8×8 offline digits (2×2×64).
    """
    import keras
    from keras import layers

    if len(input_shape) != 3 or min(input_shape[:2]) < 4:
        raise ValueError(f"row_cnn needs images of at least 4×4 pixels shaped (H, W, C), got {input_shape}")
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="row_cnn")


# ---------------------------------------------------------------------------------------------
# Closed-form parameter counts, for teaching and for checking Keras


def recurrent_params(kind: str, *, features: int, units: int) -> int:
    """Weights of one recurrent layer: gates · units · (units + features + 1), GRU one more bias row.

    Keras' GRU defaults to ``reset_after=True``, which keeps separate input and recurrent biases,
    hence 3 · units · (units + features + 2).
    """
    if kind not in _GATES:
        raise ValueError(f"kind must be one of {RECURRENT_KINDS}, got {kind!r}")
    bias_rows = 2 if kind == "gru" else 1
    return _GATES[kind] * units * (units + features + bias_rows)


def classifier_params(kind: str, input_shape: tuple[int, ...], num_classes: int, *, units: int = 128) -> int:
    """Total weights of a row-reading classifier (recurrent layer + Dense head) or of ``row_cnn``."""
    if kind in _GATES:
        _timesteps, features = _rows_as_sequence(input_shape)
        return recurrent_params(kind, features=features, units=units) + units * num_classes + num_classes
    if kind == "row_cnn":
        height, width, channels = input_shape
        conv1 = 3 * 3 * channels * 32 + 32
        conv2 = 3 * 3 * 32 * 64 + 64
        # Two 2×2 max-pools with floor division, as Keras pools with ``valid`` padding.
        flattened = (height // 2 // 2) * (width // 2 // 2) * 64
        return conv1 + conv2 + flattened * 128 + 128 + 128 * num_classes + num_classes
    raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")


# ---------------------------------------------------------------------------------------------
# The experiment: configurations in, tables and chart data out


def parse_learning_rate(text: str) -> float:
    """A learning rate typed as ``0.001`` or ``1e-3``; anything else is a clear ``ValueError``."""
    # The text may come whole from a pasted link, so the messages quote at most its first 40 characters.
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"learning rate must be a number such as 0.001 or 1e-3, got {shown(str(text))!r}") from None
    if not (math.isfinite(value) and 0 < value <= 10):
        raise ValueError(f"learning rate must be greater than 0 and at most 10, got {shown(str(text))!r}")
    return value


def sequence_config(
    kind: str,
    *,
    units: int,
    optimizer: str = "rmsprop",
    learning_rate: float = 1e-3,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
    lr_schedule: str = "constant",
    time_budget_seconds: float | None = None,
) -> TrainConfig:
    """The training configuration of one model; the CNN ignores ``units`` so its cache key does too."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    model_options = (("units", _check_units(units)),) if kind in RECURRENT_KINDS else ()
    return TrainConfig(
        architecture=kind,
        model_options=model_options,
        optimizer=optimizer,
        learning_rate=float(learning_rate),
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        lr_schedule=lr_schedule,
        time_budget_seconds=time_budget_seconds,
    )


def model_label(config: TrainConfig) -> str:
    """A short name for legends and tables, e.g. ``LSTM (128)`` or ``CNN``."""
    name = DISPLAY_NAMES.get(config.architecture, config.architecture)
    units = config.model_kwargs.get("units")
    return f"{name} ({units})" if units is not None else name


def results_table(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per run: test accuracy, parameter count, timings and status."""
    rows = []
    for result in results:
        rows.append(
            {
                "model": model_label(result.config),
                "test accuracy": result.test_accuracy,
                "params": result.params,
                "epochs": result.epochs_run,
                "s / epoch": result.seconds_per_epoch,
                "total s": result.train_seconds,
                "status": result.status,
            }
        )
    return rows


def histories(results: Sequence[RunResult]) -> dict[str, dict[str, list[float]]]:
    """Each run's Keras history keyed by its model label, as ``core.charts.history_frame`` takes them."""
    return {model_label(result.config): result.history for result in results}


@dataclass(frozen=True)
class Mistake:
    """One misclassified test image."""

    index: int
    true_label: int
    predicted_label: int
    confidence: float


def misclassified(result: RunResult, y_test: np.ndarray, *, limit: int = 10) -> list[Mistake]:
    """The test images the run got wrong, most confidently wrong first."""
    if len(result.test_predictions) != len(y_test):
        raise ValueError(
            f"the run has {len(result.test_predictions)} test predictions but the dataset has {len(y_test)} labels"
        )
    if not np.all(np.isfinite(result.test_predictions)):
        return []
    predicted = result.predicted_labels
    wrong = np.flatnonzero(predicted != y_test)
    confidence = result.test_predictions[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [
        Mistake(int(i), int(y_test[i]), int(predicted[i]), float(result.test_predictions[i, predicted[i]]))
        for i in order
    ]


def reported_rows() -> list[dict[str, Any]]:
    """Other people's figures as table rows, for comparison only."""
    return [
        {"model": entry.model, "reported test accuracy": entry.accuracy, "reported by": entry.source}
        for entry in REPORTED_ACCURACIES
    ]

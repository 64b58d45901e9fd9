"""MNIST read row by row: SimpleRNN, LSTM and GRU classifiers and a small CNN baseline.

An image of height H and width W is read as a sequence of H timesteps, each the W pixels of
one row, so a 28×28 digit is 28 steps of 28 features (the 8×8 offline digits: 8 steps of 8).
One recurrent layer reads the rows and its last hidden state feeds Dense(classes, softmax).
Keras is imported inside the builders only, so the sequence page's library (``core.sequence``)
can import the kinds and limits here cheaply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.models import register_builder

RECURRENT_KINDS = ("simple_rnn", "lstm", "gru")
MODEL_KINDS = RECURRENT_KINDS + ("row_cnn",)
DISPLAY_NAMES = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "row_cnn": "CNN"}
MAX_UNITS = 2048



def rows_as_sequence(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(timesteps, features) for an image: one timestep per row, every pixel of the row a feature."""
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    if len(input_shape) != 3:
        raise ValueError(f"expected an image shaped (height, width, channels), got {input_shape}")
    height, width, channels = input_shape
    return int(height), int(width) * int(channels)


def check_units(units: int) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or not 1 <= units <= MAX_UNITS:
        raise ValueError(f"hidden units must be a whole number from 1 to {MAX_UNITS}, got {units!r}")
    return int(units)


def _recurrent_classifier(kind: str, input_shape: tuple[int, ...], num_classes: int, units: int) -> Any:
    import keras
    from keras import layers

    timesteps, features = rows_as_sequence(input_shape)
    cell = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    inputs = keras.Input(shape=input_shape)
    rows = layers.Reshape((timesteps, features), name="rows_as_timesteps")(inputs)
    last_state = cell(check_units(units), name=kind)(rows)
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

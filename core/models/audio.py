"""Spectrogram classifiers: DATA.ML.200 Exercise 5's CNN and LSTM, with GRU and bidirectional-LSTM variants.

Every builder takes features shaped (bands, frames), as the audio pages store them, and turns
them into what its network wants with a parameter-free first layer: a channel axis for the CNN
(the exercise's CNN input is (40, 501, 1)), or a transpose for the recurrent nets, which read one
frame per timestep (the exercise's LSTM input is (501, 40)). The CNN's layers are the homework's
own, :data:`core.homework.NETWORKS` ``["audio_cnn"]``.
"""

from __future__ import annotations

import keras
from keras import layers

from core.homework import NETWORKS
from core.models import register_builder
from core.models.spec import apply_layers, output_layer

RECURRENT_CELLS = ("lstm", "gru", "bilstm")


def _bands_frames(input_shape: tuple[int, ...], *, minimum: int) -> tuple[int, int]:
    if len(input_shape) == 3 and input_shape[-1] == 1:
        input_shape = input_shape[:2]
    if len(input_shape) != 2:
        raise ValueError(f"audio models take (bands, frames) features, got examples shaped {input_shape}")
    bands, frames = input_shape
    if bands < minimum or frames < minimum:
        raise ValueError(
            f"features of {bands} bands × {frames} frames are too small for this network (it needs at least "
            f"{minimum} × {minimum}); use more mel bands or a longer clip"
        )
    return int(bands), int(frames)


@register_builder("audio_cnn")
def build_audio_cnn(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """The exercise's CNN, its homework layers with ReLU after a channel axis, the last dense sized for the classes."""
    bands, frames = _bands_frames(input_shape, minimum=8)
    *hidden, last = NETWORKS["audio_cnn"].layers
    inputs = keras.Input(shape=(bands, frames))
    x = layers.Reshape((bands, frames, 1))(inputs)
    outputs = apply_layers(x, [*hidden, output_layer(last, num_classes)], activation="relu")
    return keras.Model(inputs, outputs, name="audio_cnn")


@register_builder("audio_rnn")
def build_audio_rnn(input_shape: tuple[int, ...], num_classes: int, *, cell: str = "lstm", units: int = 32) -> keras.Model:
    """The exercise's LSTM (32 units, all timesteps kept, he_uniform) → flatten → softmax; GRU or BiLSTM by ``cell``."""
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"cell must be one of {RECURRENT_CELLS}, got {cell!r}")
    bands, frames = _bands_frames(input_shape, minimum=1)
    inputs = keras.Input(shape=(bands, frames))
    x = layers.Permute((2, 1))(inputs)  # one frame of `bands` numbers per timestep
    if cell == "gru":
        x = layers.GRU(units, return_sequences=True, kernel_initializer="he_uniform")(x)
    else:
        recurrent = layers.LSTM(units, return_sequences=True, kernel_initializer="he_uniform")
        x = layers.Bidirectional(recurrent)(x) if cell == "bilstm" else recurrent(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"audio_{cell}")

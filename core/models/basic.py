"""Baselines that need no convolution or recurrence: softmax regression and a small MLP."""

from __future__ import annotations

import keras
from keras import layers

from core.models import register_builder


@register_builder("mlp")
def build_mlp(input_shape: tuple[int, ...], num_classes: int, *, hidden_units: int = 128, dropout: float = 0.0) -> keras.Model:
    """Flatten → Dense(hidden, ReLU) → optional dropout → Dense(classes, softmax); hidden 0 means logistic regression."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    if hidden_units > 0:
        x = layers.Dense(hidden_units, activation="relu")(x)
        if dropout > 0:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mlp" if hidden_units else "softmax_regression")

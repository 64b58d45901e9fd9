"""Keras models from layer lists: how a homework network written once in :mod:`core.homework` is built.

The layers are the calculator's layer dicts, turned into Keras layers by the calculator's own
Keras equivalents, so the network the calculator counts and the one the pages train cannot drift
apart. A builder chooses what the homework left open: the hidden layers' activation, the
initialisers, the dropout rate, BatchNorm's momentum. The last layer is the classifier's output:
it gets one unit per class and a softmax, or one unit and a sigmoid for a binary network (a
homework network whose last layer has one unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.calculator.keras_check import keras_layers_for

Layer = Mapping[str, Any]


def output_layer(layer: Layer, num_classes: int) -> dict[str, Any]:
    """The network's last layer sized for ``num_classes``: softmax over the classes, or one sigmoid unit when binary."""
    if layer.get("type") != "dense":
        raise ValueError(f"a classifier's last layer must be dense, got {layer.get('type')!r}")
    binary = layer["units"] == 1
    if binary and num_classes != 2:
        raise ValueError(f"this network is a binary classifier; it needs exactly 2 classes, got {num_classes}")
    return {**layer, "units": 1 if binary else num_classes, "activation": "sigmoid" if binary else "softmax"}


def apply_layers(
    tensor: Any,
    layers: Sequence[Layer],
    *,
    activation: str | None = "relu",
    kernel_initializer: Any = "glorot_uniform",
    bias_initializer: Any = "zeros",
    dropout: float | None = None,
    batchnorm_momentum: float = 0.99,
) -> Any:
    """Call the Keras equivalents of ``layers`` on ``tensor``; ``dropout`` replaces every dropout layer's rate."""
    for layer in layers:
        if layer["type"] == "dropout" and dropout is not None:
            layer = {**layer, "rate": dropout}
        for keras_layer in keras_layers_for(
            layer,
            activation=activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            batchnorm_momentum=batchnorm_momentum,
        ):
            tensor = keras_layer(tensor)
    return tensor


def build_classifier(
    layers: Sequence[Layer],
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    name: str,
    input_name: str = "image",
    **options: Any,
) -> Any:
    """A Keras classifier from a homework layer list: hidden layers as written, the last one sized for the classes.

    ``options`` go to :func:`apply_layers` (activation, initialisers, dropout, BatchNorm momentum).
    """
    import keras

    if not layers:
        raise ValueError("a classifier needs at least one layer")
    inputs = keras.Input(shape=tuple(input_shape), name=input_name)
    outputs = apply_layers(inputs, [*layers[:-1], output_layer(layers[-1], num_classes)], **options)
    return keras.Model(inputs, outputs, name=name)


def build_base(layers: Sequence[Layer], input_shape: tuple[int, ...], *, name: str = "base", activation: str = "relu") -> Any:
    """A feature extractor (no output layer) from a homework layer list, as a nested model named ``base``."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    return keras.Model(inputs, apply_layers(inputs, layers, activation=activation), name=name)

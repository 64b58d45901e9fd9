"""The Keras model that matches a calculator layer list, to check our arithmetic against Keras itself.

Keras is imported inside the functions: the calculator page imports this module only when the
student clicks "Verify with Keras".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.calculator import analyze


@dataclass(frozen=True)
class KerasLayerCount:
    """What Keras reports for one of our layers (an int padding adds a ZeroPadding2D, merged in here)."""

    name: str
    keras_layers: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int


@dataclass(frozen=True)
class KerasCounts:
    """Keras' own parameter counts and output shapes for a layer list."""

    layers: tuple[KerasLayerCount, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int


def keras_layers_for(
    layer: Mapping[str, Any],
    *,
    activation: str | None = None,
    kernel_initializer: Any = "glorot_uniform",
    bias_initializer: Any = "zeros",
    batchnorm_momentum: float = 0.99,
) -> list[Any]:
    """The Keras layer(s) equivalent to one calculator layer dict.

    The arithmetic never depends on them, but a model builder (:mod:`core.models.spec`) passes the
    activation and initialisers a trained network needs; a layer's own ``activation`` and ``name``
    keys win over those defaults.
    """
    from keras import layers

    kind = layer["type"]
    name = layer.get("name")
    chosen = layer.get("activation", activation)
    if kind == "conv2d":
        padding = layer.get("padding", "valid")
        convolution = layers.Conv2D(
            layer["filters"],
            _pair(layer["kernel"]),
            strides=_pair(layer.get("stride", 1)),
            padding=padding if isinstance(padding, str) else "valid",
            use_bias=layer.get("use_bias", True),
            activation=chosen,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            name=name,
        )
        # Keras has no numeric conv padding; textbook padding p is zero-padding then a 'valid' conv.
        if isinstance(padding, str) or padding == 0:
            return [convolution]
        return [layers.ZeroPadding2D(padding, name=f"{name}_padding" if name else None), convolution]
    if kind in ("maxpool2d", "avgpool2d"):
        pooling = layers.MaxPooling2D if kind == "maxpool2d" else layers.AveragePooling2D
        stride = layer.get("stride")
        return [
            pooling(
                _pair(layer["pool"]), strides=_pair(stride if stride is not None else layer["pool"]),
                padding=layer.get("padding", "valid"), name=name,
            )
        ]
    if kind == "globalavgpool2d":
        return [layers.GlobalAveragePooling2D(name=name)]
    if kind == "flatten":
        return [layers.Flatten(name=name)]
    if kind == "dense":
        return [
            layers.Dense(
                layer["units"], use_bias=layer.get("use_bias", True), activation=chosen,
                kernel_initializer=kernel_initializer, bias_initializer=bias_initializer, name=name,
            )
        ]
    if kind == "dropout":
        return [layers.Dropout(layer["rate"], name=name)]
    if kind == "batchnorm":
        return [layers.BatchNormalization(momentum=batchnorm_momentum, name=name)]
    raise ValueError(f"unknown layer type {kind!r}")


def build_keras_model(input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]]) -> Any:
    """An uncompiled ``keras.Sequential`` equivalent to the layer list (validated by ``analyze`` first)."""
    import keras

    analyze(input_shape, layers)
    model = keras.Sequential([keras.Input(shape=tuple(input_shape))])
    for layer in layers:
        for keras_layer in keras_layers_for(layer):
            model.add(keras_layer)
    return model


def keras_counts(input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]]) -> KerasCounts:
    """Build the Keras model and read back, per calculator layer, its output shape and parameter count."""
    import keras

    analyze(input_shape, layers)
    tensor = keras.Input(shape=tuple(input_shape))
    model_input = tensor
    rows = []
    for position, layer in enumerate(layers, start=1):
        built = keras_layers_for(layer)
        for keras_layer in built:
            tensor = keras_layer(tensor)
        params = sum(item.count_params() for item in built)
        trainable = sum(int(sum(_size(w) for w in item.trainable_weights)) for item in built)
        rows.append(
            KerasLayerCount(
                name=str(layer.get("name") or f"{layer['type']}_{position}"),
                keras_layers=tuple(type(item).__name__ for item in built),
                output_shape=tuple(int(n) for n in tensor.shape[1:]),
                params=int(params),
                trainable_params=trainable,
            )
        )
    if not rows:
        return KerasCounts(layers=(), total_params=0, trainable_params=0, non_trainable_params=0)
    model = keras.Model(model_input, tensor)
    total = int(model.count_params())
    trainable = int(sum(_size(w) for w in model.trainable_weights))
    return KerasCounts(layers=tuple(rows), total_params=total, trainable_params=trainable, non_trainable_params=total - trainable)


def _size(weight: Any) -> int:
    size = 1
    for n in weight.shape:
        size *= int(n)
    return size


def _pair(value: Any) -> tuple[int, int]:
    return (value[0], value[1]) if isinstance(value, (tuple, list)) else (value, value)

"""The Keras model that matches a calculator layer list, to check our arithmetic against Keras itself.

Each kind's record (:mod:`core.calculator.kinds`) knows its Keras equivalent. Keras is imported
inside the functions: the calculator page loads without it and imports it only when the
student clicks "Verify with Keras".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.calculator.kinds import KINDS
from core.calculator.layer_kind import KerasOptions
from core.calculator.network import analyze
from core.calculator.report import NetworkReport


@dataclass(frozen=True)
class KerasLayerCount:
    """What Keras reports for one of our layers (an int padding adds a ZeroPadding2D, merged in here)."""

    name: str
    keras_layers: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    # Every kernel weight is used once per output position: positions × kernel weights, read from
    # Keras' own kernels and output shape (biases, BatchNorm and pooling cost no multiply-adds here).
    macs: int


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
    kind = layer["type"]
    if kind not in KINDS:
        raise ValueError(f"unknown layer type {kind!r}")
    options = KerasOptions(activation, kernel_initializer, bias_initializer, batchnorm_momentum)
    return KINDS[kind].keras(layer, options)


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
    """Build the Keras model and read back, per calculator layer, its output shape and counts."""
    import keras

    analyze(input_shape, layers)
    tensor = keras.Input(shape=tuple(input_shape))
    model_input = tensor
    rows = []
    for position, layer in enumerate(layers, start=1):
        built = keras_layers_for(layer)
        for keras_layer in built:
            tensor = keras_layer(tensor)
        output_shape = tuple(int(n) for n in tensor.shape[1:])
        kernel_weights = sum(_size(w) for item in built for w in item.weights if w.name.endswith("kernel"))
        rows.append(
            KerasLayerCount(
                name=str(layer.get("name") or f"{layer['type']}_{position}"),
                keras_layers=tuple(type(item).__name__ for item in built),
                output_shape=output_shape,
                params=int(sum(item.count_params() for item in built)),
                trainable_params=sum(_size(w) for item in built for w in item.trainable_weights),
                macs=math.prod(output_shape[:-1]) * kernel_weights,
            )
        )
    if not rows:
        return KerasCounts(layers=(), total_params=0, trainable_params=0, non_trainable_params=0)
    model = keras.Model(model_input, tensor)
    total = int(model.count_params())
    trainable = sum(_size(w) for w in model.trainable_weights)
    return KerasCounts(layers=tuple(rows), total_params=total, trainable_params=trainable, non_trainable_params=total - trainable)


def comparison_rows(report: NetworkReport, counts: KerasCounts) -> list[dict[str, Any]]:
    """Our figures beside Keras', one row per layer, with whether they agree."""
    return [
        {
            "layer": ours.name,
            "Keras layer(s)": " + ".join(theirs.keras_layers),
            "our output shape": str(ours.output_shape),
            "Keras output shape": str(theirs.output_shape),
            "our params": ours.params,
            "Keras params": theirs.params,
            "our MACs": ours.macs,
            "Keras MACs": theirs.macs,
            "match": (ours.output_shape, ours.params, ours.macs) == (theirs.output_shape, theirs.params, theirs.macs),
        }
        for ours, theirs in zip(report.layers, counts.layers)
    ]


def _size(weight: Any) -> int:
    return math.prod(int(n) for n in weight.shape)

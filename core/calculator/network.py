"""A network's arithmetic: output shapes, parameters, multiply-adds and memory, layer by layer and in total.

Pure Python with no TensorFlow, so the calculator page loads instantly. Each layer's rule comes
from its kind's record (:mod:`core.calculator.kinds`), which follows Keras exactly, and every
number comes with a short formula so a student can see where it came from.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from core.calculator.kinds import kind_of
from core.calculator.report import LayerReport, NetworkReport
from core.calculator.validation import (
    Shape,
    check_countable,
    check_input_shape,
    shown_number,
)

# Extra state per trainable weight that each optimiser keeps: Adam has first and second moments,
# RMSprop a running mean of squared gradients, SGD with momentum a velocity.
OPTIMIZER_SLOTS: dict[str, int] = {"adam": 2, "rmsprop": 1, "sgd_momentum": 1, "sgd": 0}

DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

MEGABYTE = 10**6
MEBIBYTE = 2**20


def analyze(
    input_shape: Sequence[int],
    layers: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = 1,
    dtype_bytes: int = 4,
    optimizer: str = "adam",
) -> NetworkReport:
    """Shapes, parameters, multiply-adds and memory of a layer stack on ``input_shape``.

    Raises ``ValueError`` naming the layer and the fix for any impossible setting.
    """
    shape = network_input = check_input_shape(input_shape)
    for name, value in (("batch_size", batch_size), ("dtype_bytes", dtype_bytes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive whole number (dtype_bytes is 4 for float32), got {shown_number(value)}")
    batch_size, dtype_bytes = int(batch_size), int(dtype_bytes)
    if optimizer not in OPTIMIZER_SLOTS:
        raise ValueError(f"unknown optimizer {shown_number(optimizer)}; choose one of {', '.join(OPTIMIZER_SLOTS)}")
    if isinstance(layers, Mapping) or not isinstance(layers, Sequence):
        raise ValueError("layers must be a list of dicts, each with a 'type' key")

    reports: list[LayerReport] = []
    for position, layer in enumerate(layers, start=1):
        report = analyze_layer(position, layer, shape)
        check_countable(
            (
                ("parameters", report.params),
                ("multiply-adds", report.macs),
                ("activation values", report.activation_values),
                ("bytes for its activations", report.activation_values * dtype_bytes),
            ),
            f"layer {position} ({report.type})",
            "use a smaller layer or a smaller input",
        )
        reports.append(report)
        shape = report.output_shape

    total_params = sum(r.params for r in reports)
    trainable = sum(r.trainable_params for r in reports)
    input_values = math.prod(network_input)
    activation_values = sum(r.activation_values for r in reports)
    weight_bytes = total_params * dtype_bytes
    # A layer's input can be freed once its output exists, so at any moment only one layer's
    # input and output need to be alive (an input-only network still holds its input).
    live_values = max((r.input_values + r.activation_values for r in reports), default=input_values)
    breakdown = {
        "weights": weight_bytes,
        "gradients": trainable * dtype_bytes,
        "optimizer": OPTIMIZER_SLOTS[optimizer] * trainable * dtype_bytes,
        # Backpropagation needs every layer's output for the whole batch, so nothing is freed.
        "activations": batch_size * activation_values * dtype_bytes,
        "input": batch_size * input_values * dtype_bytes,
    }
    total_macs = sum(r.macs for r in reports)
    inference_keep_all_bytes = weight_bytes + (input_values + activation_values) * dtype_bytes
    training_bytes = sum(breakdown.values())
    # Each figure is checked, not only the largest, so the message names the one a student can
    # act on (a deep stack of big layers overflows the multiply-adds long before the bytes).
    check_countable(
        (
            ("parameters", total_params),
            ("multiply-adds", total_macs),
            ("activation values", activation_values),
            ("bytes to predict one instance", inference_keep_all_bytes),
            (f"bytes to train a batch of {batch_size}", training_bytes),
        ),
        "this network",
        "use smaller layers, a smaller input or a smaller batch",
    )
    return NetworkReport(
        input_shape=network_input,
        layers=tuple(reports),
        batch_size=batch_size,
        dtype_bytes=dtype_bytes,
        optimizer=optimizer,
        total_params=total_params,
        trainable_params=trainable,
        non_trainable_params=total_params - trainable,
        total_macs=total_macs,
        input_values=input_values,
        activation_values=activation_values,
        weight_bytes=weight_bytes,
        inference_peak_bytes=weight_bytes + live_values * dtype_bytes,
        inference_keep_all_bytes=inference_keep_all_bytes,
        training_bytes=training_bytes,
        training_breakdown=breakdown,
    )


def analyze_layer(position: int, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    """The report for one layer (counted from 1) on an input of ``shape``."""
    kind = kind_of(layer, position)
    figures = kind.figures(layer, shape, f"layer {position} ({kind.type})")
    return LayerReport(
        name=str(layer.get("name") or f"{kind.type}_{position}"),
        type=kind.type,
        input_shape=shape,
        output_shape=figures.output_shape,
        params=figures.params,
        trainable_params=figures.params if figures.trainable_params is None else figures.trainable_params,
        macs=figures.macs,
        activation_values=figures.activation_values,
        params_formula=figures.params_formula,
        shape_formula=figures.shape_formula,
        bias_params=figures.bias_params,
        settings=tuple(figures.settings.items()),
    )

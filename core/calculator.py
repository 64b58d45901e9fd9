"""Layer arithmetic for convolutional networks: output shapes, parameters, multiply-adds and memory.

Pure Python with no TensorFlow, so the calculator page loads instantly. Every rule follows Keras
exactly (``tests/test_calculator_keras.py`` checks it against real Keras models), and every
number comes with a short formula so a student can see where it came from.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.query_state import shown

LAYER_TYPES: tuple[str, ...] = (
    "conv2d",
    "maxpool2d",
    "avgpool2d",
    "globalavgpool2d",
    "flatten",
    "dense",
    "dropout",
    "batchnorm",
)

# Extra state per trainable weight that each optimiser keeps: Adam has first and second moments,
# RMSprop a running mean of squared gradients, SGD with momentum a velocity.
OPTIMIZER_SLOTS: dict[str, int] = {"adam": 2, "rmsprop": 1, "sgd_momentum": 1, "sgd": 0}

DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

MEGABYTE = 10**6
MEBIBYTE = 2**20

# Every size the calculator takes (each input axis, filters, units, kernel, stride, pool, padding)
# is at most this: far past any real layer, and small enough that the arithmetic stays instant.
MAX_SIZE = 10**6
# The tables show every count as a 64-bit integer (pandas and Arrow); past this they cannot.
MAX_COUNT = 2**63 - 1

_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "conv2d": ("filters", "kernel"),
    "maxpool2d": ("pool",),
    "avgpool2d": ("pool",),
    "dense": ("units",),
    "dropout": ("rate",),
}

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerReport:
    """What one layer does to its input, and what it costs."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int
    trainable_params: int
    macs: int
    activation_values: int
    params_formula: str
    shape_formula: str
    bias_params: int = 0

    @property
    def non_trainable_params(self) -> int:
        """Parameters the optimiser never updates (BatchNorm's moving mean and variance)."""
        return self.params - self.trainable_params

    @property
    def input_values(self) -> int:
        """Number of values this layer reads per instance."""
        return math.prod(self.input_shape)


@dataclass(frozen=True)
class NetworkReport:
    """Per-layer reports and network totals; memory figures are in bytes."""

    input_shape: Shape
    layers: tuple[LayerReport, ...]
    batch_size: int
    dtype_bytes: int
    optimizer: str
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_macs: int
    input_values: int
    activation_values: int
    weight_bytes: int
    inference_peak_bytes: int
    inference_keep_all_bytes: int
    training_bytes: int
    training_breakdown: dict[str, int] = field(default_factory=dict)

    @property
    def output_shape(self) -> Shape:
        """Shape of the network's output per instance (the input shape for an empty network)."""
        return self.layers[-1].output_shape if self.layers else self.input_shape


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
    shape = network_input = _check_input_shape(input_shape)
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
        report = _analyze_layer(position, layer, shape)
        _check_countable(
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
    _check_countable(
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


# --- one layer ------------------------------------------------------------------------------


def _analyze_layer(position: int, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    if not isinstance(layer, Mapping):
        raise ValueError(f"layer {position}: expected a dict with a 'type' key, got {type(layer).__name__}")
    kind = layer.get("type")
    if kind not in LAYER_TYPES:
        raise ValueError(f"layer {position}: unknown type {shown_number(kind)}; choose one of {', '.join(LAYER_TYPES)}")
    label = f"layer {position} ({kind})"
    for key in _REQUIRED_KEYS.get(kind, ()):
        if layer.get(key) is None:
            raise ValueError(f"{label}: missing {key!r}; add it, e.g. {_EXAMPLES[kind]}")
    name = str(layer.get("name") or f"{kind}_{position}")
    analyzer = _ANALYZERS[kind]
    return analyzer(name, label, layer, shape)


_EXAMPLES = {
    "conv2d": "{'type': 'conv2d', 'filters': 32, 'kernel': 3}",
    "maxpool2d": "{'type': 'maxpool2d', 'pool': 2}",
    "avgpool2d": "{'type': 'avgpool2d', 'pool': 2}",
    "dense": "{'type': 'dense', 'units': 10}",
    "dropout": "{'type': 'dropout', 'rate': 0.5}",
}


def _conv2d(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    height, width, channels = _image_shape(label, shape)
    filters = _positive_int(layer["filters"], "filters", label)
    kernel = _pair(layer["kernel"], "kernel", label)
    stride = _pair(layer.get("stride", 1), "stride", label)
    padding = _padding(layer.get("padding", "valid"), label, allow_int=True)
    use_bias = _flag(layer.get("use_bias", True), "use_bias", label)
    out_h, formula_h = _output_length(height, kernel[0], stride[0], padding, label, "kernel", (height, width), kernel)
    out_w, formula_w = _output_length(width, kernel[1], stride[1], padding, label, "kernel", (height, width), kernel)
    weights = kernel[0] * kernel[1] * channels
    params = (weights + int(use_bias)) * filters
    bias_term = " + 1" if use_bias else ""
    return LayerReport(
        name=name,
        type="conv2d",
        input_shape=shape,
        output_shape=(out_h, out_w, filters),
        params=params,
        trainable_params=params,
        macs=out_h * out_w * filters * weights,
        activation_values=out_h * out_w * filters,
        params_formula=f"({kernel[0]}×{kernel[1]}×{channels}{bias_term})×{filters} = {params:,}",
        shape_formula=f"{formula_h}, {formula_w} → ({out_h}, {out_w}, {filters})",
        bias_params=filters if use_bias else 0,
    )


def _pool2d(name: str, label: str, layer: Mapping[str, Any], shape: Shape, kind: str) -> LayerReport:
    height, width, channels = _image_shape(label, shape)
    pool = _pair(layer["pool"], "pool", label)
    stride = _pair(layer.get("stride") if layer.get("stride") is not None else layer["pool"], "stride", label)
    padding = _padding(layer.get("padding", "valid"), label, allow_int=False)
    out_h, formula_h = _output_length(height, pool[0], stride[0], padding, label, "pool", (height, width), pool)
    out_w, formula_w = _output_length(width, pool[1], stride[1], padding, label, "pool", (height, width), pool)
    return LayerReport(
        name=name,
        type=kind,
        input_shape=shape,
        output_shape=(out_h, out_w, channels),
        params=0,
        trainable_params=0,
        macs=0,
        activation_values=out_h * out_w * channels,
        params_formula="0 (no weights)",
        shape_formula=f"{formula_h}, {formula_w} → ({out_h}, {out_w}, {channels})",
    )


def _maxpool2d(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    return _pool2d(name, label, layer, shape, "maxpool2d")


def _avgpool2d(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    return _pool2d(name, label, layer, shape, "avgpool2d")


def _globalavgpool2d(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    _height, _width, channels = _image_shape(label, shape)
    return LayerReport(
        name=name,
        type="globalavgpool2d",
        input_shape=shape,
        output_shape=(channels,),
        params=0,
        trainable_params=0,
        macs=0,
        activation_values=channels,
        params_formula="0 (no weights)",
        shape_formula=f"average over {shape[0]}×{shape[1]} → ({channels},)",
    )


def _flatten(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    values = math.prod(shape)
    return LayerReport(
        name=name,
        type="flatten",
        input_shape=shape,
        output_shape=(values,),
        params=0,
        trainable_params=0,
        macs=0,
        activation_values=values,
        params_formula="0 (no weights)",
        shape_formula=f"{'×'.join(str(n) for n in shape)} = {values:,}",
    )


def _dense(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    units = _positive_int(layer["units"], "units", label)
    use_bias = _flag(layer.get("use_bias", True), "use_bias", label)
    inputs = shape[-1]
    # Keras applies Dense to the last axis, sharing the weights across every other position.
    positions = math.prod(shape[:-1])
    params = (inputs + int(use_bias)) * units
    output_shape = (*shape[:-1], units)
    bias_term = " + 1" if use_bias else ""
    shape_formula = f"last axis {inputs:,} → {units:,}"
    if positions > 1:
        shape_formula += f" at each of {positions:,} positions; add a flatten layer first for a classic dense layer"
    return LayerReport(
        name=name,
        type="dense",
        input_shape=shape,
        output_shape=output_shape,
        params=params,
        trainable_params=params,
        macs=positions * inputs * units,
        activation_values=math.prod(output_shape),
        params_formula=f"({inputs:,}{bias_term})×{units:,} = {params:,}",
        shape_formula=shape_formula,
        bias_params=units if use_bias else 0,
    )


def _dropout(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    rate = layer["rate"]
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"{label}: rate must be a number in [0, 1), the fraction of values dropped; got {shown_number(rate)}")
    return LayerReport(
        name=name,
        type="dropout",
        input_shape=shape,
        output_shape=shape,
        params=0,
        trainable_params=0,
        macs=0,
        activation_values=math.prod(shape),
        params_formula="0 (no weights)",
        shape_formula=f"unchanged (drops {rate:.0%} of values while training)",
    )


def _batchnorm(name: str, label: str, layer: Mapping[str, Any], shape: Shape) -> LayerReport:
    channels = shape[-1]
    return LayerReport(
        name=name,
        type="batchnorm",
        input_shape=shape,
        output_shape=shape,
        params=4 * channels,
        # γ and β are learned; the moving mean and variance are updated by statistics, not gradients.
        trainable_params=2 * channels,
        macs=0,
        activation_values=math.prod(shape),
        params_formula=f"4×{channels} = {4 * channels:,} (γ, β trainable; moving mean, variance not)",
        shape_formula="unchanged",
    )


_ANALYZERS = {
    "conv2d": _conv2d,
    "maxpool2d": _maxpool2d,
    "avgpool2d": _avgpool2d,
    "globalavgpool2d": _globalavgpool2d,
    "flatten": _flatten,
    "dense": _dense,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
}


# --- shape arithmetic and validation --------------------------------------------------------


def _output_length(
    length: int,
    window: int,
    stride: int,
    padding: str | int,
    label: str,
    window_name: str,
    input_hw: tuple[int, int],
    window_hw: tuple[int, int],
) -> tuple[int, str]:
    """Keras' output length along one axis, and the formula that gives it."""
    if padding == "same":
        return math.ceil(length / stride), f"ceil({length}/{stride}) = {math.ceil(length / stride)}"
    pad = 0 if padding == "valid" else int(padding)
    padded = length + 2 * pad
    if window > padded:
        size = f"{window_hw[0]}×{window_hw[1]}"
        where = f"{input_hw[0]}×{input_hw[1]}"
        if pad:
            raise ValueError(
                f"{label}: {window_name} {size} is larger than its {where} input even with padding {pad}; "
                f"use padding='same', more padding or a smaller {window_name}"
            )
        fix = f"use padding='same' or a smaller {window_name}"
        raise ValueError(f"{label}: {window_name} {size} is larger than its {where} input with 'valid' padding; {fix}")
    result = (padded - window) // stride + 1
    if pad:
        return result, f"floor(({length}+2×{pad}−{window})/{stride})+1 = {result}"
    return result, f"floor(({length}−{window})/{stride})+1 = {result}"


def _check_input_shape(input_shape: Sequence[int]) -> Shape:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ValueError(f"input_shape must be (H, W, C) or (N,), got {shown_number(input_shape)}")
    described = shown_number(tuple(input_shape))
    if len(input_shape) not in (1, 3):
        raise ValueError(f"input_shape must be (H, W, C) for images or (N,) for vectors; got {described}")
    for size in input_shape:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"input_shape sizes must be positive whole numbers; got {described}")
        if size > MAX_SIZE:
            raise ValueError(f"input_shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {described}")
    return tuple(int(n) for n in input_shape)


def _image_shape(label: str, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(
            f"{label}: needs an image-shaped (H, W, C) input but gets {shape}; "
            "move it before any flatten, global pooling or dense layer"
        )
    return shape  # type: ignore[return-value]


def _positive_int(value: Any, key: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{label}: {key} must be a positive whole number, got {shown_number(value)}")
    if value > MAX_SIZE:
        raise ValueError(f"{label}: {key} must be at most {MAX_SIZE:,}, the calculator's limit; got {shown_number(value)}")
    return int(value)


def _pair(value: Any, key: str, label: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{label}: {key} must be an int or an (h, w) pair, got {shown_number(value)}")
        return _positive_int(value[0], key, label), _positive_int(value[1], key, label)
    number = _positive_int(value, key, label)
    return number, number


def _padding(value: Any, label: str, *, allow_int: bool) -> str | int:
    if value in ("same", "valid"):
        return value
    if allow_int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{label}: padding must be 'same', 'valid' or a whole number ≥ 0, got {shown_number(value)}")
        if value > MAX_SIZE:
            raise ValueError(f"{label}: padding must be at most {MAX_SIZE:,} pixels, the calculator's limit; got {shown_number(value)}")
        return int(value)
    accepted = "'same', 'valid' or a whole number of pixels" if allow_int else "'same' or 'valid'"
    raise ValueError(f"{label}: padding must be {accepted}, got {shown_number(value)}")


def _flag(value: Any, key: str, label: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{label}: {key} must be True or False, got {shown_number(value)}")
    return value


def shown_number(value: Any) -> str:
    """``repr(value)`` cut to 40 characters for a message; a huge whole number is described by its length.

    Python refuses to print an int of more than 4,300 digits (and printing a long one is slow),
    so its digits are counted with a logarithm instead, also inside a tuple or list.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"a {math.floor(math.log10(abs(value))) + 1:,}-digit number"
    if isinstance(value, (tuple, list)):
        items = [_short_item(item) for item in value[:4]] + (["…"] if len(value) > 4 else [])
        inside = ", ".join(items) + ("," if len(value) == 1 and isinstance(value, tuple) else "")
        return shown("(" + inside + ")" if isinstance(value, tuple) else "[" + inside + "]")
    return shown(repr(value))


def _short_item(value: Any) -> str:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**15:
        return shown_number(value)
    return shown(repr(value)) if not isinstance(value, (tuple, list)) else "(…)"


def _check_countable(figures: Sequence[tuple[str, int]], who: str, fix: str) -> None:
    """Refuse a count the tables could not hold as a 64-bit integer, naming it and its size."""
    for what, count in figures:
        if count > MAX_COUNT:
            raise ValueError(
                f"{who} would need about {_about(count)} {what}, more than the calculator can show "
                f"(at most about {_about(MAX_COUNT)}); {fix}"
            )


def _about(count: int) -> str:
    """``1e+20``-style magnitude of a positive int, even one too big for a float."""
    if count < 10**300:
        return f"{float(count):.0e}"
    return f"1e+{math.floor(math.log10(count))}"

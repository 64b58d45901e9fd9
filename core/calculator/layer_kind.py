"""What a calculator layer kind is made of, and the window arithmetic that convolutions and pools share.

The records themselves, one per kind, are in :mod:`core.calculator.kinds`; everything else (the
analysis, the table, the Keras check, the answer checker, the page's columns) reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.calculator.columns import Column, pair_text
from core.calculator.report import LayerReport
from core.calculator.validation import Shape, image_shape, padding, pair

Layer = Mapping[str, Any]


@dataclass(frozen=True)
class Figures:
    """What a kind computes for one layer: its output shape, its counts and the formulas behind them."""

    output_shape: Shape
    shape_formula: str
    params: int = 0
    trainable_params: int | None = None  # None: every parameter is trainable
    macs: int = 0
    params_formula: str = "0 (no weights)"
    bias_params: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def activation_values(self) -> int:
        """Values the layer outputs per instance."""
        return math.prod(self.output_shape)


@dataclass(frozen=True)
class Slip:
    """A wrong parameter count for one layer, and the classic slip that produces it."""

    params: int
    slip: str


@dataclass(frozen=True)
class KerasOptions:
    """What a model builder chooses and the arithmetic never depends on; a layer's own keys win."""

    activation: str | None = None
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    batchnorm_momentum: float = 0.99

    def activation_for(self, layer: Layer) -> str | None:
        """The layer's own ``activation`` key, else the builder's choice."""
        return layer.get("activation", self.activation)


def _no_slips(report: LayerReport, image_channels: int) -> list[Slip]:
    return []


@dataclass(frozen=True)
class LayerKind:
    """Everything about one kind of layer: the one record to write when adding a kind."""

    type: str
    # The smallest complete layer of this kind: its keys (``type`` aside) are the required ones.
    example: Layer
    figures: Callable[[Layer, Shape, str], Figures]  # (layer, input shape, "layer 2 (conv2d)")
    keras: Callable[[Layer, KerasOptions], list[Any]]  # Keras imported inside; one or more layers
    describe: Callable[[Layer], str]  # a few words for page text: "conv 3×3×32"
    columns: Mapping[str, Column] = field(default_factory=dict)  # layer key -> its table column
    # Kind-specific wrong counts for "check your answer" (forgetting the bias is checked for every kind).
    slips: Callable[[LayerReport, int], list[Slip]] = _no_slips  # (report, image channels)

    @property
    def required(self) -> tuple[str, ...]:
        """Keys a layer of this kind must have."""
        return tuple(key for key in self.example if key != "type")


@dataclass(frozen=True)
class Window:
    """A sliding window (kernel or pool) over an image: its settings and where it lands."""

    channels: int
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: str | int
    out_h: int
    out_w: int
    formula: str  # "ceil(200/2) = 100, ceil(300/2) = 150"

    def shape_formula(self, out_channels: int) -> str:
        """The shape rule for both axes, then the output shape."""
        return f"{self.formula} → ({self.out_h}, {self.out_w}, {out_channels})"

    @property
    def settings(self) -> dict[str, Any]:
        """The window's settings as read, for :attr:`LayerReport.settings`."""
        return {"window": self.size, "stride": self.stride, "padding": self.padding}


def sliding_window(layer: Layer, shape: Shape, label: str, *, key: str, default_stride: Any = 1, allow_int_padding: bool) -> Window:
    """Read a kernel or pool setting and apply Keras' output-length rule along both axes."""
    height, width, channels = image_shape(label, shape)
    size = pair(layer[key], key, label)
    stride_setting = layer.get("stride")
    stride = pair(default_stride if stride_setting is None else stride_setting, "stride", label)
    chosen = padding(layer.get("padding", "valid"), label, allow_int=allow_int_padding)
    lengths = [
        _output_length(length, window, step, chosen, label, key, (height, width), size)
        for length, window, step in zip((height, width), size, stride)
    ]
    (out_h, formula_h), (out_w, formula_w) = lengths
    return Window(channels, size, stride, chosen, out_h, out_w, f"{formula_h}, {formula_w}")


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


# --- what several kinds share ----------------------------------------------------------------------


def size_text(value: Any) -> str:
    """A kernel for page text: ``3`` → ``3×3``, ``(3, 5)`` → ``3×5``."""
    return f"{value[0]}×{value[1]}" if isinstance(value, (tuple, list)) else f"{value}×{value}"


def convolution_words(layer: Layer, words: str) -> str:
    """``words`` ('conv 3×3×32') then the stride and padding, each only when not the default."""
    stride, chosen = layer.get("stride", 1), layer.get("padding", "valid")
    if stride not in (1, (1, 1), [1, 1]):
        words += f", stride {pair_text(stride)}"
    return words + ("" if chosen in ("valid", 0) else f", {chosen} padding")


def convolution_keras(layer: Layer, options: KerasOptions, make: Callable[..., Any]) -> list[Any]:
    """``make(**arguments)`` with what every convolution takes; an int padding becomes ZeroPadding2D."""
    from keras import layers

    name = layer.get("name")
    chosen = layer.get("padding", "valid")
    convolution = make(
        kernel_size=as_pair(layer["kernel"]),
        strides=as_pair(layer.get("stride", 1)),
        padding=chosen if isinstance(chosen, str) else "valid",
        use_bias=layer.get("use_bias", True),
        activation=options.activation_for(layer),
        bias_initializer=options.bias_initializer,
        name=name,
    )
    # Keras has no numeric conv padding; textbook padding p is zero-padding then a 'valid' conv.
    if isinstance(chosen, str) or chosen == 0:
        return [convolution]
    return [layers.ZeroPadding2D(chosen, name=f"{name}_padding" if name else None), convolution]


def as_pair(value: Any) -> tuple[int, int]:
    """An int or an (h, w) pair as an (h, w) pair, for Keras' arguments."""
    return (value[0], value[1]) if isinstance(value, (tuple, list)) else (value, value)


def single_keras_layer(class_name: str, **arguments: Any) -> Callable[[Layer, KerasOptions], list[Any]]:
    """The Keras equivalent of a kind that maps to one argument-free layer."""

    def build(layer: Layer, options: KerasOptions) -> list[Any]:
        from keras import layers

        return [getattr(layers, class_name)(name=layer.get("name"), **arguments)]

    return build

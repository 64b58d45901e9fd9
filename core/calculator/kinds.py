"""Every layer kind the calculator knows, one record each: adding a kind is one record in this file.

A record holds all there is about its kind: the keys it needs, its shape rule, parameters and
multiply-adds with their formulas (following Keras exactly; ``tests/test_calculator_keras.py``
checks each against Keras), its Keras equivalent, its columns in the editable table, a few
words for page text, and the classic slips a student makes counting it. The analysis, the
table, the Keras check, the answer checker and the page's column settings all read
:data:`KINDS`, so nothing else needs an edit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from core.calculator.columns import (
    Blank,
    Column,
    Editor,
    checked,
    fraction,
    padding_cell,
    pair_text,
    size_or_pair,
    whole_number,
)
from core.calculator.layer_kind import (
    Figures,
    KerasOptions,
    Layer,
    LayerKind,
    Slip,
    Window,
    as_pair,
    convolution_keras,
    convolution_words,
    single_keras_layer,
    size_text,
    sliding_window,
)
from core.calculator.report import LayerReport
from core.calculator.validation import (
    MAX_SIZE,
    Shape,
    flag,
    image_shape,
    positive_int,
    rate,
    shown_number,
)

# The browser keeps typed sizes short; the columns' parsers check again, since a table can also
# arrive through the session.
_SIZE_CHARS = 24

# --- the table's columns (shared by the kinds that use them) -----------------------------------

SIZE = Column(
    "filters / units",
    whole_number,
    Editor("number", min_value=1, max_value=MAX_SIZE, step=1, number_format="%d"),
    help="How many the layer makes: output channels or units.",
    accepted="a whole number from 1 to {max}, e.g. 32",
)
WINDOW = Column(
    "kernel / pool",
    size_or_pair,
    Editor("text", max_chars=_SIZE_CHARS),
    help="3, or 3x5 for a rectangle.",
    accepted="a whole number or a pair like 3x5, each from 1 to {max}",
    show=pair_text,
)
STRIDE = Column(
    "stride",
    size_or_pair,
    Editor("text", max_chars=_SIZE_CHARS),
    help="Blank = 1 for convolutions, the pool size for pooling; 2 or 1x2.",
    accepted="blank, a whole number or a pair like 1x2, each from 1 to {max}",
    when_blank=Blank.OMITTED,
    show=pair_text,
)
PADDING = Column(
    "padding",
    padding_cell,
    Editor("text", max_chars=_SIZE_CHARS),
    help="valid, same, or a number of pixels p (convolutions only).",
    when_blank="valid",
    show=str,
)
BIAS = Column("bias", checked, Editor("checkbox"), help="One bias per output channel or unit.", when_blank=True, show=bool)
MULTIPLIER = Column(
    "depth multiplier",
    whole_number,
    Editor("number", min_value=1, max_value=MAX_SIZE, step=1, number_format="%d"),
    help="Filters per input channel; blank = 1.",
    accepted="a whole number from 1 to {max}, e.g. 1",
    when_blank=1,
)
RATE = Column(
    "dropout rate",
    fraction,
    Editor("number", min_value=0.0, max_value=0.99, step=0.05),
    help="The fraction of values dropped while training.",
    accepted="a number from 0 to 0.99, the fraction of values dropped (e.g. 0.5)",
)

# --- what convolutions share --------------------------------------------------------------------


def _conv_window(layer: Layer, shape: Shape, label: str) -> Window:
    return sliding_window(layer, shape, label, key="kernel", allow_int_padding=True)


def _bias(layer: Layer, label: str) -> bool:
    return flag(layer.get("use_bias", True), "use_bias", label)


def _multiplier(layer: Layer, label: str) -> int:
    return positive_int(layer.get("depth_multiplier", 1), "depth_multiplier", label)


def _plus_one(use_bias: bool) -> str:
    return " + 1" if use_bias else ""


_CONV_COLUMNS = {"kernel": WINDOW, "stride": STRIDE, "padding": PADDING}


# --- conv2d -------------------------------------------------------------------------------------


def _conv2d(layer: Layer, shape: Shape, label: str) -> Figures:
    image_shape(label, shape)
    filters = positive_int(layer["filters"], "filters", label)
    window = _conv_window(layer, shape, label)
    use_bias = _bias(layer, label)
    (kh, kw), channels = window.size, window.channels
    weights = kh * kw * channels
    params = (weights + int(use_bias)) * filters
    return Figures(
        output_shape=(window.out_h, window.out_w, filters),
        shape_formula=window.shape_formula(filters),
        params=params,
        macs=window.out_h * window.out_w * filters * weights,
        params_formula=f"({kh}×{kw}×{channels}{_plus_one(use_bias)})×{filters} = {params:,}",
        bias_params=filters if use_bias else 0,
        settings=window.settings,
    )


def _conv2d_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return convolution_keras(
        layer, options, lambda **common: layers.Conv2D(layer["filters"], kernel_initializer=options.kernel_initializer, **common)
    )


_CHANNELS_TWICE = "multiplied by the input channels twice: once by the layer's input channels and again by the image's {image} channels"
_CHANNELS_SQUARED = "multiplied by the input channels twice ({channels}×{channels})"
_NO_CHANNELS = "left out the input channels (each filter spans all {channels} input channels)"


def _conv2d_slips(report: LayerReport, image_channels: int) -> list[Slip]:
    weights, bias = report.params - report.bias_params, report.bias_params
    channels = report.input_shape[-1]
    slips = []
    # A write-up of Géron's exercise counted layer 2 as 3×3×100×3 + 200 = 540,200 this way.
    if image_channels > 1 and channels != image_channels:
        slips.append(Slip(weights * image_channels + bias, _CHANNELS_TWICE.format(image=image_channels)))
    if channels > 1:
        slips.append(Slip(weights * channels + bias, _CHANNELS_SQUARED.format(channels=channels)))
        slips.append(Slip(weights // channels + bias, _NO_CHANNELS.format(channels=channels)))
    return slips


# --- depthwise_conv2d ---------------------------------------------------------------------------


def _depthwise(layer: Layer, shape: Shape, label: str) -> Figures:
    window = _conv_window(layer, shape, label)
    multiplier = _multiplier(layer, label)
    use_bias = _bias(layer, label)
    (kh, kw), channels = window.size, window.channels
    # Each input channel gets its own `multiplier` filters of kh×kw, seeing that channel only.
    outputs = channels * multiplier
    params = (kh * kw + int(use_bias)) * outputs
    return Figures(
        output_shape=(window.out_h, window.out_w, outputs),
        shape_formula=window.shape_formula(outputs),
        params=params,
        macs=window.out_h * window.out_w * outputs * kh * kw,
        params_formula=f"({kh}×{kw}{_plus_one(use_bias)})×{channels}×{multiplier} = {params:,}",
        bias_params=outputs if use_bias else 0,
        settings={**window.settings, "depth_multiplier": multiplier},
    )


def _depthwise_words(layer: Layer) -> str:
    multiplier = layer.get("depth_multiplier", 1)
    words = convolution_words(layer, f"depthwise conv {size_text(layer['kernel'])}")
    return words if multiplier == 1 else f"{words}, depth multiplier {multiplier}"


def _depthwise_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return convolution_keras(
        layer,
        options,
        lambda **common: layers.DepthwiseConv2D(
            depth_multiplier=layer.get("depth_multiplier", 1), depthwise_initializer=options.kernel_initializer, **common
        ),
    )


def _depthwise_slips(report: LayerReport, image_channels: int) -> list[Slip]:
    channels = report.input_shape[-1]
    if channels == 1:
        return []
    weights = report.params - report.bias_params
    wrong = f"counted it as an ordinary convolution; a depthwise filter sees one channel, not all {channels}"
    return [Slip(weights * channels + report.bias_params, wrong)]


# --- separable_conv2d ---------------------------------------------------------------------------


def _separable(layer: Layer, shape: Shape, label: str) -> Figures:
    image_shape(label, shape)
    filters = positive_int(layer["filters"], "filters", label)
    window = _conv_window(layer, shape, label)
    multiplier = _multiplier(layer, label)
    use_bias = _bias(layer, label)
    (kh, kw), channels = window.size, window.channels
    between = channels * multiplier
    # A depthwise step (kh×kw per channel, no bias) then a pointwise 1×1 conv, which has the bias.
    depthwise, pointwise = kh * kw * between, (between + int(use_bias)) * filters
    positions = window.out_h * window.out_w
    return Figures(
        output_shape=(window.out_h, window.out_w, filters),
        shape_formula=window.shape_formula(filters),
        params=depthwise + pointwise,
        macs=positions * depthwise + positions * between * filters,
        params_formula=(
            f"depthwise {kh}×{kw}×{channels}×{multiplier} + pointwise ({between}{_plus_one(use_bias)})×{filters} "
            f"= {depthwise + pointwise:,}"
        ),
        bias_params=filters if use_bias else 0,
        settings={**window.settings, "depth_multiplier": multiplier},
    )


def _separable_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return convolution_keras(
        layer,
        options,
        lambda **common: layers.SeparableConv2D(
            layer["filters"],
            depth_multiplier=layer.get("depth_multiplier", 1),
            depthwise_initializer=options.kernel_initializer,
            pointwise_initializer=options.kernel_initializer,
            **common,
        ),
    )


def _separable_slips(report: LayerReport, image_channels: int) -> list[Slip]:
    (kh, kw), multiplier = report.setting("window"), report.setting("depth_multiplier")
    channels, filters, bias = report.input_shape[-1], report.output_shape[-1], report.bias_params
    slips = [Slip((kh * kw * channels) * filters + bias, "counted it as one ordinary convolution, not a depthwise step then a 1×1 one")]
    if bias:
        slips.append(Slip(report.params + channels * multiplier, "gave the depthwise step a bias too; Keras puts it on the 1×1 step only"))
    return slips


# --- pooling ------------------------------------------------------------------------------------


def _pooling(layer: Layer, shape: Shape, label: str) -> Figures:
    # A pool's stride defaults to its own size; pools take no numeric padding in Keras.
    window = sliding_window(layer, shape, label, key="pool", default_stride=layer["pool"], allow_int_padding=False)
    return Figures(output_shape=(window.out_h, window.out_w, window.channels), shape_formula=window.shape_formula(window.channels))


def _pooling_kind(type_name: str, keras_class: str, words: str) -> LayerKind:
    """A pooling kind: a window sliding over each channel, no weights."""

    def keras(layer: Layer, options: KerasOptions) -> list[Any]:
        from keras import layers

        stride = layer.get("stride")
        pool = as_pair(layer["pool"])
        strides = as_pair(stride) if stride is not None else pool
        return [getattr(layers, keras_class)(pool, strides=strides, padding=layer.get("padding", "valid"), name=layer.get("name"))]

    def describe(layer: Layer) -> str:
        pool, stride = layer["pool"], layer.get("stride")
        text = f"{words} {pair_text(pool).replace('x', '×')}"
        return text if stride is None or as_pair(stride) == as_pair(pool) else f"{text}, stride {pair_text(stride)}"

    return LayerKind(
        type_name,
        example={"type": type_name, "pool": 2},
        figures=_pooling,
        keras=keras,
        describe=describe,
        columns={"pool": WINDOW, "stride": STRIDE, "padding": PADDING},
    )


def _global_pooling_kind(type_name: str, keras_class: str, verb: str, words: str) -> LayerKind:
    """A global pooling kind: one value per channel, over the whole image."""

    def figures(layer: Layer, shape: Shape, label: str) -> Figures:
        height, width, channels = image_shape(label, shape)
        return Figures(output_shape=(channels,), shape_formula=f"{verb} over {height}×{width} → ({channels},)")

    return LayerKind(
        type_name,
        example={"type": type_name},
        figures=figures,
        keras=single_keras_layer(keras_class),
        describe=lambda layer: words,
    )


# --- flatten, dense, dropout, batchnorm ---------------------------------------------------------


def _flatten(layer: Layer, shape: Shape, label: str) -> Figures:
    values = math.prod(shape)
    return Figures(output_shape=(values,), shape_formula=f"{'×'.join(str(n) for n in shape)} = {values:,}")


def _dense(layer: Layer, shape: Shape, label: str) -> Figures:
    units = positive_int(layer["units"], "units", label)
    use_bias = _bias(layer, label)
    inputs = shape[-1]
    # Keras applies Dense to the last axis, sharing the weights across every other position.
    positions = math.prod(shape[:-1])
    params = (inputs + int(use_bias)) * units
    shape_formula = f"last axis {inputs:,} → {units:,}"
    if positions > 1:
        shape_formula += f" at each of {positions:,} positions; add a flatten layer first for a classic dense layer"
    return Figures(
        output_shape=(*shape[:-1], units),
        shape_formula=shape_formula,
        params=params,
        macs=positions * inputs * units,
        params_formula=f"({inputs:,}{_plus_one(use_bias)})×{units:,} = {params:,}",
        bias_params=units if use_bias else 0,
    )


def _dense_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return [
        layers.Dense(
            layer["units"], use_bias=layer.get("use_bias", True), activation=options.activation_for(layer),
            kernel_initializer=options.kernel_initializer, bias_initializer=options.bias_initializer, name=layer.get("name"),
        )
    ]


def _dropout(layer: Layer, shape: Shape, label: str) -> Figures:
    dropped = rate(layer["rate"], label)
    return Figures(output_shape=shape, shape_formula=f"unchanged (drops {dropped:.0%} of values while training)")


def _dropout_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return [layers.Dropout(layer["rate"], name=layer.get("name"))]


def _batchnorm(layer: Layer, shape: Shape, label: str) -> Figures:
    channels = shape[-1]
    return Figures(
        output_shape=shape,
        shape_formula="unchanged",
        params=4 * channels,
        # γ and β are learned; the moving mean and variance are updated by statistics, not gradients.
        trainable_params=2 * channels,
        params_formula=f"4×{channels} = {4 * channels:,} (γ, β trainable; moving mean, variance not)",
    )


def _batchnorm_keras(layer: Layer, options: KerasOptions) -> list[Any]:
    from keras import layers

    return [layers.BatchNormalization(momentum=options.batchnorm_momentum, name=layer.get("name"))]


# --- the registry -------------------------------------------------------------------------------

KINDS: dict[str, LayerKind] = {
    kind.type: kind
    for kind in (
        LayerKind(
            "conv2d",
            example={"type": "conv2d", "filters": 32, "kernel": 3},
            figures=_conv2d,
            keras=_conv2d_keras,
            describe=lambda layer: convolution_words(layer, f"conv {size_text(layer['kernel'])}×{layer['filters']}"),
            columns={"filters": SIZE, **_CONV_COLUMNS, "use_bias": BIAS},
            slips=_conv2d_slips,
        ),
        LayerKind(
            "depthwise_conv2d",
            example={"type": "depthwise_conv2d", "kernel": 3},
            figures=_depthwise,
            keras=_depthwise_keras,
            describe=_depthwise_words,
            columns={**_CONV_COLUMNS, "depth_multiplier": MULTIPLIER, "use_bias": BIAS},
            slips=_depthwise_slips,
        ),
        LayerKind(
            "separable_conv2d",
            example={"type": "separable_conv2d", "filters": 64, "kernel": 3},
            figures=_separable,
            keras=_separable_keras,
            describe=lambda layer: convolution_words(layer, f"separable conv {size_text(layer['kernel'])}×{layer['filters']}"),
            columns={"filters": SIZE, **_CONV_COLUMNS, "depth_multiplier": MULTIPLIER, "use_bias": BIAS},
            slips=_separable_slips,
        ),
        _pooling_kind("maxpool2d", "MaxPooling2D", "max-pool"),
        _pooling_kind("avgpool2d", "AveragePooling2D", "avg-pool"),
        _global_pooling_kind("globalavgpool2d", "GlobalAveragePooling2D", "average", "global avg-pool"),
        _global_pooling_kind("globalmaxpool2d", "GlobalMaxPooling2D", "maximum", "global max-pool"),
        LayerKind("flatten", example={"type": "flatten"}, figures=_flatten, keras=single_keras_layer("Flatten"), describe=lambda layer: "flatten"),
        LayerKind(
            "dense",
            example={"type": "dense", "units": 10},
            figures=_dense,
            keras=_dense_keras,
            describe=lambda layer: f"dense {layer['units']}",
            columns={"units": SIZE, "use_bias": BIAS},
        ),
        LayerKind(
            "dropout",
            example={"type": "dropout", "rate": 0.5},
            figures=_dropout,
            keras=_dropout_keras,
            describe=lambda layer: f"dropout {layer['rate']:g}",
            columns={"rate": RATE},
        ),
        LayerKind("batchnorm", example={"type": "batchnorm"}, figures=_batchnorm, keras=_batchnorm_keras, describe=lambda layer: "batch norm"),
    )
}

LAYER_TYPES: tuple[str, ...] = tuple(KINDS)


def kind_of(layer: Any, position: int) -> LayerKind:
    """The record for a layer dict, checking it is a dict of a known kind with its required keys."""
    if not isinstance(layer, Mapping):
        raise ValueError(f"layer {position}: expected a dict with a 'type' key, got {type(layer).__name__}")
    name = layer.get("type")
    if name not in KINDS:
        raise ValueError(f"layer {position}: unknown type {shown_number(name)}; choose one of {', '.join(LAYER_TYPES)}")
    kind = KINDS[name]
    for key in kind.required:
        if layer.get(key) is None:
            raise ValueError(f"layer {position} ({name}): missing {key!r}; add it, e.g. {kind.example}")
    return kind


def describe_layers(layers: Sequence[Layer]) -> str:
    """The layers in a few words each, for page text: 'conv 3×3×32 → max-pool 2 → flatten → 2× dense 10'.

    Consecutive identical layers are counted once ("2× conv 3×3×64"), so VGG16 fits in a caption.
    """
    words = [kind_of(layer, position).describe(layer) for position, layer in enumerate(layers, start=1)]
    runs = [(text, len(list(group))) for text, group in itertools.groupby(words)]
    return " → ".join(text if count == 1 else f"{count}× {text}" for text, count in runs)

"""What a trained CNN has learned, as arrays the pages can show: filters, feature maps, statistics, saliency.

Functions here return NumPy arrays (``uint8`` images for display, ``float32`` for statistics);
the pages decide how to draw them. Keras is needed only for the functions that run a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def conv_layers(model: Any) -> list[Any]:
    """The model's 2-D convolution layers in forward order, including those inside nested models."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(conv_layers(layer))
    return found


def normalize_min_max(array: np.ndarray) -> np.ndarray:
    """Scale to 0–255 by the array's own minimum and maximum (a flat array becomes mid-grey)."""
    array = np.asarray(array, dtype=np.float64)
    low, high = float(array.min()), float(array.max())
    if high - low < 1e-12:
        return np.full(array.shape, 128, dtype=np.uint8)
    return np.round((array - low) / (high - low) * 255).astype(np.uint8)


def standardize_feature_map(feature_map: np.ndarray) -> np.ndarray:
    """CS-577 Homework 4's display normalisation: standardise, then ×64 + 128, clipped to 0–255.

    Unlike min–max scaling this keeps one outlier from washing out the rest of the map.
    """
    values = np.asarray(feature_map, dtype=np.float64)
    spread = values.std()
    centred = (values - values.mean()) / (spread if spread > 1e-12 else 1.0)
    return np.clip(centred * 64 + 128, 0, 255).astype(np.uint8)


def tile_images(images: np.ndarray, *, columns: int = 8, padding: int = 1, fill: int = 255) -> np.ndarray:
    """Arrange ``(N, H, W)`` or ``(N, H, W, 3)`` images in a grid with ``columns`` per row."""
    images = np.asarray(images)
    count, height, width = images.shape[:3]
    rows = math.ceil(count / columns)
    columns = min(columns, count)
    shape = (rows * (height + padding) - padding, columns * (width + padding) - padding) + images.shape[3:]
    grid = np.full(shape, fill, dtype=images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + padding), column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def filter_images(kernel: np.ndarray) -> np.ndarray:
    """Each filter of a conv kernel ``(kh, kw, in_channels, filters)`` as its own min–max image.

    Three input channels are shown as RGB; any other count as the mean over input channels,
    which is what the filter responds to on average.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"expected a conv kernel of shape (kh, kw, in, filters), got {kernel.shape}")
    filters = np.moveaxis(kernel, -1, 0)  # (filters, kh, kw, in)
    if filters.shape[-1] == 3:
        return np.stack([normalize_min_max(f) for f in filters])
    return np.stack([normalize_min_max(f.mean(axis=-1)) for f in filters])


def filter_grid(kernel: np.ndarray, *, columns: int = 8, upscale: int = 1) -> np.ndarray:
    """The filters of a conv kernel tiled in a grid (4×8 for 32 filters), optionally enlarged."""
    images = filter_images(kernel)
    if upscale > 1:
        images = images.repeat(upscale, axis=1).repeat(upscale, axis=2)
    return tile_images(images, columns=columns)


def feature_maps(model: Any, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each conv layer's output for one prepared image ``(H, W, C)``: (layer name, ``(h, w, channels)``)."""
    import keras

    layers = conv_layers(model)
    if not layers:
        return []
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs=inputs, outputs=[layer.output for layer in layers])
    outputs = probe(np.asarray(image, dtype=np.float32)[np.newaxis], training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [(layer.name, np.asarray(output)[0]) for layer, output in zip(layers, outputs)]


def feature_map_grid(feature_map: np.ndarray, *, columns: int = 8, limit: int | None = None, scale: int = 1) -> np.ndarray:
    """All channels of one ``(h, w, channels)`` feature map, each standardised as in CS-577 Homework 4, tiled.

    ``scale`` enlarges the grid by pixel repetition (see :func:`enlarge`).
    """
    channels = np.moveaxis(np.asarray(feature_map), -1, 0)
    if limit is not None:
        channels = channels[:limit]
    return enlarge(tile_images(np.stack([standardize_feature_map(channel) for channel in channels]), columns=columns), scale)


# ---------------------------------------------------------------------------------------------
# Activation statistics, saliency and Grad-CAM


@dataclass(frozen=True)
class LayerActivationStats:
    """ELEC 576 Assignment 2's per-layer numbers: the mean, standard deviation and variance of a conv layer's outputs."""

    layer: str
    mean: float
    std: float
    var: float
    values: int  # how many activations (images × height × width × channels) the figures cover


def activation_statistics(model: Any, images: np.ndarray, *, batch_size: int = 256) -> list[LayerActivationStats]:
    """Mean, std and variance of every conv layer's activations over ``images`` (prepared, ``(N, H, W, C)``).

    Sums and sums of squares are accumulated in float64 batch by batch, so a whole test set
    never has to sit in memory at once; the variance is the population variance, as NumPy's.
    """
    import keras

    layers = conv_layers(model)
    if not layers:
        return []
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, H, W, C) array, got shape {images.shape}")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs=inputs, outputs=[layer.output for layer in layers])
    totals = np.zeros(len(layers))
    squares = np.zeros(len(layers))
    counts = np.zeros(len(layers), dtype=np.int64)
    for start in range(0, len(images), batch_size):
        outputs = probe(images[start : start + batch_size], training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        for index, output in enumerate(outputs):
            values = np.asarray(output, dtype=np.float64)
            totals[index] += values.sum()
            squares[index] += np.square(values).sum()
            counts[index] += values.size
    stats = []
    for layer, total, square, count in zip(layers, totals, squares, counts):
        mean = total / count
        var = max(square / count - mean * mean, 0.0)
        stats.append(LayerActivationStats(layer.name, float(mean), float(math.sqrt(var)), float(var), int(count)))
    return stats


def _class_score_model(model: Any, extra_outputs: list[Any]) -> tuple[Any, Any]:
    """A probe returning ``extra_outputs`` plus what feeds the last layer, and a function from that to class scores.

    Saliency and Grad-CAM differentiate the class *score* (the logit), not the softmax
    probability: a saturated softmax has near-zero gradients everywhere. A softmax Dense head
    is undone by recomputing its pre-activation from its own kernel and bias.
    """
    import keras

    last = model.layers[-1]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    softmax_head = isinstance(last, keras.layers.Dense) and getattr(last.activation, "__name__", "") == "softmax"
    feed = last.input if softmax_head else model.outputs[0]
    probe = keras.Model(inputs=inputs, outputs=[*extra_outputs, feed])

    def scores(tensor: Any) -> Any:
        if softmax_head:
            return keras.ops.matmul(tensor, last.kernel) + last.bias
        return tensor

    return probe, scores


def _choose_class(scores: np.ndarray, class_index: int | None) -> int:
    if class_index is None:
        return int(np.argmax(scores))
    if not 0 <= class_index < scores.shape[-1]:
        raise ValueError(f"class_index must be in 0…{scores.shape[-1] - 1}, got {class_index}")
    return int(class_index)


def saliency_map(model: Any, image: np.ndarray, *, class_index: int | None = None) -> np.ndarray:
    """|∂ class score / ∂ pixel| for one prepared image ``(H, W, C)``, the max over channels: ``(H, W)``, ≥ 0.

    Simonyan, Vedaldi & Zisserman (2013): the pixels whose change would move the score most.
    ``class_index`` defaults to the predicted class.
    """
    import tensorflow as tf

    probe, scores = _class_score_model(model, [])
    batch = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(batch)
        outputs = probe(batch, training=False)
        feed = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
        logits = scores(feed)
        chosen = _choose_class(np.asarray(logits)[0], class_index)
        target = logits[0, chosen]
    gradient = tape.gradient(target, batch)
    return np.abs(np.asarray(gradient)[0]).max(axis=-1).astype(np.float32)


def grad_cam_layers(model: Any) -> list[Any]:
    """Layers whose output is a stack of feature maps Grad-CAM can use, in forward order.

    Conv layers, plus the layers where branches meet (an inception concat, a residual add and
    its activation), so the default, the last of them, sees the whole block rather than one branch.
    """
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.Concatenate, keras.layers.Add, keras.layers.Activation)
    return [layer for layer in model.layers if isinstance(layer, kinds) and len(layer.output.shape) == 4]


def grad_cam(
    model: Any, image: np.ndarray, *, class_index: int | None = None, layer_name: str | None = None
) -> np.ndarray:
    """Grad-CAM for one prepared image: a ``(H, W)`` map in [0, 1] of where the class evidence lies.

    Selvaraju et al. (2017): weight each channel of a feature layer (the last one by default) by the
    spatial mean of the class score's gradient, sum, keep the positive part, upsample to the image.
    """
    import tensorflow as tf

    candidates = grad_cam_layers(model)
    if not candidates:
        raise ValueError("Grad-CAM needs a model with at least one Conv2D layer")
    if layer_name is None:
        layer = candidates[-1]
    else:
        matches = [layer for layer in candidates if layer.name == layer_name]
        if not matches:
            raise ValueError(f"no feature layer named {layer_name!r}; choose one of {[layer.name for layer in candidates]}")
        layer = matches[0]
    probe, scores = _class_score_model(model, [layer.output])
    batch = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[np.newaxis])
    with tf.GradientTape() as tape:
        activations, feed = probe(batch, training=False)
        tape.watch(activations)
        logits = scores(feed)
        chosen = _choose_class(np.asarray(logits)[0], class_index)
        target = logits[0, chosen]
    gradient = np.asarray(tape.gradient(target, activations))[0]
    maps = np.asarray(activations)[0]
    weights = gradient.mean(axis=(0, 1))
    cam = np.maximum((maps * weights).sum(axis=-1), 0.0)
    height, width = batch.shape[1], batch.shape[2]
    cam = np.asarray(tf.image.resize(cam[..., np.newaxis], (height, width), method="bilinear"))[..., 0]
    peak = float(cam.max())
    return (cam / peak if peak > 1e-12 else np.zeros_like(cam)).astype(np.float32)


def heat_colors(values: np.ndarray) -> np.ndarray:
    """A [0, 1] map as RGB ``uint8`` on a dark-blue → red → yellow ramp (no plotting library needed)."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    anchors = np.array([0.0, 0.35, 0.7, 1.0])
    colours = np.array([[20, 20, 90], [60, 80, 220], [230, 60, 30], [255, 240, 60]], dtype=np.float64)
    rgb = np.stack([np.interp(values, anchors, colours[:, channel]) for channel in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


def heatmap_overlay(image: np.ndarray, heat: np.ndarray, *, alpha: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] heat map over a ``uint8`` image ``(H, W)`` or ``(H, W, C)``; returns RGB ``uint8``."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    base = np.repeat(image[..., np.newaxis], 3, axis=-1) if image.ndim == 2 else image[..., :3]
    if base.shape[:2] != np.shape(heat):
        raise ValueError(f"heat map shape {np.shape(heat)} does not match the image's {base.shape[:2]}")
    blended = (1 - alpha) * base.astype(np.float64) + alpha * heat_colors(heat).astype(np.float64)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement, so a 28×28 map is visible without blurring its pixels."""
    image = np.asarray(image)
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image


# Magma's look (black → purple → orange → pale yellow) from five of its colours, without a plotting library.
_MAGMA_ANCHORS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_MAGMA_COLOURS = np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]], dtype=np.float64)


def spectrogram_image(features: np.ndarray, *, height: int = 120, max_width: int = 480) -> np.ndarray:
    """A (bands, frames) spectrogram as an RGB ``uint8`` picture, low bands at the bottom, magma colours.

    A picture costs the same to send at any size, where a heat-map chart sends one mark per
    cell: 128 bands × 1,700 frames is 217,000 marks per example.
    """
    image = np.asarray(features, dtype=np.float64)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"a spectrogram must be a non-empty (bands, frames) array, got shape {image.shape}")
    image = np.flipud(normalize_min_max(image) / 255.0)
    bands, frames = image.shape
    rows = np.clip((np.arange(height) * bands) // height, 0, bands - 1)
    width = min(max_width, max(frames, 2 * height))
    columns = np.clip((np.arange(width) * frames) // width, 0, frames - 1)
    sampled = image[rows][:, columns]
    rgb = np.stack([np.interp(sampled, _MAGMA_ANCHORS, _MAGMA_COLOURS[:, channel]) for channel in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The arithmetic behind one number of a feature map


@dataclass(frozen=True)
class ConvArithmetic:
    """How a conv layer computed one output value: the input patch its kernel covered, times the
    kernel, summed, plus the bias, through the activation.

    ``patch`` and ``kernel`` are ``(kernel height, kernel width, input channels)``; positions that
    fall in the layer's zero padding are 0 in ``patch`` and True in ``padded``.
    """

    layer_name: str
    row: int
    col: int
    channel: int
    patch: np.ndarray
    padded: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    products_sum: float
    bias: float
    pre_activation: float
    activation: str
    output: float
    input_rows: tuple[int, int]  # first and last input row the patch covers (may lie in the padding)
    input_cols: tuple[int, int]


def conv_arithmetic(model: Any, image: np.ndarray, layer_name: str, row: int, col: int, channel: int) -> ConvArithmetic:
    """The trained model's own arithmetic at ``(row, col, channel)`` of a Conv2D layer's output for one
    prepared image ``(H, W, C)``; its ``output`` equals the layer's real output there.

    Raises ``ValueError`` for a layer that is not a 2-D convolution or a position outside its output.
    """
    import keras

    layer = model.get_layer(layer_name)
    if type(layer).__name__ != "Conv2D":
        raise ValueError(f"{layer_name} is a {type(layer).__name__}, not a Conv2D layer")
    if getattr(layer, "groups", 1) != 1:
        raise ValueError(f"{layer_name} is a grouped convolution, which this view does not explain")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs=inputs, outputs=[layer.input, layer.output])
    seen = probe(np.asarray(image, dtype=np.float32)[np.newaxis], training=False)
    layer_input, layer_output = (np.asarray(value, dtype=np.float64)[0] for value in seen)
    out_height, out_width, out_channels = layer_output.shape
    if not (0 <= row < out_height and 0 <= col < out_width and 0 <= channel < out_channels):
        raise ValueError(
            f"{layer_name}'s output is {out_height}×{out_width}×{out_channels}; "
            f"(row {row}, column {col}, channel {channel}) is outside it"
        )
    weights = layer.get_weights()
    kernel = np.asarray(weights[0], dtype=np.float64)[..., channel]
    bias = float(weights[1][channel]) if layer.use_bias else 0.0
    kernel_height, kernel_width = kernel.shape[:2]
    stride_rows, stride_cols = layer.strides
    dilation_rows, dilation_cols = layer.dilation_rate
    in_height, in_width = layer_input.shape[:2]
    top = left = 0
    if layer.padding == "same":
        # TensorFlow's rule: the total padding needed, with the odd pixel at the bottom/right.
        span_rows = (kernel_height - 1) * dilation_rows + 1
        span_cols = (kernel_width - 1) * dilation_cols + 1
        top = max((out_height - 1) * stride_rows + span_rows - in_height, 0) // 2
        left = max((out_width - 1) * stride_cols + span_cols - in_width, 0) // 2
    rows = row * stride_rows - top + dilation_rows * np.arange(kernel_height)
    cols = col * stride_cols - left + dilation_cols * np.arange(kernel_width)
    inside = (rows[:, None] >= 0) & (rows[:, None] < in_height) & (cols[None, :] >= 0) & (cols[None, :] < in_width)
    covered = layer_input[np.ix_(np.clip(rows, 0, in_height - 1), np.clip(cols, 0, in_width - 1))]
    patch = np.where(inside[..., np.newaxis], covered, 0.0)
    products = patch * kernel
    products_sum = float(products.sum())
    pre_activation = products_sum + bias
    activation = keras.activations.serialize(layer.activation)
    activation_name = activation if isinstance(activation, str) else str(activation.get("config", activation))
    output = float(np.asarray(layer.activation(np.array([pre_activation], dtype=np.float32)))[0])
    return ConvArithmetic(
        layer_name=layer_name, row=row, col=col, channel=channel, patch=patch, padded=~inside, kernel=kernel,
        products=products, products_sum=products_sum, bias=bias, pre_activation=pre_activation,
        activation=activation_name, output=output,
        input_rows=(int(rows[0]), int(rows[-1])), input_cols=(int(cols[0]), int(cols[-1])),
    )

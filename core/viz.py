"""What a trained CNN has learned, as arrays the pages can show: filters and feature maps.

Functions here return NumPy arrays (``uint8`` images for display, ``float32`` for statistics);
the pages decide how to draw them. Keras is needed only for the functions that run a model.
"""

from __future__ import annotations

import math
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
    """Seed 004's display normalisation: standardise, then ×64 + 128, clipped to 0–255.

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


def feature_map_grid(feature_map: np.ndarray, *, columns: int = 8, limit: int | None = None) -> np.ndarray:
    """All channels of one ``(h, w, channels)`` feature map, each standardised as in seed 004, tiled."""
    channels = np.moveaxis(np.asarray(feature_map), -1, 0)
    if limit is not None:
        channels = channels[:limit]
    return tile_images(np.stack([standardize_feature_map(channel) for channel in channels]), columns=columns)

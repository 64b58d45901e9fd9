"""ImageNet predictions with the full VGG16 (its 1,000-class classifier), when its weights are on this machine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.keras_source import keras_models_dir
from core.transfer.bases import preprocess
from core.transfer.weights import (
    CLASS_INDEX_FILE,
    FULL_WEIGHTS_FILE,
    PREFETCH_COMMAND,
    keras_cache_weights_path,
    locate_vgg16_weights,
)


@dataclass(frozen=True)
class ImagenetStatus:
    """Whether the full VGG16 (with its 1,000-class top) and the class names are on this machine."""

    available: bool
    weights_path: Path
    class_index_path: Path
    message: str


def imagenet_status() -> ImagenetStatus:
    """Look for the full VGG16 weights (as :func:`locate_vgg16_weights` finds them) and ImageNet's class index; no download here."""
    found = locate_vgg16_weights(keras_models_dir(), include_top=True)
    weights = found.path or keras_cache_weights_path(include_top=True)
    index = keras_models_dir() / CLASS_INDEX_FILE
    missing = ([] if found.found else [FULL_WEIGHTS_FILE]) + ([] if index.is_file() else [CLASS_INDEX_FILE])
    if missing:
        why = f" ({found.problem})" if found.problem else ""
        message = (
            "ImageNet top-5 needs the full VGG16 (528 MB, with its classifier) and the class names; "
            f"missing from {keras_models_dir()}: {', '.join(missing)}{why}. Run `{PREFETCH_COMMAND}` while online."
        )
        return ImagenetStatus(False, weights, index, message)
    return ImagenetStatus(True, weights, index, f"Full VGG16 from {weights}")


def imagenet_top5(image: np.ndarray, status: ImagenetStatus) -> list[tuple[str, float]]:
    """The five most likely ImageNet classes of one ``uint8`` RGB image, with full VGG16 at 224×224."""
    if not status.available:
        raise ValueError(status.message)
    from PIL import Image

    model = _full_vgg16(str(status.weights_path))
    resized = np.asarray(Image.fromarray(np.asarray(image, dtype=np.uint8).squeeze()).convert("RGB").resize((224, 224)))
    probabilities = np.asarray(model(preprocess(resized[np.newaxis], "vgg16"), training=False))[0]
    with open(status.class_index_path, encoding="utf-8") as handle:
        index = json.load(handle)
    best = np.argsort(probabilities)[::-1][:5]
    return [(index[str(i)][1], float(probabilities[i])) for i in best]


_full_models: dict[str, Any] = {}


def _full_vgg16(weights_path: str) -> Any:
    from core.models.transfer import full_vgg16

    if weights_path not in _full_models:
        _full_models[weights_path] = full_vgg16(weights_path)
    return _full_models[weights_path]

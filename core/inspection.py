"""What a trained model makes of one image (probabilities, filters, feature maps, saliency), kept on disk.

The CIFAR and feature-map pages show these for a test image of a cached run. Computing them
needs TensorFlow and the model (seconds on a server that just started); reading them back needs
neither, so every page that reopens a run reads them from here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from core.cache import cached_arrays
from core.training import RunResult


def image_id(image: np.ndarray) -> str:
    """A name for an image by its pixels, so its views are found again whichever subset or page shows it."""
    return f"img-{hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()[:20]}"


def image_inspection(result: RunResult, prepared: np.ndarray, *, image_id: str | None = None) -> dict[str, np.ndarray]:
    """One image inside a run: class ``probabilities``, the first conv layer's ``kernel`` (named by
    ``kernel_layer``), and each conv layer's feature map (``map_0``, ``map_1``…, named by ``map_names``).

    ``prepared`` is the image as the model takes it (:func:`core.training.prepare_inputs`). For a
    test image, pass its :func:`image_id`: it is then computed once and kept on disk beside the run,
    so reopening a cached run, even on a server that just started, needs neither TensorFlow nor the
    model. An uploaded image is computed each time (a student's photos do not fill the cache).
    """

    def compute() -> dict[str, np.ndarray]:
        from core import viz
        from core.training import load_model

        model = load_model(result)
        first = viz.conv_layers(model)[0]
        maps = viz.feature_maps(model, prepared)
        arrays = {
            "probabilities": np.asarray(model.predict(prepared[np.newaxis], verbose=0)[0], dtype=np.float32),
            "kernel": np.asarray(first.get_weights()[0], dtype=np.float32),
            "kernel_layer": np.array(first.name),
            "map_names": np.array([name for name, _ in maps], dtype=str),
        }
        arrays.update({f"map_{index}": np.asarray(values, dtype=np.float32) for index, (_, values) in enumerate(maps)})
        return arrays

    if image_id is None:
        return compute()
    return cached_arrays("image_inspection", f"{result.key}-{image_id}", compute, keep_in_memory=True)


def image_explanation(
    result: RunResult, prepared: np.ndarray, class_index: int, *, image_id: str | None = None
) -> dict[str, np.ndarray]:
    """The ``saliency`` map and the ``grad_cam`` heat map of one image for one class, kept on disk like
    :func:`image_inspection` when the image has an ``image_id``."""

    def compute() -> dict[str, np.ndarray]:
        from core import viz
        from core.training import load_model

        model = load_model(result)
        return {
            "saliency": np.asarray(viz.saliency_map(model, prepared, class_index=class_index), dtype=np.float32),
            "grad_cam": np.asarray(viz.grad_cam(model, prepared, class_index=class_index), dtype=np.float32),
        }

    if image_id is None:
        return compute()
    return cached_arrays("image_explanation", f"{result.key}-{image_id}-class{class_index}", compute, keep_in_memory=True)


def feature_map_layers(inspection: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """The (layer name, feature map) pairs of an :func:`image_inspection`, in layer order."""
    return [(str(name), inspection[f"map_{index}"]) for index, name in enumerate(inspection["map_names"])]

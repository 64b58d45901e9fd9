"""Bottleneck features: the frozen base run once over every image, cached on disk, and predictions through it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.cache import cached_arrays, stable_hash
from core.datasets import Dataset
from core.training import ProgressCallback, TrainingProgress, exclusive_compute
from core.transfer.bases import BaseSpec, base_model, preprocess

FEATURES_NAMESPACE = "bottleneck-features"


@dataclass(frozen=True)
class FeaturePass:
    """The one-time run of the frozen base over every image."""

    seconds: float
    from_cache: bool
    feature_shape: tuple[int, ...]


def bottleneck_features(
    spec: BaseSpec, data: Dataset, *, batch_size: int = 32, on_progress: ProgressCallback | None = None
) -> tuple[Dataset, FeaturePass]:
    """The frozen base's outputs for every split of ``data`` (already preprocessed), cached on disk.

    The key is the data's fingerprint, the weights' content hash and the input shape, so new
    images, new weights or a new input size compute afresh and everything else is reused.
    """
    report = on_progress or (lambda progress: None)
    key = features_key(spec, data)
    splits = {"train": data.x_train, "test": data.x_test}
    if data.x_val is not None:
        splits["val"] = data.x_val
    computed = {"ran": False}

    def compute() -> dict[str, np.ndarray]:
        computed["ran"] = True
        # The pass is as heavy as a fit: it queues behind other sessions' training like one.
        with exclusive_compute():
            base = base_model(spec, data.input_shape)
            total = sum(len(x) for x in splits.values())
            done = 0
            outputs: dict[str, np.ndarray] = {}
            for name, x in splits.items():
                parts = []
                for start in range(0, len(x), batch_size):
                    batch = x[start : start + batch_size]
                    parts.append(np.asarray(base(batch, training=False)))
                    done += len(batch)
                    report(TrainingProgress(done / total, f"Running the frozen base once per image: {done:,}/{total:,}"))
                outputs[name] = np.concatenate(parts).astype(np.float32)
            del base
        return outputs

    started = time.perf_counter()
    features = cached_arrays(FEATURES_NAMESPACE, key, compute)
    seconds = time.perf_counter() - started
    feature_data = Dataset(
        name=f"{data.name}|features-{key}",
        x_train=features["train"],
        y_train=data.y_train,
        x_test=features["test"],
        y_test=data.y_test,
        class_names=data.class_names,
        source=data.source,
        x_val=features.get("val"),
        y_val=data.y_val if "val" in features else None,
        recipe={
            "step": "bottleneck_features", "of": data.recipe, "base": spec.kind, "batch_size": batch_size,
            "weights_path": spec.weights_path, "weights_digest": spec.weights_digest,
        },
    )
    return feature_data, FeaturePass(seconds, not computed["ran"], tuple(features["train"].shape[1:]))


def features_key(spec: BaseSpec, data: Dataset) -> str:
    """The cache key of a base's features for a dataset: its fingerprint, the base, the weights' hash, the input."""
    return stable_hash(
        {"data": data.fingerprint, "base": spec.kind, "weights": spec.weights_digest, "input": list(data.input_shape)}
    )


def predict_probabilities(model: Any, images: np.ndarray, spec: BaseSpec) -> np.ndarray:
    """Class probabilities of a trained full model (not the head alone) for raw ``uint8`` images."""
    return np.asarray(model(preprocess(images, spec.kind), training=False))


def head_probabilities(head: Any, images: np.ndarray, spec: BaseSpec) -> np.ndarray:
    """Class probabilities from a head trained on bottleneck features: base forward, then the head."""
    prepared = preprocess(images, spec.kind)
    base = base_model(spec, prepared.shape[1:])
    return np.asarray(head(np.asarray(base(prepared, training=False)), training=False))

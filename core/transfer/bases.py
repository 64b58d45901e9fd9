"""The base all three modes share (VGG16 or the in-app source CNN) and its inputs, preprocessed once and shared."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import budget
from core.datasets import Dataset
from core.training import RunResult
from core.transfer.weights import WeightsStatus

# VGG16 was trained on BGR images with these per-channel ImageNet means subtracted ("caffe" mode).
_IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)

@dataclass(frozen=True)
class BaseSpec:
    """The pretrained (or not) base all three modes share."""

    kind: str  # "vgg16" or "small_cnn"
    weights_path: str | None
    weights_digest: str | None
    description: str

    @property
    def pretrained(self) -> bool:
        """True when the base starts from learned weights rather than random ones."""
        return self.weights_path is not None


def vgg16_spec(status: WeightsStatus) -> BaseSpec:
    """VGG16 with ImageNet weights when ``status`` found them, otherwise honestly random."""
    if status.available and status.path is not None:
        return BaseSpec("vgg16", str(status.path), status.digest, f"VGG16 with ImageNet weights ({status.origin})")
    return BaseSpec(
        "vgg16",
        None,
        None,
        "VGG16 with random weights: no ImageNet weights here, so 'frozen' features are random projections",
    )


def source_spec(source_run: RunResult) -> BaseSpec:
    """The in-app source CNN's convolutions, taken from its trained (cached) run."""
    if source_run.model_path is None:
        raise ValueError("the source run has no saved model to transfer from")
    return BaseSpec(
        "small_cnn",
        str(source_run.model_path),
        source_run.key,
        f"the in-app source CNN trained on {source_run.dataset_name} "
        f"({source_run.test_accuracy:.1%} test accuracy on its own task)",
    )


def base_model(spec: BaseSpec, input_shape: tuple[int, ...]) -> Any:
    """The spec's base as a Keras model for ``input_shape``, with its pretrained weights when it has them."""
    from core.models.transfer import load_base_weights, make_base

    base = make_base(spec.kind, tuple(input_shape))
    if spec.weights_path:
        load_base_weights(base, spec.weights_path)
    return base


def preprocess(images: np.ndarray, kind: str) -> np.ndarray:
    """What the base expects: VGG16's ``preprocess_input`` (RGB→BGR, minus ImageNet means) or /255 for the small CNN.

    Grayscale images are repeated to three channels for VGG16.
    """
    images = np.asarray(images)
    if kind == "vgg16":
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        converted = images[..., ::-1].astype(np.float32)
        converted -= _IMAGENET_BGR_MEAN  # in place: a second float copy of a whole image set is hundreds of MB
        return converted
    if kind == "small_cnn":
        return images.astype(np.float32) / 255.0
    raise ValueError(f"unknown base kind {kind!r}")


def prepared_dataset(dataset: Dataset, kind: str) -> Dataset:
    """The dataset with every split preprocessed for the base, as float32 the engine passes through unchanged.

    Made once per dataset and base and shared, read-only, by every session and rerun: at 224×224 a
    thousand images are 600 MB as float32, and the page asks for them once per mode on every rerun.
    The copy is budgeted before it is made.
    """
    memo = (dataset.fingerprint, dataset.name, kind)
    with _prepared_guard:
        found = _prepared.get(memo)
        if found is not None:
            _prepared.move_to_end(memo)
            return found
        values = sum(split.size for split in (dataset.x_train, dataset.x_test, dataset.x_val) if split is not None)
        channels_factor = 3 if kind == "vgg16" and dataset.input_shape[-1] == 1 else 1
        budget.check_memory(
            f"{dataset.name}'s images as float32 for the base", values * channels_factor * 4,
            "Use a smaller input size or fewer images.",
        )
        prepared = Dataset(
            name=f"{dataset.name}|{kind}",
            x_train=_read_only(preprocess(dataset.x_train, kind)),
            y_train=dataset.y_train,
            x_test=_read_only(preprocess(dataset.x_test, kind)),
            y_test=dataset.y_test,
            class_names=dataset.class_names,
            source=dataset.source,
            is_fallback=dataset.is_fallback,
            x_val=_read_only(preprocess(dataset.x_val, kind)) if dataset.x_val is not None else None,
            y_val=dataset.y_val,
            recipe={"step": "transfer_preprocess", "kind": kind, "of": dataset.recipe},
        )
        _prepared[memo] = prepared
        while len(_prepared) > _MAX_PREPARED:
            _prepared.popitem(last=False)
        return prepared


# Two: the dataset a class is looking at, and the one someone just switched to.
_MAX_PREPARED = 2
_prepared: OrderedDict[tuple[str, str, str], Dataset] = OrderedDict()
_prepared_guard = threading.Lock()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


"""Dataset registry: ``load_dataset(name, data_dir=...)`` tries local files, then Keras, then an offline default.

Every loader follows the same order so a class without network still gets a working page:

1. the dataset in its standard on-disk format inside the data directory (``DLLAB_DATA_DIR``);
2. the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``);
3. a Keras download, only when the network answers;
4. a small built-in fallback, whose ``source`` says plainly that it is not the real dataset.

Images are ``uint8`` arrays shaped ``(N, H, W, C)``, channels last, even for grayscale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from core.cache import fingerprint_arrays


class DatasetError(ValueError):
    """A dataset that exists but cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split with class names and a human-readable note on where it came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    is_fallback: bool = False
    x_val: np.ndarray | None = field(default=None, repr=False)
    y_val: np.ndarray | None = field(default=None, repr=False)
    extras: dict = field(default_factory=dict, repr=False)

    @cached_property
    def fingerprint(self) -> str:
        """Content hash of all the arrays; part of every cache key trained on this data."""
        arrays = [self.x_train, self.y_train, self.x_test, self.y_test]
        if self.x_val is not None and self.y_val is not None:
            arrays += [self.x_val, self.y_val]
        return fingerprint_arrays(*arrays)

    @property
    def has_validation(self) -> bool:
        """True when a separate validation split exists; otherwise curves are drawn on the test set."""
        return self.x_val is not None and self.y_val is not None

    @property
    def num_classes(self) -> int:
        """How many classes the labels index into."""
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example, without the batch axis."""
        return tuple(self.x_train.shape[1:])

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Examples per class in ``"train"`` or ``"test"``."""
        labels = self.y_train if split == "train" else self.y_test
        counts = np.bincount(labels.astype(np.int64), minlength=self.num_classes)
        return {name: int(count) for name, count in zip(self.class_names, counts)}


Loader = Callable[..., Dataset]
_LOADERS: dict[str, Loader] = {}


def register_loader(name: str) -> Callable[[Loader], Loader]:
    """Decorator that makes a loader reachable through :func:`load_dataset`."""

    def decorate(loader: Loader) -> Loader:
        _LOADERS[name] = loader
        return loader

    return decorate


def dataset_names() -> list[str]:
    """Names :func:`load_dataset` accepts."""
    return sorted(_LOADERS)


def load_dataset(name: str, *, data_dir: Path | str | None = None, **options: object) -> Dataset:
    """Load a registered dataset by name; ``data_dir`` defaults to ``DLLAB_DATA_DIR``."""
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(dataset_names())}")
    if data_dir is None:
        from core import settings

        data_dir = settings.data_dir()
    return _LOADERS[name](data_dir=Path(data_dir) if data_dir is not None else None, **options)


def subsample_per_class(
    x: np.ndarray, y: np.ndarray, per_class: int | None, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``per_class`` examples of each class, drawn with a fixed seed, in shuffled order."""
    if per_class is None:
        return x, y
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        indices = np.flatnonzero(y == label)
        chosen.append(rng.permutation(indices)[:per_class])
    order = rng.permutation(np.concatenate(chosen))
    return x[order], y[order]


def subsample(x: np.ndarray, y: np.ndarray, size: int | None, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``size`` examples of a seeded shuffle (all of them when ``size`` is ``None``)."""
    if size is None or size >= len(x):
        return x, y
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    order = np.random.default_rng(seed).permutation(len(x))[:size]
    return x[order], y[order]


# Loaders register themselves on import; keep these imports free of TensorFlow.
from core.datasets import audio, cifar, digits, images, mnist  # noqa: E402,F401

"""What every loader returns and how they are found: ``Dataset``, ``Location``, the registry, splits and subsets.

``load_dataset(name, data_dir=...)`` tries local files, then Keras, then an offline default.

Every loader follows the same order so a class without network still gets a working page:

1. the dataset in its standard on-disk format inside the data directory (``DLLAB_DATA_DIR``);
2. the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``);
3. a Keras download, only when the network answers;
4. a small built-in fallback, whose ``source`` says plainly that it is not the real dataset.

Images are ``uint8`` arrays shaped ``(N, H, W, C)``, channels last, even for grayscale.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from core.cache import cached_arrays, fingerprint_arrays, stable_hash


class DatasetError(ValueError):
    """A dataset that exists but cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Location:
    """Where a dataset's (or pretrained weights') files were found, and why what is there falls short.

    Each loader has one ``locate_*`` function that returns this, and :mod:`core.prefetch` reports
    exactly what it returns, so the pages and the prefetch table can never disagree on a place.
    ``problem`` explains a miss (an interrupted copy, a file that is not what its name says) or,
    when ``path`` is set, a usable but incomplete find (three of five CIFAR training batches).
    """

    path: Path | None
    where: str = ""  # "data directory", "Keras cache", "DLLAB_VGG16_WEIGHTS", "your file"
    problem: str = ""

    @property
    def found(self) -> bool:
        """True when ``path`` names something the loader can read."""
        return self.path is not None


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
    # How the arrays were made, as plain JSON-able data (loader, options, derived steps), so an
    # exported script can remake them; ``None`` when unknown. Never part of the fingerprint.
    recipe: dict | None = field(default=None, repr=False)

    @cached_property
    def fingerprint(self) -> str:
        """Content hash of all the arrays; part of every cache key trained on this data."""
        arrays = [self.x_train, self.y_train, self.x_test, self.y_test]
        if self.x_val is not None and self.y_val is not None:
            arrays += [self.x_val, self.y_val]
        return fingerprint_arrays(*arrays)

    @cached_property
    def test_fingerprint(self) -> str:
        """Content hash of the test split alone: what is computed over it holds for any training subset."""
        return fingerprint_arrays(self.x_test, self.y_test)

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


def nonempty_file(path: Path) -> bool:
    """True for a file with content: an empty one is what an interrupted copy leaves, never a dataset file."""
    return path.is_file() and path.stat().st_size > 0


def made_once(
    namespace: str,
    make: Callable[..., tuple[np.ndarray, ...]],
    *,
    packages: tuple[str, ...] = (),
    sources: tuple[Callable[..., Any] | ModuleType, ...] = (),
    **options: Any,
) -> tuple[np.ndarray, ...]:
    """``make(**options)``'s arrays, made once per cache directory and read back from it afterwards.

    For the offline stand-ins a freshly started server would otherwise make while a class waits
    (scikit-learn's digits and photos, resized images). The key holds ``options``, the installed
    versions of ``packages`` (from their metadata: importing them is the cost being saved) and the
    code of ``sources``, the functions or whole modules that decide the arrays, so an upgrade or
    an edit makes a new entry rather than reading a stale one.
    """

    def compute() -> dict[str, np.ndarray]:
        return {f"array_{index}": array for index, array in enumerate(make(**options))}

    key = stable_hash({
        "options": options,
        "packages": {package: _installed_version(package) for package in packages},
        "sources": [_source_hash(code) for code in sources],
    })
    arrays = cached_arrays(namespace, key, compute)
    return tuple(arrays[f"array_{index}"] for index in range(len(arrays)))


@functools.cache
def _installed_version(package: str) -> str:
    return importlib.metadata.version(package)


@functools.cache
def _source_hash(code: Callable[..., Any] | ModuleType) -> str:
    return hashlib.sha256(inspect.getsource(code).encode("utf-8")).hexdigest()


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


def stratified_split(
    labels: np.ndarray, *, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of train, validation and test, drawing the same fractions from every class.

    Every class with at least two examples gives one or more to each split with a nonzero
    fraction and keeps at least one for training; a class with a single example stays in
    training. Each split's indices come in a seeded shuffled order. The one split every page
    uses: the image pages' train/validation/test, the audio page's validation hold-out
    (``test_fraction=0``), the transfer demo's source task (``val_fraction=0``).
    """
    check_split_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = len(members)
        n_test = max(1, int(round(count * test_fraction))) if test_fraction > 0 and count > 1 else 0
        n_val = max(1, int(round(count * val_fraction))) if val_fraction > 0 and count > 1 else 0
        n_val = max(0, min(n_val, count - n_test - 1))
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    empty = np.zeros(0, dtype=np.int64)
    return tuple(  # type: ignore[return-value]
        rng.permutation(np.concatenate(part)).astype(np.int64) if part else empty for part in parts
    )


def check_split_fractions(val_fraction: float, test_fraction: float) -> None:
    """Validation and test fractions must each be in [0, 0.5] and leave at least half the data for training."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value <= 0.5:
            raise ValueError(f"{name} must be in [0, 0.5], got {value}")
    if val_fraction + test_fraction > 0.5:
        raise ValueError(
            f"validation ({val_fraction:.0%}) and test ({test_fraction:.0%}) together exceed 50%; "
            "keep at least half the examples for training"
        )


def subsample(x: np.ndarray, y: np.ndarray, size: int | None, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``size`` examples of a seeded shuffle (all of them when ``size`` is ``None``)."""
    if size is None or size >= len(x):
        return x, y
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    order = np.random.default_rng(seed).permutation(len(x))[:size]
    return x[order], y[order]

"""The offline default: scikit-learn's 1,797 handwritten 8×8 digits, which ship inside the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datasets.base import Dataset, made_once, register_loader

DIGITS_SOURCE = (
    "Offline fallback: scikit-learn's built-in 8×8 handwritten digits (1,797 images), "
    "not the real dataset."
)


def scaled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as ``uint8`` images ``(N, 8, 8, 1)`` scaled to 0–255, and their labels, in its order."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # The pixels are counts 0–16 of a 4×4 block; scale them to the 0–255 range real images use.
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    return images, bunch.target.astype(np.int64)


def digits_arrays(
    *, test_fraction: float = 0.25, seed: int = 0, digits: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, ...]:
    """The digits as ``uint8`` images ``(N, 8, 8, 1)`` scaled to 0–255, split with a fixed seed.

    ``digits`` is :func:`scaled_digits`' result when the caller already has it.
    """
    images, labels = digits if digits is not None else scaled_digits()
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(round(len(images) * (1 - test_fraction)))
    train, test = order[:split], order[split:]
    return images[train], labels[train], images[test], labels[test]


def cached_scaled_digits() -> tuple[np.ndarray, np.ndarray]:
    """:func:`scaled_digits`, read from scikit-learn once per cache directory and from the cache afterwards.

    Importing scikit-learn is over a second of CPU, which a freshly started server paid on the
    first page that showed the offline digits while a class was arriving. The key holds
    scikit-learn's version (whose data file it is) and the function's source. The exported
    scripts copy :func:`scaled_digits` itself, which must stay free of DL Lab imports.
    """
    images, labels = made_once("scaled-digits", scaled_digits, packages=("scikit-learn",), sources=(scaled_digits,))
    return images, labels


@register_loader("digits")
def load_digits_dataset(*, data_dir: Path | None = None, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 digits as a ready-made dataset (no network, no files)."""
    x_train, y_train, x_test, y_test = digits_arrays(seed=seed, digits=cached_scaled_digits())
    return Dataset(
        name="digits",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=tuple(str(digit) for digit in range(10)),
        source="scikit-learn's built-in 8×8 handwritten digits (1,797 images)",
        is_fallback=False,
        recipe={"loader": "digits", "seed": seed},
    )

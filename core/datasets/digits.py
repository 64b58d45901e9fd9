"""The offline default: scikit-learn's 1,797 handwritten 8×8 digits, which ship inside the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datasets.base import Dataset, register_loader

DIGITS_SOURCE = (
    "Offline fallback: scikit-learn's built-in 8×8 handwritten digits (1,797 images), "
    "not the real dataset."
)


def digits_arrays(*, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The digits as ``uint8`` images ``(N, 8, 8, 1)`` scaled to 0–255, split with a fixed seed."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # The pixels are counts 0–16 of a 4×4 block; scale them to the 0–255 range real images use.
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(round(len(images) * (1 - test_fraction)))
    train, test = order[:split], order[split:]
    return images[train], labels[train], images[test], labels[test]


@register_loader("digits")
def load_digits_dataset(*, data_dir: Path | None = None, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 digits as a ready-made dataset (no network, no files)."""
    x_train, y_train, x_test, y_test = digits_arrays(seed=seed)
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

"""The offline transfer demo: a small CNN learns digits 0–4 (the source task), then its convolutions meet digits 5–9."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset, stratified_split
from core.datasets.digits import scaled_digits
from core.training import ProgressCallback, RunResult, TrainConfig, train


# The page's defaults for the demo, chosen with ``benchmarks/transfer_demo.py`` (5 seeds): frozen
# transfer then beats the same network trained from scratch by 14.9 points on average (min 11.2).
DEMO_PER_CLASS = 10
DEMO_EPOCHS = 30
DEMO_BATCH_SIZE = 16
# Each 8×8 digit sits at a random place on a 16×16 canvas. Centred 8×8 digits are so easy that a
# CNN trained from scratch on 10 images per class scores ~92% and transfer adds nothing (measured:
# frozen minus scratch -2 points over 5 seeds). A digit that can be anywhere is what convolutions
# learned on plenty of data handle and what a few target images cannot teach.
CANVAS = 16
# The source task shows every training digit of 0–4 at this many places: plenty of data, as a
# pretrained base has, from the ~720 images scikit-learn has for these digits.
SOURCE_PLACEMENTS = 8


@dataclass(frozen=True)
class DigitsTransferTask:
    """A source task with plenty of data and a different target task with very little."""

    source: Dataset
    target: Dataset
    per_class: int


def place_on_canvas(images: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """Each ``(N, h, w, 1)`` image pasted at a random place on a black ``canvas``×``canvas`` image."""
    count, height, width = images.shape[:3]
    placed = np.zeros((count, canvas, canvas, images.shape[3]), dtype=images.dtype)
    rows = rng.integers(0, canvas - height + 1, size=count)
    cols = rng.integers(0, canvas - width + 1, size=count)
    for index, (row, col) in enumerate(zip(rows, cols)):
        placed[index, row : row + height, col : col + width] = images[index]
    return placed


def digits_transfer_task(
    *, per_class: int = DEMO_PER_CLASS, seed: int = 0, digits: tuple[np.ndarray, np.ndarray] | None = None
) -> DigitsTransferTask:
    """Source: scikit-learn's digits 0–4, each at many places. Target: digits 5–9 with ``per_class`` training images each.

    Every digit sits at a random place on a 16×16 canvas. The source task does not depend on
    ``per_class``, so one trained source CNN serves every position of the page's slider. The
    target keeps 10 validation images per class and tests on all the rest (about 800), each at
    one place that does not depend on ``per_class`` either. ``digits`` is what ``scaled_digits()``
    returns, when the caller already has it.
    """
    if not 2 <= per_class <= 100:
        raise ValueError(f"per_class must be between 2 and 100, got {per_class}")
    images, labels = digits if digits is not None else scaled_digits()
    source_mask = labels < 5
    x_source, y_source = images[source_mask], labels[source_mask]
    train, _val, test = stratified_split(y_source, val_fraction=0.0, test_fraction=0.2, seed=seed)
    placing = np.random.default_rng([seed, 1])
    x_source_train = np.concatenate([place_on_canvas(x_source[train], placing) for _ in range(SOURCE_PLACEMENTS)])
    y_source_train = np.tile(y_source[train], SOURCE_PLACEMENTS)
    source = Dataset(
        "digits 0–4", x_source_train, y_source_train, place_on_canvas(x_source[test], placing), y_source[test],
        tuple(str(d) for d in range(5)),
        f"Source task: scikit-learn's 8×8 handwritten digits 0–4, each of the ~720 training images shown at "
        f"{SOURCE_PLACEMENTS} random places on a {CANVAS}×{CANVAS} canvas",
        recipe={"loader": "digits_transfer", "task": "source", "per_class": per_class, "seed": seed},
    )
    x_target = place_on_canvas(images[~source_mask], np.random.default_rng([seed, 2]))
    y_target = labels[~source_mask] - 5
    rng = np.random.default_rng(seed)
    train_idx, val_idx, test_idx = [], [], []
    for label in range(5):
        members = rng.permutation(np.flatnonzero(y_target == label))
        train_idx.append(members[:per_class])
        val_idx.append(members[per_class : per_class + 10])
        test_idx.append(members[per_class + 10 :])
    train_idx, val_idx, test_idx = (rng.permutation(np.concatenate(part)) for part in (train_idx, val_idx, test_idx))
    target = Dataset(
        f"digits 5–9 ({per_class}/class)", x_target[train_idx], y_target[train_idx], x_target[test_idx], y_target[test_idx],
        tuple(str(d) for d in range(5, 10)),
        f"Target task: scikit-learn's digits 5–9, each at a random place on a {CANVAS}×{CANVAS} canvas, only "
        f"{per_class} training images per class (offline demo; no ImageNet weights needed)",
        x_val=x_target[val_idx], y_val=y_target[val_idx],
        recipe={"loader": "digits_transfer", "task": "target", "per_class": per_class, "seed": seed},
    )
    return DigitsTransferTask(source, target, per_class)


def source_config(*, epochs: int = 5, seed: int = 0) -> TrainConfig:
    """The source CNN's training configuration (its hash keys the cached source run)."""
    return TrainConfig("source_cnn", epochs=epochs, batch_size=64, learning_rate=1e-3, seed=seed)


def train_source(
    source: Dataset, *, epochs: int = 5, seed: int = 0, on_progress: ProgressCallback | None = None
) -> RunResult:
    """Train (or fetch from the cache) the source CNN on the source task."""
    return train(source_config(epochs=epochs, seed=seed), source, on_progress=on_progress)


"""The offline transfer demo: a small CNN learns digits 0–4 (the source task), then its convolutions meet digits 5–9."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset, stratified_split
from core.training import ProgressCallback, RunResult, TrainConfig, train


@dataclass(frozen=True)
class DigitsTransferTask:
    """A source task with plenty of data and a different target task with very little."""

    source: Dataset
    target: Dataset
    per_class: int


def digits_transfer_task(*, per_class: int = 10, seed: int = 0) -> DigitsTransferTask:
    """Source: all of scikit-learn's digits 0–4. Target: digits 5–9 with ``per_class`` training images each.

    The target keeps 10 validation images per class and tests on all the rest (about 800).
    """
    if not 2 <= per_class <= 100:
        raise ValueError(f"per_class must be between 2 and 100, got {per_class}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    source_mask = labels < 5
    x_source, y_source = images[source_mask], labels[source_mask]
    train, _val, test = stratified_split(y_source, val_fraction=0.0, test_fraction=0.2, seed=seed)
    source = Dataset(
        "digits 0–4", x_source[train], y_source[train], x_source[test], y_source[test],
        tuple(str(d) for d in range(5)),
        "Source task: scikit-learn's 8×8 handwritten digits 0–4 (all ~900 images)",
    )
    x_target, y_target = images[~source_mask], labels[~source_mask] - 5
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
        f"Target task: scikit-learn's digits 5–9, only {per_class} training images per class "
        "(offline demo; no ImageNet weights needed)",
        x_val=x_target[val_idx], y_val=y_target[val_idx],
    )
    return DigitsTransferTask(source, target, per_class)


def source_config(*, epochs: int = 15, seed: int = 0) -> TrainConfig:
    """The source CNN's training configuration (its hash keys the cached source run)."""
    return TrainConfig("source_cnn", epochs=epochs, batch_size=64, learning_rate=1e-3, seed=seed)


def train_source(
    source: Dataset, *, epochs: int = 15, seed: int = 0, on_progress: ProgressCallback | None = None
) -> RunResult:
    """Train (or fetch from the cache) the source CNN on the source task."""
    return train(source_config(epochs=epochs, seed=seed), source, on_progress=on_progress)


"""The random forest on flattened spectrograms: its run configuration and the scores the comparison shows.

The forest trains through the same engine, queue and run cache as the networks
(:mod:`core.models.forest` builds it); the cache keeps its scores, timings and test
probabilities, never the forest (a pickle). The page refits it in memory to label a new clip.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.datasets import Dataset
from core.models.forest import FOREST_ARCHITECTURE
from core.models.forest import fit_forest as _fit_on
from core.training import TrainConfig, options

TREE_CHOICES = (10, 50, 100)


def forest_config(trees: int, *, seed: int = 0) -> TrainConfig:
    """The forest's run: its tree count and seed are all that decide it (its key in the run cache)."""
    return TrainConfig(FOREST_ARCHITECTURE, model_options=options(trees=int(trees)), epochs=1, batch_size=1, seed=seed)


def forest_label(trees: int) -> str:
    """The random forest's display name."""
    return f"Random forest ({trees} trees)"


def fit_forest(features: Dataset, trees: int, seed: int = 0) -> Any:
    """The forest of ``forest_config(trees, seed=seed)`` refitted here, to label an uploaded clip (never cached)."""
    return _fit_on(features.x_train, features.y_train, trees=trees, seed=seed)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """The unweighted mean of per-class F1 = 2·TP / (2·TP + FP + FN) over all ``num_classes`` classes.

    A class with no test example and no prediction counts as 0, as scikit-learn's
    ``f1_score(labels=range(num_classes), average="macro", zero_division=0)`` does (the tests check
    the two agree). In numpy because the audio page shows it on every rerun, and scikit-learn's
    argument checks cost more than the sum.
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    confusion = counts[: num_classes * num_classes].reshape(num_classes, num_classes)
    true_positive = np.diag(confusion).astype(float)
    denominator = (confusion.sum(axis=0) + confusion.sum(axis=1)).astype(float)  # (TP + FP) + (TP + FN)
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros(num_classes), where=denominator > 0)
    return float(f1.mean())

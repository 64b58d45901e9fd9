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
    """The unweighted mean of per-class F1 over the classes present in the test labels or predictions."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=np.arange(num_classes), average="macro", zero_division=0))

"""The random forest on flattened spectrograms, and its scores cached on disk without a pickle.

The forest is cached by (features fingerprint, trees, seed) as JSON and ``.npy`` (scores, timings,
test probabilities), never as a pickle of the forest: a page that needs the forest itself to label
an uploaded clip refits it in-process (a few seconds) and keeps it in memory.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.cache import DiskCache, fingerprint_arrays, key_lock, stable_hash
from core.datasets import Dataset

FOREST_NAMESPACE = "audio-forest"
TREE_CHOICES = (10, 50, 100)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """The unweighted mean of per-class F1 over the classes present in the test labels or predictions."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=np.arange(num_classes), average="macro", zero_division=0))



@dataclass(frozen=True)
class ForestResult:
    """A random forest's test scores and timings; the forest itself is not kept."""

    trees: int
    seed: int
    test_accuracy: float
    macro_f1: float
    fit_seconds: float
    predict_seconds: float
    nodes: int
    test_probabilities: np.ndarray = dataclasses.field(repr=False, compare=False)
    from_cache: bool = False

    @property
    def predicted_labels(self) -> np.ndarray:
        """The predicted class of every test example."""
        return self.test_probabilities.argmax(axis=1)


def _forest_key(features: Dataset, trees: int, seed: int) -> str:
    fingerprint = fingerprint_arrays(features.x_train, features.y_train, features.x_test, features.y_test)
    return stable_hash({"features": fingerprint, "trees": trees, "seed": seed, "classes": features.num_classes})


def fit_forest(features: Dataset, trees: int, seed: int = 0) -> Any:
    """A scikit-learn random forest on the flattened training features."""
    from sklearn.ensemble import RandomForestClassifier

    if trees < 1:
        raise ValueError(f"the forest needs at least one tree, got {trees}")
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=-1)
    forest.fit(features.x_train.reshape(len(features.x_train), -1), features.y_train)
    return forest


def forest_probabilities(forest: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities over all ``num_classes`` (a forest knows only the classes it saw in training)."""
    partial = forest.predict_proba(x.reshape(len(x), -1))
    full = np.zeros((len(x), num_classes), dtype=np.float32)
    full[:, forest.classes_.astype(np.int64)] = partial
    return full


def cached_forest_result(features: Dataset, trees: int, seed: int = 0, *, cache: DiskCache | None = None) -> ForestResult | None:
    """The stored forest result for these features, trees and seed, or ``None`` (also when corrupt)."""
    cache = cache or DiskCache()
    key = _forest_key(features, trees, seed)
    entry = cache.get(FOREST_NAMESPACE, key)
    if entry is None:
        return None
    try:
        record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
        probabilities = np.load(entry / "probabilities.npy", allow_pickle=False)
        if probabilities.shape != (len(features.y_test), features.num_classes):
            raise ValueError("stored probabilities do not match the test set")
        return ForestResult(test_probabilities=probabilities, from_cache=True, **record)
    except (OSError, ValueError, KeyError, TypeError):
        cache.discard(FOREST_NAMESPACE, key)
        return None


def train_forest(features: Dataset, trees: int, seed: int = 0, *, cache: DiskCache | None = None) -> ForestResult:
    """Fit and score a random forest, or return the cached result for the same features, trees and seed."""
    cache = cache or DiskCache()
    key = _forest_key(features, trees, seed)
    with key_lock(FOREST_NAMESPACE, key):
        found = cached_forest_result(features, trees, seed, cache=cache)
        if found is not None:
            return found
        started = time.perf_counter()
        forest = fit_forest(features, trees, seed)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        probabilities = forest_probabilities(forest, features.x_test, features.num_classes)
        predict_seconds = time.perf_counter() - started
        predicted = probabilities.argmax(axis=1)
        record = {
            "trees": int(trees),
            "seed": int(seed),
            "test_accuracy": float(np.mean(predicted == features.y_test)),
            "macro_f1": macro_f1(features.y_test, predicted, features.num_classes),
            "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds,
            "nodes": int(sum(tree.tree_.node_count for tree in forest.estimators_)),
        }

        def write(folder: Any) -> None:
            np.save(folder / "probabilities.npy", probabilities, allow_pickle=False)
            (folder / "result.json").write_text(json.dumps(record), encoding="utf-8")

        cache.put(FOREST_NAMESPACE, key, write)
        return ForestResult(test_probabilities=probabilities, **record)


"""The random forest of DATA.ML.200 Exercise 5: scikit-learn on flattened features, trained by the same engine as the networks.

A leaf like the Keras builders: scikit-learn is imported when a forest is built. The engine
keeps a forest's scores, timings and test probabilities, never the forest itself (a saved
scikit-learn model is a pickle, and loading a pickle can run code); a page that needs the
forest to label a new clip refits it from the same settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOREST_ARCHITECTURE = "random_forest"


def build_forest(*, trees: int, seed: int) -> Any:
    """An unfitted random forest of ``trees`` trees, seeded, using every core it is given."""
    from sklearn.ensemble import RandomForestClassifier

    if isinstance(trees, bool) or not isinstance(trees, int) or trees < 1:
        raise ValueError(f"the forest needs a whole number of trees, at least 1; got {trees!r}")
    return RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=-1)


def fit_forest(x_train: np.ndarray, y_train: np.ndarray, *, trees: int, seed: int) -> Any:
    """A random forest fitted on the flattened training examples."""
    forest = build_forest(trees=trees, seed=seed)
    forest.fit(x_train.reshape(len(x_train), -1), y_train)
    return forest


def forest_probabilities(forest: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities over all ``num_classes`` (a forest knows only the classes it saw in training)."""
    partial = forest.predict_proba(x.reshape(len(x), -1))
    full = np.zeros((len(x), num_classes), dtype=np.float32)
    full[:, forest.classes_.astype(np.int64)] = partial
    return full


def tree_nodes(forest: Any) -> int:
    """Every tree's node count together: the forest's size, where a network has parameters."""
    return int(sum(tree.tree_.node_count for tree in forest.estimators_))

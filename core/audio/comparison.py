"""The comparison: a random forest, DATA.ML.200 Exercise 5's CNN and a recurrent net on the same features, side by side.

The networks train through :func:`core.training.train` and its disk cache; the forest through
:func:`core.audio.forest.train_forest`. A :class:`Comparison` holds one set of choices (trees and
the two network configurations) with whatever of them has run, and turns that into the page's
table, predictions and labels. The exercise's own figures come from :mod:`core.homework`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.audio.forest import ForestResult, cached_forest_result, macro_f1
from core.datasets import Dataset
from core.homework import HOMEWORK, NETWORKS, reported_rows
from core.training import RunResult, TrainConfig, cached_result, options

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "bilstm": "Bidirectional LSTM"}
EXERCISE = HOMEWORK["data_ml_200_ex5"]
CNN_NETWORK = NETWORKS["audio_cnn"]


def reported_figures() -> list[dict[str, Any]]:
    """DATA.ML.200 Exercise 5's own test accuracies on 15 acoustic scenes, as table rows that say whose they are."""
    return reported_rows(EXERCISE.key)


def describe_layers(layers: Sequence[Mapping[str, Any]], *, activation: str = "ReLU") -> str:
    """A homework layer list in one line, as the page states it: 'conv 5×5×32 ReLU → max-pool 2 → … → softmax'.

    The last dense layer is the classifier's output (:func:`core.models.spec.output_layer`), so it reads 'softmax'.
    """
    words = []
    for position, layer in enumerate(layers):
        kind = layer["type"]
        if kind == "conv2d":
            padding = " 'same'" if layer.get("padding") == "same" else ""
            words.append(f"conv {layer['kernel']}×{layer['kernel']}×{layer['filters']}{padding} {activation}")
        elif kind == "maxpool2d":
            words.append(f"max-pool {layer['pool']}")
        elif kind == "dense":
            words.append("softmax" if position == len(layers) - 1 else f"dense {layer['units']} {activation}")
        else:
            words.append(kind)
    return " → ".join(words)


def cnn_config(
    *,
    epochs: int = 50,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    patience: int | None = 10,
    seed: int = 0,
    time_budget_seconds: float | None = None,
) -> TrainConfig:
    """The exercise's CNN run; the defaults are the exercise's (Adam, batch 64, up to 50 epochs, patience 10)."""
    return TrainConfig(
        architecture="audio_cnn",
        optimizer="adam",
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        early_stopping_patience=patience,
        time_budget_seconds=time_budget_seconds,
    )


def rnn_config(
    cell: str = "lstm",
    *,
    epochs: int = 50,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    patience: int | None = None,
    seed: int = 0,
    time_budget_seconds: float | None = None,
    lr_schedule: str = "constant",
) -> TrainConfig:
    """The recurrent run; the defaults are the exercise's LSTM (batch 32, 50 epochs, Adam)."""
    if cell not in CELL_NAMES:
        raise ValueError(f"cell must be one of {tuple(CELL_NAMES)}, got {cell!r}")
    # The same Adam run as the CNN's, on the recurrent architecture.
    adam = cnn_config(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience, seed=seed,
        time_budget_seconds=time_budget_seconds,
    )
    return dataclasses.replace(adam, architecture="audio_rnn", model_options=options(cell=cell), lr_schedule=lr_schedule)


def network_label(config: TrainConfig) -> str:
    """A short display name for a network configuration."""
    if config.architecture == "audio_rnn":
        return CELL_NAMES[dict(config.model_options).get("cell", "lstm")]
    return "CNN" if config.architecture == "audio_cnn" else config.architecture


def forest_label(trees: int) -> str:
    """The random forest's display name."""
    return f"Random forest ({trees} trees)"


def comparison_rows(
    forest: ForestResult | None, networks: Mapping[str, RunResult], y_test: np.ndarray, num_classes: int
) -> list[dict[str, Any]]:
    """One row per trained model: test accuracy, macro-F1, fit and predict seconds, parameters (or tree nodes)."""
    rows = []
    if forest is not None:
        rows.append(
            {
                "model": forest_label(forest.trees),
                "test accuracy": forest.test_accuracy,
                "macro-F1": forest.macro_f1,
                "fit s": forest.fit_seconds,
                "predict s": forest.predict_seconds,
                "params": forest.nodes,
                "note": "params = tree nodes",
            }
        )
    for label, result in networks.items():
        rows.append(
            {
                "model": label,
                "test accuracy": result.test_accuracy,
                "macro-F1": macro_f1(y_test, result.predicted_labels, num_classes),
                "fit s": result.train_seconds,
                "predict s": result.predict_seconds,
                "params": result.params,
                "note": f"{result.epochs_run} epochs, {result.status}",
            }
        )
    return rows


@dataclass(frozen=True)
class Comparison:
    """One set of model choices for one set of features, and what of it has run so far."""

    trees: int
    configs: Mapping[str, TrainConfig]  # the networks by role: "cnn", "rnn"
    forest: ForestResult | None = None
    networks: Mapping[str, RunResult] = dataclasses.field(default_factory=dict)  # by role, only those that ran

    @property
    def pending(self) -> int:
        """How many of the models have not run with these choices yet."""
        return (self.forest is None) + sum(role not in self.networks for role in self.configs)

    @property
    def is_empty(self) -> bool:
        """True when nothing has run with these choices."""
        return self.forest is None and not self.networks

    @property
    def labelled(self) -> dict[str, RunResult]:
        """The networks that ran, by display name."""
        return {network_label(self.configs[role]): result for role, result in self.networks.items()}

    @property
    def predictions(self) -> dict[str, np.ndarray]:
        """Every trained model's predicted test labels, by display name, the forest first."""
        predicted = {forest_label(self.forest.trees): self.forest.predicted_labels} if self.forest is not None else {}
        return predicted | {label: result.predicted_labels for label, result in self.labelled.items()}

    def rows(self, features: Dataset) -> list[dict[str, Any]]:
        """The results table on these features' test set (see :func:`comparison_rows`)."""
        return comparison_rows(self.forest, self.labelled, features.y_test, features.num_classes)


def cached_comparison(features: Dataset, trees: int, configs: Mapping[str, TrainConfig]) -> Comparison:
    """The comparison with every model that already ran on these features and choices, from the disk caches."""
    networks = {role: found for role, config in configs.items() if (found := cached_result(config, features)) is not None}
    return Comparison(trees, dict(configs), cached_forest_result(features, trees), networks)

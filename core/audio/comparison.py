"""The comparison: a random forest, DATA.ML.200 Exercise 5's CNN and a recurrent net on the same features, side by side.

All three train through :mod:`core.training` and its run cache, the forest as a run like the
networks. A :class:`Comparison` holds one set of choices (the forest's and the two networks'
configurations, by role) with whatever of them has run, and turns that into the page's table,
predictions and labels. The exercise's own figures come from :mod:`core.homework`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.audio.forest import forest_label, macro_f1
from core.datasets import Dataset
from core.homework import HOMEWORK, NETWORKS, reported_rows
from core.models.forest import FOREST_ARCHITECTURE
from core.training import RunResult, TrainConfig, cached_result, options

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "bilstm": "Bidirectional LSTM"}
EXERCISE = HOMEWORK["data_ml_200_ex5"]
CNN_NETWORK = NETWORKS["audio_cnn"]
COMPARED_ARCHITECTURES = (FOREST_ARCHITECTURE, "audio_cnn", "audio_rnn")


def reported_figures() -> list[dict[str, Any]]:
    """DATA.ML.200 Exercise 5's own test accuracies on 15 acoustic scenes, as table rows that say whose they are."""
    return reported_rows(EXERCISE.key)


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
    """A short display name for any of the three runs: 'Random forest (100 trees)', 'CNN', 'LSTM'."""
    if config.architecture == "audio_rnn":
        return CELL_NAMES[dict(config.model_options).get("cell", "lstm")]
    if config.architecture == "random_forest":
        return forest_label(config.model_kwargs["trees"])
    return "CNN" if config.architecture == "audio_cnn" else config.architecture


def is_comparison_run(result: RunResult, features: Dataset) -> bool:
    """True for a run of the page's three models on these features' clips, whatever the feature settings.

    Features are named after their clips (``fsdd-features``), but two uploads can share a name,
    so the number of test predictions must match as well.
    """
    return (
        result.dataset_name == features.name
        and result.config.architecture in COMPARED_ARCHITECTURES
        and len(result.test_predictions) == len(features.y_test)
    )


def comparison_rows(runs: Mapping[str, RunResult], y_test: np.ndarray, num_classes: int) -> list[dict[str, Any]]:
    """One row per trained model (by display name): test accuracy, macro-F1, fit and predict seconds, parameters or tree nodes."""
    rows = []
    for label, result in runs.items():
        forest = result.config.architecture == "random_forest"
        rows.append(
            {
                "model": label,
                "test accuracy": result.test_accuracy,
                "macro-F1": macro_f1(y_test, result.predicted_labels, num_classes),
                "fit s": result.train_seconds,
                "predict s": result.predict_seconds,
                "params": result.params,
                "note": "params = tree nodes" if forest else f"{result.epochs_run} epochs, {result.status}",
            }
        )
    return rows


@dataclass(frozen=True)
class Comparison:
    """One set of model choices for one set of features, and what of it has run so far."""

    configs: Mapping[str, TrainConfig]  # by role: "forest", "cnn", "rnn"
    runs: Mapping[str, RunResult] = dataclasses.field(default_factory=dict)  # by role, only those that ran

    @property
    def pending(self) -> int:
        """How many of the models have not run with these choices yet."""
        return sum(role not in self.runs for role in self.configs)

    @property
    def is_empty(self) -> bool:
        """True when nothing has run with these choices."""
        return not self.runs

    @property
    def forest(self) -> RunResult | None:
        """The forest's run, when it has run."""
        return self.runs.get("forest")

    @property
    def labelled(self) -> dict[str, RunResult]:
        """Every model that ran, by display name, in the order of the roles (the forest first)."""
        return {network_label(config): self.runs[role] for role, config in self.configs.items() if role in self.runs}

    @property
    def networks(self) -> dict[str, RunResult]:
        """The networks that ran (not the forest), by display name."""
        return {label: run for label, run in self.labelled.items() if run.config.architecture != "random_forest"}

    @property
    def predictions(self) -> dict[str, np.ndarray]:
        """Every trained model's predicted test labels, by display name, the forest first."""
        return {label: result.predicted_labels for label, result in self.labelled.items()}

    def rows(self, features: Dataset) -> list[dict[str, Any]]:
        """The results table on these features' test set (see :func:`comparison_rows`)."""
        return comparison_rows(self.labelled, features.y_test, features.num_classes)


def cached_comparison(features: Dataset, configs: Mapping[str, TrainConfig]) -> Comparison:
    """The comparison with every model that already ran on these features and choices, from the run cache."""
    runs = {role: found for role, config in configs.items() if (found := cached_result(config, features)) is not None}
    return Comparison(dict(configs), runs)

"""RNN vs LSTM vs GRU vs CNN on MNIST rows: the experiment's configurations, formulas, tables and figures.

ELEC 576 Assignment 2 (Rice) trains a basic RNN, an LSTM and a GRU on MNIST read row by row (28
timesteps × 28 features, 128 hidden units, RMSProp 1e-3) and compares them with a CNN. The page
collects its widgets into :func:`sequence_config` runs; everything here is plain Python, so the
page imports it at no cost (the builders in :mod:`core.models.sequence` import Keras when called).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import homework
from core.datasets import Dataset
from core.models.sequence import (
    DISPLAY_NAMES,
    MAX_UNITS,
    MODEL_KINDS,
    RECURRENT_KINDS,
    check_units,
    rows_as_sequence,
)
from core.query_state import shown
from core.training import RunResult, TrainConfig

__all__ = ["DISPLAY_NAMES", "MAX_UNITS", "MODEL_KINDS", "RECURRENT_KINDS"]

# Gates per cell: SimpleRNN has one tanh update, an LSTM four (input, forget, cell, output),
# a GRU three (update, reset, candidate).
_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
PUBLIC_SOURCE = "public Keras runs on sequential MNIST, row by row (field notes)"
# Figures from outside the course, next to the homework's own (core.homework).
PUBLIC_ACCURACIES = {"RNN": 0.94, "LSTM": 0.985, "GRU": 0.989, "CNN": 0.993}
HOMEWORK_DATA = "MNIST rows, 128 units, RMSProp 1e-3"


# ---------------------------------------------------------------------------------------------
# Closed-form parameter counts, for teaching and for checking Keras


def recurrent_params(kind: str, *, features: int, units: int) -> int:
    """Weights of one recurrent layer: gates · units · (units + features + 1), GRU one more bias row.

    Keras' GRU defaults to ``reset_after=True``, which keeps separate input and recurrent biases,
    hence 3 · units · (units + features + 2).
    """
    if kind not in _GATES:
        raise ValueError(f"kind must be one of {RECURRENT_KINDS}, got {kind!r}")
    bias_rows = 2 if kind == "gru" else 1
    return _GATES[kind] * units * (units + features + bias_rows)


def classifier_params(kind: str, input_shape: tuple[int, ...], num_classes: int, *, units: int = 128) -> int:
    """Total weights of a row-reading classifier (recurrent layer + Dense head) or of ``row_cnn``."""
    if kind in _GATES:
        _timesteps, features = rows_as_sequence(input_shape)
        return recurrent_params(kind, features=features, units=units) + units * num_classes + num_classes
    if kind == "row_cnn":
        height, width, channels = input_shape
        conv1 = 3 * 3 * channels * 32 + 32
        conv2 = 3 * 3 * 32 * 64 + 64
        # Two 2×2 max-pools with floor division, as Keras pools with ``valid`` padding.
        flattened = (height // 2 // 2) * (width // 2 // 2) * 64
        return conv1 + conv2 + flattened * 128 + 128 + 128 * num_classes + num_classes
    raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")


# ---------------------------------------------------------------------------------------------
# The experiment: configurations in, tables and chart data out


def parse_learning_rate(text: str) -> float:
    """A learning rate typed as ``0.001`` or ``1e-3``; anything else is a clear ``ValueError``."""
    # The text may come whole from a pasted link, so the messages quote at most its first 40 characters.
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"learning rate must be a number such as 0.001 or 1e-3, got {shown(str(text))!r}") from None
    if not (math.isfinite(value) and 0 < value <= 10):
        raise ValueError(f"learning rate must be greater than 0 and at most 10, got {shown(str(text))!r}")
    return value


def sequence_config(
    kind: str,
    *,
    units: int,
    optimizer: str = "rmsprop",
    learning_rate: float = 1e-3,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
    lr_schedule: str = "constant",
    time_budget_seconds: float | None = None,
) -> TrainConfig:
    """The training configuration of one model; the CNN ignores ``units`` so its cache key does too."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    model_options = (("units", check_units(units)),) if kind in RECURRENT_KINDS else ()
    return TrainConfig(
        architecture=kind,
        model_options=model_options,
        optimizer=optimizer,
        learning_rate=float(learning_rate),
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        lr_schedule=lr_schedule,
        time_budget_seconds=time_budget_seconds,
    )


def model_label(config: TrainConfig) -> str:
    """A short name for legends and tables, e.g. ``LSTM (128)`` or ``CNN``."""
    name = DISPLAY_NAMES.get(config.architecture, config.architecture)
    units = config.model_kwargs.get("units")
    return f"{name} ({units})" if units is not None else name


def is_sequence_run(result: RunResult, dataset: Dataset) -> bool:
    """True for a run of this page's models on this data (any training subset of it).

    The same name can hide another test set (MNIST, or the offline digits standing in for it),
    so the number of test predictions must match as well.
    """
    return (
        result.dataset_name == dataset.name
        and result.config.architecture in MODEL_KINDS
        and len(result.test_predictions) == len(dataset.y_test)
    )


def results_table(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per run: test accuracy, parameter count, timings and status."""
    rows = []
    for result in results:
        rows.append(
            {
                "model": model_label(result.config),
                "test accuracy": result.test_accuracy,
                "params": result.params,
                "epochs": result.epochs_run,
                "s / epoch": result.seconds_per_epoch,
                "total s": result.train_seconds,
                "status": result.status,
            }
        )
    return rows


def histories(results: Sequence[RunResult]) -> dict[str, dict[str, list[float]]]:
    """Each run's Keras history keyed by its model label, as ``core.charts.history_frame`` takes them."""
    return {model_label(result.config): result.history for result in results}


@dataclass(frozen=True)
class Mistake:
    """One misclassified test image."""

    index: int
    true_label: int
    predicted_label: int
    confidence: float


def misclassified(result: RunResult, y_test: np.ndarray, *, limit: int = 10) -> list[Mistake]:
    """The test images the run got wrong, most confidently wrong first."""
    if len(result.test_predictions) != len(y_test):
        raise ValueError(
            f"the run has {len(result.test_predictions)} test predictions but the dataset has {len(y_test)} labels"
        )
    if not np.all(np.isfinite(result.test_predictions)):
        return []
    predicted = result.predicted_labels
    wrong = np.flatnonzero(predicted != y_test)
    confidence = result.test_predictions[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [
        Mistake(int(i), int(y_test[i]), int(predicted[i]), float(result.test_predictions[i, predicted[i]]))
        for i in order
    ]


def reported_rows() -> list[dict[str, Any]]:
    """Other people's figures as table rows, for comparison only: the homework's own, then public runs."""
    rows = [
        {"model": entry.model, "reported test accuracy": entry.test_accuracy, "reported by": f"{entry.source.name} ({entry.data})"}
        for entry in homework.reported("elec576_a2", data=HOMEWORK_DATA)
    ]
    rows += [
        {"model": model, "reported test accuracy": accuracy, "reported by": PUBLIC_SOURCE}
        for model, accuracy in PUBLIC_ACCURACIES.items()
    ]
    return rows

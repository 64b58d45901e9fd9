"""What a training run is and what comes out of it: TensorFlow-free types every page and worker shares.

A :class:`TrainConfig` holds everything that decides a run's outcome and nothing else; its
stable hash (with the dataset's fingerprint) is the run's cache key. A :class:`RunResult` is a
finished run as the cache keeps it. :class:`TrainingProgress` reports travel from wherever the
fit runs (this process, a worker process, another machine) to the page's progress bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

OPTIMIZERS = ("adam", "sgd", "sgd_momentum", "rmsprop")
AUGMENTATIONS = ("none", "flip", "flip_crop")
LR_SCHEDULES = ("constant", "one_cycle")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's outcome, and nothing else (it is the cache key)."""

    architecture: str
    model_options: tuple[tuple[str, Any], ...] = ()
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0
    augment: str = "none"
    lr_schedule: str = "constant"
    early_stopping_patience: int | None = None
    time_budget_seconds: float | None = None  # seconds of fitting, not counting per-epoch evaluation
    max_steps: int | None = None

    def __post_init__(self) -> None:
        # Keras refuses an int learning rate, and 1e-3 vs 0.001 must give one cache key.
        if isinstance(self.learning_rate, (int, float)) and not isinstance(self.learning_rate, bool):
            object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        object.__setattr__(self, "model_options", options(**dict(self.model_options)))

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """``model_options`` as keyword arguments for the model builder."""
        return dict(self.model_options)


def options(**kwargs: Any) -> tuple[tuple[str, Any], ...]:
    """Keyword options as a sorted, hashable tuple, so equal options give equal cache keys."""
    return tuple(sorted((key, tuple(value) if isinstance(value, list) else value) for key, value in kwargs.items()))


@dataclass(frozen=True)
class TrainingProgress:
    """One progress report; ``fraction`` runs from 0 to 1 over the whole run."""

    fraction: float
    message: str
    epoch: int = 0
    epochs: int = 0
    logs: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[TrainingProgress], None]


@dataclass(frozen=True)
class RunResult:
    """A finished run: what was trained, how it went, and where the model is."""

    key: str
    config: TrainConfig
    dataset_name: str
    dataset_source: str
    dataset_fingerprint: str
    status: str  # "ok", "diverged" or "stopped early"
    message: str
    history: dict[str, list[float]]
    epochs_run: int
    test_accuracy: float
    test_loss: float
    best_test_accuracy: float
    params: int
    trainable_params: int
    train_seconds: float
    predict_seconds: float
    test_predictions: np.ndarray = field(repr=False, compare=False)
    model_path: Path | None = None
    from_cache: bool = False
    curves_on: str = "test"  # which split the per-epoch "val_" curves were measured on
    train_examples: int = 0  # training-set size, so runs on different subsets can be told apart
    # How the training data was made (``Dataset.recipe``): plain JSON data, ``None`` for runs cached
    # before it was recorded. What :func:`core.codegen.keras_script` remakes the data from.
    data_recipe: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall-clock seconds per epoch of training."""
        return self.train_seconds / max(self.epochs_run, 1)

    @property
    def predicted_labels(self) -> np.ndarray:
        """The predicted class of every test example."""
        if self.test_predictions.ndim == 2 and self.test_predictions.shape[1] > 1:
            return self.test_predictions.argmax(axis=1)
        return (self.test_predictions.reshape(-1) >= 0.5).astype(np.int64)

    @property
    def diverged(self) -> bool:
        """True when the loss became NaN or infinite and training was stopped."""
        return self.status == "diverged"

    def summary_row(self) -> dict[str, Any]:
        """One row for a runs table."""
        return {
            "architecture": self.config.architecture,
            **self.config.model_kwargs,
            "optimizer": self.config.optimizer,
            "learning rate": self.config.learning_rate,
            "epochs": self.epochs_run,
            "batch": self.config.batch_size,
            "status": self.status,
            "test accuracy": round(self.test_accuracy, 4),
            "best test accuracy": round(self.best_test_accuracy, 4),
            "params": self.params,
            "train s": round(self.train_seconds, 1),
            "s / epoch": round(self.seconds_per_epoch, 2),
        }


class FitCancelled(Exception):
    """The fit was cancelled (Cancel pressed, or the student left the page); nothing is kept."""


@dataclass
class FitOutcome:
    """A finished fit as plain data: scores, history, test predictions and the saved model's bytes.

    Defined here, without TensorFlow, because it travels back from a worker: unpickling it on
    the server must not import Keras.
    """

    status: str
    message: str
    history: dict[str, list[float]]
    epochs_run: int
    test_loss: float
    test_accuracy: float
    params: int
    trainable_params: int
    train_seconds: float
    predict_seconds: float
    test_predictions: np.ndarray
    model_bytes: bytes
    resident_mb: float | None = None  # the fitting process's memory afterwards, for recycling workers
    process: str = ""  # which process fitted it (pid@host), for tests and the logs
    started_at: float = 0.0
    finished_at: float = 0.0


def prepare_inputs(x: np.ndarray) -> np.ndarray:
    """What models see: ``uint8`` images become float32 in [0, 1]; other arrays become float32."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32, copy=False)


def one_cycle_rate(fraction: float, peak: float) -> float:
    """One-cycle learning rate: linear warm-up over the first 30%, then cosine decay to ~0."""
    fraction = min(max(fraction, 0.0), 1.0)
    warmup = 0.3
    if fraction < warmup:
        return peak * (0.1 + 0.9 * fraction / warmup)
    progress = (fraction - warmup) / (1 - warmup)
    return peak * (0.005 + 0.995 * 0.5 * (1 + math.cos(math.pi * progress)))

"""The CIFAR lab's settings: every control on the page, checked, and the training configuration they make.

The page collects widget values into :class:`LabSettings`; :meth:`LabSettings.train_config`
turns them into the frozen :class:`~core.training.TrainConfig` that keys the run cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.cifar.choices import ARCHITECTURES, DATASETS, OPTIMIZERS
from core.models.cifar import ACTIVATIONS, INITIALIZERS
from core.training import TrainConfig


@dataclass(frozen=True)
class LabSettings:
    """Every control on the page: the dataset subset plus the training configuration."""

    dataset: str = "cifar10-gray28"
    per_class: int = 800
    architecture: str = "cifar_fast"
    activation: str = "relu"
    initializer: str = "he_normal"
    dropout: float = 0.5
    optimizer: str = "adam"
    learning_rate: float = 3e-3
    batch_size: int = 128
    epochs: int = 10
    iterations: int | None = None
    augment: bool = True
    one_cycle: bool = True
    seed: int = 0
    time_budget_seconds: float | None = None

    def __post_init__(self) -> None:
        choices = {
            "dataset": DATASETS,
            "architecture": ARCHITECTURES,
            "activation": ACTIVATIONS,
            "initializer": INITIALIZERS,
            "optimizer": OPTIMIZERS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be at least 0 and below 1, got {self.dropout}")
        if self.per_class < 1:
            raise ValueError(f"training samples per class must be at least 1, got {self.per_class}")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {self.iterations}")
        if self.time_budget_seconds is not None and self.time_budget_seconds <= 0:
            raise ValueError(f"the time budget must be positive seconds, got {self.time_budget_seconds}")

    def train_config(self) -> TrainConfig:
        """The frozen training configuration (and cache key) for these settings."""
        return TrainConfig(
            architecture=self.architecture,
            model_options=(
                ("activation", self.activation),
                ("dropout", float(self.dropout)),
                ("initializer", self.initializer),
            ),
            optimizer=self.optimizer,
            learning_rate=float(self.learning_rate),
            # In iteration mode the engine derives the epochs from max_steps; fix this field so
            # the same iteration count always gives the same cache key.
            epochs=1 if self.iterations is not None else int(self.epochs),
            batch_size=int(self.batch_size),
            seed=int(self.seed),
            augment="flip_crop" if self.augment else "none",
            lr_schedule="one_cycle" if self.one_cycle else "constant",
            time_budget_seconds=self.time_budget_seconds,
            max_steps=self.iterations,
        )


# Plain Adam at 1e-3, as CS-577 Homework 4 trained its baseline and both variants.
_CS577_RECIPE: dict[str, Any] = dict(
    activation="relu", initializer="glorot_normal", dropout=0.25, optimizer="adam",
    learning_rate=1e-3, batch_size=64, augment=False, one_cycle=False,
)
# What each architecture starts from when chosen: ELEC 576 Assignment 2's own settings for its
# LeNet, the recipe measured fastest on this CPU for the fast default, CS-577's for its networks.
PRESETS: dict[str, dict[str, Any]] = {
    "cifar_lenet": dict(activation="relu", initializer="truncated_normal", dropout=0.5, optimizer="adam",
                        learning_rate=1e-3, batch_size=50, augment=False, one_cycle=False),
    "cifar_fast": dict(activation="relu", initializer="he_normal", dropout=0.5, optimizer="adam",
                       learning_rate=3e-3, batch_size=128, augment=True, one_cycle=True),
    "cifar_baseline": dict(_CS577_RECIPE),
    "cifar_inception": dict(_CS577_RECIPE),
    "cifar_residual": dict(_CS577_RECIPE),
}

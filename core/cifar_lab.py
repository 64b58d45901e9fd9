"""The CIFAR CNN lab's choices and their meaning: controls → training configs, sweeps, run tables.

Everything here is plain Python (no TensorFlow), so the page imports it at no cost. The page
collects widget values into :class:`LabSettings`; :meth:`LabSettings.train_config` turns them
into the frozen :class:`~core.training.TrainConfig` that keys the run cache.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.training import RunResult, TrainConfig

ARCHITECTURES = {
    "cifar_fast": "Fast default (3 conv blocks, tuned for a 2-core CPU)",
    "cifar_lenet": "Seed 003 LeNet (ELEC 576)",
    "cifar_baseline": "Seed 004 baseline (CS-577)",
    "cifar_inception": "Seed 004 + inception blocks",
    "cifar_residual": "Seed 004 + residual blocks",
}
SHORT_NAMES = {
    "cifar_fast": "fast",
    "cifar_lenet": "LeNet",
    "cifar_baseline": "baseline",
    "cifar_inception": "inception",
    "cifar_residual": "residual",
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu")
INITIALIZERS = {
    "truncated_normal": "Truncated normal σ=0.1 (seed 003)",
    "glorot_normal": "Glorot (Xavier) normal",
    "he_normal": "He normal",
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD (plain gradient descent)", "sgd_momentum": "SGD + momentum 0.9", "rmsprop": "RMSProp"}
DATASETS = {"cifar10-gray28": "CIFAR-10 gray 28×28 (ELEC 576)", "cifar10": "CIFAR-10 colour 32×32"}
# Half-decade steps: log-spaced, and they hold both the seed's 1e-3/1e-4/1e-5 and the fast recipe's 3e-3.
LEARNING_RATES = tuple(float(f"{mantissa}e{exponent}") for exponent in range(-5, -1) for mantissa in (1, 3)) + (1e-1,)
BATCH_SIZES = (16, 32, 50, 64, 128, 256)
SAMPLES_PER_CLASS = (100, 200, 400, 800, 1000)
DROPOUTS = (0.0, 0.25, 0.5)


def format_rate(rate: float) -> str:
    """A learning rate as the homework writes it: 1e-3, 2e-4, 5e-2."""
    exponent = math.floor(math.log10(rate) + 1e-9)
    mantissa = rate / 10.0**exponent
    return f"{mantissa:g}e{exponent}"


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


# What each architecture starts from when chosen: seed 003's own settings for its LeNet, the
# recipe measured fastest on this CPU for the fast default, and plain Adam for seed 004's nets.
PRESETS: dict[str, dict[str, Any]] = {
    "cifar_lenet": dict(activation="relu", initializer="truncated_normal", dropout=0.5, optimizer="adam",
                        learning_rate=1e-3, batch_size=50, augment=False, one_cycle=False),
    "cifar_fast": dict(activation="relu", initializer="he_normal", dropout=0.5, optimizer="adam",
                       learning_rate=3e-3, batch_size=128, augment=True, one_cycle=True),
    "cifar_baseline": dict(activation="relu", initializer="glorot_normal", dropout=0.25, optimizer="adam",
                           learning_rate=1e-3, batch_size=64, augment=False, one_cycle=False),
    "cifar_inception": dict(activation="relu", initializer="glorot_normal", dropout=0.25, optimizer="adam",
                            learning_rate=1e-3, batch_size=64, augment=False, one_cycle=False),
    "cifar_residual": dict(activation="relu", initializer="glorot_normal", dropout=0.25, optimizer="adam",
                           learning_rate=1e-3, batch_size=64, augment=False, one_cycle=False),
}

# The controls "compare" mode can sweep, with the values it offers and pre-selects.
SWEEPABLE: dict[str, tuple[str, tuple[Any, ...], tuple[Any, ...]]] = {
    "activation": ("Activation", ACTIVATIONS, ("relu", "tanh", "sigmoid")),
    "learning_rate": ("Learning rate", LEARNING_RATES, (1e-3, 1e-4, 1e-5)),
    "optimizer": ("Optimizer", tuple(OPTIMIZERS), ("adam", "sgd")),
    "initializer": ("Initializer", tuple(INITIALIZERS), ("truncated_normal", "glorot_normal")),
    "architecture": ("Architecture", tuple(ARCHITECTURES), ("cifar_lenet", "cifar_fast")),
    "per_class": ("Training samples per class", SAMPLES_PER_CLASS, (800, 1000)),
    "batch_size": ("Batch size", BATCH_SIZES, (50, 128)),
    "dropout": ("Dropout", DROPOUTS, (0.0, 0.5)),
    "augment": ("Augmentation", (False, True), (False, True)),
    "seed": ("Seed", (0, 1, 2, 3, 4), (0, 1, 2)),
}


def format_value(control: str, value: Any) -> str:
    """How a control's value reads in menus and run labels."""
    if control == "learning_rate":
        return format_rate(value)
    if control == "architecture":
        return SHORT_NAMES[value]
    if control == "initializer":
        return INITIALIZERS[value]
    if control == "optimizer":
        return OPTIMIZERS[value]
    if control == "augment":
        return "flip + crop" if value else "none"
    return str(value)


def sweep(settings: LabSettings, control: str, values: Sequence[Any]) -> list[LabSettings]:
    """One settings per value of ``control``, everything else unchanged (duplicates dropped, order kept)."""
    if control not in SWEEPABLE:
        raise ValueError(f"cannot sweep {control!r}; choose one of {', '.join(SWEEPABLE)}")
    if not values:
        raise ValueError("choose at least one value to compare")
    unique = list(dict.fromkeys(values))
    return [dataclasses.replace(settings, **{control: value}) for value in unique]


def run_label(result: RunResult) -> str:
    """A short label that tells runs apart in legends: architecture, activation, optimizer, rate, key."""
    config = result.config
    options = config.model_kwargs
    return (
        f"{SHORT_NAMES.get(config.architecture, config.architecture)} · {options.get('activation', '?')} · "
        f"{config.optimizer} {format_rate(config.learning_rate)} · {result.train_examples:,} imgs · {result.key[:6]}"
    )


def runs_table(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per run for the runs table: its configuration, accuracies, size and time."""
    rows = []
    for result in results:
        config = result.config
        options = config.model_kwargs
        rows.append(
            {
                "run": result.key[:6],
                "architecture": SHORT_NAMES.get(config.architecture, config.architecture),
                "activation": options.get("activation"),
                "initializer": options.get("initializer"),
                "dropout": options.get("dropout"),
                "optimizer": config.optimizer,
                "learning rate": format_rate(config.learning_rate),
                "schedule": config.lr_schedule,
                "batch": config.batch_size,
                "augment": config.augment,
                "train images": result.train_examples,
                "epochs": result.epochs_run,
                "seed": config.seed,
                "status": result.status,
                "test accuracy": result.test_accuracy,
                "best test accuracy": result.best_test_accuracy,
                "params": result.params,
                "train s": round(result.train_seconds, 1),
            }
        )
    return rows


def is_lab_run(result: RunResult, dataset_name: str) -> bool:
    """True for runs of this page's architectures on the named dataset (any subset of it)."""
    return result.dataset_name == dataset_name and result.config.architecture in ARCHITECTURES


# The homework write-ups' own numbers, shown as theirs: trained elsewhere, for longer.
SEED_REPORTED = (
    {"seed": "003 (ELEC 576)", "data": "CIFAR-10 gray 28×28, 8,000 train", "model": "LeNet, sigmoid", "reported test accuracy": 0.10},
    {"seed": "003 (ELEC 576)", "data": "CIFAR-10 gray 28×28, 8,000 train", "model": "LeNet, best of its comparisons", "reported test accuracy": 0.52},
    {"seed": "004 (CS-577)", "data": "CIFAR-10 colour", "model": "baseline", "reported test accuracy": 0.736},
    {"seed": "004 (CS-577)", "data": "CIFAR-10 colour", "model": "baseline + inception", "reported test accuracy": 0.736},
    {"seed": "004 (CS-577)", "data": "CIFAR-10 colour", "model": "baseline + residual", "reported test accuracy": 0.748},
)

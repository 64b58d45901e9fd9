"""Compare mode: the controls it can sweep, and one settings per value of the swept control."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from core.cifar.choices import (
    ARCHITECTURES,
    BATCH_SIZES,
    DROPOUTS,
    INITIALIZERS,
    LEARNING_RATES,
    OPTIMIZERS,
    SAMPLES_PER_CLASS,
    format_value,
)
from core.cifar.config import LabSettings
from core.models.cifar import ACTIVATIONS

# The controls "compare" mode can sweep, with the values it offers and pre-selects.
SWEEPABLE: dict[str, tuple[str, tuple[Any, ...], tuple[Any, ...]]] = {
    "activation": ("Activation", ACTIVATIONS, ("relu", "tanh", "sigmoid")),
    "learning_rate": ("Learning rate", LEARNING_RATES, (1e-3, 1e-4, 1e-5)),
    "optimizer": ("Optimizer", tuple(OPTIMIZERS), ("adam", "sgd")),
    "initializer": ("Initializer", INITIALIZERS, ("truncated_normal", "glorot_normal")),
    "architecture": ("Architecture", tuple(ARCHITECTURES), ("cifar_lenet", "cifar_fast")),
    "per_class": ("Training samples per class", SAMPLES_PER_CLASS, (800, 1000)),
    "batch_size": ("Batch size", BATCH_SIZES, (50, 128)),
    "dropout": ("Dropout", DROPOUTS, (0.0, 0.5)),
    "augment": ("Augmentation", (False, True), (False, True)),
    "seed": ("Seed", (0, 1, 2, 3, 4), (0, 1, 2)),
}


def sweep(settings: LabSettings, control: str, values: Sequence[Any]) -> list[LabSettings]:
    """One settings per value of ``control``, everything else unchanged (duplicates dropped, order kept)."""
    if control not in SWEEPABLE:
        raise ValueError(f"cannot sweep {control!r}; choose one of {', '.join(SWEEPABLE)}")
    if not values:
        raise ValueError("choose at least one value to compare")
    unique = list(dict.fromkeys(values))
    return [dataclasses.replace(settings, **{control: value}) for value in unique]


def plan_label(settings: LabSettings, control: str | None) -> str:
    """How a planned run is named while it trains: "this run", or the swept control's value."""
    if control is None:
        return "this run"
    return f"{SWEEPABLE[control][0]} = {format_value(control, getattr(settings, control))}"

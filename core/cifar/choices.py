"""What each control of the CIFAR lab offers, and how its values read in menus, labels and tables.

Plain Python (no TensorFlow): the page imports it at no cost. The activations and initialisers
are the model builders' own (:mod:`core.models.cifar`); this module only names them.
"""

from __future__ import annotations

import math
from typing import Any

from core.homework import HOMEWORK
from core.models.cifar import INITIALIZERS

ELEC576 = HOMEWORK["elec576_a2"].name
CS577 = HOMEWORK["cs577_hw4"].name

ARCHITECTURES = {
    "cifar_fast": "Fast default (3 conv blocks, tuned for a 2-core CPU)",
    "cifar_lenet": f"LeNet – {ELEC576}",
    "cifar_baseline": f"Baseline – {CS577}",
    "cifar_inception": f"Baseline + inception blocks – {CS577}",
    "cifar_residual": f"Baseline + residual blocks – {CS577}",
}
SHORT_NAMES = {
    "cifar_fast": "fast",
    "cifar_lenet": "LeNet",
    "cifar_baseline": "baseline",
    "cifar_inception": "inception",
    "cifar_residual": "residual",
}
INITIALIZER_LABELS = dict(
    zip(INITIALIZERS, (f"Truncated normal σ=0.1, as in {ELEC576}", "Glorot (Xavier) normal", "He normal"), strict=True)
)
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD (plain gradient descent)", "sgd_momentum": "SGD + momentum 0.9", "rmsprop": "RMSProp"}
DATASETS = {"cifar10-gray28": f"CIFAR-10 gray 28×28, as in {ELEC576}", "cifar10": "CIFAR-10 colour 32×32"}
# Half-decade steps: log-spaced, and they hold both the ELEC 576 homework's 1e-3/1e-4/1e-5 and the fast recipe's 3e-3.
LEARNING_RATES = tuple(float(f"{mantissa}e{exponent}") for exponent in range(-5, -1) for mantissa in (1, 3)) + (1e-1,)
BATCH_SIZES = (16, 32, 50, 64, 128, 256)
SAMPLES_PER_CLASS = (100, 200, 400, 800, 1000)
DROPOUTS = (0.0, 0.25, 0.5)


def format_rate(rate: float) -> str:
    """A learning rate as the homework writes it: 1e-3, 2e-4, 5e-2."""
    exponent = math.floor(math.log10(rate) + 1e-9)
    mantissa = rate / 10.0**exponent
    return f"{mantissa:g}e{exponent}"


def format_value(control: str, value: Any) -> str:
    """How a control's value reads in menus and run labels."""
    if control == "learning_rate":
        return format_rate(value)
    if control == "architecture":
        return SHORT_NAMES[value]
    if control == "initializer":
        return INITIALIZER_LABELS[value]
    if control == "optimizer":
        return OPTIMIZERS[value]
    if control == "augment":
        return "flip + crop" if value else "none"
    return str(value)

"""The CIFAR CNN lab's logic: its controls and their meaning, settings → training configs, sweeps, run tables.

Everything here is plain Python (no TensorFlow), so the page imports it at no cost:
:mod:`~core.cifar.choices` (what each control offers), :mod:`~core.cifar.config` (the checked
settings and each architecture's preset), :mod:`~core.cifar.sweeps` (compare mode) and
:mod:`~core.cifar.runs` (labels, tables, statistics and the homework's reported figures).
"""

from core.cifar.choices import (
    ARCHITECTURES,
    BATCH_SIZES,
    CS577,
    DATASETS,
    DROPOUTS,
    ELEC576,
    INITIALIZER_LABELS,
    INITIALIZERS,
    LEARNING_RATES,
    OPTIMIZERS,
    SAMPLES_PER_CLASS,
    SHORT_NAMES,
    format_rate,
    format_value,
)
from core.cifar.config import PRESETS, LabSettings
from core.cifar.runs import (
    activation_statistics_rows,
    is_lab_run,
    reported_figures,
    run_label,
    runs_table,
)
from core.cifar.sweeps import SWEEPABLE, plan_label, sweep
from core.models.cifar import ACTIVATIONS

__all__ = [
    "ACTIVATIONS", "ARCHITECTURES", "BATCH_SIZES", "CS577", "DATASETS", "DROPOUTS", "ELEC576", "INITIALIZER_LABELS",
    "INITIALIZERS", "LEARNING_RATES", "OPTIMIZERS", "SAMPLES_PER_CLASS", "SHORT_NAMES", "format_rate", "format_value",
    "PRESETS", "LabSettings",
    "activation_statistics_rows", "is_lab_run", "reported_figures", "run_label", "runs_table",
    "SWEEPABLE", "plan_label", "sweep",
]

"""The CIFAR lab's controls → configs mapping, sweeps and run table (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
import pytest

from core.cifar import (
    ARCHITECTURES,
    INITIALIZER_LABELS,
    LEARNING_RATES,
    PRESETS,
    SWEEPABLE,
    LabSettings,
    format_rate,
    format_value,
    is_lab_run,
    plan_label,
    reported_figures,
    run_label,
    runs_table,
    sweep,
)
from core.training import RunResult


def test_learning_rates_are_log_spaced_and_hold_the_homework_values() -> None:
    assert LEARNING_RATES[0] == 1e-5 and LEARNING_RATES[-1] == 1e-1
    ratios = np.diff(np.log10(LEARNING_RATES))
    assert np.all(ratios > 0.4) and np.all(ratios < 0.6)
    for homework_rate in (1e-3, 1e-4, 1e-5):
        assert homework_rate in LEARNING_RATES
    assert all(preset["learning_rate"] in LEARNING_RATES for preset in PRESETS.values())
    assert [format_rate(rate) for rate in (1e-3, 3e-4, 0.1)] == ["1e-3", "3e-4", "1e-1"]


def test_settings_become_a_training_config() -> None:
    settings = LabSettings(architecture="cifar_lenet", activation="sigmoid", learning_rate=1e-4, augment=False, one_cycle=False)
    config = settings.train_config()
    assert config.architecture == "cifar_lenet"
    assert config.model_kwargs == {"activation": "sigmoid", "dropout": 0.5, "initializer": "he_normal"}
    assert (config.augment, config.lr_schedule, config.max_steps) == ("none", "constant", None)
    by_steps = LabSettings(iterations=5_000, epochs=7).train_config()
    # The epochs field is ignored in iteration mode, so it must not split the cache.
    assert by_steps.max_steps == 5_000 and by_steps == LabSettings(iterations=5_000, epochs=3).train_config()
    assert LabSettings().train_config().augment == "flip_crop"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activation": "swish"}, "activation"),
        ({"architecture": "vgg"}, "architecture"),
        ({"dropout": 1.0}, "dropout"),
        ({"per_class": 0}, "per class"),
        ({"iterations": 0}, "iterations"),
        ({"time_budget_seconds": -1.0}, "time budget"),
    ],
)
def test_bad_settings_name_the_control(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LabSettings(**change)


def test_sweep_changes_one_control_only() -> None:
    base = LabSettings()
    plans = sweep(base, "activation", ["relu", "tanh", "relu", "sigmoid"])
    assert [plan.activation for plan in plans] == ["relu", "tanh", "sigmoid"]
    assert all(plan.learning_rate == base.learning_rate for plan in plans)
    for control, (_label, choices, preselected) in SWEEPABLE.items():
        assert set(preselected) <= set(choices), control
        assert len(sweep(base, control, preselected)) == len(preselected)
        assert all(format_value(control, value) for value in choices)
    with pytest.raises(ValueError, match="at least one"):
        sweep(base, "activation", [])
    with pytest.raises(ValueError, match="cannot sweep"):
        sweep(base, "dataset", ["cifar10"])


def test_runs_table_rows() -> None:
    config = LabSettings(architecture="cifar_lenet", learning_rate=1e-3).train_config()
    result = RunResult(
        key="abcdef0123", config=config, dataset_name="cifar10-gray28", dataset_source="test", dataset_fingerprint="f",
        status="ok", message="", history={"loss": [1.0]}, epochs_run=1, test_accuracy=0.5, test_loss=1.0,
        best_test_accuracy=0.55, params=3_274_634, trainable_params=3_274_634, train_seconds=12.34,
        predict_seconds=0.1, test_predictions=np.zeros((1, 10)), train_examples=8_000,
    )
    (row,) = runs_table([result])
    assert row["architecture"] == "LeNet" and row["learning rate"] == "1e-3" and row["train images"] == 8_000
    assert row["best test accuracy"] == 0.55 and row["train s"] == 12.3
    assert "LeNet" in run_label(result) and "abcdef" in run_label(result)
    assert is_lab_run(result, "cifar10-gray28") and not is_lab_run(result, "cifar10")


def test_sweep_plans_are_named_by_the_swept_value() -> None:
    assert plan_label(LabSettings(), None) == "this run"
    (plan,) = sweep(LabSettings(), "learning_rate", [1e-4])
    assert plan_label(plan, "learning_rate") == "Learning rate = 1e-4"


def test_write_ups_are_named_by_course_and_their_figures_come_from_the_homework_table() -> None:
    from core.homework import reported_rows

    text = " ".join([*ARCHITECTURES.values(), *INITIALIZER_LABELS.values()])
    assert "ELEC 576 Assignment 2 (Rice)" in text and "CS-577 Homework 4" in text
    assert "seed" not in text.lower()
    figures = reported_figures()
    assert figures[0]["reported test accuracy"] == 0.10  # the sigmoid LeNet that never learned
    assert figures == [row for row in reported_rows("elec576_a2") + reported_rows("cs577_hw4") if "CIFAR" in row["data"]]


def test_the_lab_imports_without_tensorflow() -> None:
    import subprocess
    import sys

    probe = "import sys, core.cifar; print(any(name.split('.')[0] in ('keras', 'tensorflow') for name in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"

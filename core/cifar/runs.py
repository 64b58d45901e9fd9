"""The CIFAR lab's runs: labels and table rows, activation statistics, and what the homework reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.cache import cached_arrays
from core.cifar.choices import ARCHITECTURES, SHORT_NAMES, format_rate
from core.datasets import Dataset
from core.homework import reported_rows
from core.training import RunResult

# The homework figures this page's data stands for: ELEC 576's gray LeNet runs, CS-577's colour networks.
REPORTED_ON = (("elec576_a2", "CIFAR-10 gray 28×28, 8,000 train"), ("cs577_hw4", "CIFAR-10 colour"))


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


def reported_figures() -> list[dict[str, Any]]:
    """The CIFAR figures the homework write-ups reported, as theirs: trained elsewhere, for longer."""
    return [row for homework, data in REPORTED_ON for row in reported_rows(homework, data=data)]


def activation_statistics_rows(result: RunResult, dataset: Dataset) -> list[dict[str, Any]]:
    """ELEC 576 Assignment 2's per-layer activation statistics for a run over the test set, computed once and kept on disk."""

    def compute() -> dict[str, np.ndarray]:
        from core import viz
        from core.training import load_model, prepare_inputs

        stats = viz.activation_statistics(load_model(result), prepare_inputs(dataset.x_test))
        return {
            "layers": np.array([s.layer for s in stats]),
            "values": np.array([[s.mean, s.std, s.var] for s in stats], dtype=np.float64).reshape(-1, 3),
        }

    arrays = cached_arrays("cifar_activation_stats", f"{result.key}-{dataset.test_fingerprint}", compute, keep_in_memory=True)
    return [
        {"layer": str(layer), "mean": float(mean), "std": float(std), "var": float(var)}
        for layer, (mean, std, var) in zip(arrays["layers"], arrays["values"])
    ]

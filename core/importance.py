"""What mattered across a page's runs: each run's settings, and how much each one explains the test accuracy.

As W&B's parameter importance does, a random forest learns to predict the test accuracy from
the settings, and each setting's share of the forest's impurity reductions is its importance;
a rank correlation says in which direction a numeric setting moves the accuracy. Both describe
these runs only: they are associations, not causes, and with a handful of runs they are noise
(:func:`importance_caution` says when).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the type only: charts import this module, and the calculator page must not pay for the engine
    from core.training import RunResult

Setting = str | int | float | bool | None

# Settings whose numbers are names, not quantities: seed 7 is not "more" than seed 3.
CATEGORICAL_NUMBERS = frozenset({"seed"})
# Learning rates are chosen on a log scale (1e-4, 1e-3, 1e-2); on a linear axis they would pile up at 0.
LOG_SCALE = frozenset({"learning rate"})
# Fixed so that the same runs always give the same table; 100 trees fit a few hundred runs in well under a second.
FOREST_TREES = 100
FOREST_SEED = 0
# Below either figure the forest has too few runs per setting to tell settings apart (see importance_caution).
MIN_RUNS = 10
MIN_RUNS_PER_SETTING = 3


@dataclass(frozen=True)
class SettingImportance:
    """How much one setting explains the test accuracy across the runs."""

    setting: str
    importance: float  # the setting's share of the forest's impurity reductions; the shares sum to 1
    correlation: float | None  # Spearman rank correlation with accuracy; None for a category
    numeric: bool
    distinct_values: int


@dataclass(frozen=True)
class ImportanceReport:
    """The settings, most important first, and what the figures rest on."""

    settings: tuple[SettingImportance, ...]
    runs: int  # runs with a test accuracy, the ones the forest learned from
    left_out: int  # runs whose test accuracy is not a number
    problem: str | None = None  # why no importance could be measured, when none could

    @property
    def measured(self) -> bool:
        """True when the importances say something (they sum to 1)."""
        return self.problem is None and bool(self.settings)


# ---------------------------------------------------------------------------------------------
# Runs as rows of settings


def run_settings(result: RunResult) -> dict[str, Setting]:
    """Everything a run's outcome was decided by, as plain scalars keyed by a readable name.

    The model's own options (activation, dropout, units, trees, ...) come from
    ``config.model_kwargs``; tuples and lists become text. Runs on audio features add the
    feature settings their data was made with, since those decide the outcome too.
    """
    config = result.config
    settings: dict[str, Setting] = {"architecture": config.architecture}
    fixed_names = {
        "optimizer", "learning rate", "lr schedule", "batch size", "epochs", "iterations", "augment",
        "early stopping patience", "time budget (s)", "seed", "train examples",
    }
    for name, value in config.model_kwargs.items():
        settings[f"model {name}" if name in fixed_names else name] = _plain(value)
    settings.update(
        {
            "optimizer": config.optimizer,
            "learning rate": config.learning_rate,
            "lr schedule": config.lr_schedule,
            "batch size": config.batch_size,
            "epochs": config.epochs,
            "iterations": config.max_steps,
            "augment": config.augment,
            "early stopping patience": config.early_stopping_patience,
            "time budget (s)": config.time_budget_seconds,
            "seed": config.seed,
            "train examples": result.train_examples,
        }
    )
    for name, value in _feature_settings(result.data_recipe).items():
        settings.setdefault(name, value)
    return settings


def _feature_settings(recipe: Mapping[str, Any] | None) -> dict[str, Setting]:
    """The audio feature settings (and clip length) an ``audio_features`` recipe records; nothing for other data."""
    if not isinstance(recipe, Mapping) or recipe.get("step") != "audio_features":
        return {}
    found: dict[str, Setting] = {}
    source = recipe.get("of")
    if isinstance(source, Mapping) and "clip_seconds" in source:
        found["clip seconds"] = _plain(source["clip_seconds"])
    features = recipe.get("settings")
    if isinstance(features, Mapping):
        for name, value in features.items():
            found["feature kind" if name == "kind" else str(name).replace("_", " ")] = _plain(value)
    return found


def _plain(value: Any) -> Setting:
    """A setting value as a scalar a table, a chart and a forest all take."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return "×".join(str(_plain(item)) for item in value) if value else "()"
    return str(value)


def varying_settings(rows: Sequence[Mapping[str, Setting]]) -> list[dict[str, Setting]]:
    """The rows with only the settings that differ between them (a setting a run lacks counts as ``None``)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    varying = [name for name in names if len({_identity(row.get(name)) for row in rows}) > 1]
    return [{name: row.get(name) for name in varying} for row in rows]


def _identity(value: Setting) -> tuple[str, Setting]:
    # 1 and 1.0 are one setting, True and 1 are not, and None is a value of its own.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    return ("number", float(value))


def is_numeric(name: str, values: Sequence[Setting]) -> bool:
    """True when a setting is a quantity (every value a number), so it has an order and a correlation."""
    if name in CATEGORICAL_NUMBERS:
        return False
    return all(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) for value in values)


def axis_value(name: str, value: float) -> float:
    """A numeric setting where a chart or the forest puts it: log10 for log-scale settings, else the value."""
    if name in LOG_SCALE and value > 0:
        return math.log10(value)
    return float(value)


def shown(value: Setting) -> str:
    """A setting value as text: ``0.001``, ``flip_crop``, ``none`` for a setting the run did not have."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def category_order(values: Sequence[Setting]) -> list[str]:
    """A category's distinct values as text, in a reading order: numbers by size, then words, then ``none``."""
    distinct = {shown(value): value for value in values}

    def rank(text: str) -> tuple[int, float, str]:
        value = distinct[text]
        if value is None:
            return (2, 0.0, text)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, float(value), text)
        return (1, 0.0, text)

    return sorted(distinct, key=rank)


# ---------------------------------------------------------------------------------------------
# Importance


def setting_importance(
    rows: Sequence[Mapping[str, Setting]],
    accuracies: Sequence[float],
    *,
    trees: int = FOREST_TREES,
    seed: int = FOREST_SEED,
) -> ImportanceReport:
    """How much each setting that varies explains the test accuracy across these runs, most important first.

    A ``RandomForestRegressor`` predicts the accuracy from the settings: numbers as numbers (the
    learning rate as its log10), categories one-hot, with a category's columns summed back into
    one importance. The importance is the forest's mean decrease in impurity, which favours
    settings with many distinct values a little; with few runs, read it with
    :func:`importance_caution`. The correlation is Spearman's rank correlation between a numeric
    setting and the accuracy; a category has none (``None``), since its values have no order
    that "higher" could follow. Runs whose accuracy is not a number are left out (counted in
    ``left_out``); a diverged run's recorded accuracy, usually chance or 0, is used as it is.
    """
    if len(rows) != len(accuracies):
        raise ValueError(f"rows and accuracies must have the same length, got {len(rows)} and {len(accuracies)}")
    if trees < 1:
        raise ValueError(f"trees must be at least 1, got {trees}")
    scores = np.asarray([float(accuracy) for accuracy in accuracies], dtype=np.float64)
    scored = np.isfinite(scores)
    kept_rows = [row for row, keep in zip(rows, scored) if keep]
    kept_scores = scores[scored]
    left_out = int((~scored).sum())
    if len(kept_rows) < 2:
        return ImportanceReport((), len(kept_rows), left_out, "fewer than 2 runs have a test accuracy")
    table = varying_settings(kept_rows)
    names = list(table[0])
    if not names:
        return ImportanceReport((), len(kept_rows), left_out, "no setting differs between the runs")
    columns = {name: [row[name] for row in table] for name in names}
    numeric = {name: is_numeric(name, values) for name, values in columns.items()}
    distinct = {name: len(category_order(values)) for name, values in columns.items()}
    if np.ptp(kept_scores) == 0:
        flat = tuple(SettingImportance(name, 0.0, None, numeric[name], distinct[name]) for name in names)
        return ImportanceReport(flat, len(kept_rows), left_out, "every run has the same test accuracy")

    features, owners = _encode(columns, numeric)
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(features, kept_scores)
    shares = dict.fromkeys(names, 0.0)
    for owner, share in zip(owners, forest.feature_importances_):
        shares[owner] += float(share)
    total = sum(shares.values())
    if total <= 0:  # every tree stayed a single leaf: nothing to share out
        flat = tuple(SettingImportance(name, 0.0, None, numeric[name], distinct[name]) for name in names)
        return ImportanceReport(flat, len(kept_rows), left_out, "the forest found no split that predicts the accuracy")
    ranked = sorted(
        (
            SettingImportance(
                name,
                shares[name] / total,
                _rank_correlation(columns[name], kept_scores) if numeric[name] else None,
                numeric[name],
                distinct[name],
            )
            for name in names
        ),
        key=lambda item: (-item.importance, item.setting),
    )
    return ImportanceReport(tuple(ranked), len(kept_rows), left_out)


def _encode(columns: Mapping[str, Sequence[Setting]], numeric: Mapping[str, bool]) -> tuple[np.ndarray, list[str]]:
    """The forest's input: one column per numeric setting, one per category value; and each column's setting."""
    blocks, owners = [], []
    for name, values in columns.items():
        if numeric[name]:
            blocks.append(np.array([[axis_value(name, float(value))] for value in values]))  # type: ignore[arg-type]
            owners.append(name)
        else:
            texts = [shown(value) for value in values]
            categories = category_order(values)
            blocks.append(np.array([[float(text == category) for category in categories] for text in texts]))
            owners += [name] * len(categories)
    return np.hstack(blocks), owners


def _rank_correlation(values: Sequence[Setting], accuracies: np.ndarray) -> float | None:
    """Spearman's rank correlation, or ``None`` when either side does not vary (it is undefined then)."""
    from scipy.stats import spearmanr

    numbers = np.asarray(values, dtype=np.float64)
    if np.ptp(numbers) == 0 or np.ptp(accuracies) == 0:
        return None
    statistic = float(spearmanr(numbers, accuracies).statistic)
    return statistic if math.isfinite(statistic) else None


# ---------------------------------------------------------------------------------------------
# When not to believe it


def importance_caution(runs: int, settings: int) -> str | None:
    """A sentence of caution when there are too few runs for the importances to mean much, else ``None``.

    Two rules of thumb. Under ``MIN_RUNS`` (10) runs the forest's bootstrap samples are nearly
    the same few runs, so one lucky or unlucky run moves the whole table. And each varying
    setting needs a few runs of its own, ``MIN_RUNS_PER_SETTING`` (3), for its effect to be told
    apart from the others' (a looser cousin of regression's "ten events per variable", looser
    because these settings were chosen, not observed).
    """
    if runs < 0 or settings < 0:
        raise ValueError(f"runs and settings must be at least 0, got {runs} and {settings}")
    needed = max(MIN_RUNS, MIN_RUNS_PER_SETTING * settings)
    if runs >= needed:
        return None
    return (
        f"Only {runs} run{'s' if runs != 1 else ''} for {settings} setting{'s' if settings != 1 else ''} that vary: "
        f"with fewer than {needed} runs these importances can change completely with the next run, so read them as "
        "a hint of what to try next, not as a finding."
    )


def settings_changed_together(rows: Sequence[Mapping[str, Setting]]) -> list[tuple[str, str]]:
    """Pairs of varying settings that always changed together in these runs, so no method can tell their effects apart."""
    table = varying_settings(rows)
    if not table or not table[0]:
        return []
    names = list(table[0])
    groups = {name: _partition([row[name] for row in table]) for name in names}
    return [(first, second) for i, first in enumerate(names) for second in names[i + 1:] if groups[first] == groups[second]]


def _partition(values: Sequence[Setting]) -> frozenset[frozenset[int]]:
    """Which runs share a value: the same grouping for two settings means one determines the other."""
    members: dict[tuple[str, Setting], set[int]] = {}
    for index, value in enumerate(values):
        members.setdefault(_identity(value), set()).add(index)
    return frozenset(frozenset(group) for group in members.values())

"""What mattered across a page's runs: settings, the forest's importances, the caution, the chart and the section on the pages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import charts
from core.importance import (
    importance_caution,
    run_settings,
    setting_importance,
    settings_changed_together,
    varying_settings,
)
from core.training import RunResult, TrainConfig, options

OPTIMIZERS = ("adam", "sgd", "rmsprop")
RATES = (1e-4, 1e-3, 1e-2, 1e-1)
BATCHES = (16, 32, 64, 128)


def _sweep(count: int, seed: int) -> list[dict]:
    """Settings as a random search would draw them: every setting varies independently of the others."""
    rng = np.random.default_rng(seed)
    return [
        {
            "architecture": "cifar_fast",
            "learning rate": float(rng.choice(RATES)),
            "optimizer": str(rng.choice(OPTIMIZERS)),
            "batch size": int(rng.choice(BATCHES)),
            "seed": int(rng.integers(0, 5)),
        }
        for _ in range(count)
    ]


def _noise(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1000).normal(0, 0.002, count)


# ---------------------------------------------------------------------------------------------
# The done-when test: a setting the data makes the only one that matters ranks first


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_learning_rate_ranks_first_when_only_it_decides_the_accuracy(seed: int) -> None:
    rows = _sweep(40, seed)
    # Accuracy peaks at 1e-2 and is worst at 1e-4: a shape a linear model would miss, a forest does not.
    by_rate = {1e-4: 0.30, 1e-3: 0.55, 1e-2: 0.70, 1e-1: 0.45}
    accuracies = [by_rate[row["learning rate"]] for row in rows] + _noise(len(rows), seed)

    report = setting_importance(rows, accuracies)

    assert report.measured and report.runs == 40 and report.left_out == 0
    first, second = report.settings[0], report.settings[1]
    assert first.setting == "learning rate"
    assert first.importance > 0.8 and first.importance > 5 * second.importance
    assert math.isclose(sum(item.importance for item in report.settings), 1.0)
    assert [item.importance for item in report.settings] == sorted((item.importance for item in report.settings), reverse=True)
    # The architecture never changed, so it is not a setting that could have mattered.
    assert {item.setting for item in report.settings} == {"learning rate", "optimizer", "batch size", "seed"}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_category_ranks_first_when_only_it_decides_the_accuracy(seed: int) -> None:
    rows = _sweep(36, seed)
    by_optimizer = {"adam": 0.80, "sgd": 0.35, "rmsprop": 0.60}
    accuracies = [by_optimizer[row["optimizer"]] for row in rows] + _noise(len(rows), seed)

    report = setting_importance(rows, accuracies)

    first, second = report.settings[0], report.settings[1]
    assert first.setting == "optimizer" and not first.numeric
    assert first.importance > 0.8 and first.importance > 5 * second.importance
    assert first.correlation is None  # a category has no order for a correlation to follow
    assert first.distinct_values == 3


def test_the_correlation_says_which_way_a_numeric_setting_moves_the_accuracy() -> None:
    rows = _sweep(30, 5)
    rising = [0.5 + 0.1 * math.log10(row["learning rate"]) for row in rows]
    falling = [0.9 - 0.001 * row["batch size"] for row in rows]

    up = {item.setting: item for item in setting_importance(rows, rising).settings}
    down = {item.setting: item for item in setting_importance(rows, falling).settings}

    assert up["learning rate"].correlation == pytest.approx(1.0)
    assert down["batch size"].correlation == pytest.approx(-1.0)
    assert down["batch size"].numeric and up["seed"].correlation is None  # seeds are names, not quantities


# ---------------------------------------------------------------------------------------------
# Edge cases, said honestly


def test_one_run_or_none_has_nothing_to_compare() -> None:
    for rows, accuracies in (([], []), (_sweep(1, 0), [0.5])):
        report = setting_importance(rows, accuracies)
        assert not report.measured and report.settings == () and "fewer than 2 runs" in report.problem


def test_runs_that_share_every_setting_have_no_importance() -> None:
    rows = [dict(_sweep(1, 0)[0]) for _ in range(4)]
    report = setting_importance(rows, [0.4, 0.5, 0.6, 0.7])
    assert not report.measured and report.settings == () and "no setting differs" in report.problem
    assert varying_settings(rows) == [{}, {}, {}, {}]


def test_the_same_accuracy_everywhere_gives_every_setting_zero() -> None:
    rows = _sweep(12, 3)
    report = setting_importance(rows, [0.1] * 12)
    assert not report.measured and "same test accuracy" in report.problem
    assert report.settings and all(item.importance == 0 and item.correlation is None for item in report.settings)


def test_runs_without_a_test_accuracy_are_left_out_and_counted() -> None:
    rows = _sweep(20, 4)
    accuracies = [0.3 + 0.1 * math.log10(row["learning rate"]) + 0.5 for row in rows]
    with_nan = rows + _sweep(2, 9)

    report = setting_importance(with_nan, [*accuracies, float("nan"), float("inf")])

    assert report.left_out == 2 and report.runs == 20
    assert report.settings == setting_importance(rows, accuracies).settings  # as if they had never run
    # All of them unscored: nothing to learn from, and no crash.
    assert setting_importance(rows[:3], [float("nan")] * 3).problem == "fewer than 2 runs have a test accuracy"


def test_a_diverged_run_counts_with_the_accuracy_it_recorded() -> None:
    rows = _sweep(12, 6)
    accuracies = [0.6] * 11 + [0.0]  # training diverged: NaN weights, every prediction the first class
    report = setting_importance(rows, accuracies)
    assert report.measured and report.runs == 12 and report.left_out == 0


def test_mismatched_lengths_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="same length"):
        setting_importance(_sweep(3, 0), [0.5, 0.6])


# ---------------------------------------------------------------------------------------------
# Runs as settings, and when to be cautious


def _result(config: TrainConfig, *, dataset_name: str = "cifar10-gray28", test_size: int = 20, accuracy: float = 0.5,
            train_examples: int = 100, recipe: dict | None = None) -> RunResult:
    """A finished run as the cache returns it (a real ``RunResult``; only the numbers are made up)."""
    return RunResult(
        key=f"{abs(hash((config, dataset_name, test_size))):016x}", config=config, dataset_name=dataset_name,
        dataset_source="test", dataset_fingerprint="f" * 16, status="ok", message="", history={"loss": [1.0]},
        epochs_run=config.epochs, test_accuracy=accuracy, test_loss=1.0, best_test_accuracy=accuracy, params=10,
        trainable_params=10, train_seconds=1.0, predict_seconds=0.1, test_predictions=np.zeros((test_size, 10), np.float32),
        train_examples=train_examples, data_recipe=recipe,
    )


def test_a_run_becomes_plain_scalar_settings() -> None:
    config = TrainConfig(
        "cifar_fast", model_options=options(activation="relu", dropout=0.25, filters=[32, 64]), optimizer="sgd",
        learning_rate=3e-3, epochs=4, batch_size=32, seed=2, augment="flip_crop", lr_schedule="one_cycle",
        time_budget_seconds=60,
    )
    settings = run_settings(_result(config, train_examples=800))
    assert settings == {
        "architecture": "cifar_fast", "activation": "relu", "dropout": 0.25, "filters": "32×64", "optimizer": "sgd",
        "learning rate": 3e-3, "lr schedule": "one_cycle", "batch size": 32, "epochs": 4, "iterations": None,
        "augment": "flip_crop", "early stopping patience": None, "time budget (s)": 60, "seed": 2, "train examples": 800,
    }


def test_audio_runs_carry_their_feature_settings() -> None:
    recipe = {
        "step": "audio_features", "of": {"loader": "synthetic_sounds", "clip_seconds": 0.5},
        "settings": {"sample_rate": 8000, "mel_bands": 40, "kind": "mfcc"}, "seed": 0,
    }
    settings = run_settings(_result(TrainConfig("audio_cnn"), recipe=recipe))
    assert settings["clip seconds"] == 0.5 and settings["mel bands"] == 40 and settings["feature kind"] == "mfcc"


def test_a_setting_some_runs_lack_varies_as_none() -> None:
    rows = [{"architecture": "lstm", "units": 128}, {"architecture": "row_cnn"}, {"architecture": "lstm", "units": 128}]
    assert varying_settings(rows) == [
        {"architecture": "lstm", "units": 128}, {"architecture": "row_cnn", "units": None}, {"architecture": "lstm", "units": 128}
    ]
    # Units exist exactly when the model is recurrent: the two can never be told apart.
    assert settings_changed_together(rows) == [("architecture", "units")]
    assert varying_settings([{"rate": 1}, {"rate": 1.0}]) == [{}, {}]


def test_the_caution_comes_with_too_few_runs_for_the_settings() -> None:
    assert "Only 4 runs for 2 settings" in importance_caution(4, 2)
    assert importance_caution(9, 1) is not None  # under 10 runs, whatever varies
    assert importance_caution(10, 3) is None
    assert importance_caution(12, 5) is not None and importance_caution(15, 5) is None  # 3 runs per setting
    with pytest.raises(ValueError, match="at least 0"):
        importance_caution(-1, 2)


def test_page_filters_keep_only_that_page_s_runs_on_that_data() -> None:
    from core.audio.comparison import cnn_config, is_comparison_run
    from core.audio.forest import forest_config
    from core.datasets import Dataset, load_dataset
    from core.sequence import is_sequence_run, sequence_config

    mnist = load_dataset("mnist", train_size=200, seed=0)
    lstm = sequence_config("lstm", units=32)
    assert is_sequence_run(_result(lstm, dataset_name="mnist", test_size=len(mnist.y_test)), mnist)
    assert not is_sequence_run(_result(lstm, dataset_name="mnist", test_size=len(mnist.y_test) + 1), mnist)  # another test set
    assert not is_sequence_run(_result(TrainConfig("cifar_fast"), dataset_name="mnist", test_size=len(mnist.y_test)), mnist)

    features = Dataset(
        "fsdd-features", np.zeros((60, 8, 5), np.float32), np.arange(60) % 3, np.zeros((30, 8, 5), np.float32),
        np.arange(30) % 3, ("0", "1", "2"), "spoken digits",
    )
    for config in (cnn_config(), forest_config(10)):
        assert is_comparison_run(_result(config, dataset_name="fsdd-features", test_size=30), features)
    assert not is_comparison_run(_result(cnn_config(), dataset_name="synthetic_sounds-features", test_size=30), features)
    assert not is_comparison_run(_result(lstm, dataset_name="fsdd-features", test_size=30), features)


# ---------------------------------------------------------------------------------------------
# The parallel-coordinates chart


def test_the_chart_draws_one_line_per_run_across_the_varying_settings_and_accuracy() -> None:
    rows = [
        {"architecture": "cifar_fast", "learning rate": 1e-4, "optimizer": "sgd", "seed": 0},
        {"architecture": "cifar_fast", "learning rate": 1e-3, "optimizer": "adam", "seed": 0},
        {"architecture": "cifar_fast", "learning rate": 1e-2, "optimizer": "rmsprop", "seed": 0},
        {"architecture": "cifar_fast", "learning rate": 1e-2, "optimizer": "adam", "seed": 0},
        {"architecture": "cifar_lenet", "learning rate": 1e-3, "optimizer": "adam", "seed": 0},  # no accuracy
    ]
    accuracies = [0.2, 0.5, 0.4, 0.8, float("nan")]
    frame = charts.parallel_coordinates_frame(rows, accuracies, runs=["a", "b", "c", "d", "e"])

    # The unscored run is left out, and with it the only run whose architecture differed.
    assert sorted(set(frame["run"])) == ["a", "b", "c", "d"]
    assert list(dict.fromkeys(frame["axis"])) == ["learning rate", "optimizer", charts.ACCURACY_AXIS]
    assert frame.groupby("run").size().tolist() == [3, 3, 3, 3]
    assert frame["position"].between(0, 1).all()
    position = frame.set_index(["run", "axis"])["position"]
    # Learning rate on a log scale: 1e-3 is halfway between 1e-4 and 1e-2.
    assert [position[run, "learning rate"] for run in "abc"] == pytest.approx([0.0, 0.5, 1.0])
    # Categories spread evenly in alphabetical order: adam, rmsprop, sgd.
    assert [position[run, "optimizer"] for run in "bca"] == pytest.approx([0.0, 0.5, 1.0])
    assert [position[run, charts.ACCURACY_AXIS] for run in "abd"] == pytest.approx([0.0, 0.5, 1.0])
    labels = frame[frame["tick"]].drop_duplicates(["axis", "label"]).groupby("axis")["label"].apply(sorted).to_dict()
    assert labels == {"learning rate": ["0.0001", "0.001", "0.01"], "optimizer": ["adam", "rmsprop", "sgd"], charts.ACCURACY_AXIS: ["20.0%", "80.0%"]}
    assert frame.loc[frame["run"] == "d", "optimizer"].unique().tolist() == ["adam"]  # each point carries its run's settings

    spec = charts.parallel_coordinates_chart(frame).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "line", "circle", "text"]
    line = spec["layer"][1]["encoding"]
    assert line["detail"]["field"] == "run" and line["color"]["field"] == charts.ACCURACY_AXIS
    assert line["x"]["sort"] == ["learning rate", "optimizer", charts.ACCURACY_AXIS]
    assert {tip.get("title") for tip in line["tooltip"]} >= {"learning rate", "optimizer"}


def test_a_setting_named_like_a_chart_column_keeps_its_own_column() -> None:
    frame = charts.parallel_coordinates_frame([{"label": "x"}, {"label": "y"}], [0.1, 0.2], runs=["a", "b"])
    assert "label (setting)" in frame.columns and set(frame["label"]) == {"x", "y", "10.0%", "20.0%"}
    charts.parallel_coordinates_chart(frame).to_dict()


# ---------------------------------------------------------------------------------------------
# The section on a page, with runs really trained


@pytest.mark.slow
def test_the_cifar_page_shows_what_mattered_across_its_own_runs_only(monkeypatch) -> None:
    from conftest import cifar_page

    from core.cifar import LabSettings
    from core.datasets import load_dataset
    from core.training import list_cached_runs, train

    monkeypatch.setenv("DLLAB_WORKERS", "0")  # fit in this process: a worker pool would only add start-up time
    at = cifar_page(timeout=120)
    assert any("Train at least two runs" in info.value for info in at.info)

    gray = load_dataset("cifar10-gray28", per_class=10, seed=0)
    for optimizer, rate in (("adam", 1e-3), ("sgd", 1e-2), ("adam", 1e-2)):
        train(LabSettings(per_class=10, epochs=1, optimizer=optimizer, learning_rate=rate).train_config(), gray)
    # A run on the colour variant belongs to that data, not to this page's comparison.
    colour = load_dataset("cifar10", per_class=10, seed=0)
    train(LabSettings(dataset="cifar10", per_class=10, epochs=1, batch_size=32).train_config(), colour)
    assert len(list_cached_runs()) == 4

    at.run()
    assert not [frame for frame in at.dataframe if "importance" in frame.value.columns]  # nothing drawn until asked
    at.toggle(key="cifar_mattered_show").set_value(True).run()
    assert not at.exception and not at.error
    tables = [frame.value for frame in at.dataframe if "importance" in frame.value.columns]
    assert len(tables) == 1
    table = tables[0]
    assert sorted(table["setting"]) == ["learning rate", "optimizer"]  # the colour run's batch size stays out
    assert table["importance"].sum() == pytest.approx(1.0)
    correlations = table.set_index("setting")["correlation"]
    assert pd.isna(correlations["optimizer"]) and -1 <= correlations["learning rate"] <= 1  # a category has none
    assert any("All 3 runs on this data so far" in caption.value for caption in at.caption)
    assert any("Only 3 runs for 2 settings" in warning.value for warning in at.warning)
    assert any("not proof" in block.value for block in at.markdown)


@pytest.mark.slow
def test_the_sequence_page_compares_its_runs_on_the_data_it_shows(monkeypatch) -> None:
    from conftest import app_test

    from core.datasets import load_dataset
    from core.sequence import sequence_config
    from core.training import train

    monkeypatch.setenv("DLLAB_WORKERS", "0")
    digits = load_dataset("mnist", train_size=200, seed=0)  # the offline digits, as the page loads them
    runs = [train(sequence_config("simple_rnn", units=units, epochs=1), digits) for units in (8, 32)]

    at = app_test("app_pages/sequence_models.py", timeout=120)
    at.number_input(key="train_size").set_value(200).run()
    at.toggle(key="seq_mattered_show").set_value(True).run()
    assert not at.exception and not at.error
    assert runs[0].test_accuracy != runs[1].test_accuracy, "the two tiny runs should score differently (seeded)"
    (table,) = [frame.value for frame in at.dataframe if "importance" in frame.value.columns]
    # The only setting that differs takes all the importance; units is a number, so it has a direction.
    assert table["setting"].tolist() == ["units"] and table["importance"].tolist() == [1.0]
    assert table["correlation"].tolist() == pytest.approx([1.0 if runs[1].test_accuracy > runs[0].test_accuracy else -1.0])
    assert any("All 2 runs on this data so far. The settings that differ between them: units." in caption.value for caption in at.caption)


@pytest.mark.slow
def test_the_audio_page_asks_for_runs_before_it_compares() -> None:
    from conftest import app_test

    at = app_test("app_pages/audio_models.py", timeout=180)
    assert not at.exception
    assert "What mattered" in [header.value for header in at.subheader]
    assert any("Train at least two runs" in info.value for info in at.info)

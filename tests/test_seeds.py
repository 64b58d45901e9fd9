"""Same settings, new seeds: the seed variants, the spread maths against numpy, diverged runs, and the pages' seed button."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import CIFAR_PAGE, app_test

from core import charts
from core.seeds import NOISE_MULTIPLE, SEED_COUNT, Spread, seed_spread, seed_variants, what_the_seed_changes
from core.sequence import sequence_config
from core.training import RunResult, TrainConfig

SEQUENCE_PAGE = "app_pages/sequence_models.py"
TRAINING_TIMEOUT = 240


def _run(config: TrainConfig, accuracy: float, *, status: str = "ok", seconds: float = 1.0, fingerprint: str = "data") -> RunResult:
    """A finished run as the cache keeps it, with the figures the spread reads."""
    return RunResult(
        key=f"run-{config.seed}", config=config, dataset_name="digits", dataset_source="test", dataset_fingerprint=fingerprint,
        status=status, message="", history={}, epochs_run=1, test_accuracy=accuracy, test_loss=math.nan if status == "diverged" else 0.5,
        best_test_accuracy=accuracy, params=10, trainable_params=10, train_seconds=seconds, predict_seconds=0.1,
        test_predictions=np.zeros((3, 10), dtype=np.float32),
    )


# ---------------------------------------------------------------------------------------------
# The variants


def test_seed_variants_are_the_current_seed_and_the_next_ones_differing_only_in_seed() -> None:
    config = sequence_config("lstm", units=64, optimizer="adam", learning_rate=3e-3, epochs=7, batch_size=32, seed=12)
    variants = seed_variants(config)
    assert len(variants) == SEED_COUNT == 5
    assert [variant.seed for variant in variants] == [12, 13, 14, 15, 16]
    assert variants[0] == config  # the single run is one of the five, so it comes from the cache
    for variant in variants:
        assert dataclasses.replace(variant, seed=config.seed) == config
        changed = [field.name for field in dataclasses.fields(TrainConfig) if getattr(variant, field.name) != getattr(config, field.name)]
        assert changed in ([], ["seed"])


@pytest.mark.parametrize("count", [0, -1, 2.5, True])
def test_seed_variants_refuse_a_count_that_is_not_a_positive_whole_number(count: object) -> None:
    with pytest.raises(ValueError, match="count must be a whole number of seeds"):
        seed_variants(TrainConfig("row_cnn"), count)  # type: ignore[arg-type]


def test_what_the_seed_changes_names_the_random_parts_of_each_kind_of_run() -> None:
    assert what_the_seed_changes(TrainConfig("row_cnn")) == "the initial weights, the shuffling and the dropout masks"
    assert "flips and crops" in what_the_seed_changes(TrainConfig("cifar_fast", augment="flip_crop"))
    assert "each tree draws" in what_the_seed_changes(TrainConfig("random_forest"))


# ---------------------------------------------------------------------------------------------
# The spread maths


def test_spread_is_numpys_mean_sample_std_min_and_max() -> None:
    values = [0.612, 0.598, 0.634, 0.587, 0.621]
    spread = Spread.of(values)
    assert spread.n == 5
    assert spread.mean == pytest.approx(np.mean(values), abs=1e-15)
    assert spread.std == pytest.approx(np.std(values, ddof=1), abs=1e-15)
    assert spread.std == pytest.approx(0.018528, abs=1e-6)  # by hand: sqrt(0.0013732 / (5 - 1))
    assert (spread.low, spread.high) == (0.587, 0.634)


def test_spread_leaves_out_nan_and_infinite_values_and_never_crashes() -> None:
    spread = Spread.of([0.5, math.nan, 0.7, math.inf])
    assert spread.n == 2 and spread.mean == pytest.approx(0.6)
    assert spread.std == pytest.approx(np.std([0.5, 0.7], ddof=1))
    single = Spread.of([0.4, math.nan])
    assert single.n == 1 and single.mean == 0.4 and math.isnan(single.std)  # one number has no spread
    empty = Spread.of([math.nan] * 5)
    assert empty.n == 0 and all(math.isnan(value) for value in (empty.mean, empty.std, empty.low, empty.high))


def test_seed_spread_of_runs_and_the_reading_of_the_single_run() -> None:
    config = TrainConfig("row_cnn", seed=3)
    accuracies = [0.62, 0.60, 0.64, 0.58, 0.61]
    runs = [_run(variant, accuracy, seconds=2.0 + index) for index, (variant, accuracy) in enumerate(zip(seed_variants(config), accuracies))]
    spread = seed_spread(runs)
    assert spread.seeds == (3, 4, 5, 6, 7) and spread.accuracies == tuple(accuracies)
    assert spread.accuracy.mean == pytest.approx(np.mean(accuracies))
    assert spread.accuracy.std == pytest.approx(np.std(accuracies, ddof=1))
    assert spread.seconds.mean == pytest.approx(4.0) and spread.seconds.std == pytest.approx(np.std([2, 3, 4, 5, 6], ddof=1))
    assert spread.noise_threshold == pytest.approx(NOISE_MULTIPLE * np.std(accuracies, ddof=1))
    std_points = np.std(accuracies, ddof=1) * 100
    assert spread.summary() == f"Across 5 seeds: 61.0% ± {std_points:.1f} points (58.0%–64.0%)."
    reading = spread.reading(3)
    assert "Your single run (seed 3) scored 62.0%, within one standard deviation of the mean" in reading
    assert f"a gap under about {NOISE_MULTIPLE * std_points:.1f} points" in reading and "not evidence" in reading
    lucky = spread.reading(5)  # 64% is (0.64 - 0.61) / 0.0224 = 1.3 standard deviations above the mean
    assert "1.3 standard deviations above the mean: a lucky seed" in lucky
    assert "below the mean: an unlucky seed" in spread.reading(6)
    with pytest.raises(ValueError, match="seed must be one of"):
        spread.reading(99)


def test_a_diverged_seed_is_left_out_of_the_spread_and_named() -> None:
    variants = seed_variants(TrainConfig("row_cnn"))
    # A diverged run's recorded accuracy is chance or 0; it must not pull the mean down as if it were a score.
    runs = [_run(variants[0], 0.7), _run(variants[1], 0.0, status="diverged"), _run(variants[2], 0.72),
            _run(variants[3], math.nan, status="diverged"), _run(variants[4], 0.74)]
    spread = seed_spread(runs)
    assert spread.diverged_seeds == (1, 3)
    assert spread.accuracy.n == 3 and spread.accuracy.mean == pytest.approx(np.mean([0.7, 0.72, 0.74]))
    assert spread.accuracy.std == pytest.approx(np.std([0.7, 0.72, 0.74], ddof=1))
    assert spread.seconds.n == 5  # a diverged run still took its time
    reading = spread.reading(1)
    assert "the 3 of 5 seeds that did not diverge" in reading and "Seeds 1, 3 diverged" in reading
    assert "Your single run (seed 1) is one of those that diverged" in reading
    frame = charts.seed_frame(spread.seeds, spread.accuracies, single_seed=0)
    assert frame["seed"].tolist() == [0, 2, 4] and frame["run"].tolist() == ["your single run", "another seed", "another seed"]
    all_diverged = seed_spread([_run(variant, math.nan, status="diverged") for variant in variants])
    assert all_diverged.accuracy.n == 0 and "All 5 seeds diverged" in all_diverged.reading(0)
    one_left = seed_spread([_run(variants[0], 0.5)] + [_run(variant, 0.0, status="diverged") for variant in variants[1:]])
    assert "Only 1 of 5 seeds trained without diverging (50.0%)" in one_left.reading(0)


def test_seed_spread_refuses_runs_that_are_not_the_same_settings() -> None:
    with pytest.raises(ValueError, match="at least one"):
        seed_spread([])
    config = TrainConfig("row_cnn")
    with pytest.raises(ValueError, match="differ only in their seed"):
        seed_spread([_run(config, 0.5), _run(dataclasses.replace(config, seed=1, learning_rate=0.1), 0.5)])
    with pytest.raises(ValueError, match="one run per seed"):
        seed_spread([_run(config, 0.5), _run(config, 0.6)])
    with pytest.raises(ValueError, match="same data"):
        seed_spread([_run(config, 0.5), _run(dataclasses.replace(config, seed=1), 0.6, fingerprint="other")])


def test_the_chart_draws_the_band_at_mean_plus_and_minus_one_std() -> None:
    frame = charts.seed_frame([0, 1, 2], [0.5, 0.6, 0.7], single_seed=1)
    assert frame["run"].tolist() == ["another seed", "your single run", "another seed"]
    spec = charts.seed_spread_chart(frame, mean=0.6, std=0.1).to_dict()
    datasets = list(spec["datasets"].values())
    band = next(rows for rows in datasets if rows and "low" in rows[0])
    assert band == [{"low": pytest.approx(0.5), "high": pytest.approx(0.7), "mean": 0.6}]


# ---------------------------------------------------------------------------------------------
# The pages


def _texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def _seed_table(at):
    return next(frame.value for frame in at.dataframe if list(frame.value.columns) == ["seed", "test accuracy", "train s"])


@pytest.mark.slow
def test_the_seed_button_trains_five_seeds_and_shows_their_spread(monkeypatch) -> None:
    from core.datasets import load_dataset
    from core.training import cached_result

    monkeypatch.setenv("DLLAB_WORKERS", "0")  # fit here: a worker pool would only add start-up time
    at = app_test(SEQUENCE_PAGE, timeout=TRAINING_TIMEOUT)
    at.multiselect(key="models").set_value(["simple_rnn", "row_cnn"]).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="train_size").set_value(200).run()
    assert at.button(key="seeds_train").label == "Train 5 seeds"
    assert "None of the 5 seeds has run" in _texts(at.caption)

    # The page's own Train button trains the single runs (seed 0); the seed section then finds its seed 0 cached.
    at.button(key="train").click().run()
    assert not at.exception and not at.error
    at.selectbox(key="seeds_model").set_value("CNN").run()
    assert "In the cache already: seed 0 (your single run); 4 to go." in _texts(at.caption)
    assert at.button(key="seeds_train").label == "Train 4 more seeds"
    at.button(key="seeds_train").click().run()
    assert not at.exception and not at.error
    assert "Trained seed 1, seed 2, seed 3, seed 4 in" in _texts(at.success)  # not seed 0: it came from the cache

    dataset = load_dataset("mnist", train_size=200, seed=0)
    single = sequence_config("row_cnn", units=128, epochs=1)
    runs = [cached_result(dataclasses.replace(single, seed=seed), dataset) for seed in range(5)]
    assert all(run is not None for run in runs)
    accuracies = np.array([run.test_accuracy for run in runs])
    assert [run.config.seed for run in runs] == [0, 1, 2, 3, 4]

    table = _seed_table(at)
    assert table["seed"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(table["test accuracy"].to_numpy(), accuracies)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Your single run (seed 0)"] == f"{accuracies[0]:.1%}"
    assert metrics["Mean of 5 seeds"] == f"{np.mean(accuracies):.1%}"
    assert metrics["Spread across seeds"] == f"± {np.std(accuracies, ddof=1) * 100:.1f} points"
    reading = _texts(at.info)
    assert f"Across 5 seeds: {np.mean(accuracies):.1%} ± {np.std(accuracies, ddof=1) * 100:.1f} points" in reading
    assert at.button(key="seeds_train").disabled and at.button(key="seeds_train").label == "All 5 seeds trained"


def test_the_cifar_page_offers_the_seeds_of_the_single_run_only() -> None:
    at = app_test(CIFAR_PAGE)
    assert not at.exception
    assert at.button(key="seeds_train").label == "Train 5 seeds"
    assert "seeds 0–4" in _texts(at.markdown) and "the same data" in _texts(at.markdown)
    at.radio(key="mode").set_value("compare").run()
    assert not at.exception
    assert "seeds_train" not in {button.key for button in at.button}


@pytest.mark.slow
def test_the_audio_page_repeats_the_chosen_model_even_the_forest(monkeypatch) -> None:
    from core.audio.forest import forest_config
    from core.training import list_cached_runs

    monkeypatch.setenv("DLLAB_WORKERS", "0")
    at = app_test("app_pages/audio_models.py", timeout=TRAINING_TIMEOUT)
    assert not at.exception
    assert at.selectbox(key="seeds_model").options == ["CNN", "LSTM", "Random forest (100 trees)"]  # the networks first
    at.slider(key="clip_seconds").set_value(0.5).run()
    at.selectbox(key="trees_choice").set_value(10).run()
    at.selectbox(key="seeds_model").set_value("Random forest (10 trees)").run()
    assert "each tree draws" in _texts(at.markdown)
    at.button(key="seeds_train").click().run()
    assert not at.exception and not at.error
    # Only the five forests trained: the seed button queues the chosen model, not the page's three.
    runs = list_cached_runs()
    assert sorted(run.config.seed for run in runs) == [0, 1, 2, 3, 4]
    assert {run.config.architecture for run in runs} == {"random_forest"}
    assert len({run.dataset_fingerprint for run in runs}) == 1  # the same data for every seed
    accuracies = np.array([run.test_accuracy for run in sorted(runs, key=lambda run: run.config.seed)])
    np.testing.assert_array_equal(_seed_table(at)["test accuracy"].to_numpy(), accuracies)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Mean of 5 seeds"] == f"{np.mean(accuracies):.1%}"
    assert metrics["Spread across seeds"] == f"± {np.std(accuracies, ddof=1) * 100:.1f} points"
    assert min(runs, key=lambda run: run.config.seed).config == forest_config(10)  # seed 0 is the page's own forest


@pytest.mark.slow
def test_seeds_that_all_diverge_are_reported_not_a_crash(monkeypatch) -> None:
    import keras

    import core.training.fit

    # No page setting makes the loss NaN quickly (Adam and RMSProp normalise their steps), so swap in
    # plain SGD with an absurd rate, in this process, to take the engine's real NaN path.
    monkeypatch.setenv("DLLAB_WORKERS", "0")
    monkeypatch.setattr(core.training.fit, "make_optimizer", lambda name, rate: keras.optimizers.SGD(1e12))
    at = app_test(SEQUENCE_PAGE, timeout=TRAINING_TIMEOUT)
    at.multiselect(key="models").set_value(["row_cnn"]).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="train_size").set_value(200).run()
    at.button(key="seeds_train").click().run()
    assert not at.exception and not at.error
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Your single run (seed 0)"] == "diverged"
    assert metrics["Mean of 0 of 5 seeds"] == "—" and metrics["Spread across seeds"] == "—"
    reading = _texts(at.info)
    assert "All 5 seeds diverged" in reading and "Seeds 0, 1, 2, 3, 4 diverged with the very same settings" in reading
    assert _seed_table(at)["test accuracy"].isna().all()

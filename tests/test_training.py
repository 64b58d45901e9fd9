"""The cached training engine, on the tiny built-in digits so each fit takes about a second."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.cache import DiskCache
from core.datasets import Dataset, load_dataset
from core.training import (
    RUNS_NAMESPACE,
    TrainConfig,
    cached_result,
    list_cached_runs,
    load_model,
    one_cycle_rate,
    prepare_inputs,
    run_key,
    train,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def _config(**changes) -> TrainConfig:
    base = dict(architecture="mlp", model_options=(("hidden_units", 32),), epochs=2, batch_size=64, learning_rate=3e-3)
    base.update(changes)
    return TrainConfig(**base)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        _config(optimizer="adagrad")
    with pytest.raises(ValueError, match="learning_rate"):
        _config(learning_rate=0)
    with pytest.raises(ValueError, match="epochs"):
        _config(epochs=0)
    assert _config(model_options=(("b", 1), ("a", 2))) == _config(model_options=(("a", 2), ("b", 1)))
    assert isinstance(_config(learning_rate=10).learning_rate, float)


def test_train_learns_records_history_and_caches(digits) -> None:
    progress = []
    result = train(_config(), digits, on_progress=progress.append)
    assert result.status == "ok" and not result.from_cache
    assert result.epochs_run == 2
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"}
    assert result.test_accuracy > 0.8  # an MLP on digits is well above chance (10%) after 2 epochs
    assert result.params == 64 * 32 + 32 + 32 * 10 + 10
    assert result.test_predictions.shape == (len(digits.x_test), 10)
    assert progress and progress[-1].fraction <= 1.0
    # The stored test predictions agree with what the saved model predicts.
    model = load_model(result)
    again = model.predict(prepare_inputs(digits.x_test), verbose=0)
    np.testing.assert_allclose(again, result.test_predictions, atol=1e-5)
    assert result.predicted_labels.shape == digits.y_test.shape

    cached = train(_config(), digits)
    assert cached.from_cache and cached.key == result.key
    assert cached.test_accuracy == result.test_accuracy
    assert cached_result(_config(), digits) is not None
    assert [run.key for run in list_cached_runs()] == [result.key]


def test_key_ignores_file_locations_but_not_their_digest(digits) -> None:
    here = _config(model_options=(("weights_path", "/a/vgg.h5"), ("weights_digest", "abc")))
    moved = _config(model_options=(("weights_path", "/b/copy.h5"), ("weights_digest", "abc")))
    other = _config(model_options=(("weights_path", "/a/vgg.h5"), ("weights_digest", "def")))
    assert run_key(here, digits) == run_key(moved, digits)
    assert run_key(here, digits) != run_key(other, digits)


def test_key_depends_on_config_and_data(digits) -> None:
    other = Dataset("digits", digits.x_train[:100], digits.y_train[:100], digits.x_test, digits.y_test,
                    digits.class_names, "subset")
    assert run_key(_config(), digits) != run_key(_config(seed=1), digits)
    assert run_key(_config(), digits) != run_key(_config(), other)


def test_corrupt_entry_is_retrained_not_a_crash(digits, isolated_environment) -> None:
    first = train(_config(epochs=1), digits)
    model_file = first.model_path
    model_file.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    assert cached_result(_config(epochs=1), digits) is None
    again = train(_config(epochs=1), digits)
    assert not again.from_cache and again.status == "ok"

    (again.model_path.parent / "result.json").write_text("{not json")
    assert train(_config(epochs=1), digits).from_cache is False


def test_divergence_is_recorded_not_raised(digits) -> None:
    result = train(_config(optimizer="sgd", learning_rate=1e12, epochs=3), digits)
    assert result.status == "diverged" and result.diverged
    assert "learning rate" in result.message
    record = json.loads((result.model_path.parent / "result.json").read_text())
    assert record["status"] == "diverged"


def test_time_budget_and_step_cap_stop_training(digits) -> None:
    capped = train(_config(epochs=50, max_steps=5, batch_size=32), digits)
    assert capped.epochs_run == 1
    budget = train(_config(epochs=500, time_budget_seconds=1.0), digits)
    assert budget.status == "stopped early" and budget.epochs_run < 500 and "time budget" in budget.message


def test_early_stopping_and_augmentation_and_one_cycle_run(digits) -> None:
    result = train(_config(epochs=3, augment="flip_crop", lr_schedule="one_cycle", early_stopping_patience=1), digits)
    assert result.status in ("ok", "stopped early")
    assert one_cycle_rate(0.0, 1.0) == pytest.approx(0.1)
    assert one_cycle_rate(0.3, 1.0) == pytest.approx(1.0)
    assert one_cycle_rate(1.0, 1.0) == pytest.approx(0.005)


def test_concurrent_sessions_train_once_per_key(digits) -> None:
    results = {}

    def worker(index: int) -> None:
        results[index] = train(_config(seed=index % 2, epochs=1), digits)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({results[i].key for i in range(4)}) == 2
    assert all(results[i].status == "ok" for i in range(4))
    entries = [entry for entry in DiskCache().entries() if entry.parent.name == RUNS_NAMESPACE]
    assert len(entries) == 2
    assert not [p for p in (DiskCache().root / RUNS_NAMESPACE).iterdir() if p.name.startswith(".tmp")]


def test_validation_split_drives_the_curves_and_test_stays_held_out(digits) -> None:
    with_validation = Dataset("digits", digits.x_train[:900], digits.y_train[:900], digits.x_test, digits.y_test,
                              digits.class_names, "split", x_val=digits.x_train[900:], y_val=digits.y_train[900:])
    result = train(_config(epochs=1), with_validation)
    assert result.curves_on == "validation"
    assert result.best_test_accuracy == result.test_accuracy
    assert result.test_predictions.shape[0] == len(digits.x_test)

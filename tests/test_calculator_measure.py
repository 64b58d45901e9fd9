"""'Measure in Keras': the memory one prediction and one training step really take, beside the calculator's estimate."""

from __future__ import annotations

import pytest

from conftest import app_test
from core.calculator import analyze
from core.calculator.measure import MeasurementError, check_fits, explanation, likely_peak_bytes, measure_memory
from core.calculator.presets import PRESETS

PAGE = "app_pages/cnn_calculator.py"


def test_a_keras_training_step_needs_at_least_the_estimate_for_the_geron_cnn() -> None:
    network = PRESETS[0].network
    assert network.key == "geron"
    estimate = analyze(network.input_shape, network.layers, batch_size=50, optimizer="adam")
    measured = measure_memory(network.input_shape, network.layers, batch_size=50, optimizer="adam")
    assert measured.params == estimate.total_params == 903_400  # the same network was built
    assert (measured.batch_size, measured.optimizer) == (50, "adam")
    assert measured.before_bytes > 200_000_000  # TensorFlow was imported in the measuring process
    # The estimate is a lower bound: a real step holds framework temporaries on top (2.1× measured here).
    assert measured.train_step_growth_bytes >= estimate.training_bytes
    assert measured.predict_growth_bytes >= 0
    reading = explanation(measured, estimate.training_bytes, estimate.inference_peak_bytes)
    assert f"{measured.train_step_growth_bytes / estimate.training_bytes:.1f}× the estimate" in reading


def test_the_guard_refuses_a_measurement_that_would_not_fit() -> None:
    estimate = 576_454_400
    needed = likely_peak_bytes(estimate)
    assert needed > 3 * estimate
    with pytest.raises(ValueError, match=r"would need about 2\.6 GB of RAM .* only 1\.0 GB is available"):
        check_fits(estimate, 1_000_000_000)
    check_fits(estimate, needed)  # just fits
    check_fits(estimate, None)  # unknown RAM: allowed


def test_the_worker_checks_its_own_free_ram_before_starting_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.calculator.measure as measure

    started = []
    monkeypatch.setattr(measure.subprocess, "run", lambda *args, **kwargs: started.append(args))
    monkeypatch.setattr(measure, "available_memory_bytes", lambda: 500_000_000)
    network = PRESETS[0].network
    with pytest.raises(ValueError, match="only 500 MB is available"):
        measure_memory(network.input_shape, network.layers, batch_size=50, optimizer="adam")
    assert started == []  # refused before any process started


def test_impossible_settings_and_a_stuck_measurement_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        measure_memory((8, 8, 1), [{"type": "dense", "units": 4}], batch_size=2, optimizer="lion")
    with pytest.raises(ValueError, match="larger than its 4×4 input"):
        measure_memory((4, 4, 1), [{"type": "conv2d", "filters": 2, "kernel": 9}], batch_size=2, optimizer="sgd")
    with pytest.raises(MeasurementError, match="longer than 0.5 s and was stopped"):
        measure_memory((8, 8, 1), [{"type": "dense", "units": 4}], batch_size=2, optimizer="sgd", timeout=0.5)


def test_the_page_measures_a_small_network_and_shows_both_figures() -> None:
    at = app_test(PAGE, timeout=300)
    at.selectbox(key="preset").set_value("mlp_128").run()
    at.button(key="measure_keras").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = {metric.label: metric.value for metric in at.metric}
    predict = next(label for label in labels if label.startswith("One prediction: measured"))
    train = next(label for label in labels if label.startswith("One training step"))
    assert labels[predict].endswith(" MB") and labels[train].endswith(" MB")
    captions = " ".join(caption.value for caption in at.caption)
    assert "Estimate: " in captions and "Keras counted" in captions
    assert any("the estimate of" in markdown.value for markdown in at.markdown)
    # A different batch size is a different measurement: the old figures go.
    at.number_input(key="batch_size").set_value(7).run()
    assert not any(metric.label.startswith("One prediction: measured") for metric in at.metric)

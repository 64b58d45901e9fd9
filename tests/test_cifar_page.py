"""AppTest of the CIFAR CNN lab on the offline fallback, with tiny training runs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core import charts
from core.cifar import PRESETS, SWEEPABLE
from core.training import list_cached_runs
from conftest import app_test

PAGE = "app_pages/cifar_cnn.py"
pytestmark = pytest.mark.slow


def _tiny(at, *, per_class: int = 10):
    """Shrink the run to seconds: a few images per class and one epoch."""
    at.number_input(key="per_class").set_value(per_class).run()
    at.number_input(key="epochs").set_value(1).run()
    return at


def _runs_table(at):
    tables = [frame.value for frame in at.dataframe if "status" in frame.value.columns]
    return tables[0] if tables else None


def _png(size=(40, 30), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_renders_on_the_fallback_without_training() -> None:
    at = app_test(PAGE)
    assert not at.exception
    assert any("NOT CIFAR-10" in warning.value for warning in at.warning)
    assert at.button(key="train").label == "Train" and not at.button(key="train").disabled
    assert any(np.isclose(frame.value.get("reported test accuracy", [0])[0], 0.10) for frame in at.dataframe)
    assert _runs_table(at) is None
    assert list_cached_runs() == []  # nothing trains without a click


def test_every_control_reruns_cleanly() -> None:
    at = app_test(PAGE)
    at.selectbox(key="architecture").set_value("cifar_lenet").run()
    # Choosing the LeNet loads ELEC 576 Assignment 2's own settings.
    for name, value in PRESETS["cifar_lenet"].items():
        assert at.session_state[name] == value, name
    at.selectbox(key="activation").set_value("sigmoid").run()
    at.selectbox(key="initializer").set_value("glorot_normal").run()
    at.slider(key="dropout").set_value(0.25).run()
    at.selectbox(key="optimizer").set_value("rmsprop").run()
    at.select_slider(key="learning_rate").set_value(1e-4).run()
    at.checkbox(key="one_cycle").check().run()
    at.selectbox(key="batch_size").set_value(256).run()
    at.toggle(key="augment").set_value(True).run()
    at.number_input(key="time_budget").set_value(60).run()
    at.number_input(key="seed").set_value(3).run()
    at.number_input(key="per_class").set_value(50).run()
    at.radio(key="length_unit").set_value("iterations").run()
    at.number_input(key="iterations").set_value(300).run()
    at.radio(key="dataset").set_value("cifar10").run()
    assert any("32×32 colour" in warning.value for warning in at.warning)
    at.radio(key="mode").set_value("compare").run()
    for control in SWEEPABLE:
        at.selectbox(key="sweep_control").set_value(control).run()
        assert not at.exception, control
    at.selectbox(key="sweep_control").set_value("activation").run()
    at.multiselect(key="sweep_values_activation").set_value(["relu", "elu"]).run()
    assert at.button(key="train").label == "Train 2 runs"
    at.multiselect(key="sweep_values_activation").set_value([]).run()
    assert any("at least one value" in error.value for error in at.error)
    for architecture in ("cifar_baseline", "cifar_inception", "cifar_residual", "cifar_fast"):
        at.selectbox(key="architecture").set_value(architecture).run()
    assert not at.exception
    assert list_cached_runs() == []


def test_a_tiny_run_fills_the_table_curves_and_inspection(monkeypatch) -> None:
    at = _tiny(app_test(PAGE, timeout=180), per_class=20)
    at.button(key="train").click().run()
    assert not at.exception
    table = _runs_table(at)
    assert table is not None and len(table) == 1
    assert table.loc[0, "status"] == "ok" and table.loc[0, "train images"] == 200
    assert 0 <= table.loc[0, "test accuracy"] <= 1
    (run,) = list_cached_runs()
    curves = charts.history_frame({"run": run.history})
    assert set(curves["split"]) == {"train", "test"} and set(curves["metric"]) == {"accuracy", "loss"}
    assert at.button(key="train").disabled
    downloads = {button.key for button in at.get("download_button")}
    assert {"download_runs", "download_model", "download_reported"} <= downloads
    # Only the open tab of "Inside a trained model" is computed and sent; the statistics are in the third.
    assert "download_activation_stats" not in downloads
    at.session_state["cifar_inside_tab"] = "Activation statistics"
    at.run()
    stats = [frame.value for frame in at.dataframe if list(frame.value.columns) == ["layer", "mean", "std", "var"]]
    assert stats and stats[0]["layer"].tolist() == ["conv1", "conv2", "conv3"]
    assert "download_activation_stats" in {button.key for button in at.get("download_button")}

    at.number_input(key="test_index").set_value(5).run()
    at.session_state["cifar_inside_tab"] = "Saliency & Grad-CAM"
    at.run()
    at.selectbox(key="explain_class").set_value(3).run()
    at.file_uploader(key="upload").set_value(("photo.png", _png(), "image/png")).run()
    assert not at.exception and not at.error
    at.file_uploader(key="upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")).run()
    assert not at.exception
    assert any("broken.png" in error.value for error in at.error)

    # A new session with the same settings shows the cached run at once and never retrains.
    import core.training.executor

    def refuse(*args, **kwargs):
        raise AssertionError("a cached configuration was trained again")

    monkeypatch.setattr(core.training.executor.Executor, "submit", refuse)
    again = _tiny(app_test(PAGE, timeout=120), per_class=20)
    assert not again.exception and not again.error
    assert again.button(key="train").disabled
    assert len(_runs_table(again)) == 1


def test_a_diverging_run_is_recorded_not_a_crash() -> None:
    at = _tiny(app_test(PAGE, timeout=180), per_class=20)
    # Measured to blow up within the first epoch on the fallback digits: ELU is unbounded
    # above, σ=0.1 weights are large for the dense layer, and momentum SGD at 0.1 overshoots.
    at.selectbox(key="activation").set_value("elu").run()
    at.selectbox(key="initializer").set_value("truncated_normal").run()
    at.slider(key="dropout").set_value(0.0).run()
    at.selectbox(key="optimizer").set_value("sgd_momentum").run()
    at.select_slider(key="learning_rate").set_value(0.1).run()
    at.checkbox(key="one_cycle").uncheck().run()
    at.toggle(key="augment").set_value(False).run()
    at.selectbox(key="batch_size").set_value(16).run()
    at.button(key="train").click().run()
    assert not at.exception
    assert any("diverged" in error.value for error in at.error)
    assert _runs_table(at).loc[0, "status"] == "diverged"
    assert any("nothing to look inside" in info.value for info in at.info)


def test_compare_mode_trains_each_value() -> None:
    at = _tiny(app_test(PAGE, timeout=180), per_class=10)
    at.radio(key="mode").set_value("compare").run()
    at.selectbox(key="sweep_control").set_value("activation").run()
    at.multiselect(key="sweep_values_activation").set_value(["relu", "tanh"]).run()
    at.button(key="train").click().run()
    assert not at.exception
    table = _runs_table(at)
    assert sorted(table["activation"]) == ["relu", "tanh"]
    assert at.button(key="train").disabled


def _linked(query: dict[str, str]):
    """The page opened from a pasted link: the query is set before the page's first run."""
    at = app_test(PAGE, query=query)
    assert not at.exception
    return at


def test_a_shared_link_reopens_the_same_experiment() -> None:
    at = _linked({
        "architecture": "cifar_lenet", "learning_rate": "0.0001", "dropout": "0.25", "length_unit": "iterations",
        "iterations": "300", "mode": "compare", "sweep_control": "optimizer", "sweep_values_optimizer": "sgd,rmsprop",
    })
    assert not at.error and len(at.toast) == 0
    assert at.selectbox(key="architecture").value == "cifar_lenet"
    # Settings the link leaves out start from the LeNet's own recipe, as if it had been chosen by hand.
    assert at.selectbox(key="initializer").value == PRESETS["cifar_lenet"]["initializer"]
    assert at.selectbox(key="batch_size").value == PRESETS["cifar_lenet"]["batch_size"]
    assert at.select_slider(key="learning_rate").value == 1e-4
    assert at.slider(key="dropout").value == 0.25
    assert at.number_input(key="iterations").value == 300
    assert at.multiselect(key="sweep_values_optimizer").value == ["sgd", "rmsprop"]
    assert at.button(key="train").label == "Train 2 runs"
    at.selectbox(key="activation").set_value("tanh").run()
    assert at.query_params["activation"] == "tanh" and at.query_params["architecture"] == "cifar_lenet"
    assert list_cached_runs() == []


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = _linked({"architecture": "vgg16", "learning_rate": "0.5", "batch_size": "100", "epochs": "2", "mode": "both"})
    assert not at.error
    assert at.selectbox(key="architecture").value == "cifar_fast"
    assert at.select_slider(key="learning_rate").value == PRESETS["cifar_fast"]["learning_rate"]
    assert at.selectbox(key="batch_size").value == PRESETS["cifar_fast"]["batch_size"]
    assert at.number_input(key="epochs").value == 2
    assert at.radio(key="mode").value == "single"
    notices = " ".join(toast.value for toast in at.toast)
    assert all(name in notices for name in ("architecture", "learning_rate", "batch_size", "mode"))
    assert at.query_params["batch_size"] == str(PRESETS["cifar_fast"]["batch_size"])


def test_a_cached_run_reopens_inside_the_model_without_tensorflow() -> None:
    """A server that just started shows a cached run's filters, maps and saliency from disk, not from the model."""
    from conftest import cifar_page, run_in_a_fresh_process

    at = cifar_page(timeout=180)
    at.button(key="train").click().run()
    assert not at.exception and at.subheader and "Inside a trained model" in [header.value for header in at.subheader]
    predicted_here = [caption.value for caption in at.caption if caption.value.startswith("Predicted:")]

    stdout = run_in_a_fresh_process("""
        from conftest import cifar_page
        at = cifar_page()
        assert not at.exception, at.exception
        print("INSIDE", "Inside a trained model" in [header.value for header in at.subheader])
        print("PREDICTED", [caption.value for caption in at.caption if caption.value.startswith("Predicted:")])
    """)
    assert "INSIDE True" in stdout and "HEAVY []" in stdout, stdout
    assert predicted_here and f"PREDICTED {predicted_here}" in stdout  # the same prediction, read from disk


def test_inspection_kept_on_disk_equals_the_model_computed_afresh() -> None:
    from core import viz
    from core.inspection import feature_map_layers, image_explanation, image_inspection
    from core.training import load_model, prepare_inputs
    from conftest import baseline_dataset, cifar_page

    at = cifar_page(timeout=180)
    at.button(key="train").click().run()
    result = list_cached_runs()[0]
    prepared = prepare_inputs(baseline_dataset().x_test[3:4])[0]
    kept = image_inspection(result, prepared, image_id="probe-3")
    again = image_inspection(result, prepared, image_id="probe-3")  # read back from disk
    model = load_model(result)
    np.testing.assert_allclose(again["probabilities"], model.predict(prepared[np.newaxis], verbose=0)[0], atol=1e-6)
    np.testing.assert_array_equal(again["kernel"], viz.conv_layers(model)[0].get_weights()[0])
    direct = viz.feature_maps(model, prepared)
    assert [name for name, _ in feature_map_layers(again)] == [name for name, _ in direct]
    for (_, stored), (_, computed) in zip(feature_map_layers(again), direct):
        np.testing.assert_allclose(stored, computed, atol=1e-5)
    assert set(kept) == set(again)
    explained = image_explanation(result, prepared, 2, image_id="probe-3")
    np.testing.assert_allclose(explained["saliency"], viz.saliency_map(model, prepared, class_index=2), atol=1e-5)
    np.testing.assert_allclose(explained["grad_cam"], viz.grad_cam(model, prepared, class_index=2), atol=1e-5)


def test_the_arithmetic_behind_a_feature_map_value_matches_the_value_shown() -> None:
    import re

    from conftest import cifar_page

    at = cifar_page(timeout=180)
    at.button(key="train").click().run()
    at.session_state["cifar_inside_tab"] = "Feature maps"
    at.run()
    at.toggle(key="cifar_arith_on").set_value(True).run()
    at.number_input(key="cifar_arith_row").set_value(0).run()  # a corner: the kernel hangs over the padding
    at.number_input(key="cifar_arith_col").set_value(0).run()
    at.number_input(key="cifar_arith_channel").set_value(2).run()
    assert not at.exception and not at.error
    [sentence] = [block.value for block in at.markdown if "the value the layer itself produced here" in block.value]
    computed, produced = re.findall(r"= \*\*(-?[0-9.]+)\*\*, the value the layer itself produced here: \*\*(-?[0-9.]+)\*\*", sentence)[0]
    assert computed == produced
    assert any("zero padding" in caption.value for caption in at.caption)
    # The patch, the kernel and their products: three tables of the kernel's size, the first with the padding's zeros.
    squares = [frame.value for frame in at.dataframe if frame.value.shape[0] == frame.value.shape[1] and frame.value.shape[0] in (3, 5)]
    assert len(squares) == 3 and (squares[0].to_numpy()[0] == 0).all()

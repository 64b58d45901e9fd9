"""The RNN vs LSTM vs GRU vs CNN page: offline fallback, every control, training, cache, bad input."""

from __future__ import annotations

import pytest
from conftest import app_test

from core.datasets import load_dataset
from core.sequence import sequence_config
from core.training import cached_result

PAGE = "app_pages/sequence_models.py"
TRAINING_TIMEOUT = 180


def _page(timeout: float = 60):
    at = app_test(PAGE, timeout=timeout)
    assert not at.exception, at.exception
    return at


def _tiny(at, *, models: list[str], epochs: int = 1, train_size: int = 200):
    at.multiselect(key="models").set_value(models).run()
    at.number_input(key="epochs").set_value(epochs).run()
    at.number_input(key="train_size").set_value(train_size).run()
    return at


def _texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def test_renders_on_the_offline_fallback_with_banner_and_reported_figures() -> None:
    at = _page()
    assert at.title[0].value == "RNN vs LSTM vs GRU vs CNN"
    assert "Offline fallback" in _texts(at.warning)
    assert "8 timesteps × 8 features" in _texts(at.caption)
    assert "Not trained yet" in _texts(at.info)  # nothing trains without a click
    reported = at.dataframe[-1].value
    assert set(reported["model"]) == {"RNN", "LSTM", "GRU", "CNN"}
    assert "someone else's numbers" in _texts(at.caption)
    assert not at.error


def test_every_control_reruns_cleanly() -> None:
    at = _page()
    at.multiselect(key="models").set_value(["lstm", "row_cnn"]).run()
    for choice in (50, 300, 128, "other"):
        at.selectbox(key="units_choice").set_value(choice).run()
        assert not at.exception
    at.number_input(key="units_other").set_value(200).run()
    at.selectbox(key="optimizer").set_value("adam").run()
    at.selectbox(key="batch_size").set_value(32).run()
    at.text_input(key="learning_rate").set_value("0.003").run()
    at.number_input(key="epochs").set_value(3).run()
    at.number_input(key="train_size").set_value(500).run()
    at.toggle(key="one_cycle").set_value(True).run()
    at.number_input(key="time_limit").set_value(30).run()
    assert not at.exception and not at.error
    assert "LSTM (200)" in _texts(at.info) and "CNN" in _texts(at.info)
    at.multiselect(key="models").set_value([]).run()
    assert not at.exception and "at least one model" in _texts(at.info)


@pytest.mark.parametrize(
    ("key", "widget", "value", "message"),
    [
        ("learning_rate", "text_input", "fast", "learning rate must be a number"),
        ("learning_rate", "text_input", "-0.1", "learning rate must be greater than 0"),
        ("units_other", "number_input", 0, "hidden units must be a whole number"),
    ],
)
def test_bad_input_shows_an_error_not_a_traceback(key: str, widget: str, value: object, message: str) -> None:
    at = _page()
    if key == "units_other":
        at.selectbox(key="units_choice").set_value("other").run()
    getattr(at, widget)(key=key).set_value(value).run()
    assert not at.exception
    assert message in _texts(at.error)


@pytest.mark.slow
def test_train_shows_results_then_reopens_from_cache() -> None:
    at = _tiny(_page(TRAINING_TIMEOUT), models=["simple_rnn", "lstm", "gru", "row_cnn"])
    at.button(key="train").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["model"]) == ["RNN (128)", "LSTM (128)", "GRU (128)", "CNN"]
    assert set(table["status"]) == {"ok"}
    assert table["params"].tolist() == [18_826, 71_434, 54_282, 53_002]  # the 8×8 digits: 8 features per step
    assert (table["test accuracy"].between(0, 1)).all() and (table["s / epoch"] > 0).all()
    assert "Click **Train**." not in _texts(at.info)  # (the five-seed section below still offers its runs)
    assert "Trained RNN (128), LSTM (128), GRU (128), CNN in" in _texts(at.success)
    # The most confident mistakes (the confusion cell's examples, "test #…", are tested in test_confusion_pages.py).
    captions = [caption for image in at.image for caption in image.captions if not caption.startswith("test #")]
    assert captions and all(caption.startswith("true ") and "→" in caption for caption in captions)

    # A fresh session with the same settings shows the runs at once, without a click.
    again = _tiny(_page(), models=["simple_rnn", "lstm", "gru", "row_cnn"])
    assert not again.exception
    assert again.dataframe[0].value["test accuracy"].tolist() == table["test accuracy"].tolist()
    assert "already run with these settings" in _texts(again.caption)
    dataset = load_dataset("mnist", train_size=200, seed=0)
    assert cached_result(sequence_config("lstm", units=128, epochs=1), dataset) is not None

    again.selectbox(key="inspect_model").set_value("CNN").run()
    assert not again.exception
    downloads = {button.key: button for button in again.get("download_button")}
    assert set(downloads) == {"download_results", "download_simple_rnn", "download_lstm", "download_gru", "download_row_cnn"}
    assert downloads["download_lstm"].label == "LSTM (128) (.keras)"


@pytest.mark.slow
def test_a_training_that_outlives_its_run_is_followed_then_shown() -> None:
    # A student clicked Train, then changed a setting: the job goes on, the page follows it with
    # its place in line and a Cancel button, and once it is done the page shows what it trained.
    from core.training import RunRequest, current_executor, submit, wait

    dataset = load_dataset("mnist", train_size=200, seed=0)
    at = _tiny(_page(TRAINING_TIMEOUT), models=["simple_rnn"])
    ahead = submit([RunRequest(sequence_config("simple_rnn", units=19, epochs=60), dataset, "someone else's")])
    job = submit([RunRequest(sequence_config("simple_rnn", units=128, epochs=1), dataset, "RNN (128)")])
    at.session_state["dllab_training_jobs"] = {job.id: ("sequence_models", "train")}
    at.run()
    assert not at.exception
    progress = [element.proto.text for element in at.get("progress")]
    assert any(text.startswith("Waiting: 2nd in line") for text in progress), progress
    assert at.button(key="train").disabled and at.button(key="train_cancel_follow")
    current_executor().cancel(ahead)
    wait(job)
    at.run()
    assert not at.exception and not at.error
    assert "Trained RNN (128) in" in _texts(at.success)
    assert list(at.dataframe[0].value["model"]) == ["RNN (128)"] and at.button(key="train").disabled


@pytest.mark.slow
def test_divergence_is_reported_as_diverged_not_a_crash(monkeypatch) -> None:
    import keras

    # Adam and RMSProp normalise their steps, so no page setting makes the loss NaN quickly;
    # swap in plain SGD with an absurd rate to exercise the real NaN path of the engine. The swap
    # is in this process, so the fit must run here rather than on a worker.
    import core.training.fit

    monkeypatch.setenv("DLLAB_WORKERS", "0")
    monkeypatch.setattr(core.training.fit, "make_optimizer", lambda name, rate: keras.optimizers.SGD(1e12))
    at = _tiny(_page(TRAINING_TIMEOUT), models=["row_cnn"], epochs=2)
    at.button(key="train").click().run()
    assert not at.exception
    assert at.dataframe[0].value["status"].tolist() == ["diverged"]
    assert "Diverged" in _texts(at.warning)


@pytest.mark.shared_data
def test_real_mnist_from_the_shared_data_directory(shared_data, monkeypatch) -> None:
    monkeypatch.setenv("DLLAB_DATA_DIR", str(shared_data))
    at = _page()
    assert "Offline fallback" not in _texts(at.warning)
    captions = _texts(at.caption)
    assert "MNIST from" in captions and "28 timesteps × 28 features" in captions
    assert "Training on 6,000 images" in captions and "testing on 10,000" in captions


def test_rendering_before_training_does_not_import_tensorflow() -> None:
    """The page's controls and cached results must appear without the ~5 s TensorFlow import."""
    from conftest import run_in_a_fresh_process

    stdout = run_in_a_fresh_process(f"""
        from conftest import app_test
        at = app_test({PAGE!r})
        assert not at.exception, at.exception
    """)
    assert "HEAVY []" in stdout, stdout


def test_a_shared_link_reopens_the_same_settings() -> None:
    at = app_test(PAGE, query={"models": "lstm,gru", "units_choice": "other", "units_other": "200", "learning_rate": "3e-3"})
    assert not at.exception and not at.error
    assert at.multiselect(key="models").value == ["lstm", "gru"]
    assert at.number_input(key="units_other").value == 200
    assert "LSTM (200), GRU (200)" in _texts(at.info)
    at.selectbox(key="optimizer").set_value("adam").run()
    assert at.query_params["optimizer"] == "adam"


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = app_test(PAGE, query={"batch_size": "999", "epochs": "3"})
    assert not at.exception and not at.error
    assert at.selectbox(key="batch_size").value == 128
    assert at.number_input(key="epochs").value == 3
    assert any("batch_size" in toast.value for toast in at.toast)
    assert at.query_params["batch_size"] == "128"


def test_a_broken_mnist_file_in_the_data_directory_is_an_error_not_a_traceback(tmp_path, monkeypatch) -> None:
    (tmp_path / "mnist.npz").write_bytes(b"not a zip archive")
    monkeypatch.setenv("DLLAB_DATA_DIR", str(tmp_path))
    at = _page()
    assert not at.exception
    assert "cannot be read as mnist.npz" in _texts(at.error)

"""The RNN-shapes page: renders offline, every control reruns, bad input is an error box, Keras agrees."""

from __future__ import annotations

import pytest

from conftest import app_test

PAGE = "app_pages/rnn_dimensions.py"


@pytest.fixture
def page():
    at = app_test(PAGE)
    assert not at.exception
    return at


def _metrics(at) -> list[str]:
    return [metric.value for metric in at.metric]


ANSWERS, UNROLLED, PATTERNS = "Two homework answers", "Unrolled, with numbers", "The four patterns"


def _open_tab(at, label: str):
    """Click a tab: only the open tab is computed, so its content exists only after this rerun."""
    at.session_state["rnn_tab"] = label
    at.run()
    assert not at.exception
    return at


def _frame_with(at, column: str):
    frames = [frame.value for frame in at.dataframe if column in frame.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[0]


def test_renders_the_homework_default(page) -> None:
    assert page.title[0].value == "RNN shapes"
    assert _metrics(page) == ["(32, 28, 28)", "(32, 128)", "80,384"]
    assert not page.error
    assert any("4·128·(128 + 28 + 1) = 80,384" in block.value for block in page.markdown)
    assert any(block.value == "**Keras:** `layers.LSTM(128)`" for block in page.markdown)
    weights = _frame_with(page, "role")
    assert list(weights["shape"]) == ["(28, 512)", "(128, 512)", "(512,)"]
    assert not any("Both are right" in box.value for box in page.success), "a closed tab was computed"
    _open_tab(page, ANSWERS)
    assert any("Both are right" in box.value for box in page.success)
    assert not page.metric, "the shapes tab is closed now and was not computed"


@pytest.mark.parametrize(
    ("widget", "key", "value", "expected_metrics"),
    [
        ("selectbox", "cell", "simple_rnn", ["(32, 28, 28)", "(32, 128)", "20,096"]),
        ("selectbox", "cell", "gru", ["(32, 28, 28)", "(32, 128)", "60,672"]),
        ("toggle", "open_batch", True, ["(None, 28, 28)", "(None, 128)", "80,384"]),
        ("number_input", "batch", 5, ["(5, 28, 28)", "(5, 128)", "80,384"]),
        ("number_input", "timesteps", 10, ["(32, 10, 28)", "(32, 128)", "80,384"]),
        ("number_input", "features", 40, ["(32, 28, 40)", "(32, 128)", "86,528"]),
        ("number_input", "units", 32, ["(32, 28, 28)", "(32, 32)", "7,808"]),
        ("checkbox", "return_sequences", True, ["(32, 28, 28)", "(32, 28, 128)", "80,384"]),
        ("checkbox", "return_state", True, ["(32, 28, 28)", "(32, 128)", "80,384"]),
        ("checkbox", "bidirectional", True, ["(32, 28, 28)", "(32, 256)", "160,768"]),
        ("number_input", "stacked", 2, ["(32, 28, 28)", "(32, 128)", "211,968"]),
    ],
)
def test_every_shape_control_reruns(page, widget: str, key: str, value, expected_metrics: list[str]) -> None:
    getattr(page, widget)(key=key).set_value(value).run()
    assert not page.exception
    assert not page.error
    assert _metrics(page) == expected_metrics


def test_every_returned_tensor_is_listed(page) -> None:
    page.checkbox(key="return_state").check().run()
    page.checkbox(key="bidirectional").check().run()
    assert any("returns a list, in Keras' order: `(32, 256), (32, 128), (32, 128), (32, 128), (32, 128)`" in block.value for block in page.markdown)


def test_gru_reset_after_switch(page) -> None:
    page.selectbox(key="cell").set_value("gru").run()
    assert any("60,288" in box.value for box in page.info)
    page.checkbox(key="reset_after").uncheck().run()
    assert not page.exception
    assert _metrics(page)[2] == "60,288"
    assert any("60,672" in box.value for box in page.info)


def test_tensor_view_sliders(page) -> None:
    _open_tab(page, ANSWERS)
    page.slider(key="view_sequence").set_value(2).run()
    page.slider(key="view_step").set_value(3).run()
    assert not page.exception
    first_columns = [frame.value for frame in page.dataframe if list(frame.value.columns) == ["feature 1", "feature 2"]]
    assert first_columns[0]["feature 1"].tolist() == [211, 221, 231, 241]
    assert first_columns[1]["feature 2"].tolist() == [132, 232, 332]


@pytest.mark.parametrize(("key", "value"), [("units", 0), ("timesteps", -4), ("features", 0), ("batch", 0)])
def test_bad_sizes_show_an_error_not_a_traceback(page, key: str, value: int) -> None:
    page.number_input(key=key).set_value(value).run()
    assert not page.exception
    assert len(page.error) == 1
    assert f"{key} must be at least 1" in page.error[0].value


def test_stack_without_return_sequences_explains_why(page) -> None:
    page.number_input(key="stacked").set_value(2).run()
    page.checkbox(key="stack_sequences").uncheck().run()
    assert not page.exception
    assert "must set return_sequences=True" in page.error[0].value
    assert "2-D tensor" in page.error[0].value


def test_editing_the_unrolled_input(page) -> None:
    _open_tab(page, UNROLLED)
    before = _frame_with(page, "a1")
    page.session_state["unrolled_inputs"] = {"edited_rows": {0: {"x1": 1.0}}, "added_rows": [], "deleted_rows": []}
    page.run()
    assert not page.exception and not page.error
    after = _frame_with(page, "a1")
    assert after["x1"].iloc[0] == 1.0
    assert after["a1"].iloc[0] != before["a1"].iloc[0]


def test_what_a_student_set_in_a_tab_is_still_there_after_visiting_another(page) -> None:
    _open_tab(page, ANSWERS)
    page.slider(key="view_step").set_value(3).run()
    _open_tab(page, UNROLLED)
    page.session_state["unrolled_inputs"] = {"edited_rows": {0: {"x1": 1.0}}, "added_rows": [], "deleted_rows": []}
    page.run()
    edited = _frame_with(page, "a1")["a1"].iloc[0]
    _open_tab(page, "Shapes and weights")
    _open_tab(page, UNROLLED)
    assert _frame_with(page, "a1")["x1"].iloc[0] == 1.0
    assert _frame_with(page, "a1")["a1"].iloc[0] == edited
    _open_tab(page, ANSWERS)
    assert page.slider(key="view_step").value == 3


def test_emptied_unrolled_cell_shows_an_error(page) -> None:
    _open_tab(page, UNROLLED)
    page.session_state["unrolled_inputs"] = {"edited_rows": {2: {"x2": None}}, "added_rows": [], "deleted_rows": []}
    page.run()
    assert not page.exception
    assert any("finite" in box.value for box in page.error)


@pytest.mark.slow
def test_verify_with_keras_shows_matching_numbers(page) -> None:
    page.checkbox(key="return_state").check().run()
    page.button(key="verify_keras").click().run()
    assert not page.exception
    comparison = _frame_with(page, "params (Keras)")
    assert comparison["params (Keras)"].tolist() == [80_384] == comparison["params (ours)"].tolist()
    assert comparison["output shapes (Keras)"].tolist() == ["(32, 128), (32, 128), (32, 128)"]
    assert comparison["match"].all()
    assert any("Keras agrees" in box.value for box in page.success)
    assert "download_keras_comparison" in {button.key for button in page.get("download_button")}
    page.number_input(key="units").set_value(64).run()
    assert not any("Keras agrees" in box.value for box in page.success), "a stale check must not be shown for new settings"


@pytest.mark.slow
def test_unrolled_numbers_checked_with_keras(page) -> None:
    _open_tab(page, UNROLLED)
    page.button(key="verify_unrolled").click().run()
    assert not page.exception
    assert any("Largest difference from Keras" in box.value for box in page.success)


def test_open_batch_reads_as_m_in_the_seed_answers(page) -> None:
    _open_tab(page, ANSWERS)
    page.toggle(key="open_batch").set_value(True).run()
    assert any("m, left open as None" in block.value and "(None, 28)" in block.value for block in page.markdown)


def test_verify_refuses_a_layer_too_big_to_build(page) -> None:
    page.number_input(key="units").set_value(4000).run()
    page.button(key="verify_keras").click().run()
    assert not page.exception
    assert any("limited to 50,000,000 parameters" in box.value for box in page.error)


def _linked(query: dict[str, str]):
    """The page opened from a pasted link: the query is set before the page's first run."""
    at = app_test(PAGE, query=query)
    assert not at.exception
    return at


def test_a_shared_link_reopens_the_same_layer() -> None:
    at = _linked({"cell": "gru", "units": "64", "timesteps": "10", "bidirectional": "true", "reset_after": "false", "open_batch": "true"})
    assert not at.error
    assert at.selectbox(key="cell").value == "gru"
    assert at.checkbox(key="reset_after").value is False
    assert _metrics(at) == ["(None, 10, 28)", "(None, 128)", "35,712"]  # 2 directions × 3·64·(64 + 28 + 1)
    assert len(at.toast) == 0
    at.number_input(key="units").set_value(32).run()
    assert at.query_params["units"] == "32" and at.query_params["cell"] == "gru"


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = _linked({"cell": "transformer", "stacked": "9", "units": "64"})
    assert not at.error
    assert at.selectbox(key="cell").value == "lstm"
    assert at.number_input(key="stacked").value == 1
    assert at.number_input(key="units").value == 64
    notices = " ".join(toast.value for toast in at.toast)
    assert "cell" in notices and "stacked" in notices
    assert at.query_params["cell"] == "lstm"


def test_result_tables_can_be_downloaded_as_csv(page) -> None:
    page.number_input(key="stacked").set_value(2).run()
    keys = {button.key for button in page.get("download_button")}
    assert {"download_weights_1", "download_weights_2", "download_outputs"} <= keys
    _open_tab(page, UNROLLED)
    assert "download_unrolled_steps" in {button.key for button in page.get("download_button")}


def test_a_shared_link_opens_the_same_tab() -> None:
    at = _linked({"rnn_tab": PATTERNS, "units": "64"})
    assert not at.error and len(at.toast) == 0
    assert not at.metric, "the shapes tab is not the open one"
    assert at.get("graphviz_chart"), "the patterns tab draws its diagrams"
    assert at.number_input(key="units").value == 64

"""The CNN calculator page: presets, widgets, bad input, check-your-answer and the Keras check."""

from __future__ import annotations

import pytest

from conftest import app_test
from core import charts
from core.calculator import KINDS, analyze
from core.calculator.presets import PRESETS, preset
from core.calculator.table import COLUMNS, TABLE_COLUMNS, layers_from_rows, parse_input_shape, rows_from_layers
from core.homework import HOMEWORK

PAGE = "app_pages/cnn_calculator.py"


@pytest.fixture(scope="module")
def page():
    """One AppTest for the module's read-mostly tests; each test resets what it changes."""
    return app_test(PAGE)


def metric_values(at) -> list[str]:
    return [metric.value for metric in at.metric]


def table_with(at, column: str):
    """The first table on the page that has ``column`` (the layer editor is a table too)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def test_renders_the_geron_preset_by_default(page) -> None:
    assert not page.exception and not page.error
    assert page.title[0].value == "CNN parameter & RAM calculator"
    assert metric_values(page)[0] == "903,400"
    assert metric_values(page)[2] == "12.61 MB"
    captions = " ".join(caption.value for caption in page.caption)
    assert HOMEWORK["geron_ch14_ex9"].name in captions and "seed" not in captions.lower()
    totals = table_with(page, "MiB (2²⁰ bytes)")
    assert list(totals["bytes"]) == [3_613_600, 12_613_600, 3_613_600 + 2_810_000 * 4, 576_454_400]
    assert "MiB (2²⁰ bytes)" in totals.columns and "MB (10⁶ bytes)" in totals.columns


def test_every_preset_renders_its_own_totals() -> None:
    at = app_test(PAGE)
    for choice in [*PRESETS[1:], PRESETS[0]]:
        at.selectbox(key="preset").set_value(choice.key).run()
        assert not at.exception and not at.error, choice.key
        expected = analyze(choice.input_shape, choice.layers, batch_size=choice.batch_size)
        assert metric_values(at)[0] == f"{expected.total_params:,}", choice.key
        assert at.text_input(key="input_shape").value == ", ".join(str(n) for n in choice.input_shape)
        assert at.number_input(key="batch_size").value == choice.batch_size
        assert choice.source.split(":")[0] in " ".join(caption.value for caption in at.caption)


def test_data_ml_200_padding_toggle_switches_the_multiply_adds() -> None:
    at = app_test(PAGE)
    at.selectbox(key="preset").set_value("cnn_128").run()
    layer_table = table_with(at, "MACs")
    assert layer_table.loc[0, "MACs"] == 39_321_600
    at.toggle(key="same_padding").set_value(False).run()
    assert not at.exception
    assert table_with(at, "MACs").loc[0, "MACs"] == 36_902_400


def test_moving_the_widgets_reruns_without_exceptions() -> None:
    at = app_test(PAGE)
    at.number_input(key="batch_size").set_value(8).run()
    at.selectbox(key="dtype").set_value("float16").run()
    at.selectbox(key="optimizer").set_value("sgd").run()
    assert not at.exception and not at.error
    totals = table_with(at, "MiB (2²⁰ bytes)")
    # float16, plain SGD, batch 8: weights + gradients + 8 × (activations + input), 2 bytes each.
    assert totals["bytes"].iloc[-1] == 2 * (2 * 903_400 + 8 * (2_630_000 + 180_000))
    at.text_input(key="input_shape").input("100x150x3").run()
    assert not at.exception and metric_values(at)[0] == "903,400"


def test_editing_the_layer_table_changes_the_result() -> None:
    at = app_test(PAGE)
    at.session_state["layer_table"] = {
        "edited_rows": {2: {"filters / units": 10}},
        "added_rows": [{"type": "globalavgpool2d"}, {"type": "dense", "filters / units": 5}],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception and not at.error
    expected = 2_800 + 180_200 + (9 * 200 + 1) * 10 + (10 + 1) * 5
    assert metric_values(at)[0] == f"{expected:,}"


def test_deleting_every_layer_leaves_the_input_alone() -> None:
    at = app_test(PAGE)
    at.session_state["layer_table"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [0, 1, 2]}
    at.run()
    assert not at.exception and not at.error
    assert metric_values(at)[:3] == ["0", "0", "0.72 MB"]  # just the 200×300×3 float32 input


def test_kernel_larger_than_its_input_shows_the_calculator_message() -> None:
    at = app_test(PAGE)
    at.selectbox(key="preset").set_value("cats_dogs_cnn").run()
    at.text_input(key="input_shape").input("2, 2, 1").run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "layer 1 (conv2d): kernel 3×3 is larger than its 2×2 input with 'valid' padding; use padding='same' or a smaller kernel"
    ]


@pytest.mark.parametrize(
    ("shape_text", "table_edit", "fragment"),
    [
        ("200 by 300", None, "input shape must be"),
        ("200, 300, 3", {"edited_rows": {0: {"kernel / pool": "3y"}}, "added_rows": [], "deleted_rows": []}, "kernel / pool"),
        ("200, 300, 3", {"edited_rows": {0: {"padding": "full"}}, "added_rows": [], "deleted_rows": []}, "padding must be"),
        ("200, 300, 3", {"edited_rows": {}, "added_rows": [{"type": "dropout"}], "deleted_rows": []}, "dropout rate"),
    ],
)
def test_other_bad_settings_show_an_error_not_a_traceback(shape_text, table_edit, fragment) -> None:
    at = app_test(PAGE)
    if table_edit is not None:
        at.session_state["layer_table"] = table_edit
    at.text_input(key="input_shape").input(shape_text).run()
    assert not at.exception
    assert len(at.error) == 1 and fragment in at.error[0].value


def test_check_your_answer_right_wrong_and_classic_mistakes() -> None:
    at = app_test(PAGE)
    at.number_input(key="claim_params").set_value(903_400).run()
    assert "Right" in at.success[0].value
    at.selectbox(key="claim_layer").set_value(2).run()
    at.number_input(key="claim_params").set_value(540_200).run()
    assert "input channels twice" in at.warning[0].value
    at.number_input(key="claim_params").set_value(None).run()
    at.number_input(key="claim_training").set_value(17.8).run()
    assert "for all 50 images" in at.warning[0].value
    at.number_input(key="claim_training").set_value(None)
    at.number_input(key="claim_inference").set_value(12.03).run()
    assert "gave MiB" in at.warning[0].value
    at.radio(key="claim_unit").set_value("MiB").run()
    assert "Right" in at.success[0].value
    at.number_input(key="claim_inference").set_value(1.0).run()
    assert "none of the classic mistakes" in at.warning[0].value
    assert not at.exception and not at.error


def test_verify_with_keras_shows_keras_numbers_equal_to_ours() -> None:
    pytest.importorskip("keras")
    at = app_test(PAGE, timeout=120)
    at.selectbox(key="preset").set_value("cifar_baseline").run()
    at.button(key="verify_keras").click().run()
    assert not at.exception and not at.error
    comparison = table_with(at, "Keras params")
    assert list(comparison["Keras params"]) == list(comparison["our params"])
    assert list(comparison["Keras output shape"]) == list(comparison["our output shape"])
    assert list(comparison["Keras MACs"]) == list(comparison["our MACs"])
    assert comparison["match"].all()
    assert "Keras: 1,442,954 parameters (256 non-trainable)" in at.success[-1].value
    assert "download_keras_comparison" in {button.key for button in at.get("download_button")}


def test_chart_data_follow_the_report() -> None:
    report = analyze((200, 300, 3), preset("geron").layers, batch_size=50)
    layers = charts.calculator_layer_frame(report)
    assert list(layers["params"]) == [2_800, 180_200, 720_400]
    assert list(layers["activation MB"]) == pytest.approx([6.0, 3.0, 1.52])
    memory = charts.memory_breakdown_frame(report)
    training = memory[memory["scenario"].str.startswith("training")].set_index("part")["bytes"]
    assert training.to_dict() == report.training_breakdown
    peak = memory[memory["scenario"].str.contains("peak")]["bytes"].sum()
    assert peak == report.inference_peak_bytes == 12_613_600
    charts.memory_breakdown_chart(memory).to_dict()
    charts.layer_bar_chart(layers, "params", title="t", axis_title="a").to_dict()


def test_layer_table_round_trip_and_parsing() -> None:
    for choice in PRESETS:
        # The table keeps what the arithmetic reads; a homework's Keras names and activations stay in core.homework.
        assert layers_from_rows(rows_from_layers(choice.layers)) == [
            {
                **{key: value for key, value in layer.items() if key not in ("name", "activation")},
                **({"use_bias": True} if layer["type"] in ("conv2d", "dense") else {}),
                **({"padding": "valid"} if layer["type"] in ("maxpool2d", "avgpool2d") and "padding" not in layer else {}),
            }
            for layer in choice.layers
        ]
    rows = [{"type": "conv2d", "filters / units": 4.0, "kernel / pool": "3x5", "stride": "1 x 2", "padding": "2", "bias": False}, {"type": None}, {"type": "maxpool2d", "kernel / pool": 2, "stride": float("nan")}]
    assert layers_from_rows(rows) == [
        {"type": "conv2d", "filters": 4, "kernel": (3, 5), "stride": (1, 2), "padding": 2, "use_bias": False},
        {"type": "maxpool2d", "pool": 2, "padding": "valid"},
    ]
    assert parse_input_shape("(200, 300, 3)") == (200, 300, 3) and parse_input_shape("784") == (784,)
    for bad in ("3x", "3 by 5", "0x2"):
        with pytest.raises(ValueError, match="kernel / pool|positive"):
            analyze((8, 8, 1), layers_from_rows([{"type": "conv2d", "filters / units": 2, "kernel / pool": bad}]))
    with pytest.raises(ValueError, match="input shape"):
        parse_input_shape("200, 300")
    with pytest.raises(ValueError, match="layer 1 \\(dense\\): fill in 'filters / units'"):
        layers_from_rows([{"type": "dense"}])


def linked(query: dict[str, str]):
    """The page opened from a pasted link: the query is set before the page's first run."""
    at = app_test(PAGE, query=query)
    assert not at.exception
    return at


def test_a_shared_link_reopens_the_same_network() -> None:
    at = linked({"preset": "cnn_128", "same_padding": "false", "input_shape": "64x64x3", "batch_size": "16", "dtype": "float16", "optimizer": "sgd"})
    assert not at.error and len(at.toast) == 0
    assert at.selectbox(key="preset").value == "cnn_128"
    assert at.toggle(key="same_padding").value is False
    assert at.text_input(key="input_shape").value == "64x64x3"
    assert at.number_input(key="batch_size").value == 16
    chosen = preset("cnn_128")
    expected = analyze((64, 64, 3), chosen.with_padding("valid"), batch_size=16, dtype_bytes=2, optimizer="sgd")
    assert metric_values(at)[0] == f"{expected.total_params:,}"
    assert table_with(at, "MiB (2²⁰ bytes)")["bytes"].iloc[-1] == expected.training_bytes
    at.selectbox(key="optimizer").set_value("adam").run()
    assert at.query_params["optimizer"] == "adam" and at.query_params["preset"] == "cnn_128"


@pytest.mark.parametrize(("old", "new"), [("seed002_cnn", "cnn_128"), ("seed004_cifar", "cifar_baseline"), ("seed003_lenet", "lenet")])
def test_an_old_link_opens_the_renamed_preset(old: str, new: str) -> None:
    at = linked({"preset": old, "same_padding": "false"})
    assert not at.error and len(at.toast) == 0
    assert at.selectbox(key="preset").value == new and at.query_params["preset"] == new
    chosen = preset(new)
    layers = chosen.with_padding("valid") if chosen.padding_toggle else chosen.layers
    assert metric_values(at)[0] == f"{analyze(chosen.input_shape, layers).total_params:,}"


def test_a_link_to_a_preset_alone_starts_from_that_presets_shape_and_batch() -> None:
    choice = PRESETS[1]
    at = linked({"preset": choice.key})
    assert at.text_input(key="input_shape").value == ", ".join(str(n) for n in choice.input_shape)
    assert at.number_input(key="batch_size").value == choice.batch_size


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = linked({"preset": "alexnet", "input_shape": "200 by 300", "batch_size": "0", "dtype": "float16"})
    assert not at.error
    assert at.selectbox(key="preset").value == PRESETS[0].key
    assert at.text_input(key="input_shape").value == ", ".join(str(n) for n in PRESETS[0].input_shape)
    assert at.number_input(key="batch_size").value == PRESETS[0].batch_size
    assert at.selectbox(key="dtype").value == "float16"
    notices = " ".join(toast.value for toast in at.toast)
    assert all(name in notices for name in ("preset", "input_shape", "batch_size"))
    assert metric_values(at)[0] == "903,400"


def test_a_typo_in_the_shape_box_stays_for_its_error_instead_of_reverting_to_the_link() -> None:
    at = linked({"input_shape": "100x150x3"})
    at.text_input(key="input_shape").input("100x150").run()
    assert at.text_input(key="input_shape").value == "100x150"
    assert len(at.error) == 1 and "input shape must be" in at.error[0].value


def test_the_result_tables_can_be_downloaded_as_csv(page) -> None:
    keys = {button.key for button in page.get("download_button")}
    assert {"download_totals", "download_layers"} <= keys


def test_layer_table_round_trip_for_the_new_kinds() -> None:
    layers = [
        {"type": "depthwise_conv2d", "kernel": (3, 5), "stride": 2, "padding": 1, "depth_multiplier": 2, "use_bias": False},
        {"type": "separable_conv2d", "filters": 8, "kernel": 3, "padding": "same", "depth_multiplier": 1, "use_bias": True},
        {"type": "globalmaxpool2d"},
    ]
    rows = rows_from_layers(layers)
    assert layers_from_rows(rows) == layers
    assert (rows[0]["depth multiplier"], rows[0]["kernel / pool"], rows[0]["stride"], rows[0]["filters / units"]) == (2, "3x5", "2", None)
    assert all(value is None for column, value in rows[2].items() if column != "type")
    # A blank depth multiplier is Keras' default of 1, as a blank bias is True.
    assert layers_from_rows([{"type": "depthwise_conv2d", "kernel / pool": "3", "depth multiplier": float("nan")}]) == [
        {"type": "depthwise_conv2d", "kernel": 3, "padding": "valid", "depth_multiplier": 1, "use_bias": True}
    ]
    with pytest.raises(ValueError, match="layer 1 \\(separable_conv2d\\): 'depth multiplier' must be a whole number from 1 to 1,000,000"):
        layers_from_rows([{"type": "separable_conv2d", "filters / units": 4, "kernel / pool": "3", "depth multiplier": "two"}])
    with pytest.raises(ValueError, match="layer 1 \\(separable_conv2d\\): fill in 'filters / units'"):
        layers_from_rows([{"type": "separable_conv2d", "kernel / pool": "3"}])


def test_the_table_columns_and_their_editors_come_from_the_kinds() -> None:
    from ui.calculator import layer_table_config

    assert COLUMNS == ("type", "filters / units", "kernel / pool", "stride", "padding", "bias", "depth multiplier", "dropout rate")
    assert set(COLUMNS[1:]) == {column.header for kind in KINDS.values() for column in kind.columns.values()} == set(TABLE_COLUMNS)
    config = layer_table_config()
    assert list(config) == list(COLUMNS)
    assert config["type"]["type_config"]["options"] == list(KINDS)
    assert "depth_multiplier for depthwise_conv2d, separable_conv2d" in config["depth multiplier"]["help"]
    assert "filters for conv2d, separable_conv2d; units for dense" in config["filters / units"]["help"]


def test_the_new_kinds_can_be_added_in_the_table() -> None:
    at = app_test(PAGE)
    at.session_state["layer_table"] = {
        "edited_rows": {},
        "added_rows": [
            {"type": "depthwise_conv2d", "kernel / pool": "3", "padding": "same", "depth multiplier": 2},
            {"type": "separable_conv2d", "filters / units": 16, "kernel / pool": "3", "padding": "1"},
            {"type": "globalmaxpool2d"},
        ],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception and not at.error
    geron = list(preset("geron").layers)
    layers = [
        *geron,
        {"type": "depthwise_conv2d", "kernel": 3, "padding": "same", "depth_multiplier": 2},
        {"type": "separable_conv2d", "filters": 16, "kernel": 3, "padding": 1},
        {"type": "globalmaxpool2d"},
    ]
    expected = analyze((200, 300, 3), layers, batch_size=50)
    assert metric_values(at)[:2] == [f"{expected.total_params:,}", f"{expected.total_macs:,}"]
    assert list(table_with(at, "MACs")["type"])[-3:] == ["depthwise_conv2d", "separable_conv2d", "globalmaxpool2d"]

"""Hostile input (issue 11): absurd links and table cells get a short, clear message, never a traceback.

Each page test drives the page the way the input arrives (a pasted link, a typed box, an edited
table cell) and checks the message, that there is no traceback and, for links, that the page
fell back to its default with a notice. The unit tests below pin the bounds in ``core`` that
keep every figure within what the tables can show, and every message short.
"""

from __future__ import annotations

import time

import pytest
from conftest import app_test

from core.calculator import MAX_COUNT, MAX_SIZE, analyze, shown_number
from core.calculator.check import check_answer
from core.calculator.table import layers_from_rows, parse_input_shape
from core.query_state import parse_float, parse_int
from core.sequence import MAX_UNITS, parse_learning_rate
from ui.shareable import MAX_SAFE_INTEGER, _number_parser

CALCULATOR = "app_pages/cnn_calculator.py"
SEQUENCE = "app_pages/sequence_models.py"
RNN = "app_pages/rnn_dimensions.py"
DEFAULT_SHAPE = "200, 300, 3"
# A message that quotes user text shows at most 40 characters of it, so it stays this short.
SHORT = 400
HUGE = "9" * 100_000


def _texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def _table_edit(edited_rows=None, added_rows=None) -> dict:
    return {"edited_rows": edited_rows or {}, "added_rows": added_rows or [], "deleted_rows": []}


# --- the calculator page ----------------------------------------------------------------------


def test_calculator_link_with_a_100_million_pixel_input_falls_back_with_a_notice() -> None:
    at = app_test(CALCULATOR, query={"input_shape": "100000000,100000000,3"})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert "input_shape=100000000,100000000,3" in notice
    assert "input shape sizes must be at most 1,000,000 each" in notice
    assert at.text_input(key="input_shape").value == DEFAULT_SHAPE
    assert at.metric[0].value == "903,400"


def test_calculator_link_with_a_100_kb_input_shape_gets_a_short_notice() -> None:
    at = app_test(CALCULATOR, query={"input_shape": HUGE})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert "input_shape" in notice and "at most 64 characters" in notice
    assert len(notice) < SHORT
    assert at.text_input(key="input_shape").value == DEFAULT_SHAPE


def test_calculator_link_with_a_4000_digit_batch_size_falls_back_with_a_notice() -> None:
    at = app_test(CALCULATOR, query={"batch_size": "9" * 4000})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert "batch_size" in notice and "too long for a number" in notice and len(notice) < SHORT
    assert at.number_input(key="batch_size").value == 50


def test_calculator_4000_digit_input_shape_typed_is_a_short_error() -> None:
    at = app_test(CALCULATOR)
    # set_value, not input: a browser's box stops at 64 characters, a hostile client does not.
    at.text_input(key="input_shape").set_value("2" * 4000 + ", 3, 3").run()
    assert not at.exception
    assert len(at.error) == 1
    assert "input shape sizes must be at most 1,000,000 each" in at.error[0].value
    assert len(at.error[0].value) < SHORT


@pytest.mark.parametrize(
    ("table_edit", "fragments"),
    [
        (
            _table_edit({0: {"padding": "³"}}),
            ["layer 1 (conv2d): padding must be 'same', 'valid' or a whole number of pixels from 0 to 1,000,000", "'³'"],
        ),
        (_table_edit({1: {"padding": "9" * 4000}}), ["layer 2 (conv2d): 'padding' must be at most 1,000,000"]),
        (
            _table_edit({0: {"kernel / pool": "3x"}}),
            ["layer 1 (conv2d): 'kernel / pool' must be a whole number or a pair like 3x5, each from 1 to 1,000,000", "'3x'"],
        ),
        (_table_edit({0: {"kernel / pool": "9" * 5000}}), ["layer 1 (conv2d): 'kernel / pool' must be at most 1,000,000"]),
        (_table_edit({0: {"stride": "2x" + "9" * 4000}}), ["layer 1 (conv2d): 'stride' must be at most 1,000,000"]),
        (_table_edit({0: {"stride": "²"}}), ["layer 1 (conv2d): 'stride' must be blank, a whole number or a pair like 1x2"]),
        (_table_edit({2: {"filters / units": 5_000_000}}), ["layer 3 (conv2d): 'filters / units' must be at most 1,000,000"]),
        (
            _table_edit(added_rows=[{"type": "dropout", "dropout rate": "half"}]),
            ["layer 4 (dropout): 'dropout rate' must be a number from 0 to 0.99", "'half'"],
        ),
    ],
    ids=["superscript-padding", "4000-digit-padding", "kernel-3x", "5000-digit-kernel", "huge-stride", "superscript-stride",
         "5-million-units", "dropout-half"],
)
def test_calculator_bad_table_cells_name_the_layer_and_column(table_edit, fragments) -> None:
    at = app_test(CALCULATOR)
    at.session_state["layer_table"] = table_edit
    at.run()
    assert not at.exception
    assert len(at.error) == 1, _texts(at.error)
    message = at.error[0].value
    assert all(fragment in message for fragment in fragments), message
    assert len(message) < SHORT


def test_calculator_largest_input_within_bounds_renders_and_checks_answers() -> None:
    at = app_test(CALCULATOR)
    at.text_input(key="input_shape").input("1000000, 1000000, 3").run()
    assert not at.exception and not at.error
    # Geron's first conv on a 10⁶×10⁶ image: every figure fits the tables.
    assert at.metric[0].value == "903,400"
    at.number_input(key="claim_params").set_value(10**15).run()
    at.number_input(key="claim_training").set_value(1e300).run()
    at.number_input(key="claim_inference").set_value(1e-300).run()
    assert not at.exception and not at.error
    assert "matches none of the classic mistakes" in _texts(at.warning)


def test_calculator_network_past_what_the_tables_hold_is_a_clear_error() -> None:
    at = app_test(CALCULATOR)
    at.text_input(key="input_shape").input("1000000, 1000000, 1000000").run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "layer 1 (conv2d) would need about 2e+20 multiply-adds, more than the calculator can show "
        "(at most about 9e+18); use a smaller layer or a smaller input"
    ]


# --- the sequence and RNN-shapes pages --------------------------------------------------------


def test_sequence_link_with_a_100_kb_learning_rate_falls_back_with_a_short_notice() -> None:
    at = app_test(SEQUENCE, query={"learning_rate": HUGE})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert "learning_rate" in notice and "a learning rate is at most 32 characters" in notice
    assert len(notice) < SHORT
    assert at.text_input(key="learning_rate").value == "1e-3"


def test_sequence_bad_learning_rate_text_is_quoted_short() -> None:
    at = app_test(SEQUENCE)
    # set_value, not input: a browser's box stops at 32 characters, a hostile client does not.
    at.text_input(key="learning_rate").set_value("x" * 100_000).run()
    assert not at.exception
    message = _texts(at.error)
    assert "learning rate must be a number such as 0.001 or 1e-3, got 'xxx" in message
    assert len(message) < SHORT


@pytest.mark.parametrize("raw", ["12345678901234567890", "-12345678901234567890", "4097"])
def test_sequence_link_with_an_out_of_range_unit_count_falls_back_with_a_notice(raw: str) -> None:
    at = app_test(SEQUENCE, query={"units_choice": "other", "units_other": raw})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert f"units_other={raw}" in notice and "Using the default `64`" in notice
    assert at.number_input(key="units_other").value == 64
    assert "LSTM (64)" in _texts(at.info)


def test_rnn_shapes_link_with_a_20_digit_size_falls_back_with_a_notice() -> None:
    at = app_test(RNN, query={"units": "12345678901234567890", "timesteps": "99999999999999999999"})
    assert not at.exception and not at.error
    notice = _texts(at.toast)
    assert "units" in notice and "timesteps" in notice and "above the maximum 1000000" in notice
    assert at.number_input(key="units").value == 128
    assert at.number_input(key="timesteps").value == 28


# --- core bounds --------------------------------------------------------------------------------

CONV = {"type": "conv2d", "filters": 8, "kernel": 3}


@pytest.mark.parametrize(
    ("input_shape", "layer", "fragment"),
    [
        ((MAX_SIZE + 1, 8, 3), CONV, "input_shape sizes must be at most 1,000,000 each, the calculator's limit; got (1000001, 8, 3)"),
        ((10**5000,), None, "got (a 5,001-digit number,)"),
        ((8, 8, 3), {**CONV, "filters": MAX_SIZE + 1}, "layer 1 (conv2d): filters must be at most 1,000,000"),
        ((8, 8, 3), {**CONV, "kernel": (1, 10**4000)}, "layer 1 (conv2d): kernel must be at most 1,000,000, the calculator's limit; got a 4,001-digit number"),
        ((8, 8, 3), {**CONV, "stride": MAX_SIZE + 1}, "layer 1 (conv2d): stride must be at most 1,000,000"),
        ((8, 8, 3), {**CONV, "padding": MAX_SIZE + 1}, "layer 1 (conv2d): padding must be at most 1,000,000 pixels"),
        ((8, 8, 3), {"type": "maxpool2d", "pool": MAX_SIZE + 1}, "layer 1 (maxpool2d): pool must be at most 1,000,000"),
        ((8,), {"type": "dense", "units": 10**30}, "layer 1 (dense): units must be at most 1,000,000, the calculator's limit; got a 31-digit number"),
    ],
)
def test_analyze_bounds_every_size(input_shape, layer, fragment) -> None:
    with pytest.raises(ValueError) as caught:
        analyze(input_shape, [layer] if layer else [])
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < SHORT


def test_analyze_accepts_sizes_at_the_bound() -> None:
    report = analyze((MAX_SIZE, 8, 3), [{**CONV, "filters": MAX_SIZE, "kernel": (1, 3), "stride": MAX_SIZE, "padding": MAX_SIZE}])
    assert report.layers[0].output_shape == (3, 3, MAX_SIZE)


@pytest.mark.parametrize(
    ("input_shape", "layers", "kwargs", "message"),
    [
        (
            (MAX_SIZE, MAX_SIZE, MAX_SIZE),
            [{"type": "flatten"}],
            {"dtype_bytes": 16},
            "layer 1 (flatten) would need about 2e+19 bytes for its activations",
        ),
        (
            (MAX_SIZE, MAX_SIZE, 3),
            # Each layer's 8e+17 multiply-adds fit; thirteen of them do not.
            [{"type": "conv2d", "filters": 300, "kernel": 3, "padding": "same"}] * 13,
            {},
            "this network would need about 1e+19 multiply-adds",
        ),
        ((MAX_SIZE, MAX_SIZE, 3), [], {"batch_size": 10**6}, "this network would need about 1e+19 bytes to train a batch of 1000000"),
        ((8,), [], {"batch_size": 10**400}, "this network would need about 1e+401 bytes to train"),
    ],
    ids=["flatten-bytes", "network-macs", "batch-bytes", "absurd-batch"],
)
def test_analyze_refuses_figures_past_int64(input_shape, layers, kwargs, message) -> None:
    with pytest.raises(ValueError) as caught:
        analyze(input_shape, layers, **kwargs)
    assert message in str(caught.value)
    assert "more than the calculator can show" in str(caught.value)


def test_every_figure_of_the_largest_accepted_network_fits_int64_and_checks_answers() -> None:
    report = analyze((MAX_SIZE, MAX_SIZE, 3), [{"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same"}], batch_size=1)
    figures = [report.total_params, report.total_macs, report.activation_values, report.training_bytes, report.inference_keep_all_bytes]
    assert max(figures) <= MAX_COUNT
    for quantity, claim in (("params", 10**18), ("inference", 1e300), ("training", 1e-300)):
        verdict = check_answer(report, quantity, claim)
        assert not verdict.correct


def test_table_parsing_bounds_and_is_fast_on_long_digit_strings() -> None:
    started = time.perf_counter()
    for text in ("9" * 100_000, "9" * 4000 + ", 3, 3"):
        with pytest.raises(ValueError, match="input shape sizes must be at most 1,000,000 each") as caught:
            parse_input_shape(text)
        assert len(str(caught.value)) < SHORT
    with pytest.raises(ValueError, match="input shape sizes must be at most 1,000,000 each"):
        parse_input_shape("1000001, 1, 1")
    assert parse_input_shape("1000000, 0001000000, 3") == (MAX_SIZE, MAX_SIZE, 3)
    row = {"type": "conv2d", "filters / units": 8, "kernel / pool": "3", "stride": None, "padding": None}
    for column in ("kernel / pool", "stride", "padding"):
        with pytest.raises(ValueError, match=f"'{column}' must be at most 1,000,000"):
            layers_from_rows([{**row, column: "9" * 100_000}])
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ({"padding": "³"}, "padding must be 'same', 'valid' or a whole number of pixels"),
        ({"kernel / pool": "3x"}, "'kernel / pool' must be a whole number or a pair like 3x5"),
        ({"filters / units": "³"}, "'filters / units' must be a whole number from 1 to 1,000,000"),
        ({"filters / units": 1e300}, "'filters / units' must be at most 1,000,000, the calculator's limit; got 1e+300"),
        ({"filters / units": float("inf")}, "'filters / units' must be a whole number"),
        ({"filters / units": 10**5000}, "got a 5,001-digit number"),
    ],
)
def test_table_cells_that_python_misreads_are_clear_errors(cell, fragment) -> None:
    row = {"type": "conv2d", "filters / units": 8, "kernel / pool": "3", "stride": None, "padding": None, **cell}
    with pytest.raises(ValueError, match="layer 1 \\(conv2d\\)") as caught:
        layers_from_rows([row])
    assert fragment in str(caught.value)


def test_table_dropout_rate_text_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="layer 1 \\(dropout\\): 'dropout rate' must be a number from 0 to 0.99"):
        layers_from_rows([{"type": "dropout", "dropout rate": "half"}])
    assert layers_from_rows([{"type": "dropout", "dropout rate": "0.25"}]) == [{"type": "dropout", "rate": 0.25}]


def test_shown_number_never_prints_a_huge_int() -> None:
    assert shown_number(10**5000) == "a 5,001-digit number"
    assert shown_number(12) == "12"
    assert len(shown_number("x" * 1000)) <= 40


def test_learning_rate_messages_quote_at_most_40_characters() -> None:
    for text in ("x" * 100_000, "9" * 100_000):
        with pytest.raises(ValueError) as caught:
            parse_learning_rate(text)
        assert len(str(caught.value)) < 120


def test_query_numbers_refuse_long_text_before_converting() -> None:
    for parse in (parse_int, parse_float):
        with pytest.raises(ValueError, match="too long for a number \\(100,000 characters\\)") as caught:
            parse(HUGE)
        assert len(str(caught.value)) < 100


def test_unbounded_whole_number_widgets_are_held_to_the_browsers_exact_range() -> None:
    parse = _number_parser(None, None, None, 64)
    assert parse(str(MAX_SAFE_INTEGER)) == MAX_SAFE_INTEGER
    with pytest.raises(ValueError, match="above the maximum"):
        parse("12345678901234567890")
    with pytest.raises(ValueError, match="below the minimum"):
        parse("-12345678901234567890")
    bounded = _number_parser(None, MAX_UNITS, None, 64)
    with pytest.raises(ValueError, match="above the maximum 2048"):
        bounded("4097")


@pytest.mark.parametrize(
    ("claim", "fragment"),
    [
        (10**400, "must be at most about 1e+308, got a 401-digit number"),
        ("x" * 100_000, "must be a number, got 'xxx"),
        (float("inf"), "must be a positive number, got inf"),
    ],
)
def test_check_answer_refuses_absurd_claims_clearly(claim, fragment) -> None:
    report = analyze((8, 8, 3), [CONV])
    with pytest.raises(ValueError) as caught:
        check_answer(report, "params", claim)
    assert fragment in str(caught.value) and len(str(caught.value)) < 120


def test_analyze_messages_never_print_a_huge_int() -> None:
    for input_shape, layers in (
        ((10**5000, 1), []),
        ((8, 8, 3), [{**CONV, "kernel": (10**5000, 1, 1)}]),
        ((8, 8, 3), [{"type": "x" * 100_000}]),
    ):
        with pytest.raises(ValueError) as caught:
            analyze(input_shape, layers)
        assert len(str(caught.value)) < SHORT

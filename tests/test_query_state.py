"""Parsing and writing shareable-link values: every widget value round-trips, bad text is refused clearly."""

from __future__ import annotations

import pytest

from core import query_state
from core.query_state import (
    format_value,
    notice_text,
    parse_bool,
    parse_choice,
    parse_choices,
    parse_float,
    parse_int,
    read_param,
)


@pytest.mark.parametrize("value", [True, False, 0, 64, -3, 0.001, 1e-05, 3e-3, 0.1, 2.5, "lstm"])
def test_scalar_values_round_trip(value) -> None:
    text = format_value(value)
    if isinstance(value, bool):
        assert parse_bool(text) is value
    elif isinstance(value, int):
        assert parse_int(text) == value
    elif isinstance(value, float):
        assert parse_float(text) == value
    else:
        assert parse_choice(text, ["gru", value]) == value


def test_float_text_is_the_shortest_exact_form() -> None:
    assert format_value(0.001) == "0.001"
    assert format_value(1e-05) == "1e-05"
    assert format_value(0.1 + 0.2) == "0.30000000000000004"


def test_bool_words() -> None:
    for word in ("1", "TRUE", "yes", "on", " True "):
        assert parse_bool(word) is True
    for word in ("0", "false", "No", "OFF"):
        assert parse_bool(word) is False
    with pytest.raises(ValueError, match="not true or false"):
        parse_bool("maybe")


def test_choice_matches_the_written_text_of_non_string_options() -> None:
    assert parse_choice("3", [1, 3, 5]) == 3
    assert parse_choice("same", ["valid", "same"]) == "same"
    with pytest.raises(ValueError, match=r"'rnn' is not one of the choices \(lstm, gru\)"):
        parse_choice("rnn", ["lstm", "gru"])


def test_choices_list() -> None:
    options = ["rnn", "lstm", "gru", "cnn"]
    assert format_value(["gru", "rnn"]) == "gru,rnn"
    assert parse_choices("gru,rnn", options) == ["gru", "rnn"]
    assert parse_choices(" gru , gru ", options) == ["gru"]
    assert parse_choices("", options) == []
    with pytest.raises(ValueError, match="transformer"):
        parse_choices("gru,transformer", options)
    with pytest.raises(ValueError, match="comma"):
        query_state.check_list_options(["a,b", "c"])


def test_int_range_and_steps() -> None:
    assert parse_int("64", min_value=8, max_value=256, step=8) == 64
    with pytest.raises(ValueError, match="not a whole number"):
        parse_int("6.5")
    with pytest.raises(ValueError, match="above the maximum 256"):
        parse_int("512", min_value=8, max_value=256)
    with pytest.raises(ValueError, match="below the minimum 8"):
        parse_int("4", min_value=8)
    with pytest.raises(ValueError, match="steps of 8 from 8"):
        parse_int("12", min_value=8, max_value=256, step=8)


def test_float_range_steps_and_non_finite() -> None:
    assert parse_float("0.3", min_value=0.0, max_value=1.0, step=0.1) == 0.3
    assert parse_float("1e-3", min_value=1e-5) == 0.001
    with pytest.raises(ValueError, match="not on the slider's steps"):
        parse_float("0.35", min_value=0.0, max_value=1.0, step=0.1)
    for text in ("nan", "inf", "-inf"):
        with pytest.raises(ValueError, match="not a finite number"):
            parse_float(text)
    with pytest.raises(ValueError, match="not a number"):
        parse_float("fast")


def test_read_param_missing_good_and_bad() -> None:
    parse = lambda raw: parse_int(raw, min_value=1, max_value=10)  # noqa: E731
    assert read_param(None, parse, 5) == query_state.ParamReading(5, None)
    assert read_param("7", parse, 5).value == 7
    bad = read_param("70", parse, 5)
    assert bad.value == 5 and not bad.ok and "above the maximum 10" in bad.problem


def test_notice_names_the_parameter_and_defangs_the_value() -> None:
    raw = "`**x**`" + "y" * 100
    text = notice_text("units", raw, "is not a whole number", 64)
    assert text.startswith("The link's `units=")
    assert "`64`" in text
    assert raw not in text and "…" in text
    assert text.count("`") == 4

"""Streamlit pieces of the CNN calculator page: the layer table's columns, the shape box, and the result sections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.calculator import LAYER_TYPES, MEBIBYTE, MEGABYTE, NetworkReport
from core.calculator.check import MEMORY_UNITS, check_answer
from core.calculator.columns import Column
from core.calculator.keras_check import comparison_rows, keras_counts
from core.calculator.presets import RENAMED_KEYS, preset
from core.calculator.table import (
    TABLE_COLUMNS,
    TYPE_COLUMN,
    column_uses,
    parse_input_shape,
)
from ui.export import download_csv_button
from ui.shareable import bind_query_param, publish_query_param
from ui.widgets import show_failure, show_value_error

# Building a Keras model allocates every weight; past this the check would risk the server's RAM.
KERAS_VERIFY_LIMIT_BYTES = 1_000_000_000
INPUT_SHAPE_CHARS = 64


# --- settings -----------------------------------------------------------------------------------


def follow_renamed_preset_link() -> None:
    """Point an old link's preset key (``?preset=seed002_cnn``) at its renamed preset before the picker reads it."""
    raw = st.query_params.get("preset")
    if "preset" not in st.session_state and raw in RENAMED_KEYS:
        st.query_params["preset"] = RENAMED_KEYS[raw]


def load_preset() -> None:
    """Put the chosen preset's input shape and batch size in the widgets and drop table edits."""
    chosen = preset(st.session_state["preset"])
    st.session_state["input_shape"] = ", ".join(str(n) for n in chosen.input_shape)
    st.session_state["batch_size"] = chosen.batch_size
    st.session_state["same_padding"] = True
    st.session_state.pop("layer_table", None)


def reset_table() -> None:
    """A different starting table invalidates the edits made to the old one."""
    st.session_state.pop("layer_table", None)


def checked_shape_text(raw: str) -> str:
    """The link's input-shape text itself, once :func:`parse_input_shape` accepts it and the box can hold it."""
    if len(raw) > INPUT_SHAPE_CHARS:
        raise ValueError(f"an input shape is at most {INPUT_SHAPE_CHARS} characters, e.g. 200, 300, 3")
    parse_input_shape(raw)
    return raw


def shared_text(label: str, *, key: str, default: str, parse: Callable[[str], str], **kwargs: Any) -> str:
    """A text box kept in the URL; a bad link falls back to ``default``, a bad typed value stays to be explained."""
    # bind_query_param would also replace a held value that fails ``parse``, silently undoing a typo
    # the page should answer with an error, so the link is read only when the box holds no text yet.
    if not isinstance(st.session_state.get(key), str):
        bind_query_param(key, parse, default)
    value = st.text_input(label, key=key, **kwargs)
    publish_query_param(key, value)
    return value


def layer_table_config() -> dict[str, Any]:
    """The layer editor's column settings, read from the layer kinds' columns."""
    config: dict[str, Any] = {TYPE_COLUMN: st.column_config.SelectboxColumn(TYPE_COLUMN, options=list(LAYER_TYPES), required=True)}
    for header, column in TABLE_COLUMNS.items():
        config[header] = _editor_column(column, help=f"{column_uses(header)}. {column.help}")
    return config


def _editor_column(column: Column, *, help: str) -> Any:
    editor = column.editor
    if editor.widget == "number":
        return st.column_config.NumberColumn(
            column.header, min_value=editor.min_value, max_value=editor.max_value, step=editor.step, format=editor.number_format, help=help
        )
    if editor.widget == "checkbox":
        return st.column_config.CheckboxColumn(column.header, help=help)
    return st.column_config.TextColumn(column.header, max_chars=editor.max_chars, help=help)


# --- results ------------------------------------------------------------------------------------


def both_units(count: float) -> str:
    """Bytes as decimal MB and binary MiB, labelled, because homework answers mix the two."""
    return f"{count / MEGABYTE:,.2f} MB ({count / MEBIBYTE:,.2f} MiB)"


def totals_frame(report: NetworkReport) -> pd.DataFrame:
    """The memory totals in bytes, MB (10⁶) and MiB (2²⁰)."""
    rows = [
        ("weights", report.weight_bytes),
        ("inference, peak: weights + the largest (layer input + output), 1 instance", report.inference_peak_bytes),
        ("inference, keep all: weights + input + every activation, 1 instance", report.inference_keep_all_bytes),
        (f"training: batch of {report.batch_size} with {report.optimizer}", report.training_bytes),
    ]
    return pd.DataFrame(
        [{"memory": name, "bytes": count, "MB (10⁶ bytes)": count / MEGABYTE, "MiB (2²⁰ bytes)": count / MEBIBYTE} for name, count in rows]
    )


def check_your_answer(report: NetworkReport) -> None:
    """Boxes for a student's own figures, each judged as soon as it is entered."""
    params_column, inference_column, training_column = st.columns(3)
    with params_column:
        claimed_params = st.number_input("Parameters", min_value=0, value=None, step=1, key="claim_params", placeholder="e.g. 903400")
        layer_choice = st.selectbox(
            "of",
            [0, *range(1, len(report.layers) + 1)],
            format_func=lambda i: "the whole network" if i == 0 else f"layer {i} ({report.layers[i - 1].name})",
            key="claim_layer",
        )
    with inference_column:
        claimed_inference = st.number_input("Inference RAM, 1 instance", min_value=0.0, value=None, format="%.4f", key="claim_inference")
    with training_column:
        claimed_training = st.number_input(f"Training RAM, batch {report.batch_size}", min_value=0.0, value=None, format="%.4f", key="claim_training")
    unit = st.radio("RAM unit of your answers", list(MEMORY_UNITS), horizontal=True, key="claim_unit")
    for quantity, claimed, column in (
        ("params", claimed_params, params_column),
        ("inference", claimed_inference, inference_column),
        ("training", claimed_training, training_column),
    ):
        if claimed is None:
            continue
        with column:
            try:
                verdict = check_answer(report, quantity, claimed, unit=unit, layer=layer_choice or None)
            except ValueError as error:
                show_value_error(error)
                continue
            if verdict.correct:
                st.success(verdict.message, icon=":material/check_circle:")
            else:
                st.warning(verdict.message, icon=":material/lightbulb:")


def verify_with_keras(input_shape: tuple[int, ...], layers: list[dict[str, Any]], report: NetworkReport) -> None:
    """A button that builds the network in Keras, and the comparison of its counts with ours."""
    signature = repr((input_shape, layers))
    if report.weight_bytes > KERAS_VERIFY_LIMIT_BYTES:
        st.info(
            f"This network's weights alone take {both_units(report.weight_bytes)}; building it in Keras here could "
            "exhaust the server's RAM, so the check is off."
        )
    elif st.button("Build it in Keras and compare", key="verify_keras", icon=":material/fact_check:"):
        with st.spinner("Importing TensorFlow and building the model…"):
            try:
                st.session_state["keras_counts"] = (signature, keras_counts(input_shape, layers))
            except Exception as error:  # noqa: BLE001 - a missing or failing TensorFlow must not crash the page
                show_failure("Building this model in Keras", error)
    stored = st.session_state.get("keras_counts")
    if stored is None or stored[0] != signature:
        return
    counts = stored[1]
    rows = comparison_rows(report, counts)
    comparison = pd.DataFrame(rows)
    st.dataframe(comparison, hide_index=True)
    download_csv_button(comparison, "cnn_keras_comparison.csv", key="download_keras_comparison")
    totals_match = (report.total_params, report.non_trainable_params) == (counts.total_params, counts.non_trainable_params)
    summary = (
        f"Keras: {counts.total_params:,} parameters ({counts.non_trainable_params:,} non-trainable); "
        f"ours: {report.total_params:,} ({report.non_trainable_params:,} non-trainable)."
    )
    if totals_match and all(row["match"] for row in rows):
        st.success(f"Keras agrees on every layer. {summary}", icon=":material/verified:")
    else:
        st.warning(f"Keras disagrees somewhere: please report it. {summary}")

"""Streamlit pieces of the CNN calculator page: the layer table's columns, the shape box, and the result sections."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from core import charts, settings
from core.calculator import LAYER_TYPES, MEBIBYTE, MEGABYTE, NetworkReport, analyze
from core.calculator.check import MEMORY_UNITS, check_answer
from core.calculator.columns import Column
from core.calculator.keras_check import comparison_rows, keras_counts
from core.calculator.measure import (
    MEASURE_TIMEOUT_SECONDS,
    MemoryMeasurement,
    check_fits,
    explanation,
    measure_memory,
)
from core.calculator.presets import RENAMED_KEYS, preset
from core.calculator.table import (
    TABLE_COLUMNS,
    TYPE_COLUMN,
    column_uses,
    parse_input_shape,
)
from ui.render_memo import chart_spec
from ui.export import download_csv_button
from ui.shareable import bind_query_param, publish_query_param
from ui.widgets import show_failure, show_value_error

# Building a Keras model allocates every weight; past this the check would risk the server's RAM.
KERAS_VERIFY_LIMIT_BYTES = 1_000_000_000
# How long a measurement may wait for a worker plus run; trainings queued before it go first.
QUEUE_WAIT_SECONDS = MEASURE_TIMEOUT_SECONDS + 420
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


def measure_in_keras(input_shape: tuple[int, ...], layers: list[dict[str, Any]], report: NetworkReport) -> None:
    """A button that measures one prediction and one training step in Keras, shown next to the estimate."""
    # Keras computes in float32 whatever the table's dtype, so the estimate compared is float32's.
    estimate = report if report.dtype_bytes == 4 else analyze(
        input_shape, layers, batch_size=report.batch_size, dtype_bytes=4, optimizer=report.optimizer
    )
    signature = repr((input_shape, layers, report.batch_size, report.optimizer))
    if estimate.weight_bytes > KERAS_VERIFY_LIMIT_BYTES:
        st.info(f"This network's float32 weights alone take {both_units(estimate.weight_bytes)}; measuring it here could exhaust the server's RAM.")
        return
    st.caption(
        f"Builds this network in a fresh Keras process on a training worker, runs one prediction and one training step "
        f"at batch {report.batch_size} with {report.optimizer} (float32), and measures how far each raises the "
        "process's peak memory. It takes 10–20 s, mostly importing TensorFlow, and waits behind trainings already queued."
    )
    if st.button("Measure in Keras", key="measure_keras", icon=":material/memory:"):
        try:
            check_fits(estimate.training_bytes, settings.available_memory_bytes())
            with st.spinner("Measuring in Keras…"):
                from core.training.executor import current_executor

                measure = partial(measure_memory, batch_size=report.batch_size, optimizer=report.optimizer)
                measured = current_executor().run_task(measure, input_shape, layers, timeout=QUEUE_WAIT_SECONDS)
            st.session_state["keras_memory"] = (signature, measured)
        except ValueError as error:
            show_value_error(error)
        except TimeoutError:
            st.warning(
                f"The training workers stayed busy for {QUEUE_WAIT_SECONDS // 60:.0f} minutes, so the measurement did not run. "
                "Try again when the class's trainings are done.", icon=":material/hourglass:",
            )
        except Exception as error:  # noqa: BLE001 - a failing measurement must not crash the page
            show_failure("Measuring this network in Keras", error)
    stored = st.session_state.get("keras_memory")
    if stored is not None and stored[0] == signature:
        _show_measurement(stored[1], estimate)


def _show_measurement(measured: MemoryMeasurement, estimate: NetworkReport) -> None:
    predict_col, train_col = st.columns(2)
    predict_col.metric(
        "One prediction: measured growth", f"{measured.predict_growth_bytes / MEGABYTE:,.1f} MB",
        help=f"Estimate (float32): {both_units(estimate.inference_peak_bytes)}",
    )
    predict_col.caption(f"Estimate: {estimate.inference_peak_bytes / MEGABYTE:,.1f} MB")
    train_col.metric(
        f"One training step (batch {measured.batch_size}): measured growth", f"{measured.train_step_growth_bytes / MEGABYTE:,.1f} MB",
        help=f"Estimate (float32): {both_units(estimate.training_bytes)}",
    )
    train_col.caption(f"Estimate: {estimate.training_bytes / MEGABYTE:,.1f} MB")
    frame = pd.DataFrame(
        [
            {"call": call, "figure": figure, "MB": value / MEGABYTE}
            for call, pair in (
                ("one prediction", (estimate.inference_peak_bytes, measured.predict_growth_bytes)),
                (f"one training step (batch {measured.batch_size})", (estimate.training_bytes, measured.train_step_growth_bytes)),
            )
            for figure, value in zip(("estimate", "measured in Keras"), pair)
        ]
    )
    st.vega_lite_chart(chart_spec(charts.estimate_against_measured_chart, frame), width="stretch")
    st.markdown(explanation(measured, estimate.training_bytes, estimate.inference_peak_bytes))
    st.caption(
        f"Keras counted {measured.params:,} parameters; the process held {measured.before_bytes / MEGABYTE:,.0f} MB before the "
        f"first batch (TensorFlow itself and the built model). Measured in {measured.seconds:.1f} s."
    )

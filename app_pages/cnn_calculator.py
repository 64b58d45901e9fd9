"""CNN calculator: parameters, output shapes, multiply-adds and RAM of a layer stack, with the formulas."""

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.calculator import DTYPE_BYTES, LAYER_TYPES, MAX_SIZE, MEBIBYTE, MEGABYTE, OPTIMIZER_SLOTS, NetworkReport, analyze
from core.calculator_check import MEMORY_UNITS, check_answer
from core.calculator_presets import PRESETS, preset
from core.calculator_table import COLUMNS, layers_from_rows, parse_input_shape, rows_from_layers
from core.settings import available_memory_bytes
from ui.export import download_csv_button
from ui.shareable import bind_query_param, publish_query_param, share_link, shared_number, shared_selectbox, shared_toggle
from ui.widgets import show_failure, show_value_error

# Building a Keras model allocates every weight; past this the check would risk the server's RAM.
KERAS_VERIFY_LIMIT_BYTES = 1_000_000_000

OPTIMIZER_LABELS = {
    "adam": "Adam (2 slots per weight)",
    "rmsprop": "RMSprop (1 slot)",
    "sgd_momentum": "SGD with momentum (1 slot)",
    "sgd": "plain SGD (no slots)",
}
# The browser already keeps sizes within the calculator's limit and cells short; core.calculator_table
# checks again, since a table can also arrive through the session.
SIZE_CELL_CHARS = 24
INPUT_SHAPE_CHARS = 64
TABLE_COLUMN_CONFIG = {
    "type": st.column_config.SelectboxColumn("type", options=list(LAYER_TYPES), required=True),
    "filters / units": st.column_config.NumberColumn(
        "filters / units", min_value=1, max_value=MAX_SIZE, step=1, format="%d", help="conv2d filters or dense units"
    ),
    "kernel / pool": st.column_config.TextColumn(
        "kernel / pool", max_chars=SIZE_CELL_CHARS, help="conv2d kernel or pooling window: 3, or 3x5 for a rectangle"
    ),
    "stride": st.column_config.TextColumn(
        "stride", max_chars=SIZE_CELL_CHARS, help="blank = 1 for conv2d, the pool size for pooling; 2 or 1x2"
    ),
    "padding": st.column_config.TextColumn(
        "padding", max_chars=SIZE_CELL_CHARS, help="valid, same, or a number of pixels p (conv2d only)"
    ),
    "bias": st.column_config.CheckboxColumn("bias", help="conv2d / dense: one bias per filter or unit"),
    "dropout rate": st.column_config.NumberColumn("dropout rate", min_value=0.0, max_value=0.99, step=0.05),
}


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


st.title("CNN parameter & RAM calculator")
st.markdown(
    "How many parameters does a network have, what shape comes out of each layer, how many "
    "multiply-adds does it cost, and how much RAM does it need to predict and to train? Pick a "
    "homework network or edit the layers; every number comes with its formula."
)

settings, table = st.columns([1, 2], gap="large")
with settings:
    # These settings live in the URL (each key is its query name), so a pasted link reopens this network.
    # The preset comes first: its own input shape and batch size are the defaults of the widgets below.
    preset_key = shared_selectbox(
        "Network",
        [p.key for p in PRESETS],
        format_func=lambda key: preset(key).title,
        key="preset",
        on_change=load_preset,
    )
    chosen = preset(preset_key)
    st.caption(f"**From the homework.** {chosen.source}")
    starting_layers = chosen.layers
    if chosen.padding_toggle:
        same = shared_toggle("'same' padding (off: 'valid')", default=True, key="same_padding", on_change=reset_table)
        starting_layers = chosen.with_padding("same" if same else "valid")
    input_shape_text = shared_text(
        "Input shape (H, W, C) or (N,)",
        key="input_shape",
        default=", ".join(str(n) for n in chosen.input_shape),
        parse=checked_shape_text,
        max_chars=INPUT_SHAPE_CHARS,
        help=f"e.g. 200, 300, 3 or 200x300x3; each size at most {MAX_SIZE:,}",
    )
    batch_size = shared_number("Batch size (for training)", min_value=1, max_value=100_000, step=1, default=chosen.batch_size, key="batch_size")
    dtype = shared_selectbox("Number type", list(DTYPE_BYTES), format_func=lambda name: f"{name} ({DTYPE_BYTES[name]} bytes)", key="dtype")
    optimizer = shared_selectbox("Optimizer", list(OPTIMIZER_SLOTS), format_func=OPTIMIZER_LABELS.get, key="optimizer")
    share_link()

with table:
    st.markdown("**Layers** (edit cells; add or delete rows at the bottom and left)")
    edited = st.data_editor(
        pd.DataFrame(rows_from_layers(starting_layers), columns=list(COLUMNS)),
        key="layer_table",
        num_rows="dynamic",
        column_config=TABLE_COLUMN_CONFIG,
        hide_index=True,
        width="stretch",
    )

try:
    input_shape = parse_input_shape(input_shape_text)
    layers = layers_from_rows(edited.to_dict("records"))
    report = analyze(input_shape, layers, batch_size=int(batch_size), dtype_bytes=DTYPE_BYTES[dtype], optimizer=optimizer)
except ValueError as error:
    show_value_error(error)
    st.stop()

st.subheader("Totals")
params_col, macs_col, inference_col, training_col = st.columns(4)
params_col.metric("Parameters", f"{report.total_params:,}", help=f"{report.trainable_params:,} trainable, {report.non_trainable_params:,} non-trainable")
macs_col.metric("Multiply-adds per instance", f"{report.total_macs:,}")
inference_col.metric("Inference RAM, peak", f"{report.inference_peak_bytes / MEGABYTE:,.2f} MB", help=both_units(report.inference_peak_bytes))
training_col.metric(f"Training RAM, batch {report.batch_size}", f"{report.training_bytes / MEGABYTE:,.2f} MB", help=both_units(report.training_bytes))
st.caption(
    f"{report.trainable_params:,} trainable and {report.non_trainable_params:,} non-trainable parameters; "
    f"output shape {report.output_shape}. MB = 10⁶ bytes, MiB = 2²⁰ = 1,048,576 bytes."
)
totals = totals_frame(report)
st.dataframe(
    totals,
    hide_index=True,
    column_config={
        "bytes": st.column_config.NumberColumn(format="localized"),
        "MB (10⁶ bytes)": st.column_config.NumberColumn(format="%.2f"),
        "MiB (2²⁰ bytes)": st.column_config.NumberColumn(format="%.2f"),
    },
)
download_csv_button(totals, "cnn_memory_totals.csv", key="download_totals")
available = available_memory_bytes()
if available is not None and report.training_bytes > available:
    st.warning(
        f"Training this network with a batch of {report.batch_size} needs about {both_units(report.training_bytes)}, "
        f"more than the {both_units(available)} of RAM this machine has free now. Use a smaller batch, "
        "a 16-bit number type, or fewer/smaller layers.",
        icon=":material/memory:",
    )

st.subheader("Layer by layer")
layer_frame = charts.calculator_layer_frame(report)
st.dataframe(
    layer_frame,
    hide_index=True,
    column_config={
        "params": st.column_config.NumberColumn(format="localized"),
        "non-trainable": st.column_config.NumberColumn(format="localized"),
        "MACs": st.column_config.NumberColumn("MACs (multiply-adds)", format="localized"),
        "activation values": st.column_config.NumberColumn(format="localized"),
        "activation MB": st.column_config.NumberColumn(f"activation MB ({dtype}, 1 instance)", format="%.3f"),
    },
)
download_csv_button(layer_frame, "cnn_layers.csv", key="download_layers")
if len(layer_frame):
    left, right = st.columns(2)
    left.altair_chart(charts.layer_bar_chart(layer_frame, "params", title="Parameters per layer", axis_title="parameters"), width="stretch")
    right.altair_chart(
        charts.layer_bar_chart(layer_frame, "activation MB", title="Activation memory per layer (1 instance)", axis_title="MB"),
        width="stretch",
    )
st.altair_chart(charts.memory_breakdown_chart(charts.memory_breakdown_frame(report)), width="stretch")
st.caption(
    "Inference frees a layer's input once its output exists, so only the largest input + output pair is alive at once. "
    "Training keeps every layer's output for the whole batch for backpropagation, plus one gradient per trainable "
    "weight and the optimizer's slots."
)

st.subheader("Check your answer")
st.markdown("Type your own figures; each is judged as soon as you enter it.")
claim_params_col, claim_inference_col, claim_training_col = st.columns(3)
with claim_params_col:
    claimed_params = st.number_input("Parameters", min_value=0, value=None, step=1, key="claim_params", placeholder="e.g. 903400")
    layer_choice = st.selectbox(
        "of",
        [0, *range(1, len(report.layers) + 1)],
        format_func=lambda i: "the whole network" if i == 0 else f"layer {i} ({report.layers[i - 1].name})",
        key="claim_layer",
    )
with claim_inference_col:
    claimed_inference = st.number_input("Inference RAM, 1 instance", min_value=0.0, value=None, format="%.4f", key="claim_inference")
with claim_training_col:
    claimed_training = st.number_input(f"Training RAM, batch {report.batch_size}", min_value=0.0, value=None, format="%.4f", key="claim_training")
unit = st.radio("RAM unit of your answers", list(MEMORY_UNITS), horizontal=True, key="claim_unit")
for quantity, claimed, column in (
    ("params", claimed_params, claim_params_col),
    ("inference", claimed_inference, claim_inference_col),
    ("training", claimed_training, claim_training_col),
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

st.subheader("Verify with Keras")
signature = repr((input_shape, layers))
if report.weight_bytes > KERAS_VERIFY_LIMIT_BYTES:
    st.info(f"This network's weights alone take {both_units(report.weight_bytes)}; building it in Keras here could exhaust the server's RAM, so the check is off.")
elif st.button("Build it in Keras and compare", key="verify_keras", icon=":material/fact_check:"):
    with st.spinner("Importing TensorFlow and building the model…"):
        try:
            from core.keras_equivalent import keras_counts

            st.session_state["keras_counts"] = (signature, keras_counts(input_shape, layers))
        except Exception as error:  # noqa: BLE001 - a missing or failing TensorFlow must not crash the page
            show_failure("Building this model in Keras", error)
stored = st.session_state.get("keras_counts")
if stored is not None and stored[0] == signature:
    counts = stored[1]
    comparison_rows = [
        {
            "layer": ours.name,
            "Keras layer(s)": " + ".join(theirs.keras_layers),
            "our output shape": str(ours.output_shape),
            "Keras output shape": str(theirs.output_shape),
            "our params": ours.params,
            "Keras params": theirs.params,
            "match": ours.output_shape == theirs.output_shape and ours.params == theirs.params,
        }
        for ours, theirs in zip(report.layers, counts.layers)
    ]
    comparison = pd.DataFrame(comparison_rows)
    st.dataframe(comparison, hide_index=True)
    download_csv_button(comparison, "cnn_keras_comparison.csv", key="download_keras_comparison")
    totals_match = (report.total_params, report.non_trainable_params) == (counts.total_params, counts.non_trainable_params)
    summary = (
        f"Keras: {counts.total_params:,} parameters ({counts.non_trainable_params:,} non-trainable); "
        f"ours: {report.total_params:,} ({report.non_trainable_params:,} non-trainable)."
    )
    if totals_match and all(row["match"] for row in comparison_rows):
        st.success(f"Keras agrees on every layer. {summary}", icon=":material/verified:")
    else:
        st.warning(f"Keras disagrees somewhere: please report it. {summary}")

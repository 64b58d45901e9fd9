"""CNN calculator: parameters, output shapes, multiply-adds and RAM of a layer stack, with the formulas."""

import pandas as pd
import streamlit as st

from core import charts
from core.calculator import DTYPE_BYTES, MAX_SIZE, MEGABYTE, OPTIMIZER_SLOTS, analyze
from core.calculator.presets import PRESETS, preset
from core.calculator.table import (
    COLUMNS,
    layers_from_rows,
    parse_input_shape,
    rows_from_layers,
)
from core.settings import available_memory_bytes
from ui.render_memo import chart_spec
from ui.calculator import (
    INPUT_SHAPE_CHARS,
    both_units,
    check_your_answer,
    checked_shape_text,
    follow_renamed_preset_link,
    layer_table_config,
    load_preset,
    measure_in_keras,
    reset_table,
    shared_text,
    totals_frame,
    verify_with_keras,
)
from ui.export import download_csv_button
from ui.shareable import share_link, shared_number, shared_selectbox, shared_toggle
from ui.widgets import show_value_error

OPTIMIZER_LABELS = {
    "adam": "Adam (2 slots per weight)",
    "rmsprop": "RMSprop (1 slot)",
    "sgd_momentum": "SGD with momentum (1 slot)",
    "sgd": "plain SGD (no slots)",
}

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
    follow_renamed_preset_link()
    preset_key = shared_selectbox(
        "Network", [p.key for p in PRESETS], format_func=lambda key: preset(key).title, key="preset", on_change=load_preset
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
        column_config=layer_table_config(),
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
    left.vega_lite_chart(chart_spec(charts.layer_bar_chart, layer_frame, "params", title="Parameters per layer", axis_title="parameters"), width="stretch")
    right.vega_lite_chart(
        chart_spec(charts.layer_bar_chart, layer_frame, "activation MB", title="Activation memory per layer (1 instance)", axis_title="MB"),
        width="stretch",
    )
st.vega_lite_chart(chart_spec(charts.memory_breakdown_chart, charts.memory_breakdown_frame(report)), width="stretch")
st.caption(
    "Inference frees a layer's input once its output exists, so only the largest input + output pair is alive at once. "
    "Training keeps every layer's output for the whole batch for backpropagation, plus one gradient per trainable "
    "weight and the optimizer's slots."
)

st.subheader("Check your answer")
st.markdown("Type your own figures; each is judged as soon as you enter it.")
check_your_answer(report)

st.subheader("Verify with Keras")
verify_with_keras(input_shape, layers, report)

st.subheader("Measure in Keras")
measure_in_keras(input_shape, layers, report)

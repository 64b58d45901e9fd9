"""The arithmetic behind one feature-map value, shown on the CIFAR and feature-map pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.inspection import feature_map_layers
from core.training import RunResult


def conv_arithmetic_section(result: RunResult, prepared: np.ndarray, inspection: dict[str, np.ndarray], *, key: str) -> None:
    """Pick a conv layer, channel and position; see patch × kernel, the sum, the bias and the activation.

    Off until asked for: it needs the model (and TensorFlow), which a reopened run otherwise does not.
    """
    layers = dict(feature_map_layers(inspection))
    if not layers or not st.toggle("Show the arithmetic behind one value", key=f"{key}_arith_on"):
        return
    from core import viz
    from core.training import load_model

    names = tuple(layers)
    columns = st.columns(4)
    layer_name = columns[0].selectbox("Conv layer", names, key=f"{key}_arith_layer")
    height, width, channels = layers[layer_name].shape
    channel = int(columns[1].number_input("Output channel", 0, channels - 1, 0, key=f"{key}_arith_channel"))
    row = int(columns[2].number_input("Row", 0, height - 1, height // 2, key=f"{key}_arith_row"))
    col = int(columns[3].number_input("Column", 0, width - 1, width // 2, key=f"{key}_arith_col"))
    step = viz.conv_arithmetic(load_model(result), prepared, layer_name, row, col, channel)

    kernel_height, kernel_width, in_channels = step.kernel.shape
    shown_channel = 0
    if in_channels > 1:
        shown_channel = st.slider("Input channel to show", 0, in_channels - 1, 0, key=f"{key}_arith_in")
    st.caption(
        f"`{layer_name}` output ({row}, {col}), channel {channel}: its {kernel_height}×{kernel_width} kernel covers input rows "
        f"{step.input_rows[0]}…{step.input_rows[1]} and columns {step.input_cols[0]}…{step.input_cols[1]}"
        + (f" across all {in_channels} input channels" if in_channels > 1 else "")
        + ("; positions outside the input are the layer's zero padding (shown as 0)." if step.padded.any() else ".")
    )
    patch_column, kernel_column, product_column = st.columns(3)
    for column, title, values in (
        (patch_column, "input patch", step.patch[..., shown_channel]),
        (kernel_column, "kernel", step.kernel[..., shown_channel]),
        (product_column, "patch × kernel", step.products[..., shown_channel]),
    ):
        column.markdown(f"**{title}** (input channel {shown_channel})")
        column.dataframe(pd.DataFrame(values).style.format("{:.3f}"), hide_index=True, key=f"{key}_arith_{title}")
    per_channel = step.products.reshape(-1, in_channels).sum(axis=0)
    across = f" ({in_channels} input channels; channel {shown_channel} contributes {per_channel[shown_channel]:.4f})" if in_channels > 1 else ""
    st.markdown(
        f"Σ over all {step.products.size} products{across} = **{step.products_sum:.4f}**  \n"
        f"\\+ bias {step.bias:.4f} = pre-activation **{step.pre_activation:.4f}**  \n"
        f"{step.activation}({step.pre_activation:.4f}) = **{step.output:.4f}**, "
        f"the value the layer itself produced here: **{float(layers[layer_name][row, col, channel]):.4f}**"
    )

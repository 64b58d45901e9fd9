"""RNN shapes: what goes into a recurrent layer, what comes out, and how many weights it learns."""

import streamlit as st

from core.rnn.shapes import AXIS_MEANINGS, describe_stack
from ui.rnn import (
    homework_answers,
    layer_controls,
    shapes_and_weights,
    the_four_patterns,
    unrolled_with_numbers,
)
from ui.widgets import show_value_error

st.title("RNN shapes")
st.markdown(
    "> *How many dimensions must the inputs of an RNN layer have? What does each dimension "
    "represent? What about its outputs?*\n\n"
    "**Three.** A Keras recurrent layer reads a tensor of shape **(batch, timesteps, features)**: "
    f"{AXIS_MEANINGS['batch']}; {AXIS_MEANINGS['timesteps']}; {AXIS_MEANINGS['features']}. "
    "It returns **(batch, units)** (the last hidden state) or, with `return_sequences=True`, "
    f"**(batch, timesteps, units)**, where {AXIS_MEANINGS['units']}. Change the layer below and watch."
)

choice = layer_controls()
try:
    stack = describe_stack(choice.specs, timesteps=choice.timesteps, features=choice.features, batch=choice.batch)
except ValueError as error:
    show_value_error(error)
    stack = None

shapes_tab, answers_tab, unrolled_tab, patterns_tab = st.tabs(
    ["Shapes and weights", "Two homework answers", "Unrolled, with numbers", "The four patterns"],
    key="rnn_tab",
    on_change="rerun",
    bind="query-params",  # a shared link opens the same tab
)

# Only the open tab is computed and sent, so the page loads faster.
if shapes_tab.open:
    with shapes_tab:
        shapes_and_weights(stack, choice)
if answers_tab.open:
    with answers_tab:
        homework_answers(stack, choice)
if unrolled_tab.open:
    with unrolled_tab:
        unrolled_with_numbers()
if patterns_tab.open:
    with patterns_tab:
        the_four_patterns()

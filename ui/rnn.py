"""The RNN shapes page's pieces: the layer controls and the four tabs (shapes, homework answers, unrolled, patterns)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core.rnn.diagrams import shape_diagram_dot
from core.rnn.patterns import sequence_patterns
from core.rnn.shapes import (
    CELL_NAMES,
    CELLS,
    RecurrentLayerSpec,
    StackReport,
    cell_params,
    format_shape,
    labelled_tensor,
    outputs_frame,
    sequence_views,
    weights_frame,
)
from core.rnn.unrolled import (
    TINY_FEATURES,
    TINY_TIMESTEPS,
    TINY_UNITS,
    latex_matrix,
    step_frame,
    step_latex,
    summary_frame,
    tiny_inputs,
    tiny_weights,
    unroll_simple_rnn,
)
from ui.export import download_csv_button
from ui.shareable import (
    share_link,
    shared_checkbox,
    shared_number,
    shared_selectbox,
    shared_toggle,
)
from ui.widgets import inline_code, show_value_error

KERAS_CHECK = "rnn_keras_check"
# Sizes are capped well past any real layer so a link cannot hand the number boxes a value the
# browser mangles (past 2**53). No minimum on purpose: 0 or less reaches core.rnn, whose error
# explains why a tensor axis must be at least 1.
MAX_SIZE = 1_000_000
UNROLLED_CHECK = "rnn_unrolled_keras_check"
KEPT_UNROLLED_INPUTS = "rnn_unrolled_inputs_kept"



@dataclass(frozen=True)
class LayerChoice:
    """The recurrent layer (or stack) the controls describe, and the input it reads."""

    specs: list[RecurrentLayerSpec]
    timesteps: int
    features: int
    units: int
    batch: int | None


def layer_controls() -> LayerChoice:
    """The cell, sizes and flags of the layer, each kept in the page's link."""
    with st.container(border=True):
        first, second, third, fourth = st.columns(4)
        # Each setting lives in the URL (its key is the query name), so a pasted link reopens this exact layer.
        with first:
            cell = shared_selectbox("Cell", CELLS, format_func=CELL_NAMES.get, default="lstm", key="cell")
            open_batch = shared_toggle("Leave batch open (None)", default=False, key="open_batch", help="keras.Input leaves the batch size open; model.summary() prints it as None.")
            batch_size = shared_number("Batch", default=32, step=1, max_value=MAX_SIZE, key="batch", disabled=open_batch)
        with second:
            timesteps = shared_number("Timesteps", default=28, step=1, max_value=MAX_SIZE, key="timesteps", help="MNIST read row by row: 28 rows.")
            features = shared_number("Features", default=28, step=1, max_value=MAX_SIZE, key="features", help="MNIST read row by row: 28 pixels per row.")
        with third:
            units = shared_number("Units", default=128, step=1, max_value=MAX_SIZE, key="units")
            return_sequences = shared_checkbox("return_sequences", default=False, key="return_sequences")
            return_state = shared_checkbox("return_state", default=False, key="return_state")
        with fourth:
            bidirectional = shared_checkbox("Bidirectional", default=False, key="bidirectional")
            reset_after = shared_checkbox("reset_after (GRU)", default=True, key="reset_after", disabled=cell != "gru", help="Keras' default; False gives the classic GRU.")
            stacked = shared_number("Stacked layers", min_value=1, max_value=6, default=1, step=1, key="stacked")
            earlier_sequences = shared_checkbox(
                "Earlier layers return sequences", default=True, key="stack_sequences", disabled=stacked == 1,
                help="Untick to see why a stacked layer needs the whole sequence.",
            )
    share_link()
    batch = None if open_batch else int(batch_size)
    last_layer = RecurrentLayerSpec(cell, int(units), return_sequences, return_state, bidirectional, reset_after if cell == "gru" else True)
    earlier_layer = RecurrentLayerSpec(cell, int(units), earlier_sequences, False, bidirectional, last_layer.reset_after)
    specs = [earlier_layer] * (int(stacked) - 1) + [last_layer]
    return LayerChoice(specs, int(timesteps), int(features), int(units), batch)


def shapes_and_weights(stack: StackReport | None, choice: LayerChoice) -> None:
    """Shapes, the diagram, every weight and what the layer returns, with a check against Keras."""
    if stack is None:
        st.info("Fix the input above to see the shapes.", icon=":material/info:")
    else:
        left, middle, right = st.columns(3)
        left.metric("Input shape", format_shape(stack.input_shape))
        middle.metric("Output shape", format_shape(stack.output_shapes[0]))
        right.metric("Trainable parameters", f"{stack.params:,}")
        returned = ", ".join(format_shape(shape) for shape in stack.output_shapes)
        which = "The last layer" if len(stack.layers) > 1 else "The layer"
        if len(stack.output_shapes) > 1:
            st.markdown(f"{which} returns a list, in Keras' order: `{returned}`")
        else:
            st.markdown(f"{which} returns one tensor: `{returned}`")
        st.graphviz_chart(shape_diagram_dot(stack))

        for position, layer in enumerate(stack.layers, start=1):
            if len(stack.layers) > 1:
                st.subheader(f"Layer {position}")
            st.markdown("**Keras:** " + inline_code(layer.keras_code))
            st.markdown(f"**Parameters** = `{layer.formula}` = `{layer.formula_filled}`")
            st.caption(layer.formula_reason)
            if layer.cell == "gru" and layer.reset_after:
                st.info(
                    f"With reset_after=False (the classic GRU of Cho et al.) the same layer has "
                    f"{layer.params_reset_after_false:,} parameters: one bias per block instead of two.",
                    icon=":material/lightbulb:",
                )
            elif layer.cell == "gru":
                default_count = cell_params("gru", features=layer.features, units=layer.units) * (2 if layer.bidirectional else 1)
                st.info(
                    f"Keras' default reset_after=True gives {default_count:,} parameters: a second bias per "
                    "block, so the reset gate can act after the recurrent matmul (the cuDNN formulation).",
                    icon=":material/lightbulb:",
                )
            layer_weights = weights_frame(layer)
            st.dataframe(layer_weights, hide_index=True, width="stretch")
            download_csv_button(layer_weights, f"rnn_layer{position}_weights.csv", key=f"download_weights_{position}")
            if position == len(stack.layers):
                st.markdown("**What the layer returns** (in Keras' order):")
                returned_frame = outputs_frame(layer)
                st.dataframe(returned_frame, hide_index=True, width="stretch")
                download_csv_button(returned_frame, "rnn_outputs.csv", key="download_outputs")

        signature = (tuple(choice.specs), choice.timesteps, choice.features, choice.batch)
        if st.button("Verify with Keras", icon=":material/fact_check:", key="verify_keras"):
            with st.spinner("Importing TensorFlow and building the real layers…"):
                from core.rnn.keras_check import keras_stack_facts

                try:
                    facts = keras_stack_facts(choice.specs, timesteps=choice.timesteps, features=choice.features, batch=choice.batch)
                except ValueError as error:
                    show_value_error(error)
                else:
                    st.session_state[KERAS_CHECK] = (signature, facts)
        checked = st.session_state.get(KERAS_CHECK)
        if checked is not None and checked[0] == signature:
            keras_layers = checked[1]
            comparison = pd.DataFrame(
                [
                    {
                        "layer": ours.keras_code,
                        "output shapes (ours)": ", ".join(format_shape(shape) for shape in ours.output_shapes),
                        "output shapes (Keras)": ", ".join(format_shape(shape) for shape in theirs.output_shapes),
                        "params (ours)": ours.params,
                        "params (Keras)": theirs.params,
                        "match": ours.output_shapes == theirs.output_shapes and ours.params == theirs.params,
                    }
                    for ours, theirs in zip(stack.layers, keras_layers)
                ]
            )
            st.dataframe(comparison, hide_index=True, width="stretch", key="keras_comparison")
            download_csv_button(comparison, "rnn_keras_comparison.csv", key="download_keras_comparison")
            if comparison["match"].all():
                st.success("Keras agrees: every output shape and parameter count matches.", icon=":material/check_circle:")
            else:
                st.error("Keras disagrees with our figures; please report this as a bug.", icon=":material/error:")
        else:
            st.caption("Builds the real Keras layer(s) for these settings and compares (takes a few seconds the first time).")


def homework_answers(stack: StackReport | None, choice: LayerChoice) -> None:
    """Two homework answers to 'how many dimensions', shown as two slices of one 3-D tensor."""
    if stack is None:
        st.info("Fix the input above to see both answers with your numbers.", icon=":material/info:")
    else:
        views = sequence_views(batch=choice.batch, timesteps=choice.timesteps, features=choice.features, units=choice.units)
        batch_word = "m, left open as None" if choice.batch is None else f"m = {choice.batch}"
        answer_a, answer_b = st.columns(2)
        with answer_a.container(border=True):
            st.markdown("**Homework answer 1:** *x(t) is 2-D (timesteps, features) and the state is 1-D.*")
            st.markdown(
                f"It looks at **one sequence**: `X[i]` has shape `{format_shape(views.one_sequence_shape)}`, "
                f"one row x⟨t⟩ of `{views.one_vector_shape[0]}` features per step, and its hidden state "
                f"a⟨t⟩ is a vector of `{views.state_one_sequence_shape[0]}` units."
            )
        with answer_b.container(border=True):
            st.markdown("**Homework answer 2:** *each step's input is m × n_inputs, where m is the mini-batch.*")
            st.markdown(
                f"It looks at **one timestep across the mini-batch** ({batch_word}): `X[:, t, :]` has shape "
                f"`{format_shape(views.one_step_across_batch_shape)}`, and the state at that step is "
                f"`{format_shape(views.state_across_batch_shape)}`."
            )
        st.success(
            f"Both are right: they are two slices of the same 3-D tensor of shape "
            f"{format_shape(views.tensor_shape)} = (batch, timesteps, features). Fix the sequence and you get "
            f"answer 1's (timesteps, features); fix the timestep and you get answer 2's (batch, features) = "
            f"m × n_inputs. Keras always takes the whole 3-D tensor and loops over the middle axis.",
            icon=":material/handshake:",
        )

    st.markdown(
        "**Touch it.** A tiny batch of 3 sequences × 4 timesteps × 2 features whose entries spell their own "
        "index: 231 is sequence 2, timestep 3, feature 1. Pick a sequence for answer 1's view and a timestep for answer 2's."
    )
    tensor = labelled_tensor(batch=3, timesteps=4, features=2)
    pick_sequence, pick_step = st.columns(2)
    sequence_index = pick_sequence.slider("Sequence i (answer 1's view)", 1, 3, 1, key="view_sequence", persist_state="page")
    step_index = pick_step.slider("Timestep t (answer 2's view)", 1, 4, 1, key="view_step", persist_state="page")
    view_a, view_b = st.columns(2)
    view_a.markdown(f"`X[{sequence_index - 1}]`: shape (timesteps, features) = (4, 2)")
    view_a.dataframe(
        pd.DataFrame(tensor[sequence_index - 1], index=[f"t={t}" for t in range(1, 5)], columns=["feature 1", "feature 2"]),
        width="stretch",
    )
    view_b.markdown(f"`X[:, {step_index - 1}, :]`: shape (batch, features) = (3, 2)")
    view_b.dataframe(
        pd.DataFrame(tensor[:, step_index - 1, :], index=[f"sequence {i}" for i in range(1, 4)], columns=["feature 1", "feature 2"]),
        width="stretch",
    )


def unrolled_with_numbers() -> None:
    """A tiny SimpleRNN unrolled step by step with editable inputs, checkable against Keras."""
    st.markdown(
        f"A tiny SimpleRNN with {TINY_FEATURES} features, {TINY_UNITS} units and {TINY_TIMESTEPS} timesteps, "
        "weights drawn with a fixed seed and rounded so you can redo any step by hand. Keras' `SimpleRNN` "
        "outputs a⟨t⟩ itself; the prediction ŷ⟨t⟩ comes from a Dense softmax layer applied at every step."
    )
    st.latex(r"a^{\langle t \rangle} = \tanh\left(W_{aa}\,a^{\langle t-1 \rangle} + W_{ax}\,x^{\langle t \rangle} + b_a\right), \qquad a^{\langle 0 \rangle} = 0")
    st.latex(r"\hat y^{\langle t \rangle} = \mathrm{softmax}\left(W_{ya}\,a^{\langle t \rangle} + b_y\right)")
    weights = tiny_weights()
    st.latex(rf"W_{{aa}} = {latex_matrix(weights.W_aa)},\quad W_{{ax}} = {latex_matrix(weights.W_ax)},\quad b_a = {latex_matrix(weights.b_a)}")
    st.latex(rf"W_{{ya}} = {latex_matrix(weights.W_ya)},\quad b_y = {latex_matrix(weights.b_y)}")

    st.markdown("**The input sequence** x⟨1⟩…x⟨4⟩: edit any number.")
    default_inputs = pd.DataFrame(tiny_inputs(), index=[f"t={t}" for t in range(1, TINY_TIMESTEPS + 1)], columns=["x1", "x2"])
    # A closed tab's widgets are not drawn and Streamlit drops their state, so the edited
    # table is also kept under a key of its own: it is still there when the tab reopens.
    kept_inputs = st.session_state.get(KEPT_UNROLLED_INPUTS, default_inputs)
    edited = st.data_editor(kept_inputs, num_rows="fixed", width="stretch", key="unrolled_inputs")
    st.session_state[KEPT_UNROLLED_INPUTS] = edited
    try:
        steps = unroll_simple_rnn(edited.to_numpy(dtype=np.float64, na_value=np.nan), weights)
    except (ValueError, TypeError) as error:
        show_value_error(ValueError(str(error)))
        steps = None
    if steps is not None:
        for step in steps:
            with st.expander(f"Step t = {step.t}: x⟨{step.t}⟩ = {np.array2string(step.x, precision=2)}", expanded=step.t == 1):
                st.latex(step_latex(step, weights))
                st.caption("The same arithmetic, one row per hidden unit:")
                st.dataframe(step_frame(step).style.format("{:.4f}"), width="stretch")
                st.markdown(
                    f"ŷ⟨{step.t}⟩ = softmax(W_ya·a⟨{step.t}⟩ + b_y) = softmax(`{np.array2string(step.y_logits, precision=4)}`) "
                    f"= `{np.array2string(step.y, precision=4)}`"
                )
        st.markdown("**All steps at once**")
        all_steps = summary_frame(steps)
        st.dataframe(all_steps.style.format("{:.4f}"), width="stretch")
        download_csv_button(all_steps, "rnn_unrolled_steps.csv", key="download_unrolled_steps")

        current_inputs = tuple(np.round(np.stack([step.x for step in steps]), 10).ravel())
        if st.button("Check these numbers with Keras' SimpleRNN", icon=":material/fact_check:", key="verify_unrolled"):
            with st.spinner("Importing TensorFlow and running SimpleRNN with the same weights…"):
                from core.rnn.keras_check import keras_simple_rnn_outputs

                hidden, probabilities = keras_simple_rnn_outputs(np.stack([step.x for step in steps]), weights)
                ours_hidden = np.stack([step.a for step in steps])
                ours_y = np.stack([step.y for step in steps])
                st.session_state[UNROLLED_CHECK] = (
                    current_inputs,
                    float(np.max(np.abs(hidden - ours_hidden))),
                    float(np.max(np.abs(probabilities - ours_y))),
                )
        unrolled_check = st.session_state.get(UNROLLED_CHECK)
        if unrolled_check is not None and unrolled_check[0] == current_inputs:
            _, hidden_gap, output_gap = unrolled_check
            message = f"Largest difference from Keras: {hidden_gap:.1e} on a⟨t⟩, {output_gap:.1e} on ŷ⟨t⟩ (float32 rounding)."
            if max(hidden_gap, output_gap) < 1e-4:
                st.success(message, icon=":material/check_circle:")
            else:
                st.warning(message, icon=":material/warning:")


def the_four_patterns() -> None:
    """One-to-one, one-to-many, many-to-one, many-to-many and encoder–decoder, with their Keras flags and shapes."""
    st.markdown(
        "The same layer covers every input/output pattern; the flags decide which. Shapes below use a "
        "batch of 32 and are checked against Keras in the test suite."
    )
    for pattern in sequence_patterns():
        with st.container(border=True):
            diagram, text = st.columns([2, 3])
            diagram.graphviz_chart(pattern.diagram_dot)
            text.markdown(f"**{pattern.title}**")
            text.markdown(f"*Example:* {pattern.example_task}")
            text.markdown(f"*Keras:* {pattern.keras_flags}")
            text.caption(pattern.explanation)
            text.dataframe(
                pd.DataFrame(
                    [
                        {"output shape": ", ".join(format_shape(shape) for shape in stage.output_shapes), "Keras": stage.code}
                        for stage in pattern.stages
                    ]
                ),
                hide_index=True,
                width="stretch",
            )

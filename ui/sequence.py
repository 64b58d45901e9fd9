"""The sequence page's pieces: its controls, the training of the models not yet run, and its results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core import charts
from core.datasets import Dataset
from core.sequence import (
    DISPLAY_NAMES,
    MAX_UNITS,
    MODEL_KINDS,
    histories,
    misclassified,
    model_label,
    reported_rows,
    results_table,
)
from core.training import RunResult
from ui.render_memo import chart_spec
from ui.confusion import confusion_section, image_examples
from ui.export import download_csv_button, download_model_button
from ui.shareable import (
    bind_query_param,
    lock_state,
    locked_kwargs,
    publish_query_param,
    share_link,
    shared_multiselect,
    shared_number,
    shared_selectbox,
    shared_toggle,
)

UNIT_CHOICES = (50, 128, 300, "other")
OPTIMIZER_NAMES = {"rmsprop": "RMSProp", "adam": "Adam"}
# Far longer than any learning rate anyone types; a longer link value is refused with a notice.
LEARNING_RATE_CHARS = 32


@dataclass(frozen=True)
class SequenceControls:
    """What the page's controls hold; the learning rate stays text so its error can name what was typed."""

    kinds: list[str]
    units: int
    batch_size: int
    optimizer: str
    learning_rate_text: str
    epochs: int
    train_size: int
    one_cycle: bool
    time_limit: int


def checked_rate_text(raw: str) -> str:
    """A link's learning-rate text, kept as typed (a bad number is explained below the settings) unless too long."""
    if len(raw) > LEARNING_RATE_CHARS:
        raise ValueError(f"a learning rate is at most {LEARNING_RATE_CHARS} characters, such as 0.001 or 1e-3")
    return raw


def controls() -> SequenceControls:
    """The models, sizes and training settings, each kept in the page's link."""
    with st.container(border=True):
        kinds = shared_multiselect("Models to train", MODEL_KINDS, default=MODEL_KINDS, format_func=DISPLAY_NAMES.get, key="models")
        left, middle, right = st.columns(3)
        with left:
            units_choice = shared_selectbox(
                "Hidden units (recurrent models)", UNIT_CHOICES, default=128, key="units_choice",
                format_func=lambda choice: "other…" if choice == "other" else str(choice),
                help="The size of the hidden state h(t). The CNN does not use it.",
            )
            # Capped at what core.sequence accepts, so a link past it (a number box silently mangles
            # whole numbers past 2**53) falls back with a notice. No minimum on purpose: 0 or less
            # reaches sequence_config, whose error says which sizes are allowed.
            units = (
                shared_number("Other number of hidden units", max_value=MAX_UNITS, default=64, step=1, key="units_other")
                if units_choice == "other" else units_choice
            )
            batch_size = shared_selectbox("Batch size", (16, 32, 64, 128, 256), default=128, key="batch_size")
        with middle:
            optimizer = shared_selectbox("Optimizer", tuple(OPTIMIZER_NAMES), format_func=OPTIMIZER_NAMES.get, key="optimizer")
            # Kept as text so "1e-3" can be typed; a bad value is reported below, not refused silently.
            bind_query_param("learning_rate", checked_rate_text, "1e-3", label="Learning rate")
            if lock_state("learning_rate") == "hidden":
                learning_rate_text = st.session_state["learning_rate"]
            else:
                learning_rate_text = st.text_input(
                    "Learning rate", key="learning_rate", max_chars=LEARNING_RATE_CHARS,
                    **locked_kwargs("learning_rate", {"help": "A number such as 0.001 or 1e-3."}),
                )
                publish_query_param("learning_rate", learning_rate_text)
        with right:
            epochs = shared_number("Epochs", min_value=1, max_value=100, default=5, step=1, key="epochs")
            train_size = shared_number(
                "Training images", min_value=100, max_value=60_000, default=6_000, step=500, key="train_size",
                help="A seeded random subset of the training set; the test set is always used whole.",
            )
        schedule_column, budget_column = st.columns(2)
        with schedule_column:
            one_cycle = shared_toggle(
                "One-cycle learning rate", default=False, key="one_cycle",
                help="Warm up to the learning rate over the first 30% of training, then decay it to near zero. "
                "With Adam, batch 64 and a 60 s limit this reaches 96–98% on real MNIST (see the benchmark).",
            )
        with budget_column:
            time_limit = shared_number(
                "Time limit per model (s, 0 = none)", min_value=0, max_value=600, default=0, step=10, key="time_limit",
                help="Stop each model after this many seconds of training, even before the last epoch.",
            )
        share_link()
    return SequenceControls(
        list(kinds), units, int(batch_size), optimizer, learning_rate_text, int(epochs), int(train_size), bool(one_cycle), int(time_limit)
    )


def show_results(results: list[RunResult], dataset: Dataset) -> None:
    """Warnings for runs that failed to learn, the results table, downloads and learning curves."""
    st.subheader("Results")
    chance = 1 / dataset.num_classes
    for result in results:
        if result.diverged:
            st.warning(f"{model_label(result.config)}: {result.message}", icon=":material/warning:")
        elif result.test_accuracy < 2 * chance:
            st.warning(
                f"{model_label(result.config)} is close to guessing ({result.test_accuracy:.0%} against "
                f"{chance:.0%} by chance): too few epochs or images, or a learning rate too high for it.",
                icon=":material/warning:",
            )
    results_frame = pd.DataFrame(results_table(results))
    st.dataframe(
        results_frame,
        hide_index=True,
        column_config={
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "params": st.column_config.NumberColumn(format="localized"),
            "s / epoch": st.column_config.NumberColumn(format="%.2f"),
            "total s": st.column_config.NumberColumn(format="%.1f"),
        },
        key="results_table",
    )
    download_csv_button(results_frame, "sequence_models_results.csv", key="download_results")
    for column, result in zip(st.columns(len(results)), results):
        with column:
            download_model_button(result, key=f"download_{result.config.architecture}", label=f"{model_label(result.config)} (.keras)")
    frame = charts.history_frame(histories(results))
    accuracy_column, loss_column = st.columns(2)
    accuracy_column.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="accuracy"), width="stretch")
    loss_column.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="loss"), width="stretch")
    st.caption("Solid lines: the test set, measured after every epoch. Dashed: the training batches.")


def show_confusion(results: list[RunResult], dataset: Dataset) -> None:
    """Every model's confusion matrix; a clicked (or chosen) cell shows its test digits."""
    st.subheader("Confusion matrices")
    confusion_section(
        {model_label(result.config): result.predicted_labels for result in results}, dataset.y_test, dataset.class_names,
        key="seq_confusion", show_examples=image_examples(dataset.x_test), examples="test digits",
    )


def show_mistakes(results: list[RunResult], dataset: Dataset) -> None:
    """The chosen model's most confident mistakes, as enlarged digits."""
    st.subheader("Misclassified test digits")
    inspected_label = st.selectbox("Model", [model_label(result.config) for result in results], key="inspect_model")
    inspected = next(result for result in results if model_label(result.config) == inspected_label)
    mistakes = misclassified(inspected, dataset.y_test, limit=10)
    if not mistakes:
        st.write("No misclassified test images to show" + (" (the run diverged)." if inspected.diverged else "."))
        return
    height = dataset.input_shape[0]
    scale = max(1, 84 // height)
    images = [np.kron(dataset.x_test[m.index, :, :, 0], np.ones((scale, scale), dtype=np.uint8)) for m in mistakes]
    captions = [f"true {m.true_label} → {m.predicted_label} ({m.confidence:.0%})" for m in mistakes]
    st.image(images, caption=captions, width=height * scale)
    wrong = int(np.sum(inspected.predicted_labels != dataset.y_test))
    st.caption(f"The {len(mistakes)} most confident mistakes of {wrong:,} in {len(dataset.y_test):,} test images.")


def show_reported() -> None:
    """The homework's and public runs' figures, labelled as theirs."""
    st.subheader("What others reported (not measured here)")
    st.dataframe(
        pd.DataFrame(reported_rows()),
        hide_index=True,
        column_config={"reported test accuracy": st.column_config.NumberColumn(format="percent")},
        key="reported_table",
    )
    st.caption(
        "These are someone else's numbers, not runs of this app. Runs here train on a subset of MNIST for a few "
        "epochs, so expect lower figures; the 8×8 offline digits are a different, smaller task altogether."
    )

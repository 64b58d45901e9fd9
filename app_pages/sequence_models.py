"""RNN vs LSTM vs GRU vs CNN: classify MNIST digits by reading each image one row per timestep."""

from __future__ import annotations

import streamlit as st

from core import settings
from core.datasets import Dataset, load_dataset
from core.homework import HOMEWORK
from core.sequence import is_sequence_run, model_label, parse_learning_rate, sequence_config
from core.training import list_cached_runs
from ui.sequence import (
    controls,
    show_confusion,
    show_mistakes,
    show_reported,
    show_results,
)
from ui.code_export import code_section
from ui.importance import what_mattered_section
from ui.seeds import seed_section
from ui.training import Planned, training_section
from ui.widgets import dataset_banner, show_value_error
from ui.exercise import exercise_footer, exercise_header


@st.cache_resource(show_spinner="Loading MNIST…", max_entries=4)
def load_mnist(data_dir: str | None, train_size: int) -> Dataset:
    """MNIST (or the offline digits) with a seeded training subset, shared by every session."""
    return load_dataset("mnist", data_dir=data_dir, train_size=train_size, seed=0)


st.title("RNN vs LSTM vs GRU vs CNN")
st.markdown(
    "A recurrent network can classify an image by reading it **one row per timestep**: a 28×28 "
    "MNIST digit becomes a sequence of 28 steps with 28 numbers each, and the hidden state after "
    f"the last row feeds a softmax over the 10 digits. {HOMEWORK['elec576_a2'].name} trains a basic RNN, "
    "an LSTM and a GRU this way (128 hidden units, RMSProp 1e-3) and compares them with a small CNN, "
    "which sees the whole image at once."
)
exercise_header()
chosen = controls()

# ---------------------------------------------------------------------------------------------
# Data
data_dir = settings.data_dir()
try:
    dataset = load_mnist(str(data_dir) if data_dir is not None else None, chosen.train_size)
except ValueError as error:
    show_value_error(error)
    st.stop()
dataset_banner(dataset)
height, width = dataset.input_shape[:2]
st.caption(
    f"Each image is read as **{height} timesteps × {width} features** (one row of pixels per step). "
    f"Training on {len(dataset.x_train):,} images"
    + (" (all there are)" if len(dataset.x_train) < chosen.train_size else "")
    + f", testing on {len(dataset.x_test):,}."
)
if not chosen.kinds:
    st.info("Choose at least one model to train.", icon=":material/info:")
    st.stop()

# ---------------------------------------------------------------------------------------------
# Train what has not run with these settings
try:
    configs = [
        sequence_config(
            kind,
            units=int(chosen.units),
            optimizer=chosen.optimizer,
            learning_rate=parse_learning_rate(chosen.learning_rate_text),
            epochs=chosen.epochs,
            batch_size=chosen.batch_size,
            lr_schedule="one_cycle" if chosen.one_cycle else "constant",
            time_budget_seconds=float(chosen.time_limit) if chosen.time_limit else None,
        )
        for kind in chosen.kinds
    ]
except ValueError as error:
    show_value_error(error)
    st.stop()
done = training_section(
    [Planned(model_label(config), config, dataset) for config in configs], key="train",
    help="Trains the selected models that have not run with these settings; finished runs are cached.",
)
seed_section({model_label(config): config for config in configs}, dataset)

# ---------------------------------------------------------------------------------------------
# Results
results = [done[model_label(config)] for config in configs if model_label(config) in done]
if results:
    show_results(results, dataset)
    code_section(results, key="seq_code", label=lambda run: model_label(run.config))
    show_confusion(results, dataset)
    show_mistakes(results, dataset)
what_mattered_section(list_cached_runs(predicate=lambda run: is_sequence_run(run, dataset)), key="seq_mattered")
show_reported()
exercise_footer()

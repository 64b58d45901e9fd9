"""CIFAR CNN lab: train the homework CNNs on CIFAR-10, compare hyperparameters, look inside the filters."""

from __future__ import annotations

import streamlit as st

from core.cifar import (
    ACTIVATIONS,
    ARCHITECTURES,
    BATCH_SIZES,
    CS577,
    DATASETS,
    ELEC576,
    INITIALIZER_LABELS,
    INITIALIZERS,
    LEARNING_RATES,
    OPTIMIZERS,
    PRESETS,
    SWEEPABLE,
    LabSettings,
    format_rate,
    format_value,
    is_lab_run,
    sweep,
)
from core.training import list_cached_runs
from ui.cifar import (
    apply_preset,
    curves_section,
    inside_section,
    lab_dataset,
    reported_section,
    runs_section,
    train_section,
)
from ui.shareable import (
    is_free,
    share_link,
    shared_checkbox,
    shared_multiselect,
    shared_number,
    shared_radio,
    shared_select_slider,
    shared_selectbox,
    shared_slider,
    shared_toggle,
)
from ui.code_export import code_section
from ui.importance import what_mattered_section
from ui.seeds import seed_section
from ui.widgets import dataset_banner, show_value_error
from ui.exercise import exercise_footer, exercise_header

DEFAULT_ARCHITECTURE = "cifar_fast"
MODES = {"single": "Single run", "compare": "Compare: sweep one control"}

st.title("CIFAR CNN lab")
st.markdown(
    f"Two homework write-ups, made live. **{ELEC576}** trains a LeNet-style CNN on "
    "CIFAR-10 shrunk to 28×28 grayscale and compares activations, learning rates, optimizers, "
    f"initialisations and training lengths; **{CS577}** trains a colour CIFAR-10 baseline, "
    "then adds inception and residual blocks. Change a control and click **Train**; finished runs are "
    "cached, so any configuration trained before shows at once. **Compare** mode sweeps one control."
)
exercise_header()

# ---------------------------------------------------------------------------------------------
# Controls

# Every control below lives in the URL (its key is the query name), so a pasted link reopens this
# exact experiment. The architecture comes first: its recipe gives the defaults of the others.
with st.container(border=True):
    data_column, size_column, seed_column = st.columns(3)
    with data_column:
        dataset_name = shared_radio("Dataset", tuple(DATASETS), format_func=DATASETS.get, key="dataset", horizontal=True)
    with size_column:
        per_class = shared_number(
            "Training samples per class",
            min_value=10,
            max_value=5_000,
            default=800,
            step=100,
            key="per_class",
            help=f"{ELEC576} used 800 per class (8,000 images). A seeded random subset; the test set is used whole.",
        )
    with seed_column:
        seed = shared_number(
            "Seed", min_value=0, max_value=9_999, default=0, step=1, key="seed",
            help="Fixes the training subset, the initial weights and the shuffling.",
        )

    architecture = shared_selectbox(
        "Architecture", tuple(ARCHITECTURES), default=DEFAULT_ARCHITECTURE, format_func=ARCHITECTURES.get,
        key="architecture", on_change=apply_preset,
        help=f"Choosing an architecture loads its own settings ({ELEC576}'s for the LeNet, the measured "
        "fastest recipe for the fast default); change them freely afterwards.",
    )
    recipe = PRESETS[architecture]
    left, middle, right = st.columns(3)
    with left:
        activation = shared_selectbox("Activation", ACTIVATIONS, default=recipe["activation"], key="activation")
        initializer = shared_selectbox(
            "Initializer", INITIALIZERS, default=recipe["initializer"], format_func=INITIALIZER_LABELS.get, key="initializer"
        )
        dropout = shared_slider("Dropout", 0.0, 0.9, step=0.05, default=recipe["dropout"], key="dropout")
    with middle:
        optimizer = shared_selectbox(
            "Optimizer", tuple(OPTIMIZERS), default=recipe["optimizer"], format_func=OPTIMIZERS.get, key="optimizer"
        )
        learning_rate = shared_select_slider(
            "Learning rate (log scale)", LEARNING_RATES, default=recipe["learning_rate"], format_func=format_rate,
            key="learning_rate",
        )
        one_cycle = shared_checkbox(
            "One-cycle schedule", default=recipe["one_cycle"], key="one_cycle",
            help="Warm up to the learning rate over the first 30% of training, then decay it to nearly 0.",
        )
    with right:
        batch_size = shared_selectbox("Batch size", BATCH_SIZES, default=recipe["batch_size"], key="batch_size")
        length_unit = shared_radio("Train for", ("epochs", "iterations"), horizontal=True, key="length_unit")
        if length_unit == "epochs":
            epochs = shared_number("Epochs", min_value=1, max_value=200, default=10, step=1, key="epochs")
            iterations = None
        else:
            epochs = 1
            iterations = shared_number(
                "Iterations (batches)", min_value=1, max_value=100_000, default=5_000, step=500, key="iterations",
                help=f"{ELEC576} trained for 5,000 and 8,000 iterations of batch 50.",
            )
        augment = shared_toggle("Augmentation (random flip + crop)", default=recipe["augment"], key="augment")
        budget = shared_number(
            "Stop after (seconds, 0 = no limit)", min_value=0, max_value=3_600, default=0, step=30, key="time_budget",
            help="A training-time budget; the run stops at the end of the batch that crosses it.",
        )

    mode = shared_radio("Mode", tuple(MODES), format_func=MODES.get, horizontal=True, key="mode")
    sweep_control = None
    sweep_values: list = []
    # In an exercise, only what students may change can be swept: a sweep of a locked control unlocks it.
    sweepable = tuple(name for name in SWEEPABLE if is_free(name))
    if mode == "compare" and not sweepable:
        st.info("This exercise fixes every control a comparison could sweep: train single runs.", icon=":material/lock:")
    elif mode == "compare":
        sweep_control = shared_selectbox(
            "Control to sweep", sweepable, format_func=lambda name: SWEEPABLE[name][0], key="sweep_control"
        )
        label, choices, preselected = SWEEPABLE[sweep_control]
        sweep_values = shared_multiselect(
            f"{label} values to compare",
            choices,
            default=list(preselected),
            format_func=lambda value, control=sweep_control: format_value(control, value),
            key=f"sweep_values_{sweep_control}",
        )
    share_link()

try:
    base = LabSettings(
        dataset=dataset_name,
        per_class=int(per_class),
        architecture=architecture,
        activation=activation,
        initializer=initializer,
        dropout=float(dropout),
        optimizer=optimizer,
        learning_rate=float(learning_rate),
        batch_size=int(batch_size),
        epochs=int(epochs),
        iterations=int(iterations) if iterations is not None else None,
        augment=bool(augment),
        one_cycle=bool(one_cycle),
        seed=int(seed),
        time_budget_seconds=float(budget) if budget else None,
    )
    planned = [base] if sweep_control is None else sweep(base, sweep_control, sweep_values)
    dataset = lab_dataset(base)
except ValueError as error:
    show_value_error(error)
    st.stop()
dataset_banner(dataset)
st.caption(
    f"Input {'×'.join(map(str, dataset.input_shape))} · {len(dataset.x_train):,} training images · "
    f"{len(dataset.x_test):,} test images. Per-epoch test curves are measured on the test set, as the homework write-ups did."
)

current = train_section(planned, sweep_control)
if sweep_control is None:  # a sweep already compares runs; the seeds repeat the single one
    seed_section({"this run": base.train_config()}, dataset)
chosen = runs_section(dataset, DATASETS[dataset_name], current)
curves_section(chosen, current)
code_section(chosen, key="cifar_code")
inside_section(chosen, dataset)
what_mattered_section(list_cached_runs(predicate=lambda run: is_lab_run(run, dataset.name)), key="cifar_mattered")
reported_section()
exercise_footer()

"""CIFAR CNN lab: train the homework CNNs on CIFAR-10, compare hyperparameters, look inside the filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, fit_worker, settings
from core.cache import cached_arrays
from core.cifar_lab import (
    ACTIVATIONS,
    ARCHITECTURES,
    BATCH_SIZES,
    DATASETS,
    INITIALIZERS,
    LEARNING_RATES,
    OPTIMIZERS,
    PRESETS,
    SEED_REPORTED,
    SWEEPABLE,
    LabSettings,
    format_rate,
    format_value,
    is_lab_run,
    run_label,
    runs_table,
    sweep,
)
from core.datasets import Dataset, load_dataset
from core.training import RunResult, cached_result, list_cached_runs, train
from core.uploads import UploadError, open_image
from ui.export import download_csv_button, download_model_button
from ui.shareable import (
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
from ui.widgets import dataset_banner, progress_reporter, show_failure, show_value_error

DEFAULT_ARCHITECTURE = "cifar_fast"
MODES = {"single": "Single run", "compare": "Compare: sweep one control"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]


@st.cache_resource(show_spinner="Loading CIFAR-10…", max_entries=4)
def load_cifar(name: str, data_dir: str | None, per_class: int, seed: int) -> Dataset:
    """A CIFAR variant with ``per_class`` training images per class, shared read-only by every session."""
    return load_dataset(name, data_dir=data_dir, per_class=per_class, seed=seed)


def apply_preset() -> None:
    """When the architecture changes, start from that architecture's own recommended settings."""
    for name, value in PRESETS[st.session_state["architecture"]].items():
        st.session_state[name] = value


def layer_statistics(result: RunResult, dataset: Dataset) -> pd.DataFrame:
    """Seed 003's activation statistics for a run over this test set, computed once and kept on disk."""
    from core import viz
    from core.training import load_model, prepare_inputs

    def compute() -> dict[str, np.ndarray]:
        stats = viz.activation_statistics(load_model(result), prepare_inputs(dataset.x_test))
        return {
            "layers": np.array([s.layer for s in stats]),
            "values": np.array([[s.mean, s.std, s.var] for s in stats], dtype=np.float64).reshape(-1, 3),
        }

    arrays = cached_arrays("cifar_activation_stats", f"{result.key}-{dataset.fingerprint}", compute)
    frame = pd.DataFrame(arrays["values"], columns=["mean", "std", "var"])
    frame.insert(0, "layer", [str(name) for name in arrays["layers"]])
    return frame


st.title("CIFAR CNN lab")
st.markdown(
    "Two homework write-ups, made live. **Seed 003** (Rice ELEC 576) trains a LeNet-style CNN on "
    "CIFAR-10 shrunk to 28×28 grayscale and compares activations, learning rates, optimizers, "
    "initialisations and training lengths; **seed 004** (CS-577) trains a colour CIFAR-10 baseline, "
    "then adds inception and residual blocks. Change a control and click **Train**; finished runs are "
    "cached, so any configuration trained before shows at once. **Compare** mode sweeps one control."
)

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
            help="Seed 003 used 800 per class (8,000 images). A seeded random subset; the test set is used whole.",
        )
    with seed_column:
        seed = shared_number(
            "Seed", min_value=0, max_value=9_999, default=0, step=1, key="seed",
            help="Fixes the training subset, the initial weights and the shuffling.",
        )

    architecture = shared_selectbox(
        "Architecture", tuple(ARCHITECTURES), default=DEFAULT_ARCHITECTURE, format_func=ARCHITECTURES.get,
        key="architecture", on_change=apply_preset,
        help="Choosing an architecture loads its own settings (seed 003's for the LeNet, the measured "
        "fastest recipe for the fast default); change them freely afterwards.",
    )
    recipe = PRESETS[architecture]
    left, middle, right = st.columns(3)
    with left:
        activation = shared_selectbox("Activation", ACTIVATIONS, default=recipe["activation"], key="activation")
        initializer = shared_selectbox(
            "Initializer", tuple(INITIALIZERS), default=recipe["initializer"], format_func=INITIALIZERS.get, key="initializer"
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
                help="Seed 003 trained for 5,000 and 8,000 iterations of batch 50.",
            )
        augment = shared_toggle("Augmentation (random flip + crop)", default=recipe["augment"], key="augment")
        budget = shared_number(
            "Stop after (seconds, 0 = no limit)", min_value=0, max_value=3_600, default=0, step=30, key="time_budget",
            help="A training-time budget; the run stops at the end of the batch that crosses it.",
        )

    mode = shared_radio("Mode", tuple(MODES), format_func=MODES.get, horizontal=True, key="mode")
    sweep_control = None
    sweep_values: list = []
    if mode == "compare":
        sweep_control = shared_selectbox(
            "Control to sweep", tuple(SWEEPABLE), format_func=lambda name: SWEEPABLE[name][0], key="sweep_control"
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

data_dir = settings.data_dir()
data_dir_text = str(data_dir) if data_dir is not None else None
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
    dataset = load_cifar(dataset_name, data_dir_text, int(per_class), int(seed))
except ValueError as error:
    show_value_error(error)
    st.stop()
dataset_banner(dataset)
st.caption(
    f"Input {'×'.join(map(str, dataset.input_shape))} · {len(dataset.x_train):,} training images · "
    f"{len(dataset.x_test):,} test images. Per-epoch test curves are measured on the test set, as the seeds did."
)


def dataset_for(plan: LabSettings) -> Dataset:
    """The dataset a planned run trains on (a sample-size sweep needs other subsets)."""
    if plan.per_class == base.per_class and plan.seed == base.seed:
        return dataset
    return load_cifar(plan.dataset, data_dir_text, plan.per_class, plan.seed)


# ---------------------------------------------------------------------------------------------
# Training

try:
    configs = [(plan, plan.train_config()) for plan in planned]
    current: list[RunResult | None] = [cached_result(config, dataset_for(plan)) for plan, config in configs]
except ValueError as error:
    show_value_error(error)
    st.stop()
pending = [index for index, result in enumerate(current) if result is None]

if pending:
    fit_worker.prestart()  # load TensorFlow in the training process before the click, not after

clicked = st.button(
    ("Train" if len(pending) == 1 else f"Train {len(pending)} runs") if pending else "Trained: results below",
    type="primary",
    icon=":material/play_arrow:",
    disabled=not pending,
    key="train",
    help="Runs never start on their own; every finished run is cached on disk.",
)
if clicked and pending:
    failed = False
    for position, index in enumerate(pending):
        plan, config = configs[index]
        what = "this run" if sweep_control is None else f"{SWEEPABLE[sweep_control][0]} = {format_value(sweep_control, getattr(plan, sweep_control))}"
        report, clear = progress_reporter(f"Run {position + 1} of {len(pending)} ({what})…")
        try:
            current[index] = train(config, dataset_for(plan), on_progress=report)
        except ValueError as error:
            failed = True
            show_value_error(error)
        except Exception as error:  # a failed fit must not take the page down with it
            failed = True
            show_failure(f"Training {what}", error)
        clear()
    if not failed:
        # Everything is in the cache now; start over so the button and table reflect it.
        st.rerun()
    pending = [index for index, result in enumerate(current) if result is None]

if pending:
    st.info(
        f"{len(pending)} of {len(configs)} configuration(s) not trained yet. Click **Train**.",
        icon=":material/hourglass_empty:",
    )
for result in current:
    if result is not None and result.diverged:
        st.error(f"Run {result.key[:6]} diverged and was recorded as such. {result.message}", icon=":material/warning:")

# ---------------------------------------------------------------------------------------------
# The runs table and the overlaid curves

all_runs = list_cached_runs(predicate=lambda result: is_lab_run(result, dataset.name))
chosen: list[RunResult] = []
if all_runs:
    st.subheader("Runs")
    table = pd.DataFrame(runs_table(all_runs))
    event = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        # Rows are newest first, so a new run shifts them; a new key drops a selection that would now point elsewhere.
        key=f"runs_table_{len(all_runs)}",
        column_config={
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "best test accuracy": st.column_config.NumberColumn(format="percent"),
            "params": st.column_config.NumberColumn(format="localized"),
        },
    )
    download_csv_button(table, "cifar_runs.csv", key="download_runs")
    selected_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected_rows:
        chosen = [all_runs[row] for row in selected_rows if row < len(all_runs)]
        st.caption(f"Every run on {DATASETS[dataset_name]}{' (offline stand-in)' if dataset.is_fallback else ''} so far, newest first. Showing the {len(chosen)} selected.")
    else:
        chosen = [result for result in current if result is not None] or all_runs[:1]
        st.caption(
            f"Every run on {DATASETS[dataset_name]}{' (offline stand-in)' if dataset.is_fallback else ''} so far, newest first. Select rows to overlay them; "
            "until then the current configuration's runs are shown."
        )

if chosen:
    histories = {run_label(result): result.history for result in chosen}
    frame = charts.history_frame(histories)
    accuracy_tab, loss_tab = st.tabs(["Accuracy", "Loss"])
    for tab, metric in ((accuracy_tab, "accuracy"), (loss_tab, "loss")):
        # Run labels are long; below the plot they neither squeeze it nor get cut off.
        chart = charts.learning_curves(frame, metric=metric, height=320).configure_legend(
            orient="bottom", direction="vertical", labelLimit=0
        )
        tab.altair_chart(chart, width="stretch")
    st.caption("Solid: test set after every epoch. Dashed: training batches. Iteration runs are drawn per epoch too.")
    current_keys = {result.key for result in current if result is not None}
    for result in chosen:
        if result.diverged and result.key not in current_keys:
            st.error(f"Run {result.key[:6]} diverged. {result.message}", icon=":material/warning:")

# ---------------------------------------------------------------------------------------------
# Inside one model

def show_inside(inspected: RunResult) -> None:
    """The chosen run's filters, feature maps, activation statistics, saliency and predictions."""
    from core import viz
    from core.datasets.cifar import to_model_input
    from core.training import load_model, prepare_inputs

    model = load_model(inspected)
    input_shape = tuple(model.input_shape[1:])
    if input_shape != dataset.input_shape:
        st.warning(
            f"This run was trained on {input_shape} inputs but the data shown is {dataset.input_shape}.",
            icon=":material/warning:",
        )
        return

    image_column, upload_column = st.columns(2)
    test_index = image_column.number_input(
        "Test image number", min_value=0, max_value=len(dataset.x_test) - 1, value=0, step=1, key="test_index"
    )
    upload = upload_column.file_uploader(
        "…or upload your own image", type=UPLOAD_TYPES, key="upload",
        help="Any photo; it is converted to the model's input size and colour mode.",
    )
    image = dataset.x_test[int(test_index)]
    true_label: str | None = dataset.class_names[int(dataset.y_test[int(test_index)])]
    if upload is not None:
        try:
            image = to_model_input(open_image(upload.getvalue(), name=upload.name), input_shape)
            true_label = None
        except UploadError as error:
            show_value_error(error)
    prepared = prepare_inputs(image[np.newaxis])[0]
    probabilities = model.predict(prepared[np.newaxis], verbose=0)[0]
    predicted = int(np.argmax(probabilities))
    scale = max(1, 112 // input_shape[0])
    display = image[..., 0] if image.shape[-1] == 1 else image

    picture_column, probability_column = st.columns([1, 2])
    picture_column.image(
        viz.enlarge(display, scale),
        caption=("your image, as the model sees it" if true_label is None else f"test image {int(test_index)}: {true_label}"),
    )
    probability_column.altair_chart(
        charts.probability_bars(charts.probability_frame(dataset.class_names, probabilities)), width="stretch"
    )
    probability_column.caption(f"Predicted: **{dataset.class_names[predicted]}** ({probabilities[predicted]:.0%}).")

    filters_tab, maps_tab, stats_tab, saliency_tab = st.tabs(
        ["First-layer filters", "Feature maps", "Activation statistics", "Saliency & Grad-CAM"]
    )
    with filters_tab:
        first = viz.conv_layers(model)[0]
        kernel = first.get_weights()[0]
        st.image(viz.filter_grid(kernel, upscale=max(1, 48 // kernel.shape[0])))
        st.caption(
            f"The {kernel.shape[-1]} filters of `{first.name}` ({kernel.shape[0]}×{kernel.shape[1]}), each scaled "
            "by its own min and max as in seed 003"
            + ("; shown in RGB because the input has three channels." if kernel.shape[2] == 3 else ".")
        )
    with maps_tab:
        maps = viz.feature_maps(model, prepared)
        for position, (name, feature_map) in enumerate(maps):
            height, width, channels = feature_map.shape
            with st.expander(f"{name}: {height}×{width}×{channels}", expanded=position < 2):
                st.image(viz.enlarge(viz.feature_map_grid(feature_map, limit=32), max(1, 56 // height)))
        st.caption("Each channel standardised as in seed 004 (×64 + 128); at most 32 channels per layer.")
    with stats_tab:
        stats = layer_statistics(inspected, dataset)
        st.dataframe(stats, hide_index=True, key="activation_stats")
        download_csv_button(stats, f"cifar_activation_stats_{inspected.key[:8]}.csv", key="download_activation_stats")
        st.altair_chart(charts.activation_stats_chart(stats), width="stretch")
        st.caption(
            f"Over all {len(dataset.x_test):,} test images, as seed 003 printed them. Activations that die "
            "(mean and std near 0) or saturate (sigmoid stuck near 0.5 with tiny std) show up here first."
        )
    with saliency_tab:
        target = st.selectbox(
            "Explain the class", range(len(dataset.class_names)), index=predicted,
            format_func=lambda index: dataset.class_names[index] + (" (predicted)" if index == predicted else ""),
            key="explain_class",
        )
        saliency = viz.saliency_map(model, prepared, class_index=int(target))
        cam = viz.grad_cam(model, prepared, class_index=int(target))
        original, saliency_column, cam_column = st.columns(3)
        side = 160  # the same on-screen size for all three, so they line up pixel for pixel
        original.image(viz.enlarge(display, scale), caption="input", width=side)
        saliency_column.image(
            viz.enlarge(viz.normalize_min_max(saliency), scale), caption="saliency |∂score/∂pixel|", width=side
        )
        cam_column.image(viz.enlarge(viz.heatmap_overlay(image, cam), scale), caption="Grad-CAM (red/yellow = evidence)", width=side)
        st.markdown(
            "Zeiler & Fergus' deconvnet (which seed 003 summarises) projected activations back to pixels to "
            "see what a layer responds to. Today the usual answers are the **saliency map**, the gradient "
            "of the class score with respect to each input pixel, and **Grad-CAM**, which weights the last "
            "feature maps by how much the class score depends on them to show *where* the evidence lies."
        )


inspectable = [result for result in chosen if not result.diverged]
if chosen and not inspectable:
    st.info("The runs shown diverged (their weights are NaN), so there is nothing to look inside.", icon=":material/info:")
if inspectable:
    st.subheader("Inside a trained model")
    labels = {run_label(result): result for result in inspectable}
    inspected_run = labels[st.selectbox("Run to inspect", tuple(labels), key="inspect_run")]
    download_model_button(inspected_run, key="download_model", label="Download this trained model (.keras)")
    show_inside(inspected_run)

# ---------------------------------------------------------------------------------------------

st.subheader("What the seeds reported (their numbers, not measured here)")
seed_reported = pd.DataFrame(SEED_REPORTED)
st.dataframe(
    seed_reported,
    hide_index=True,
    column_config={"reported test accuracy": st.column_config.NumberColumn(format="percent")},
    key="seed_reported",
)
download_csv_button(seed_reported, "cifar_seed_reported.csv", key="download_seed_reported")
st.caption(
    "Seed 003 trained on 8,000 gray images for 5,000 iterations; seed 004 on the full 50,000 colour images. "
    "Runs here use whatever data and budget you chose, and the offline fallback is a different task entirely."
)

"""The CIFAR CNN lab's Streamlit sections: the data, training the planned runs, the runs table, and inside a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, settings, viz
from core.cifar import (
    CS577,
    ELEC576,
    PRESETS,
    LabSettings,
    activation_statistics_rows,
    is_lab_run,
    plan_label,
    reported_figures,
    run_label,
    runs_table,
)
from core.datasets import Dataset, load_dataset
from core.inspection import feature_map_layers, image_explanation, image_id, image_inspection
from core.training import RunResult, list_cached_runs
from ui.render_memo import chart_spec, picture_png
from ui.exercise import runs_students_may_see
from core.uploads import UploadError, open_image
from ui.confusion import confusion_section, image_examples
from ui.export import download_csv_button, download_model_button
from ui.inspection import conv_arithmetic_section
from ui.training import Planned, training_section
from ui.widgets import show_value_error

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
PERCENT = st.column_config.NumberColumn(format="percent")


@st.cache_resource(show_spinner="Loading CIFAR-10…", max_entries=4)
def load_cifar(name: str, data_dir: str | None, per_class: int, seed: int) -> Dataset:
    """A CIFAR variant with ``per_class`` training images per class, shared read-only by every session."""
    return load_dataset(name, data_dir=data_dir, per_class=per_class, seed=seed)


def lab_dataset(plan: LabSettings) -> Dataset:
    """The dataset a planned run trains on (a sample-size or seed sweep needs other subsets)."""
    data_dir = settings.data_dir()
    return load_cifar(plan.dataset, str(data_dir) if data_dir is not None else None, plan.per_class, plan.seed)


def apply_preset() -> None:
    """When the architecture changes, start from that architecture's own recommended settings."""
    for name, value in PRESETS[st.session_state["architecture"]].items():
        st.session_state[name] = value


def train_section(planned: list[LabSettings], sweep_control: str | None) -> list[RunResult | None]:
    """The planned runs: cached ones at once, the others trained when the (shared) Train button is clicked."""
    try:
        runs = [Planned(plan_label(plan, sweep_control), plan.train_config(), lab_dataset(plan)) for plan in planned]
    except ValueError as error:
        show_value_error(error)
        st.stop()
    done = training_section(
        runs, key="train", button=lambda pending: "Train" if pending == 1 else f"Train {pending} runs",
        help="Runs never start on their own; every finished run is cached on disk.",
    )
    current = [done.get(run.label) for run in runs]
    for result in current:
        if result is not None and result.diverged:
            st.error(f"Run {result.key[:6]} diverged and was recorded as such. {result.message}", icon=":material/warning:")
    return current


def runs_section(dataset: Dataset, data_label: str, current: list[RunResult | None]) -> list[RunResult]:
    """Every run on this data as a selectable table; returns the runs to show (the selected, or the current ones)."""
    all_runs = runs_students_may_see(list_cached_runs(predicate=lambda result: is_lab_run(result, dataset.name)))
    if not all_runs:
        return []
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
            "test accuracy": PERCENT,
            "best test accuracy": PERCENT,
            "params": st.column_config.NumberColumn(format="localized"),
        },
    )
    download_csv_button(table, "cifar_runs.csv", key="download_runs")
    described = f"Every run on {data_label}{' (offline stand-in)' if dataset.is_fallback else ''} so far, newest first."
    selected_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected_rows:
        chosen = [all_runs[row] for row in selected_rows if row < len(all_runs)]
        st.caption(f"{described} Showing the {len(chosen)} selected.")
        return chosen
    st.caption(f"{described} Select rows to overlay them; until then the current configuration's runs are shown.")
    return [result for result in current if result is not None] or all_runs[:1]


def curves_section(chosen: list[RunResult], current: list[RunResult | None]) -> None:
    """The chosen runs' accuracy and loss curves overlaid, and which of them diverged."""
    if not chosen:
        return
    frame = charts.history_frame({run_label(result): result.history for result in chosen})
    # Only the open tab's chart is sent: a class's page runs are the server's scarcest resource.
    accuracy_tab, loss_tab = st.tabs(["Accuracy", "Loss"], key="cifar_curves_tab", on_change="rerun")
    for tab, metric in ((accuracy_tab, "accuracy"), (loss_tab, "loss")):
        if not tab.open:
            continue
        # Run labels are long; below the plot they neither squeeze it nor get cut off.
        tab.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric=metric, height=320, legend_below=True), width="stretch")
    st.caption("Solid: test set after every epoch. Dashed: training batches. Iteration runs are drawn per epoch too.")
    current_keys = {result.key for result in current if result is not None}
    for result in chosen:
        if result.diverged and result.key not in current_keys:
            st.error(f"Run {result.key[:6]} diverged. {result.message}", icon=":material/warning:")


def inside_section(chosen: list[RunResult], dataset: Dataset) -> None:
    """Pick one of the shown runs and look inside it, unless every one of them diverged."""
    inspectable = [result for result in chosen if not result.diverged]
    if chosen and not inspectable:
        st.info("The runs shown diverged (their weights are NaN), so there is nothing to look inside.", icon=":material/info:")
    if not inspectable:
        return
    st.subheader("Inside a trained model")
    labels = {run_label(result): result for result in inspectable}
    inspected = labels[st.selectbox("Run to inspect", tuple(labels), key="inspect_run")]
    download_model_button(inspected, key="download_model", label="Download this trained model (.keras)")
    run_confusion(inspected, dataset)
    show_inside(inspected, dataset)


def run_confusion(inspected: RunResult, dataset: Dataset) -> None:
    """The run's confusion matrix on the test set; a clicked (or chosen) cell shows its test images."""
    predicted = inspected.predicted_labels
    if len(predicted) != len(dataset.y_test):  # a run kept from another version of this data
        st.caption(f"This run's {len(predicted):,} test predictions do not match the {len(dataset.y_test):,} test images shown.")
        return
    with st.expander("Confusion matrix: which classes it mixes up, and the images", expanded=True):
        confusion_section(
            {run_label(inspected): predicted}, dataset.y_test, dataset.class_names, key="cifar_confusion",
            show_examples=image_examples(dataset.x_test),
        )


def show_inside(inspected: RunResult, dataset: Dataset) -> None:
    """The run's prediction for one image, then its filters, feature maps, activation statistics and saliency.

    A test image's views are kept on disk beside the run (:func:`core.inspection.image_inspection`), so
    a cached run opens without TensorFlow; only an uploaded image or a new class is computed here.
    """
    from core.datasets.cifar import to_model_input
    from core.training import prepare_inputs

    input_shape = dataset.input_shape
    if inspected.dataset_name != dataset.name:  # same name, same variant: same input shape
        from core.training import load_model

        trained_on = tuple(load_model(inspected).input_shape[1:])
        if trained_on != dataset.input_shape:
            st.warning(
                f"This run was trained on {trained_on} inputs but the data shown is {dataset.input_shape}.",
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
    shown_id: str | None = image_id(image)
    if upload is not None:
        try:
            image = to_model_input(open_image(upload.getvalue(), name=upload.name), input_shape)
            true_label, shown_id = None, None
        except UploadError as error:
            show_value_error(error)
    prepared = prepare_inputs(image[np.newaxis])[0]
    inspection = image_inspection(inspected, prepared, image_id=shown_id)
    probabilities = inspection["probabilities"]
    predicted = int(np.argmax(probabilities))
    scale = max(1, 112 // input_shape[0])
    display = image[..., 0] if image.shape[-1] == 1 else image

    picture_column, probability_column = st.columns([1, 2])
    picture_column.image(
        viz.enlarge(display, scale),
        caption=("your image, as the model sees it" if true_label is None else f"test image {int(test_index)}: {true_label}"),
    )
    probability_column.vega_lite_chart(
        chart_spec(charts.probability_bars, charts.probability_frame(dataset.class_names, probabilities)), width="stretch"
    )
    probability_column.caption(f"Predicted: **{dataset.class_names[predicted]}** ({probabilities[predicted]:.0%}).")

    # Only the open tab is computed and sent: the feature maps, statistics and saliency are most of
    # this page's work, and most students look at one of them at a time.
    filters_tab, maps_tab, stats_tab, saliency_tab = st.tabs(
        ["First-layer filters", "Feature maps", "Activation statistics", "Saliency & Grad-CAM"],
        key="cifar_inside_tab", on_change="rerun",
    )
    if filters_tab.open:
        with filters_tab:
            _filters_tab(inspection)
    if maps_tab.open:
        with maps_tab:
            _feature_maps_tab(inspected, prepared, inspection)
    if stats_tab.open:
        with stats_tab:
            _statistics_tab(inspected, dataset)
    if saliency_tab.open:
        with saliency_tab:
            _saliency(inspected, prepared, shown_id, image, display, scale, dataset.class_names, predicted)


def _filters_tab(inspection: dict[str, np.ndarray]) -> None:
    kernel = inspection["kernel"]
    st.image(picture_png(viz.filter_grid, kernel, upscale=max(1, 48 // kernel.shape[0])))
    st.caption(
        f"The {kernel.shape[-1]} filters of `{inspection['kernel_layer']}` ({kernel.shape[0]}×{kernel.shape[1]}), each scaled "
        f"by its own min and max as in {ELEC576}"
        + ("; shown in RGB because the input has three channels." if kernel.shape[2] == 3 else ".")
    )


def _feature_maps_tab(inspected: RunResult, prepared: np.ndarray, inspection: dict[str, np.ndarray]) -> None:
    for position, (name, feature_map) in enumerate(feature_map_layers(inspection)):
        height, width, channels = feature_map.shape
        with st.expander(f"{name}: {height}×{width}×{channels}", expanded=position < 2):
            st.image(picture_png(viz.feature_map_grid, feature_map, limit=32, scale=max(1, 56 // height)))
    st.caption(f"Each channel standardised as in {CS577} (×64 + 128); at most 32 channels per layer.")
    conv_arithmetic_section(inspected, prepared, inspection, key="cifar")


def _statistics_tab(inspected: RunResult, dataset: Dataset) -> None:
    stats = pd.DataFrame(activation_statistics_rows(inspected, dataset), columns=["layer", "mean", "std", "var"])
    st.dataframe(stats, hide_index=True, key="activation_stats")
    download_csv_button(stats, f"cifar_activation_stats_{inspected.key[:8]}.csv", key="download_activation_stats")
    st.vega_lite_chart(chart_spec(charts.activation_stats_chart, stats), width="stretch")
    st.caption(
        f"Over all {len(dataset.x_test):,} test images, as {ELEC576} printed them. Activations that die "
        "(mean and std near 0) or saturate (sigmoid stuck near 0.5 with tiny std) show up here first."
    )


def _saliency(
    inspected: RunResult,
    prepared: np.ndarray,
    shown_id: str | None,
    image: np.ndarray,
    display: np.ndarray,
    scale: int,
    class_names: tuple[str, ...],
    predicted: int,
) -> None:
    """Saliency and Grad-CAM for a class the student picks (the predicted one first)."""
    target = st.selectbox(
        "Explain the class", range(len(class_names)), index=predicted,
        format_func=lambda index: class_names[index] + (" (predicted)" if index == predicted else ""),
        key="explain_class",
    )
    explanation = image_explanation(inspected, prepared, int(target), image_id=shown_id)
    original, saliency_column, cam_column = st.columns(3)
    side = 160  # the same on-screen size for all three, so they line up pixel for pixel
    original.image(viz.enlarge(display, scale), caption="input", width=side)
    saliency_column.image(
        viz.enlarge(viz.normalize_min_max(explanation["saliency"]), scale), caption="saliency |∂score/∂pixel|", width=side
    )
    cam_column.image(
        viz.enlarge(viz.heatmap_overlay(image, explanation["grad_cam"]), scale), caption="Grad-CAM (red/yellow = evidence)", width=side
    )
    st.markdown(
        f"Zeiler & Fergus' deconvnet (which {ELEC576} summarises) projected activations back to pixels to "
        "see what a layer responds to. Today the usual answers are the **saliency map**, the gradient "
        "of the class score with respect to each input pixel, and **Grad-CAM**, which weights the last "
        "feature maps by how much the class score depends on them to show *where* the evidence lies."
    )


def reported_section() -> None:
    """The homework write-ups' own CIFAR figures, shown as theirs."""
    st.subheader("What the homework write-ups reported (their numbers, not measured here)")
    reported = pd.DataFrame(reported_figures())
    st.dataframe(reported, hide_index=True, column_config={"reported test accuracy": PERCENT}, key="reported")
    download_csv_button(reported, "cifar_reported_by_the_homework.csv", key="download_reported")
    st.caption(
        f"{ELEC576} trained on 8,000 gray images for 5,000 iterations; {CS577} on the full 50,000 colour images. "
        "Runs here use whatever data and budget you chose, and the offline fallback is a different task entirely."
    )

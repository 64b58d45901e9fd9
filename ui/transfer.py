"""The transfer-learning page's Streamlit sections: the VGG16 weights, the memory guard, training, results, predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, settings, transfer
from core.datasets import Dataset
from core.datasets.digits import cached_scaled_digits
from core.datasets.images import decode_resized
from core.training import ProgressCallback, RunResult, TrainConfig, TrainingProgress, cached_result
from core.uploads import UploadError
from ui.render_memo import chart_spec
from ui.confusion import confusion_section, image_examples
from ui.export import download_csv_button, download_model_button
from ui.training import Planned, training_section
from ui.widgets import show_value_error

PHOTO_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]


@st.cache_resource(show_spinner=False, max_entries=8)
def digits_task(per_class: int) -> transfer.DigitsTransferTask:
    """The offline demo's source and target tasks, built once per size for every session (read-only)."""
    return transfer.digits_transfer_task(per_class=per_class, digits=cached_scaled_digits())


@st.cache_data(ttl=600, show_spinner=False, max_entries=4)
def weights_status(user_path: str | None, cache_file: str) -> transfer.WeightsStatus:
    """Resolve the VGG16 weights; cached because the network probe can take a second offline.

    ``cache_file`` (the Keras cache location) is part of the key, so a new ``KERAS_HOME`` is looked at afresh.
    """
    return transfer.resolve_vgg16_weights(user_path)


def weights_section(offline_choice: str) -> transfer.BaseSpec:
    """The VGG16 weights: an upload box, where they were found or how to get them; the base they make."""
    st.subheader("The pretrained base: VGG16")
    uploaded = st.file_uploader(f"VGG16 no-top weights file ({transfer.NOTOP_WEIGHTS_FILE})", type=["h5"], key="tl_weights")
    if uploaded is not None:
        try:
            with st.spinner("Checking the weights fit VGG16…"):
                stored = transfer.store_uploaded_weights(uploaded.getvalue(), name=uploaded.name)
            st.session_state["tl_weights_path"] = str(stored)
        except ValueError as error:
            show_value_error(error)
    status = weights_status(st.session_state.get("tl_weights_path"), str(transfer.keras_cache_weights_path()))
    if status.available:
        st.success(status.message, icon=":material/check_circle:")
    else:
        st.warning(
            status.message + " Until then the VGG16 base starts from random weights (stated in every result), "
            f"and the **{offline_choice}** data choice shows real transfer with the in-app source model.",
            icon=":material/cloud_off:",
        )
    return transfer.vgg16_spec(status)


def memory_section(dataset: Dataset, kind: str, modes: list[str], *, batch_size: int, augment: bool) -> list[str]:
    """The calculator's memory estimate for each mode against the RAM available now; returns the modes that fit."""
    available = settings.available_memory_bytes()
    images = len(dataset.x_train) + len(dataset.x_test) + (len(dataset.x_val) if dataset.has_validation else 0)
    estimates = {
        mode: transfer.estimate_memory(
            kind, transfer.base_input_shape(kind, dataset.input_shape), num_classes=dataset.num_classes,
            batch_size=batch_size, mode=mode, augment=augment, images=images,
        )
        for mode in modes
    }
    refused = transfer.refusals(estimates, available)
    # Drawn only when opened: the table and the homework case are reading for the curious. It starts open
    # when a mode is refused; the refusals themselves are always shown below it.
    details = st.expander(
        "Memory estimate (from the CNN calculator)", expanded=bool(refused), key="tl_memory_open", on_change="rerun"
    )
    if details.open:
        with details:
            memory_table = pd.DataFrame(transfer.estimate_table(estimates))
            st.dataframe(memory_table, hide_index=True)
            if len(memory_table):
                download_csv_button(memory_table, "transfer_memory_estimate.csv", key="tl_download_memory")
            st.caption(f"RAM available now: {settings.format_bytes(available) if available else 'unknown'}.")
            summary, verdict_here = transfer.homework_case_summary(available)
            st.markdown(summary)
            if verdict_here:
                st.caption(verdict_here)
    for message in refused.values():
        st.error(message, icon=":material/memory:")
    return [mode for mode in modes if mode not in refused]


def train_section(
    dataset: Dataset, spec: transfer.BaseSpec | None, modes: list[str], *, source_task: Dataset | None, **options: Any
) -> tuple[list[transfer.ModeResult], RunResult | None, transfer.BaseSpec | None]:
    """The Train button (the shared training helper) and each mode's run, trained on a click or from the cache.

    With the offline demo's ``source_task``, the source CNN comes first and its convolutions are
    the base: the first mode's preparation trains it. Returns the results, that source run (or
    ``None``) and the base used.
    """
    source_run = cached_result(transfer.source_config(), source_task) if source_task is not None else None
    if source_run is not None:
        spec = transfer.source_spec(source_run)

    def base(report: ProgressCallback) -> transfer.BaseSpec:
        if spec is not None:
            return spec
        assert source_task is not None
        report(TrainingProgress(0.0, "Training the source CNN on digits 0–4…"))
        return transfer.source_spec(transfer.train_source(source_task, on_progress=report))

    def planned(mode: str) -> Planned:
        def prepare(report: ProgressCallback) -> tuple[TrainConfig, Dataset]:
            config, data, _feature_pass = transfer.mode_inputs(mode, dataset, base(report), on_progress=report, **options)
            return config, data

        def lookup() -> RunResult | None:
            found = transfer.cached_mode(mode, dataset, spec, **options) if spec is not None else None
            return found.run if found is not None else None

        return Planned(transfer.MODE_LABELS[mode], prepare=prepare, lookup=lookup)

    try:
        training_section([planned(mode) for mode in modes], key="tl_train")
        if source_task is not None and spec is None:
            source_run = cached_result(transfer.source_config(), source_task)
            spec = transfer.source_spec(source_run) if source_run is not None else None
        if spec is not None:
            st.caption(f"Base: {spec.description}.")
            found = [transfer.cached_mode(mode, dataset, spec, **options) for mode in modes]
            return [result for result in found if result is not None], source_run, spec
    except ValueError as error:
        show_value_error(error)
    return [], source_run, spec


def results_section(
    results: list[transfer.ModeResult], source_run: RunResult | None, dataset: Dataset, spec: transfer.BaseSpec | None,
    *, epochs: int, batch_size: int,
) -> None:
    """The comparison table, a download per trained model, the price of augmentation, and the learning curves."""
    comparison = pd.DataFrame(transfer.comparison_rows(results))
    st.dataframe(comparison, hide_index=True)
    download_csv_button(comparison, "transfer_learning_results.csv", key="tl_download_results")
    model_downloads = st.columns(len(results) + (source_run is not None))
    for column, mode_result in zip(model_downloads, results):
        with column:
            head_only = mode_result.cached_features
            download_model_button(
                mode_result.run,
                key=f"tl_download_{mode_result.mode}",
                label=f"{mode_result.label.split(' (')[0]}{': the dense head only' if head_only else ''} (.keras)",
                help="Trained on the frozen base's cached features, so it takes the base's outputs, not images."
                if head_only else "The whole network: base and head.",
            )
    if source_run is not None:
        with model_downloads[-1]:
            download_model_button(source_run, key="tl_download_source", label="Source CNN, digits 0–4 (.keras)")
    augmented = next((r for r in results if r.mode == "feature_extraction" and not r.cached_features), None)
    if augmented is not None and spec is not None:
        _augmentation_cost(augmented, transfer.cached_mode("feature_extraction", dataset, spec, epochs=epochs, batch_size=batch_size))
    frame = charts.history_frame({result.label: result.run.history for result in results})
    frame["split"] = frame["split"].replace({"test": "validation" if dataset.has_validation else "test"})
    left, right = st.columns(2)
    left.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="loss"), width="stretch")
    right.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="accuracy"), width="stretch")


def _augmentation_cost(augmented: transfer.ModeResult, plain: transfer.ModeResult | None) -> None:
    slow = augmented.run.seconds_per_epoch
    if plain is None:
        st.caption(
            f"Feature extraction with augmentation took {slow:.2f} s per epoch, running the frozen base every epoch. "
            "Turn augmentation off and train to see the cached-feature epoch time beside it."
        )
        return
    fast = plain.run.seconds_per_epoch
    st.markdown(
        f"The cost of augmentation in feature extraction: **{slow:.2f} s per epoch** through the frozen base, "
        f"against **{fast:.3f} s** per epoch on cached features ({slow / max(fast, 1e-9):.0f}× slower)."
    )


def inspect_section(results: list[transfer.ModeResult], dataset: Dataset) -> transfer.ModeResult:
    """One mode's confusion matrix, with the test images of the cell chosen on it; returns the mode chosen."""
    chosen = st.selectbox("Inspect mode", [r.mode for r in results], format_func=transfer.MODE_LABELS.get, key="tl_inspect")
    result = next(r for r in results if r.mode == chosen)
    predicted = result.run.predicted_labels
    wrong = int(np.sum(predicted != dataset.y_test))
    st.caption(f"{result.label}: {wrong} of {len(dataset.y_test)} test images misclassified.")
    confusion_section(
        {result.label: predicted}, dataset.y_test, dataset.class_names, key="tl_confusion",
        show_examples=image_examples(dataset.x_test),
    )
    return result


def predict_section(result: transfer.ModeResult, dataset: Dataset, spec: transfer.BaseSpec) -> None:
    """A photo of the student's own through the chosen mode's model, and through the full VGG16 when it is here."""
    st.subheader("Predict an image of your own")
    photo = st.file_uploader("An image", type=PHOTO_TYPES, key="tl_predict")
    if photo is None:
        return
    try:
        color = "grayscale" if dataset.input_shape[-1] == 1 else "rgb"
        image = decode_resized(photo.getvalue(), name=photo.name, image_size=dataset.input_shape[0], color=color)
        from core.training import load_model

        model = load_model(result.run)
        predict = transfer.head_probabilities if result.cached_features else transfer.predict_probabilities
        probabilities = predict(model, image[np.newaxis], spec)[0]
        left, right = st.columns([1, 3])
        left.image(image.squeeze(), caption=f"as the model sees it ({dataset.input_shape[0]}²)", width=128)
        right.vega_lite_chart(
            chart_spec(charts.probability_bars, charts.probability_frame(dataset.class_names, probabilities), title=f"{result.label}"),
            width="stretch",
        )
        imagenet = transfer.imagenet_status()
        if imagenet.available:
            full = decode_resized(photo.getvalue(), name=photo.name, image_size=224, color="rgb")
            top5 = transfer.imagenet_top5(full, imagenet)
            st.vega_lite_chart(
                chart_spec(charts.probability_bars, pd.DataFrame(top5, columns=["class", "probability"]), title="ImageNet top-5 (full VGG16)"),
                width="stretch",
            )
        else:
            st.caption(imagenet.message)
    except (UploadError, ValueError) as error:
        show_value_error(error)

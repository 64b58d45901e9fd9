"""Transfer learning: reuse a trained network's convolutions on a new task, three ways, on the same split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, settings, transfer
from core.datasets import Dataset
from core.datasets.images import CATS_VS_DOGS_FOLDER, decode_resized
from core.uploads import UploadError
from ui.export import download_csv_button, download_model_button
from ui.image_data import folder_choice, folder_dataset, zip_dataset
from ui.shareable import share_link, shared_multiselect, shared_radio, shared_select_slider, shared_slider, shared_toggle
from ui.widgets import dataset_banner, progress_reporter, show_failure, show_value_error

DEMO, FOLDER, ZIP = "demo", "folder", "zip"  # short, since they appear in the page's link
SOURCE_LABELS = {
    DEMO: "Offline demo: digits 0–4 → digits 5–9",
    FOLDER: "Image folder in the data directory",
    ZIP: "Upload a .zip of class folders",
}
INPUT_SIZES = (32, 48, 64, 96, 128, 160, 224)

st.title("Transfer learning")
st.markdown(
    "A network trained on one task has learned features (edges, textures, parts) that help on another. "
    "Here the same convolutional **base** is reused three ways on the same train / validation / test split: "
    "**feature extraction** (frozen base, only the dense head trains, on features computed once and cached), "
    "**fine-tuning** (the last conv block unfrozen, at a low learning rate) and **from scratch** "
    "(same architecture, random weights). The head is seed 000's: Dense 256 → Dense 256 → softmax."
)


@st.cache_data(ttl=600, show_spinner=False, max_entries=4)
def weights_status(user_path: str | None, cache_file: str) -> transfer.WeightsStatus:
    """Resolve the VGG16 weights; cached because the network probe can take a second offline.

    ``cache_file`` (the Keras cache location) is part of the key, so a new ``KERAS_HOME`` is looked at afresh.
    """
    return transfer.resolve_vgg16_weights(user_path)


source_choice = shared_radio("Data", tuple(SOURCE_LABELS), format_func=SOURCE_LABELS.get, horizontal=True, key="tl_source")
dataset: Dataset | None = None
spec: transfer.BaseSpec | None = None
per_class: int | None = None
source_task = None

if source_choice == DEMO:
    per_class = shared_slider(
        "Training images per class in the target task", 2, 50, default=10, key="tl_per_class",
        help="Transfer matters most when the new task has little data.",
    )
    task = transfer.digits_transfer_task(per_class=per_class)
    source_task = task.source
    dataset = task.target
    st.info(
        "No ImageNet weights are needed here: a small CNN is first trained on the **source task** "
        f"({task.source.source.split(': ', 1)[1]}), then its convolutions are reused on the **target task**, "
        f"digits 5–9 from only {per_class} images per class.",
        icon=":material/swap_horiz:",
    )
else:
    columns = st.columns(3)
    with columns[0]:
        val_percent = shared_slider("Validation %", 5, 30, default=15, step=5, key="tl_val")
    with columns[1]:
        test_percent = shared_slider("Test %", 5, 30, default=15, step=5, key="tl_test")
    with columns[2]:
        size = shared_select_slider("Input size (pixels)", INPUT_SIZES, default=64, key="tl_size")
    try:
        if source_choice == FOLDER:
            folder = folder_choice(
                "tl_folder", "Folder in the data directory, with one subfolder of images per class",
                default=CATS_VS_DOGS_FOLDER,
            )
            if folder is not None:
                dataset = folder_dataset(folder, size, color="rgb", val=val_percent / 100, test=test_percent / 100)
        else:
            upload = st.file_uploader("Zip of class subfolders", type=["zip"], key="tl_zip")
            if upload is not None:
                dataset = zip_dataset(
                    upload.getvalue(), upload.name, size, color="rgb", val=val_percent / 100, test=test_percent / 100
                )
    except ValueError as error:
        show_value_error(error)
        dataset = None

    st.subheader("The pretrained base: VGG16")
    uploaded_weights = st.file_uploader(
        f"VGG16 no-top weights file ({transfer.NOTOP_WEIGHTS_FILE})", type=["h5"], key="tl_weights"
    )
    if uploaded_weights is not None:
        try:
            with st.spinner("Checking the weights fit VGG16…"):
                st.session_state["tl_weights_path"] = str(
                    transfer.store_uploaded_weights(uploaded_weights.getvalue(), name=uploaded_weights.name)
                )
        except ValueError as error:
            show_value_error(error)
    status = weights_status(st.session_state.get("tl_weights_path"), str(transfer.keras_cache_weights_path()))
    if status.available:
        st.success(status.message, icon=":material/check_circle:")
    else:
        st.warning(
            status.message + " Until then the VGG16 base starts from random weights (stated in every result), "
            f"and the **{SOURCE_LABELS[DEMO]}** data choice shows real transfer with the in-app source model.",
            icon=":material/cloud_off:",
        )
    spec = transfer.vgg16_spec(status)

if dataset is None:
    st.stop()

dataset_banner(dataset)
extras = dataset.extras
if extras.get("corrupt"):
    with st.expander(f"{len(extras['corrupt'])} unreadable images skipped"):
        st.markdown("\n".join(f"- {message}" for message in extras["corrupt"]))
if extras.get("non_image_files"):
    st.caption(f"{extras['non_image_files']} files that are not images were skipped.")
split_sizes = {"train": len(dataset.x_train), "validation": len(dataset.x_val) if dataset.has_validation else 0, "test": len(dataset.x_test)}
st.caption(
    f"{dataset.num_classes} classes ({', '.join(dataset.class_names)}) · input {'×'.join(map(str, dataset.input_shape))} · "
    + " · ".join(f"{name} {count:,}" for name, count in split_sizes.items())
)

st.subheader("Training")
columns = st.columns(3)
kind_for_rates = "small_cnn" if source_choice == DEMO else "vgg16"
with columns[0]:
    modes = shared_multiselect(
        "Modes", transfer.MODES, default=transfer.MODES, format_func=transfer.MODE_LABELS.get, key="tl_modes"
    )
# The defaults differ by source (the tiny digits task needs more epochs); a link's own values win over both.
with columns[1]:
    epochs = shared_slider("Epochs", 1, 60, default=30 if source_choice == DEMO else 5, key="tl_epochs")
with columns[2]:
    batch_size = shared_select_slider("Batch size", (8, 16, 32, 64), default=16 if source_choice == DEMO else 32, key="tl_batch")
toggles = st.columns(3)
augment_flags = {}
for name, column, label in (("flip", toggles[0], "Random flip"), ("rotation", toggles[1], "Random rotation ±10%"), ("zoom", toggles[2], "Random zoom ±20%")):
    with column:
        augment_flags[name] = shared_toggle(label, default=False, key=f"tl_{name}")
augment = tuple(name for name, on in augment_flags.items() if on)
share_link()
if augment and "feature_extraction" in modes:
    st.info(
        "With augmentation on, every epoch sees differently flipped, rotated or zoomed images, so the base's "
        "outputs change every epoch and **cannot be cached**: feature extraction then runs the frozen base on every "
        "image in every epoch. Compare its seconds per epoch below with a run without augmentation "
        "(milliseconds on cached features).",
        icon=":material/info:",
    )
st.caption(
    "Learning rates (Adam): "
    + ", ".join(f"{transfer.MODE_LABELS[m].split(' (')[0].lower()} {transfer.DEFAULT_LEARNING_RATES[(kind_for_rates, m)]:g}"
                for m in transfer.MODES)
    + ". Fine-tuning uses a low rate so the pretrained weights are nudged, not overwritten."
)
if source_choice == DEMO and "flip" in augment:
    st.caption("Careful: a flipped digit is often no longer the same digit.")

# The memory guard: the calculator's estimate for each mode against the RAM available now.
available = settings.available_memory_bytes()
kind = "small_cnn" if spec is None else spec.kind
total_images = sum(split_sizes.values())
estimates = {
    mode: transfer.estimate_memory(
        kind, dataset.input_shape if kind == "small_cnn" else dataset.input_shape[:2] + (3,),
        num_classes=dataset.num_classes, batch_size=batch_size, mode=mode, augment=bool(augment), images=total_images,
    )
    for mode in modes
}
refused = {}
for mode, estimate in estimates.items():
    try:
        transfer.check_memory(estimate, available)
    except ValueError as error:
        refused[mode] = str(error)
with st.expander("Memory estimate (from the CNN calculator)", expanded=bool(refused)):
    memory_table = pd.DataFrame(
        [{"mode": transfer.MODE_LABELS[m], **{k: settings.format_bytes(v) for k, v in e.parts.items()},
          "total": settings.format_bytes(e.total_bytes)} for m, e in estimates.items()]
    )
    st.dataframe(memory_table, hide_index=True)
    if len(memory_table):
        download_csv_button(memory_table, "transfer_memory_estimate.csv", key="tl_download_memory")
    st.caption(f"RAM available now: {settings.format_bytes(available) if available else 'unknown'}.")
    seed_case = [
        transfer.estimate_memory("vgg16", (500, 500, 3), num_classes=2, batch_size=32, mode=m, images=600)
        for m in transfer.MODES
    ]
    st.markdown(
        "**Seed 004's case** – VGG16 at 500×500, batch 32, 600 images (it ran out of RAM): "
        + "; ".join(f"{transfer.MODE_LABELS[e.mode]} ≈ {settings.format_bytes(e.total_bytes)}" for e in seed_case)
        + ". Activations grow with the square of the input side, so 500×500 needs ~60× the activation memory of 64×64."
    )
    if available:
        too_big = [transfer.MODE_LABELS[e.mode].lower() for e in seed_case if e.total_bytes > available]
        st.caption(
            f"With {settings.format_bytes(available)} available here, the guard would refuse: {', '.join(too_big)}."
            if too_big else f"With {settings.format_bytes(available)} available here, all three would fit."
        )
for message in refused.values():
    st.error(message, icon=":material/memory:")
runnable = [mode for mode in modes if mode not in refused]
settings_kwargs = dict(epochs=epochs, batch_size=batch_size, augment=augment)

clicked = st.button("Train", type="primary", key="tl_train", disabled=not runnable)
results: list[transfer.ModeResult] = []
source_run = None  # the digits-0–4 CNN whose convolutions the demo reuses
try:
    if source_choice == DEMO:
        if clicked:
            report, done = progress_reporter("Training the source CNN on digits 0–4…")
            source_run = transfer.train_source(source_task, on_progress=report)
            done()
        else:
            from core.training import cached_result

            source_run = cached_result(transfer.source_config(), source_task)
        if source_run is not None:
            spec = transfer.source_spec(source_run)
    if spec is not None:
        st.caption(f"Base: {spec.description}.")
        for mode in runnable:
            if clicked:
                report, done = progress_reporter(f"{transfer.MODE_LABELS[mode]}…")
                results.append(transfer.run_mode(mode, dataset, spec, on_progress=report, **settings_kwargs))
                done()
            else:
                found = transfer.cached_mode(mode, dataset, spec, **settings_kwargs)
                if found is not None:
                    results.append(found)
except ValueError as error:
    show_value_error(error)
except Exception as error:  # noqa: BLE001 - an unexpected failure is shown, never a traceback
    show_failure("Training for transfer learning", error)

if not results:
    st.info("Press **Train** to run the selected modes. Runs already trained with these settings appear here at once.")
    st.stop()

st.subheader("Results")
if source_choice == DEMO:
    st.markdown(f"**{transfer.verdict(results, per_class=per_class)}**")
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
    plain = transfer.cached_mode("feature_extraction", dataset, spec, epochs=epochs, batch_size=batch_size)
    slow = augmented.run.seconds_per_epoch
    if plain is not None:
        fast = plain.run.seconds_per_epoch
        st.markdown(
            f"The cost of augmentation in feature extraction: **{slow:.2f} s per epoch** through the frozen base, "
            f"against **{fast:.3f} s** per epoch on cached features ({slow / max(fast, 1e-9):.0f}× slower)."
        )
    else:
        st.caption(
            f"Feature extraction with augmentation took {slow:.2f} s per epoch, running the frozen base every epoch. "
            "Turn augmentation off and train to see the cached-feature epoch time beside it."
        )
frame = charts.history_frame({result.label: result.run.history for result in results})
frame["split"] = frame["split"].replace({"test": "validation" if dataset.has_validation else "test"})
left, right = st.columns(2)
left.altair_chart(charts.learning_curves(frame, metric="loss"), width="stretch")
right.altair_chart(charts.learning_curves(frame, metric="accuracy"), width="stretch")

chosen = st.selectbox("Inspect mode", [r.mode for r in results], format_func=transfer.MODE_LABELS.get, key="tl_inspect")
result = next(r for r in results if r.mode == chosen)
predicted = result.run.predicted_labels
left, right = st.columns(2)
left.altair_chart(
    charts.confusion_chart(charts.confusion_frame(dataset.y_test, predicted, dataset.class_names), dataset.class_names),
    width="content",
)
wrong = np.flatnonzero(predicted != dataset.y_test)
with right:
    st.markdown(f"**Misclassified test images** ({len(wrong)} of {len(dataset.y_test)})")
    if len(wrong):
        shown = wrong[:24]
        st.image(
            [dataset.x_test[i].squeeze() for i in shown],
            caption=[f"{dataset.class_names[dataset.y_test[i]]} → {dataset.class_names[predicted[i]]}" for i in shown],
            width=72 if dataset.input_shape[0] < 72 else 96,
        )

st.subheader("Predict an image of your own")
photo = st.file_uploader("An image", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="tl_predict")
if photo is not None:
    try:
        color = "grayscale" if dataset.input_shape[-1] == 1 else "rgb"
        image = decode_resized(photo.getvalue(), name=photo.name, image_size=dataset.input_shape[0], color=color)
        from core.training import load_model

        model = load_model(result.run)
        if result.cached_features:
            probabilities = transfer.head_probabilities(model, image[np.newaxis], spec)[0]
        else:
            probabilities = transfer.predict_probabilities(model, image[np.newaxis], spec)[0]
        left, right = st.columns([1, 3])
        left.image(image.squeeze(), caption=f"as the model sees it ({dataset.input_shape[0]}²)", width=128)
        right.altair_chart(
            charts.probability_bars(charts.probability_frame(dataset.class_names, probabilities), title=f"{result.label}"),
            width="stretch",
        )
        imagenet = transfer.imagenet_status()
        if imagenet.available:
            full = decode_resized(photo.getvalue(), name=photo.name, image_size=224, color="rgb")
            top5 = transfer.imagenet_top5(full, imagenet)
            st.altair_chart(
                charts.probability_bars(pd.DataFrame(top5, columns=["class", "probability"]), title="ImageNet top-5 (full VGG16)"),
                width="stretch",
            )
        else:
            st.caption(imagenet.message)
    except (UploadError, ValueError) as error:
        show_value_error(error)

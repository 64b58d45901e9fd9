"""Transfer learning: reuse a trained network's convolutions on a new task, three ways, on the same split."""

from __future__ import annotations

import streamlit as st

from core import transfer
from core.datasets import Dataset
from core.datasets.images import CATS_VS_DOGS_FOLDER
from core.calculator import describe_layers
from core.homework import HOMEWORK, dense_head
from ui.image_data import (
    folder_choice,
    flowers_dataset,
    folder_dataset,
    real_photos_reachable,
    skipped_files_notice,
    zip_dataset,
)
from ui.shareable import (
    share_link,
    shared_multiselect,
    shared_radio,
    shared_select_slider,
    shared_slider,
    shared_toggle,
)
from ui.transfer import (
    digits_task,
    inspect_section,
    memory_section,
    predict_section,
    results_section,
    train_section,
    weights_section,
)
from ui.code_export import code_section
from ui.widgets import dataset_banner, show_value_error
from ui.exercise import exercise_footer, exercise_header

DEMO, FLOWERS, FOLDER, ZIP = "demo", "flowers", "folder", "zip"  # short, since they appear in the page's link
SOURCE_LABELS = {
    DEMO: "Offline demo: digits 0–4 → digits 5–9",
    FLOWERS: "Flower photos (TensorFlow's, 5 kinds)",
    FOLDER: "Image folder in the data directory",
    ZIP: "Upload a .zip of class folders",
}
INPUT_SIZES = (32, 48, 64, 96, 128, 160, 224)
HAND_SIGNS = HOMEWORK["transfer_hand_signs"].name
AUGMENTATIONS = {"flip": "Random flip", "rotation": "Random rotation ±10%", "zoom": "Random zoom ±20%"}

st.title("Transfer learning")
st.markdown(
    "A network trained on one task has learned features (edges, textures, parts) that help on another. "
    "Here the same convolutional **base** is reused three ways on the same train / validation / test split: "
    "**feature extraction** (frozen base, only the dense head trains, on features computed once and cached), "
    "**fine-tuning** (the last conv block unfrozen, at a low learning rate) and **from scratch** "
    f"(same architecture, random weights). The head comes from {HAND_SIGNS[:1].lower()}{HAND_SIGNS[1:]}: "
    f"{describe_layers(dense_head(2)[:-1])} (ReLU) → softmax over the classes."
)
exercise_header()

# ---------------------------------------------------------------------------------------------
# Data: the offline digits demo, or photos with VGG16 as the base

# Real photos on VGG16 by default when they are here or can be fetched (a network, or a classroom mirror).
source_choice = shared_radio(
    "Data", tuple(SOURCE_LABELS), format_func=SOURCE_LABELS.get, horizontal=True, key="tl_source",
    default=FLOWERS if real_photos_reachable() else DEMO,
)
dataset: Dataset | None = None
spec: transfer.BaseSpec | None = None
per_class: int | None = None
source_task: Dataset | None = None

if source_choice == DEMO:
    per_class = shared_slider(
        "Training images per class in the target task", 2, 50, default=transfer.DEMO_PER_CLASS, key="tl_per_class",
        help="Transfer matters most when the new task has little data: slide right to find where training "
        "from scratch catches up.",
    )
    task = digits_task(per_class)
    source_task, dataset = task.source, task.target
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
    split = dict(color="rgb", val=val_percent / 100, test=test_percent / 100)
    try:
        if source_choice == FLOWERS:
            dataset = flowers_dataset(size, **split)
        elif source_choice == FOLDER:
            folder = folder_choice(
                "tl_folder", "Folder in the data directory, with one subfolder of images per class",
                default=CATS_VS_DOGS_FOLDER,
            )
            if folder is not None:
                dataset = folder_dataset(folder, size, **split)
        else:
            upload = st.file_uploader("Zip of class subfolders", type=["zip"], key="tl_zip")
            if upload is not None:
                dataset = zip_dataset(upload.getvalue(), upload.name, size, **split)
    except ValueError as error:
        show_value_error(error)
        dataset = None
    spec = weights_section(SOURCE_LABELS[DEMO])

if dataset is None:
    st.stop()

dataset_banner(dataset)
skipped_files_notice(dataset)
split_sizes = {"train": len(dataset.x_train), "validation": len(dataset.x_val) if dataset.has_validation else 0, "test": len(dataset.x_test)}
st.caption(
    f"{dataset.num_classes} classes ({', '.join(dataset.class_names)}) · input {'×'.join(map(str, dataset.input_shape))} · "
    + " · ".join(f"{name} {count:,}" for name, count in split_sizes.items())
)

# ---------------------------------------------------------------------------------------------
# Controls

st.subheader("Training")
kind = "small_cnn" if source_choice == DEMO else "vgg16"
columns = st.columns(3)
with columns[0]:
    modes = shared_multiselect(
        "Modes", transfer.MODES, default=transfer.MODES, format_func=transfer.MODE_LABELS.get, key="tl_modes"
    )
# The defaults differ by source (the tiny digits task needs more epochs); a link's own values win over both.
with columns[1]:
    epochs = shared_slider("Epochs", 1, 60, default=transfer.DEMO_EPOCHS if source_choice == DEMO else 5, key="tl_epochs")
with columns[2]:
    batch_size = shared_select_slider("Batch size", (8, 16, 32, 64), default=transfer.DEMO_BATCH_SIZE if source_choice == DEMO else 32, key="tl_batch")
toggles = st.columns(3)
augment_flags = {}
for (name, label), column in zip(AUGMENTATIONS.items(), toggles):
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
    + ", ".join(f"{transfer.MODE_LABELS[m].split(' (')[0].lower()} {transfer.DEFAULT_LEARNING_RATES[(kind, m)]:g}"
                for m in transfer.MODES)
    + ". Fine-tuning uses a low rate so the pretrained weights are nudged, not overwritten."
)
if source_choice == DEMO and "flip" in augment:
    st.caption("Careful: a flipped digit is often no longer the same digit.")

# ---------------------------------------------------------------------------------------------
# Train: the memory guard first, then every mode that fits

runnable = memory_section(dataset, kind, modes, batch_size=batch_size, augment=bool(augment))
results, source_run, spec = train_section(
    dataset, spec, runnable, source_task=source_task, epochs=epochs, batch_size=batch_size, augment=augment
)
if not results:
    st.info("Press **Train** to run the selected modes. Runs already trained with these settings appear here at once.")
    exercise_footer()  # the board and "Make an exercise" before the first run too
    st.stop()

# ---------------------------------------------------------------------------------------------
# Results

st.subheader("Results")
if source_choice == DEMO:
    st.markdown(f"**{transfer.verdict(results, per_class=per_class)}**")
results_section(results, source_run, dataset, spec, epochs=epochs, batch_size=batch_size)
code_section({mode.label: mode.run for mode in results}, key="tl_code")
inspected = inspect_section(results, dataset)
if spec is not None:
    predict_section(inspected, dataset, spec)
exercise_footer()

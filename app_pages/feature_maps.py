"""Cats vs dogs: CS-577 Homework 4's small binary CNN, its training, and what its convolutions see."""

from __future__ import annotations

import streamlit as st

from core.calculator import analyze, describe_layers
from core.datasets import Dataset
from core.datasets.images import CATS_VS_DOGS_FOLDER
from core.training import TrainConfig
from ui.feature_maps import (
    HOMEWORK_NAME,
    NETWORK,
    builtin_dataset,
    feature_maps_section,
    filters_section,
    model_section,
    results_section,
    train_section,
)
from ui.image_data import (
    folder_choice,
    folder_dataset,
    skipped_files_notice,
    zip_dataset,
)
from ui.shareable import share_link, shared_radio, shared_select_slider, shared_slider
from ui.code_export import code_section
from ui.widgets import dataset_banner, show_value_error
from ui.exercise import exercise_footer, exercise_header

# Short option values keep the link readable; the labels are what the radio shows.
SOURCES = {
    "builtin": "Cats vs dogs (data directory, or an offline stand-in)",
    "folder": "Image folder in the data directory",
    "zip": "Upload a .zip of two class folders",
}
INPUT_SIZES = (48, 64, 96, 128, 200)
HOMEWORK_SIZE = NETWORK.input_shape[0]

st.title("Cats vs dogs: feature maps")
st.markdown(
    f"{HOMEWORK_NAME}'s binary CNN on grayscale photos: "
    f"{describe_layers(NETWORK.layers)} (ReLU after each hidden layer, a sigmoid at the output). "
    "Train it, then look inside: the **feature maps** of each conv layer for one image (each map standardised, "
    "×64 + 128, clipped to 0–255, as in the homework) and the first layer's 32 **filters** (each min–max normalised)."
)
exercise_header()

# ---------------------------------------------------------------------------------------------
# Data

columns = st.columns([3, 2])
with columns[0]:
    choice = shared_radio("Data", tuple(SOURCES), format_func=SOURCES.get, key="fm_source")
with columns[1]:
    size = shared_select_slider(
        "Input size (pixels, grayscale)", INPUT_SIZES, default=64, key="fm_size",
        help=f"{HOMEWORK_SIZE}×{HOMEWORK_SIZE} is the homework's configuration "
        f"({analyze(NETWORK.input_shape, NETWORK.layers).total_params:,} parameters); 64×64 trains in seconds on two cores.",
    )
dataset: Dataset | None = None
try:
    if choice == "builtin":
        dataset = builtin_dataset(size)
    elif choice == "folder":
        folder = folder_choice("fm_folder", "Folder in the data directory, with two subfolders of images (one per class)",
                               default=CATS_VS_DOGS_FOLDER)
        if folder is not None:
            dataset = folder_dataset(folder, size, color="grayscale")
    else:
        upload = st.file_uploader("Zip of two class subfolders", type=["zip"], key="fm_zip")
        if upload is not None:
            dataset = zip_dataset(upload.getvalue(), upload.name, size, color="grayscale")
    if dataset is not None and dataset.num_classes != 2:
        raise ValueError(
            f"{HOMEWORK_NAME}'s CNN is a binary classifier; this data has {dataset.num_classes} classes "
            f"({', '.join(dataset.class_names)}). Use a folder with exactly two class subfolders."
        )
except ValueError as error:
    show_value_error(error)
    dataset = None
if dataset is None:
    st.info("Choose a folder or upload a zip with two class subfolders.")
    st.stop()

dataset_banner(dataset)
skipped_files_notice(dataset)
model_section(size)

# ---------------------------------------------------------------------------------------------
# Controls and training

columns = st.columns(3)
with columns[0]:
    epochs = shared_slider("Epochs", 1, 30, default=8, key="fm_epochs")
with columns[1]:
    batch_size = shared_select_slider("Batch size", (16, 32, 64), default=32, key="fm_batch")
with columns[2]:
    learning_rate = shared_select_slider("Learning rate (Adam)", (3e-4, 1e-3, 3e-3), default=1e-3, key="fm_lr")
share_link()
result = train_section(TrainConfig("cats_dogs_cnn", epochs=epochs, batch_size=batch_size, learning_rate=learning_rate), dataset)
if result is None:
    st.info(
        f"Press **Train**: {len(dataset.x_train):,} training images, {epochs} epochs. "
        "A run already trained with these settings appears at once."
    )
    exercise_footer()  # the board and "Make an exercise" before the first run too
    st.stop()

# ---------------------------------------------------------------------------------------------
# Results: how well it learned, then what its convolutions see

results_section(result, dataset)
code_section(result, key="fm_code")
inspection = feature_maps_section(result, dataset, size)
filters_section(inspection)
exercise_footer()

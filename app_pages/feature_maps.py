"""Cats vs dogs: seed 004's small binary CNN, its training, and what its convolutions see."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, viz
from core.calculator import analyze
from core.datasets import Dataset, load_dataset
from core.datasets.images import CATS_VS_DOGS_FOLDER, decode_resized
from core.training import TrainConfig, cached_result, load_model, prepare_inputs, train
from core.uploads import UploadError
from ui.export import download_csv_button, download_model_button
from ui.image_data import folder_choice, folder_dataset, zip_dataset
from ui.shareable import share_link, shared_radio, shared_select_slider, shared_slider
from ui.widgets import dataset_banner, progress_reporter, show_failure, show_value_error

# Short option values keep the link readable; the labels are what the radio shows.
SOURCES = {
    "builtin": "Cats vs dogs (data directory, or an offline stand-in)",
    "folder": "Image folder in the data directory",
    "zip": "Upload a .zip of two class folders",
}
INPUT_SIZES = (48, 64, 96, 128, 200)
SEED_004_LAYERS = [
    {"type": "conv2d", "filters": 32, "kernel": 3},
    {"type": "maxpool2d", "pool": 2},
    {"type": "conv2d", "filters": 64, "kernel": 3},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 32},
    {"type": "dense", "units": 1},
]

def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 grayscale grid as PNG, for the image download buttons (these pictures are not Altair charts)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


st.title("Cats vs dogs: feature maps")
st.markdown(
    "Seed 004's binary CNN on grayscale photos: conv 3×3×32 → max-pool → conv 3×3×64 → max-pool → flatten → "
    "dense 32 → dense 1 (sigmoid). Train it, then look inside: the **feature maps** of each conv layer for one "
    "image (each map standardised, ×64 + 128, clipped to 0–255, as in the seed) and the first layer's 32 **filters** "
    "(each min–max normalised)."
)


@st.cache_resource(show_spinner="Loading images…", max_entries=4)
def builtin_dataset(size: int) -> Dataset:
    """Cats vs dogs from the data directory (or the offline stand-in), decoded once per size."""
    return load_dataset("cats_vs_dogs", image_size=size, color="grayscale")


columns = st.columns([3, 2])
with columns[0]:
    choice = shared_radio("Data", tuple(SOURCES), format_func=SOURCES.get, key="fm_source")
with columns[1]:
    size = shared_select_slider(
        "Input size (pixels, grayscale)", INPUT_SIZES, default=64, key="fm_size",
        help="200×200 is the seed's configuration (4,737,473 parameters); 64×64 trains in seconds on two cores.",
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
            f"seed 004's CNN is a binary classifier; this data has {dataset.num_classes} classes "
            f"({', '.join(dataset.class_names)}). Use a folder with exactly two class subfolders."
        )
except ValueError as error:
    show_value_error(error)
    dataset = None
if dataset is None:
    st.info("Choose a folder or upload a zip with two class subfolders.")
    st.stop()

dataset_banner(dataset)
if dataset.extras.get("corrupt"):
    with st.expander(f"{len(dataset.extras['corrupt'])} unreadable images skipped"):
        st.markdown("\n".join(f"- {message}" for message in dataset.extras["corrupt"]))
if dataset.extras.get("non_image_files"):
    st.caption(f"{dataset.extras['non_image_files']} files that are not images were skipped.")

st.subheader("The model")
report = analyze((size, size, 1), SEED_004_LAYERS)
layer_table = pd.DataFrame(
    [{"layer": layer.name, "output shape": str(layer.output_shape), "params": layer.params, "how": layer.params_formula}
     for layer in report.layers]
)
st.dataframe(layer_table, hide_index=True)
download_csv_button(layer_table, f"seed004_cnn_layers_{size}px.csv", key="fm_download_layers")
st.caption(
    f"Total: **{report.total_params:,} parameters** at {size}×{size}×1 "
    f"({report.layers[5].params / report.total_params:.0%} of them in the dense layer after flatten)."
)

columns = st.columns(3)
with columns[0]:
    epochs = shared_slider("Epochs", 1, 30, default=8, key="fm_epochs")
with columns[1]:
    batch_size = shared_select_slider("Batch size", (16, 32, 64), default=32, key="fm_batch")
with columns[2]:
    learning_rate = shared_select_slider("Learning rate (Adam)", (3e-4, 1e-3, 3e-3), default=1e-3, key="fm_lr")
share_link()
config = TrainConfig("cats_dogs_cnn", epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
if st.button("Train", type="primary", key="fm_train"):
    progress, done = progress_reporter("Training seed 004's CNN…")
    try:
        result = train(config, dataset, on_progress=progress)
    except ValueError as error:
        show_value_error(error)
        result = None
    except Exception as error:  # noqa: BLE001 - an unexpected failure is shown, never a traceback
        show_failure("Training the cats-vs-dogs CNN", error)
        result = None
    done()
else:
    result = cached_result(config, dataset)
if result is None:
    st.info(
        f"Press **Train**: {len(dataset.x_train):,} training images, {epochs} epochs. "
        "A run already trained with these settings appears at once."
    )
    st.stop()

st.metric("Test accuracy", f"{result.test_accuracy:.1%}", help=f"{len(dataset.x_test)} test images; {result.message}")
download_model_button(result, key="fm_download_model")
frame = charts.history_frame({"seed 004 CNN": result.history})
frame["split"] = frame["split"].replace({"test": "validation" if result.curves_on == "validation" else "test"})
left, right = st.columns(2)
left.altair_chart(charts.learning_curves(frame, metric="loss"), width="stretch")
right.altair_chart(charts.learning_curves(frame, metric="accuracy"), width="stretch")

st.subheader("Feature maps")
model = load_model(result)
photo = st.file_uploader("Your own image (optional)", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="fm_upload")
image = None
caption = ""
if photo is not None:
    try:
        image = decode_resized(photo.getvalue(), name=photo.name, image_size=size, color="grayscale")
        caption = photo.name
    except UploadError as error:
        show_value_error(error)
if image is None:
    index = st.slider("Test image", 0, len(dataset.x_test) - 1, 0, key="fm_image")
    image = dataset.x_test[index]
    caption = f"test image {index}: {dataset.class_names[int(dataset.y_test[index])]}"
prepared = prepare_inputs(image[np.newaxis])[0]
probability = float(np.asarray(model(prepared[np.newaxis], training=False)).reshape(-1)[0])
left, right = st.columns([1, 4])
left.image(image.squeeze(), caption=caption, width=160)
left.markdown(
    f"P({dataset.class_names[1]}) = **{probability:.1%}** → predicted **{dataset.class_names[int(probability >= 0.5)]}**"
)
with right:
    for name, maps in viz.feature_maps(model, prepared):
        grid = viz.feature_map_grid(maps)
        st.image(grid, caption=f"{name}: {maps.shape[-1]} maps of {maps.shape[0]}×{maps.shape[1]}", width="stretch")
        st.download_button(
            f"{name} maps (.png)", data=png_bytes(grid), file_name=f"feature_maps_{name}.png", mime="image/png",
            key=f"fm_download_{name}", icon=":material/image:", on_click="ignore",
        )

st.subheader("First-layer filters")
kernel = viz.conv_layers(model)[0].get_weights()[0]
filters = viz.filter_grid(kernel, upscale=12)
st.image(filters, caption="conv1: 32 filters of 3×3, each min–max normalised", width=480)
st.download_button(
    "Filters (.png)", data=png_bytes(filters), file_name="first_layer_filters.png", mime="image/png",
    key="fm_download_filters", icon=":material/image:", on_click="ignore",
)

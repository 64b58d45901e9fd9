"""The cats-vs-dogs page's Streamlit sections: the model's size, training, and what its convolutions see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, training, viz
from core.calculator import analyze
from core.datasets import Dataset, load_dataset
from core.datasets.images import decode_resized
from core.homework import NETWORKS
from core.inspection import feature_map_layers, image_id, image_inspection
from core.uploads import UploadError
from ui.render_memo import chart_spec, picture_png
from ui.export import download_csv_button, download_model_button
from ui.inspection import conv_arithmetic_section
from ui.training import Planned, training_section
from ui.widgets import show_value_error

NETWORK = NETWORKS["cats_dogs_cnn"]
HOMEWORK_NAME = NETWORK.source.name
PHOTO_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]


@st.cache_resource(show_spinner="Loading images…", max_entries=4)
def builtin_dataset(size: int) -> Dataset:
    """Cats vs dogs from the data directory (or the offline stand-in), decoded once per size."""
    return load_dataset("cats_vs_dogs", image_size=size, color="grayscale")


def model_section(size: int) -> None:
    """The network's layers at this input size, counted by the CNN calculator."""
    st.subheader("The model")
    report = analyze((size, size, 1), NETWORK.layers)
    layer_table = pd.DataFrame(
        [{"layer": layer.name, "output shape": str(layer.output_shape), "params": layer.params, "how": layer.params_formula}
         for layer in report.layers]
    )
    st.dataframe(layer_table, hide_index=True)
    download_csv_button(layer_table, f"cats_dogs_cnn_layers_{size}px.csv", key="fm_download_layers")
    first_dense = next(layer for layer in report.layers if layer.type == "dense")
    st.caption(
        f"Total: **{report.total_params:,} parameters** at {size}×{size}×1 "
        f"({first_dense.params / report.total_params:.0%} of them in the dense layer after flatten)."
    )


def train_section(config: training.TrainConfig, dataset: Dataset) -> training.RunResult | None:
    """The Train button (the shared training helper) and the run it trains, or the run already cached with these settings."""
    label = f"{HOMEWORK_NAME}'s CNN"
    return training_section([Planned(label, config, dataset)], key="fm_train").get(label)


def results_section(result: training.RunResult, dataset: Dataset) -> None:
    """Test accuracy, the trained model to download, and the learning curves."""
    st.metric("Test accuracy", f"{result.test_accuracy:.1%}", help=f"{len(dataset.x_test)} test images; {result.message}")
    download_model_button(result, key="fm_download_model")
    frame = charts.history_frame({"cats-vs-dogs CNN": result.history})
    frame["split"] = frame["split"].replace({"test": "validation" if result.curves_on == "validation" else "test"})
    left, right = st.columns(2)
    left.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="loss"), width="stretch")
    right.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="accuracy"), width="stretch")


def feature_maps_section(result: training.RunResult, dataset: Dataset, size: int) -> dict[str, np.ndarray]:
    """One image (a test image or the student's own), the model's verdict, and every conv layer's feature maps.

    Returns the image's :func:`core.inspection.image_inspection`, which also holds the filters.
    A test image's is kept on disk, so a cached run reopens without TensorFlow.
    """
    st.subheader("Feature maps")
    photo = st.file_uploader("Your own image (optional)", type=PHOTO_TYPES, key="fm_upload")
    image = None
    caption = ""
    if photo is not None:
        try:
            image = decode_resized(photo.getvalue(), name=photo.name, image_size=size, color="grayscale")
            caption = photo.name
        except UploadError as error:
            show_value_error(error)
    shown_id = None
    if image is None:
        index = st.slider("Test image", 0, len(dataset.x_test) - 1, 0, key="fm_image")
        image = dataset.x_test[index]
        caption = f"test image {index}: {dataset.class_names[int(dataset.y_test[index])]}"
        shown_id = image_id(image)
    prepared = training.prepare_inputs(image[np.newaxis])[0]
    inspection = image_inspection(result, prepared, image_id=shown_id)
    probability = float(inspection["probabilities"].reshape(-1)[0])
    left, right = st.columns([1, 4])
    left.image(image.squeeze(), caption=caption, width=160)
    left.markdown(
        f"P({dataset.class_names[1]}) = **{probability:.1%}** → predicted **{dataset.class_names[int(probability >= 0.5)]}**"
    )
    with right:
        for name, maps in feature_map_layers(inspection):
            grid = picture_png(viz.feature_map_grid, maps)
            st.image(grid, caption=f"{name}: {maps.shape[-1]} maps of {maps.shape[0]}×{maps.shape[1]}", width="stretch")
            _png_download(f"{name} maps (.png)", grid, f"feature_maps_{name}.png", key=f"fm_download_{name}")
    conv_arithmetic_section(result, prepared, inspection, key="fm")
    return inspection


def filters_section(inspection: dict[str, np.ndarray]) -> None:
    """The first conv layer's filters, each min–max normalised."""
    st.subheader("First-layer filters")
    kernel = inspection["kernel"]
    filters = picture_png(viz.filter_grid, kernel, upscale=12)
    st.image(filters, caption=f"{inspection['kernel_layer']}: {kernel.shape[-1]} filters of {kernel.shape[0]}×{kernel.shape[1]}, "
             "each min–max normalised", width=480)
    _png_download("Filters (.png)", filters, "first_layer_filters.png", key="fm_download_filters")


def _png_download(label: str, png: bytes, file_name: str, *, key: str) -> None:
    st.download_button(
        label, data=png, file_name=file_name, mime="image/png", key=key, icon=":material/image:", on_click="ignore"
    )

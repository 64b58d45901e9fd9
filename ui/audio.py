"""The audio page's Streamlit pieces: choosing and budgeting the data, training the three models, showing results.

The data caches are bounded (``max_entries``): their keys come from what users choose or upload,
and each entry holds clips or features in RAM. Heavy feature work is estimated first and waits
for a click (:func:`ui.widgets.wait_for_click`); the pure parts live in :mod:`core.audio`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, settings, viz
from core.audio.comparison import EXERCISE, Comparison, network_label
from core.audio.feature_dataset import audio_features, clip_features
from core.audio.features import FeatureSettings, feature_work
from core.audio.forest import fit_forest, forest_label
from core.audio.sources import (
    data_work,
    npy_upload_dataset,
    unpacked_zip,
    upload_digest,
)
from core.budget import check_memory
from core.cache import stable_hash
from core.datasets import Dataset, load_dataset
from core.datasets.audio import AXIS_ORDERS, NPY_FILES, data_dir_wav_folders
from core.datasets.wav import clip_samples, read_wav, summarise_errors, wav_bytes
from core.models.forest import forest_probabilities
from core.training import TrainConfig, load_model
from ui.render_memo import chart_spec, picture_png
from ui.confusion import confusion_section, example_caption
from ui.export import download_csv_button, download_model_button
from ui.shareable import shared_radio
from ui.training import Planned, training_section
from ui.widgets import (
    dataset_banner,
    mark_prepared,
    show_value_error,
    wait_for_click,
)

AXIS_LABELS = {"auto": "detect", "bands_frames": "bands × frames", "frames_bands": "frames × bands"}


# ---------------------------------------------------------------------------------------------
# Data


@st.cache_resource(show_spinner="Generating the synthetic sounds…", max_entries=2)
def synthetic_data(sample_rate: int, clip_seconds: float) -> Dataset:
    """The synthetic sound set at one rate and clip length, shared by every session."""
    return load_dataset("synthetic_sounds", sample_rate=sample_rate, clip_seconds=clip_seconds)


@st.cache_resource(show_spinner="Reading the recordings…", max_entries=2)
def fsdd_data(data_dir: str | None, sample_rate: int, clip_seconds: float) -> Dataset:
    """FSDD from the data directory, the Keras cache or a download (the synthetic set if none)."""
    return load_dataset("fsdd", data_dir=data_dir, sample_rate=sample_rate, clip_seconds=clip_seconds)


@st.cache_resource(show_spinner="Reading the WAV folder…", max_entries=2)
def folder_data(folder: str, sample_rate: int, clip_seconds: float) -> Dataset:
    """A WAV folder (class subfolders or FSDD naming) in the data directory, read only inside it."""
    return load_dataset(
        "wav_folder", folder=folder, sample_rate=sample_rate, clip_seconds=clip_seconds, dataset_name=Path(folder).name,
        fence=settings.data_dir(), shown_as=Path(folder).name,
    )


@st.cache_resource(show_spinner="Unpacking the zip…", max_entries=2)
def zip_data(digest: str, _payload: bytes, name: str, sample_rate: int, clip_seconds: float) -> Dataset:
    """An uploaded zip of WAVs, unpacked safely once per content hash into the cache's uploads pool."""
    return load_dataset(
        "wav_folder", folder=unpacked_zip(digest, _payload), sample_rate=sample_rate, clip_seconds=clip_seconds,
        dataset_name="uploaded zip", source=f"WAV files from {name}", shown_as=name, uploaded=True,
    )


@st.cache_resource(show_spinner="Computing spectrograms…", max_entries=4)
def features_for(fingerprint: str, _dataset: Dataset, feature_settings: FeatureSettings | None) -> Dataset:
    """Standardised features for a dataset and feature settings (cached on disk as well)."""
    return audio_features(_dataset, feature_settings)


@st.cache_resource(show_spinner="Refitting the random forest to label your clip…", max_entries=4)
def forest_model(fingerprint: str, trees: int, _features: Dataset) -> object:
    """The fitted forest, kept in memory only (the disk cache holds its scores, never a pickle)."""
    return fit_forest(_features, trees)


@dataclass(frozen=True)
class AudioData:
    """The chosen sounds and the standardised features the models read."""

    dataset: Dataset
    features: Dataset
    settings: FeatureSettings | None  # None when the features came ready-made (.npy)

    @property
    def is_waveform(self) -> bool:
        """True when the data are clips, so an uploaded WAV can be turned into the same features."""
        return self.settings is not None


def _npy_upload() -> Dataset:
    """The four uploaded arrays and their axis order; the page stops until they are there."""
    uploads = st.file_uploader(
        f"The four arrays ({', '.join(NPY_FILES)}), saved with np.save", type=["npy"], accept_multiple_files=True, key="npy_upload"
    )
    axis_order = shared_radio(
        "Axis order of each example", AXIS_ORDERS, format_func=AXIS_LABELS.get, horizontal=True, key="axis_order",
        help=f"The arrays of {EXERCISE.name} are 40 mel bands × 501 frames. 'detect' assumes there are fewer bands than frames.",
    )
    if not uploads:
        st.stop()
    return npy_upload_dataset(list(uploads), axis_order)


def _wav_folder(data_dir: Path | None) -> Path:
    """The chosen WAV folder inside the data directory; the page stops when there is none."""
    folders = data_dir_wav_folders(data_dir)
    if not folders:
        st.info(
            "No folder with WAV files in the data directory"
            + ("" if data_dir else f" (set {settings.DATA_DIR_ENV})")
            + ". Put a folder of class subfolders, or FSDD-named files, there.",
            icon=":material/folder_off:",
        )
        st.stop()
    return st.selectbox("Folder", folders, format_func=lambda path: path.name, key="wav_folder")


def _waveform_data(source: str, feature_settings: FeatureSettings, clip_seconds: float, data_dir: Path | None) -> tuple[Dataset, str]:
    """Clips from a WAV source, budgeted before any of it is done; heavy work waits for a click."""
    sample_rate = feature_settings.sample_rate
    chosen_folder: Path | None = None
    upload = None
    if source == "folder":
        chosen_folder = _wav_folder(data_dir)
    elif source == "zip":
        upload = st.file_uploader(
            "A zip of WAVs: one subfolder per class, or FSDD-named files ({digit}_{speaker}_{index}.wav)",
            type=["zip"], key="zip_upload",
        )
        if upload is None:
            st.stop()
    payload = upload.getvalue() if upload is not None else None
    clips, loading = data_work(source, sample_rate, clip_seconds, data_dir, chosen_folder, payload)
    work = loading + feature_work(max(clips, 1), clip_samples(sample_rate, clip_seconds), feature_settings)
    check_memory(
        f"{clips:,} clips of {clip_seconds:g} s at {sample_rate:,} Hz with these features", work.peak_bytes,
        "Use shorter clips, a lower sample rate, fewer mel bands or a larger hop.",
    )
    digest = upload_digest(payload) if payload is not None else None
    choice_key = stable_hash([source, str(chosen_folder), digest, str(data_dir), clip_seconds, feature_settings])
    wait_for_click(
        choice_key, work, what="Preparing these clips and spectrograms", button="Compute features", key="compute_features",
        advice="Fewer mel bands, a larger hop, a lower sample rate or shorter clips make it quicker.",
    )
    if source == "synthetic":
        return synthetic_data(sample_rate, clip_seconds), choice_key
    if source == "fsdd":
        return fsdd_data(str(data_dir) if data_dir else None, sample_rate, clip_seconds), choice_key
    if source == "folder":
        return folder_data(str(chosen_folder), sample_rate, clip_seconds), choice_key
    assert upload is not None and digest is not None and payload is not None
    return zip_data(digest, payload, upload.name, sample_rate, clip_seconds), choice_key


def prepare_data(
    source: str, *, sample_rate: int, clip_seconds: float, mel_bands: int, frame_length: int, hop_length: int, kind: str, mfcc_count: int
) -> AudioData:
    """The chosen source's data and its features with these settings; a bad choice shows its message and stops the page."""
    data_dir = settings.data_dir()
    try:
        if source == "npy":
            dataset, choice_key, feature_settings = _npy_upload(), None, None
        else:
            feature_settings = FeatureSettings(
                sample_rate=sample_rate, mel_bands=mel_bands, frame_length=frame_length, hop_length=hop_length, kind=kind,
                mfcc_count=mfcc_count,
            )
            dataset, choice_key = _waveform_data(source, feature_settings, clip_seconds, data_dir)
        waveform_settings = feature_settings if dataset.extras.get("kind") == "waveform" else None
        features = features_for(dataset.fingerprint, dataset, waveform_settings)
        if choice_key is not None:
            mark_prepared(choice_key)
    except ValueError as error:
        show_value_error(error)
        st.stop()
    return AudioData(dataset, features, waveform_settings)


def show_data(data: AudioData) -> None:
    """Where the data came from, what could not be read, its size per class, and a few spectrograms to see and hear."""
    dataset, features = data.dataset, data.features
    dataset_banner(dataset)
    unreadable = dataset.extras.get("unreadable", ())
    if unreadable:
        st.warning(f"{len(unreadable)} files could not be read and were left out:\n{summarise_errors(unreadable)}", icon=":material/warning:")
    bands, frames = features.input_shape
    summary = st.columns(5)
    summary[0].metric("Classes", dataset.num_classes)
    summary[1].metric("Training clips", f"{len(features.x_train):,}", help="After holding out 10% per class for early stopping.")
    summary[2].metric("Test clips", f"{len(dataset.x_test):,}")
    if data.is_waveform:
        summary[3].metric("Clip length", f"{dataset.extras['clip_seconds']:g} s")
        summary[4].metric("Sample rate", f"{dataset.extras['sample_rate']:,} Hz")
    else:
        summary[3].metric("Frames", frames)
        summary[4].metric("Bands", bands)
    counts = pd.DataFrame({"class": list(dataset.class_names), "train": list(dataset.class_counts("train").values()), "test": list(dataset.class_counts("test").values())})
    st.caption(
        f"Each example is a {bands} × {frames} image ({'MFCC' if data.settings and data.settings.kind == 'mfcc' else 'bands'} × frames), "
        f"standardised per band with training statistics. Per class:"
    )
    st.dataframe(counts.set_index("class").T, key="class_counts")

    with st.expander("A few examples per class (from the test set)", expanded=True):
        per_class = st.slider("Examples per class", 1, 3, 1, key="examples_per_class")
        shown_classes = range(min(dataset.num_classes, 12))
        columns = st.columns(4)
        examples = [(label, index) for label in shown_classes for index in np.flatnonzero(dataset.y_test == label)[:per_class]]
        for position, (label, index) in enumerate(examples):
            with columns[position % 4]:
                st.image(picture_png(viz.spectrogram_image, features.x_test[index]), caption=dataset.class_names[label], width="stretch")
                if data.is_waveform:
                    st.audio(wav_bytes(dataset.x_test[index], dataset.extras["sample_rate"]), format="audio/wav")
        if dataset.num_classes > len(shown_classes):
            st.caption(f"Showing the first {len(shown_classes)} of {dataset.num_classes} classes.")


# ---------------------------------------------------------------------------------------------
# Training


def train_section(features: Dataset, configs: dict[str, TrainConfig]) -> Comparison:
    """The 'Train all three' button (the shared training helper) and the comparison of what has run, by role."""
    planned = [Planned(network_label(config), config, features) for config in configs.values()]
    done = training_section(planned, key="train_all", button="Train all three")
    runs = {role: done[network_label(config)] for role, config in configs.items() if network_label(config) in done}
    return Comparison(dict(configs), runs)


# ---------------------------------------------------------------------------------------------
# Results


def show_results(comparison: Comparison, data: AudioData) -> None:
    """The comparison table and downloads, confusion matrices, per-class accuracy, curves, and labelling your own clip."""
    features = data.features
    if comparison.is_empty:
        st.info("Nothing trained with these settings yet. Click **Train all three**.", icon=":material/hourglass_empty:")
        return
    labelled = comparison.labelled
    for label, result in labelled.items():
        if result.diverged:
            st.warning(f"{label}: {result.message}", icon=":material/warning:")
    if comparison.pending:
        st.caption("Some models have not run with these settings yet; their columns are missing until you train.")
    rows = pd.DataFrame(comparison.rows(features))
    st.dataframe(
        rows, hide_index=True, key="results_table",
        column_config={
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "macro-F1": st.column_config.NumberColumn(format="%.3f"),
            "fit s": st.column_config.NumberColumn(format="%.1f"),
            "predict s": st.column_config.NumberColumn(format="%.2f"),
            "params": st.column_config.NumberColumn(format="localized"),
        },
    )
    download_csv_button(rows, "audio_models_results.csv", key="download_results")
    networks = {role: run for role, run in comparison.runs.items() if role != "forest"}
    if networks:
        for column, (role, result) in zip(st.columns(len(networks)), networks.items()):
            with column:
                download_model_button(result, key=f"download_{role}", label=f"{network_label(result.config)} (.keras)")
    if comparison.forest is not None:
        st.caption(
            "The random forest has no download: it is kept only in memory, since a saved scikit-learn model is a "
            "pickle, and loading a pickle can run code."
        )
    _show_errors_per_class(comparison.predictions, data)
    if comparison.networks:
        history = charts.history_frame({label: result.history for label, result in comparison.networks.items()}, held_out="validation")
        accuracy_column, loss_column = st.columns(2)
        accuracy_column.vega_lite_chart(chart_spec(charts.learning_curves, history, metric="accuracy"), width="stretch")
        loss_column.vega_lite_chart(chart_spec(charts.learning_curves, history, metric="loss"), width="stretch")
        st.caption(
            "Solid: the validation clips, 10% of training held out per class and used for early "
            "stopping, measured after every epoch. Dashed: the training batches. The table's accuracy is on the untouched test set."
        )

    st.subheader("Label your own clip")
    if not data.is_waveform:
        st.caption("These features came from .npy files, so there is no recipe to turn a WAV into them; use a WAV source to try your own clip.")
    else:
        _label_your_clip(comparison, features)


def _show_errors_per_class(predictions: dict[str, np.ndarray], data: AudioData) -> None:
    """Confusion matrices on one colour scale, a chosen cell's clips to see and hear, and per-class accuracy."""
    features = data.features
    st.markdown("**Where each model goes wrong**")
    confusion_section(
        predictions, features.y_test, features.class_names, key="audio_confusion",
        show_examples=partial(_clip_examples, data), examples="test clips",
    )
    per_class = pd.concat(
        [charts.per_class_accuracy_frame(features.y_test, predicted, features.class_names).assign(model=label) for label, predicted in predictions.items()],
        ignore_index=True,
    )
    st.vega_lite_chart(chart_spec(charts.grouped_accuracy_chart, per_class), width="stretch")
    download_csv_button(per_class, "audio_models_per_class_accuracy.csv", key="download_per_class", label="Per-class accuracy as CSV")


def _clip_examples(data: AudioData, indices: np.ndarray) -> None:
    """Test clips as the models see them (the standardised spectrogram), with their sound when the data has it."""
    dataset, features = data.dataset, data.features
    columns = st.columns(4)
    for position, index in enumerate(indices):
        with columns[position % 4]:
            st.image(picture_png(viz.spectrogram_image, features.x_test[index]), caption=example_caption(index), width="stretch")
            if data.is_waveform:
                st.audio(wav_bytes(dataset.x_test[index], dataset.extras["sample_rate"]), format="audio/wav")
    if not data.is_waveform:
        st.caption("These features came from .npy files, which hold no sound, so there is nothing to play: spectrograms only.")


def _label_your_clip(comparison: Comparison, features: Dataset) -> None:
    """An uploaded WAV through the same features and every trained model, as top-5 probability bars."""
    clip_upload = st.file_uploader("One WAV file", type=["wav"], key="wav_upload")
    if clip_upload is None:
        return
    try:
        samples, rate = read_wav(clip_upload.getvalue(), name=clip_upload.name)
        image = clip_features(samples, rate, features)
    except ValueError as error:
        show_value_error(error)
        return
    st.audio(clip_upload.getvalue(), format="audio/wav")
    outputs = {}
    if comparison.forest is not None:
        trees = comparison.forest.config.model_kwargs["trees"]
        forest = forest_model(features.fingerprint, trees, features)
        outputs[forest_label(trees)] = forest_probabilities(forest, image, features.num_classes)[0]
    for label, result in comparison.networks.items():
        outputs[label] = load_model(result).predict(image, verbose=0)[0]
    for column, (label, probabilities) in zip(st.columns(max(1, len(outputs))), outputs.items()):
        column.vega_lite_chart(
            chart_spec(charts.probability_bars, charts.probability_frame(features.class_names, probabilities), title=label, top=5),
            width="stretch",
        )

"""Audio: a random forest, a CNN and an LSTM classify the same log-mel spectrograms, side by side."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core import audio, charts, fit_worker, settings, viz
from core.budget import WorkEstimate, check_memory
from core.audio_models import (
    CELL_NAMES,
    SEED_RESULTS,
    TREE_CHOICES,
    audio_features,
    cached_forest_result,
    clip_features,
    cnn_config,
    comparison_rows,
    fit_forest,
    forest_probabilities,
    network_label,
    rnn_config,
    train_forest,
)
from core.cache import DiskCache, stable_hash
from core.datasets import Dataset, load_dataset
from core.datasets.audio import (
    AXIS_ORDERS,
    NPY_FILES,
    audio_npy_dataset,
    data_dir_wav_folders,
    folder_work,
    fsdd_recordings,
    zip_work,
)
from core.training import RunResult, TrainingProgress, cached_result, load_model, train
from core.uploads import AUDIO_SUFFIXES, load_npy, npy_header, safe_extract_zip
from ui.export import download_csv_button, download_model_button
from ui.shareable import (
    share_link,
    shared_number,
    shared_radio,
    shared_select_slider,
    shared_selectbox,
    shared_slider,
)
from ui.widgets import dataset_banner, mark_prepared, progress_reporter, show_failure, show_value_error, wait_for_click

SOURCES = {
    "synthetic": "Synthetic sounds (offline)",
    "fsdd": "Free Spoken Digit Dataset",
    "folder": "WAV folder in the data directory",
    "zip": "Upload a zip of WAVs",
    "npy": "Upload the seed's four .npy files",
}
AXIS_LABELS = {"auto": "detect", "bands_frames": "bands × frames", "frames_bands": "frames × bands"}
MAX_ZIP_FILES = 10_000
MAX_ZIP_BYTES = 300_000_000
SYNTHETIC_CLIPS = len(audio.SYNTHETIC_CLASSES) * (60 + 20)  # the built-in set: 60 training and 20 test clips per class


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
    # Published by atomic rename, so a failed or interrupted unpack is never mistaken for a dataset;
    # the uploads pool has its own size limit, so unpacked zips never evict anyone's trained runs.
    uploads = DiskCache()
    destination = uploads.get("audio-uploads", digest)
    if destination is None:
        destination = uploads.put(
            "audio-uploads",
            digest,
            lambda folder: safe_extract_zip(
                _payload, folder, suffixes=AUDIO_SUFFIXES, max_files=MAX_ZIP_FILES, max_total_bytes=MAX_ZIP_BYTES
            ),
        )
    return load_dataset(
        "wav_folder", folder=destination, sample_rate=sample_rate, clip_seconds=clip_seconds, dataset_name="uploaded zip",
        source=f"WAV files from {name}", shown_as=name,
    )


@st.cache_resource(show_spinner="Computing spectrograms…", max_entries=4)
def features_for(fingerprint: str, _dataset: Dataset, feature_settings: audio.FeatureSettings | None) -> Dataset:
    """Standardised features for a dataset and feature settings (cached on disk as well)."""
    return audio_features(_dataset, feature_settings)


@st.cache_resource(show_spinner="Refitting the random forest to label your clip…", max_entries=4)
def forest_model(fingerprint: str, trees: int, _features: Dataset) -> object:
    """The fitted forest, kept in memory only (the disk cache holds its scores, never a pickle)."""
    return fit_forest(_features, trees)


def npy_upload_dataset(files: list, axis_order: str) -> Dataset:
    """The four uploaded arrays, read without pickles after their headers are checked against the budget."""
    by_name = {file.name: file for file in files}
    missing = [name for name in NPY_FILES if name not in by_name]
    if missing:
        raise ValueError(f"still missing {', '.join(missing)}; upload all four of {', '.join(NPY_FILES)}")
    headers = {name: npy_header(by_name[name].getvalue(), name=name) for name in NPY_FILES}
    # Features become float32 once, are standardised in place and split (one more copy).
    needed = sum(math.prod(shape) * (dtype.itemsize + 8) for shape, dtype in headers.values())
    check_memory("The four .npy files", needed, "Upload fewer examples, or fewer bands or frames per example.")
    arrays = {name.removesuffix(".npy"): load_npy(by_name[name].getvalue(), name=name, copies=0) for name in NPY_FILES}
    return audio_npy_dataset(arrays, axis_order=axis_order)


def data_work(source: str, sample_rate: int, clip_seconds: float, data_dir: Path | None, folder: Path | None, payload: bytes | None) -> tuple[int, WorkEstimate]:
    """Clips and the cost of loading them for a data choice, from counts and headers only."""
    if source == "fsdd":
        recordings = fsdd_recordings(data_dir)
        if recordings is not None:
            return folder_work(recordings, sample_rate, clip_seconds)
    if source in ("synthetic", "fsdd"):
        return SYNTHETIC_CLIPS, audio.synthetic_work(sample_rate=sample_rate, clip_seconds=clip_seconds)
    if source == "folder" and folder is not None:
        return folder_work(folder, sample_rate, clip_seconds, fence=data_dir)
    if source == "zip" and payload is not None:
        return zip_work(payload, sample_rate, clip_seconds, max_files=MAX_ZIP_FILES)
    return 0, WorkEstimate(0.0, 0)


st.title("Audio: random forest vs CNN vs LSTM")
st.markdown(
    "A sound becomes a picture: a **log-mel spectrogram** slices the clip into short overlapping frames, "
    "measures the energy in each frame at mel-spaced frequency bands (spaced as the ear hears pitch), and takes "
    "the logarithm. The seed exercise classified 15 acoustic scenes from such 40 × 501 images with three models: "
    "a **random forest** on the flattened pixels, a small **CNN**, and an **LSTM** that reads one frame per timestep. "
    "Here you can run the same comparison on any audio."
)

# ---------------------------------------------------------------------------------------------
st.header("1 · Data and features")
source = shared_radio("Data", tuple(SOURCES), format_func=SOURCES.get, horizontal=True, key="audio_source")
with st.container(border=True):
    rate_column, clip_column, bands_column, kind_column = st.columns(4)
    with rate_column:
        sample_rate = shared_selectbox(
            "Sample rate (Hz)", (8000, 16000, 22050), key="sample_rate", disabled=source == "npy",
            help="Every clip is resampled to this rate with a polyphase filter. FSDD is recorded at 8 kHz.",
        )
    with clip_column:
        clip_seconds = shared_slider(
            "Clip length (s)", 0.25, 5.0, default=1.0, step=0.25, key="clip_seconds", disabled=source == "npy",
            help="Longer recordings are trimmed, shorter ones padded with silence at the end.",
        )
    with bands_column:
        mel_bands = shared_slider(
            "Mel bands", 8, 128, default=40, step=4, key="mel_bands", disabled=source == "npy", help="40, as in the seed."
        )
    with kind_column:
        kind = shared_radio(
            "Features", audio.FEATURE_KINDS, format_func={"log_mel": "log-mel", "mfcc": "MFCC"}.get, key="feature_kind",
            disabled=source == "npy", horizontal=True,
        )
    frame_column, hop_column, mfcc_column, _ = st.columns(4)
    with frame_column:
        frame_length = shared_selectbox(
            "Frame length (samples)", (128, 256, 512, 1024), default=256, key="frame_length", disabled=source == "npy"
        )
    with hop_column:
        hop_length = shared_selectbox("Hop (samples)", (64, 128, 256, 512), default=128, key="hop_length", disabled=source == "npy")
    with mfcc_column:
        mfcc_count = shared_slider(
            "MFCC coefficients", 4, 40, default=13, key="mfcc_count", disabled=source == "npy" or kind != "mfcc",
            help="The first coefficients of the cosine transform of each log-mel frame.",
        )

dataset: Dataset | None = None
data_dir = settings.data_dir()
try:
    feature_settings = None if source == "npy" else audio.FeatureSettings(
        sample_rate=int(sample_rate), mel_bands=int(mel_bands), frame_length=int(frame_length),
        hop_length=int(hop_length), kind=kind, mfcc_count=int(mfcc_count),
    )
    chosen_folder: Path | None = None
    payload: bytes | None = None
    if source == "folder":
        folders = data_dir_wav_folders(data_dir)
        if not folders:
            st.info(
                "No folder with WAV files in the data directory"
                + ("" if data_dir else f" (set {settings.DATA_DIR_ENV})")
                + ". Put a folder of class subfolders, or FSDD-named files, there.",
                icon=":material/folder_off:",
            )
            st.stop()
        chosen_folder = st.selectbox("Folder", folders, format_func=lambda path: path.name, key="wav_folder")
    elif source == "zip":
        upload = st.file_uploader(
            "A zip of WAVs: one subfolder per class, or FSDD-named files ({digit}_{speaker}_{index}.wav)",
            type=["zip"], key="zip_upload",
        )
        if upload is None:
            st.stop()
        payload = upload.getvalue()
    elif source == "npy":
        uploads = st.file_uploader(
            f"The four arrays ({', '.join(NPY_FILES)}), saved with np.save", type=["npy"], accept_multiple_files=True, key="npy_upload"
        )
        axis_order = shared_radio(
            "Axis order of each example", AXIS_ORDERS, format_func=AXIS_LABELS.get, horizontal=True, key="axis_order",
            help="DATA.ML.200 Exercise 5's arrays are 40 mel bands × 501 frames. 'detect' assumes there are fewer bands than frames.",
        )
        if not uploads:
            st.stop()
        dataset = npy_upload_dataset(list(uploads), axis_order)
    if feature_settings is not None:
        # Budget what these choices cause before doing any of it; heavy work waits for a click.
        clips, loading = data_work(source, int(sample_rate), float(clip_seconds), data_dir, chosen_folder, payload)
        length = audio.clip_samples(int(sample_rate), float(clip_seconds))
        work = loading + audio.feature_work(max(clips, 1), length, feature_settings)
        check_memory(
            f"{clips:,} clips of {float(clip_seconds):g} s at {int(sample_rate):,} Hz with these features", work.peak_bytes,
            "Use shorter clips, a lower sample rate, fewer mel bands or a larger hop.",
        )
        digest = hashlib.sha256(payload).hexdigest()[:20] if payload is not None else None
        choice_key = stable_hash([source, str(chosen_folder), digest, str(data_dir), float(clip_seconds), feature_settings])
        wait_for_click(
            choice_key, work, what="Preparing these clips and spectrograms", button="Compute features", key="compute_features",
            advice="Fewer mel bands, a larger hop, a lower sample rate or shorter clips make it quicker.",
        )
        if source == "synthetic":
            dataset = synthetic_data(int(sample_rate), float(clip_seconds))
        elif source == "fsdd":
            dataset = fsdd_data(str(data_dir) if data_dir else None, int(sample_rate), float(clip_seconds))
        elif source == "folder":
            dataset = folder_data(str(chosen_folder), int(sample_rate), float(clip_seconds))
        else:
            dataset = zip_data(digest, payload, upload.name, int(sample_rate), float(clip_seconds))
    assert dataset is not None
    waveform_settings = feature_settings if dataset.extras.get("kind") == "waveform" else None
    features = features_for(dataset.fingerprint, dataset, waveform_settings)
    if feature_settings is not None:
        mark_prepared(choice_key)
except ValueError as error:
    show_value_error(error)
    st.stop()
feature_settings = waveform_settings

dataset_banner(dataset)
unreadable = dataset.extras.get("unreadable", ())
if unreadable:
    st.warning(f"{len(unreadable)} files could not be read and were left out:\n{audio.summarise_errors(unreadable)}", icon=":material/warning:")
is_waveform = dataset.extras.get("kind") == "waveform"
bands, frames = features.input_shape
summary = st.columns(5)
summary[0].metric("Classes", dataset.num_classes)
summary[1].metric("Training clips", f"{len(features.x_train):,}", help="After holding out 10% per class for early stopping.")
summary[2].metric("Test clips", f"{len(dataset.x_test):,}")
if is_waveform:
    summary[3].metric("Clip length", f"{dataset.extras['clip_seconds']:g} s")
    summary[4].metric("Sample rate", f"{dataset.extras['sample_rate']:,} Hz")
else:
    summary[3].metric("Frames", frames)
    summary[4].metric("Bands", bands)
counts = pd.DataFrame({"class": list(dataset.class_names), "train": list(dataset.class_counts("train").values()), "test": list(dataset.class_counts("test").values())})
st.caption(
    f"Each example is a {bands} × {frames} image ({'MFCC' if feature_settings and feature_settings.kind == 'mfcc' else 'bands'} × frames), "
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
            st.image(viz.spectrogram_image(features.x_test[index]), caption=dataset.class_names[label], width="stretch")
            if is_waveform:
                st.audio(audio.wav_bytes(dataset.x_test[index], dataset.extras["sample_rate"]), format="audio/wav")
    if dataset.num_classes > len(shown_classes):
        st.caption(f"Showing the first {len(shown_classes)} of {dataset.num_classes} classes.")

# ---------------------------------------------------------------------------------------------
st.header("2 · Models")
with st.container(border=True):
    forest_column, cnn_column, rnn_column = st.columns(3)
    with forest_column:
        tree_choice = shared_selectbox(
            "Random forest: trees", (*TREE_CHOICES, "other"), default=TREE_CHOICES[2], key="trees_choice",
            format_func=lambda choice: "other…" if choice == "other" else str(choice),
            help="The seed tried 10, 50 and 100 trees on the flattened spectrogram.",
        )
        trees = (
            int(shared_number("Number of trees", min_value=1, max_value=1000, default=200, key="trees_other"))
            if tree_choice == "other" else int(tree_choice)
        )
    with cnn_column:
        st.markdown(
            "**CNN** (the seed's): conv 5×5×32 ReLU → max-pool 2 → conv 5×5×32 'same' ReLU → max-pool 2 → flatten → softmax."
        )
    with rnn_column:
        cell = shared_selectbox("Recurrent net", tuple(CELL_NAMES), format_func=CELL_NAMES.get, key="rnn_cell",
                                help="32 units, every timestep kept and flattened into the softmax, as in the seed.")
    epochs_column, batch_column, rate_column, patience_column = st.columns(4)
    with epochs_column:
        epochs = int(shared_number("Epochs (networks)", min_value=1, max_value=200, default=20, key="epochs", help="The seed allowed up to 50."))
    with batch_column:
        batch_size = int(shared_selectbox("Batch size", (16, 32, 64, 128), default=32, key="batch_size",
                                          help="The seed used 64 for the CNN and 32 for the LSTM."))
    with rate_column:
        learning_rate = float(shared_select_slider(
            "Learning rate (Adam)", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2), default=1e-3, key="learning_rate"
        ))
    with patience_column:
        patience = int(shared_number(
            "Early-stopping patience", min_value=0, max_value=50, default=10, key="patience",
            help="Stop when the validation loss has not improved for this many epochs and keep the best weights; 0 turns it off.",
        ))
    share_link()

network_configs = {
    "cnn": cnn_config(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience or None),
    "rnn": rnn_config(cell, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience or None),
}
forest_result = cached_forest_result(features, trees)
network_results: dict[str, RunResult] = {}
for role, config in network_configs.items():
    found = cached_result(config, features)
    if found is not None:
        network_results[role] = found
pending = (forest_result is None) + sum(role not in network_results for role in network_configs)

if pending:
    fit_worker.prestart()  # load TensorFlow in the training process before the click, not after

clicked = st.button(
    "Train all three" if pending else "All three trained: shown below",
    type="primary", icon=":material/play_arrow:", disabled=not pending, key="train_all",
    help="Trains what has not run with these settings yet; every result is cached on disk.",
)
if clicked and pending:
    report, clear = progress_reporter("Training…")
    steps = [("forest", None)] + list(network_configs.items())
    for position, (role, config) in enumerate(steps):
        label = f"Random forest ({trees} trees)" if config is None else network_label(config)

        def scaled(progress: TrainingProgress, position: int = position, label: str = label) -> None:
            report(dataclasses.replace(progress, fraction=(position + progress.fraction) / len(steps),
                                       message=f"{label} ({position + 1} of {len(steps)}): {progress.message}"))

        try:
            if config is None:
                if forest_result is None:
                    scaled(TrainingProgress(0.0, "fitting the trees…"))
                    forest_result = train_forest(features, trees)
            elif role not in network_results:
                network_results[role] = train(config, features, on_progress=scaled)
        except ValueError as error:
            show_value_error(error)
        except Exception as error:  # a failed fit must not take the page down with it
            show_failure(f"Training {label}", error)
    clear()

# ---------------------------------------------------------------------------------------------
st.header("3 · Results")
if forest_result is None and not network_results:
    st.info("Nothing trained with these settings yet. Click **Train all three**.", icon=":material/hourglass_empty:")
else:
    labelled = {network_label(network_configs[role]): result for role, result in network_results.items()}
    for label, result in labelled.items():
        if result.diverged:
            st.warning(f"{label}: {result.message}", icon=":material/warning:")
    if pending and not clicked:
        st.caption("Some models have not run with these settings yet; their columns are missing until you train.")
    rows = pd.DataFrame(comparison_rows(forest_result, labelled, features.y_test, features.num_classes))
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
    if labelled:
        download_columns = st.columns(len(labelled))
        for column, (role, result) in zip(download_columns, network_results.items()):
            with column:
                download_model_button(result, key=f"download_{role}", label=f"{network_label(result.config)} (.keras)")
    if forest_result is not None:
        st.caption(
            "The random forest has no download: it is kept only in memory, since a saved scikit-learn model is a "
            "pickle, and loading a pickle can run code."
        )
    predictions = {}
    if forest_result is not None:
        predictions[f"Random forest ({forest_result.trees} trees)"] = forest_result.predicted_labels
    predictions.update({label: result.predicted_labels for label, result in labelled.items()})
    if features.num_classes <= charts.MAX_CONFUSION_CLASSES:
        size = 180 if features.num_classes <= 10 else 260
        matrices = [
            charts.confusion_chart(charts.confusion_frame(features.y_test, predicted, features.class_names), features.class_names, title=label, size=size)
            for label, predicted in predictions.items()
        ]
        # One concatenated chart, so all matrices share one legend and one 0–1 colour scale.
        st.altair_chart(alt.concat(*matrices, columns=2).resolve_scale(color="shared"), width="content")
        st.caption("Each row is one true class; colour is the share of that class's test clips, on the same 0–100% scale for every model.")
    else:
        st.caption(
            f"With {features.num_classes} classes a confusion matrix has {features.num_classes ** 2:,} cells, too many to read; "
            "the per-class accuracy below shows where each model goes wrong."
        )
    per_class = pd.concat(
        [charts.per_class_accuracy_frame(features.y_test, predicted, features.class_names).assign(model=label) for label, predicted in predictions.items()],
        ignore_index=True,
    )
    st.altair_chart(charts.grouped_accuracy_chart(per_class), width="stretch")
    download_csv_button(per_class, "audio_models_per_class_accuracy.csv", key="download_per_class", label="Per-class accuracy as CSV")
    if labelled:
        history = charts.history_frame({label: result.history for label, result in labelled.items()}, held_out="validation")
        accuracy_column, loss_column = st.columns(2)
        accuracy_column.altair_chart(charts.learning_curves(history, metric="accuracy"), width="stretch")
        loss_column.altair_chart(charts.learning_curves(history, metric="loss"), width="stretch")
        st.caption(
            "Solid: the validation clips, 10% of training held out per class and used for early "
            "stopping, measured after every epoch. Dashed: the training batches. The table's accuracy is on the untouched test set."
        )

    # -----------------------------------------------------------------------------------------
    st.subheader("Label your own clip")
    if not is_waveform:
        st.caption("These features came from .npy files, so there is no recipe to turn a WAV into them; use a WAV source to try your own clip.")
    else:
        clip_upload = st.file_uploader("One WAV file", type=["wav"], key="wav_upload")
        if clip_upload is not None:
            try:
                samples, rate = audio.read_wav(clip_upload.getvalue(), name=clip_upload.name)
                image = clip_features(samples, rate, features)
            except ValueError as error:
                show_value_error(error)
            else:
                st.audio(clip_upload.getvalue(), format="audio/wav")
                outputs = {}
                if forest_result is not None:
                    forest = forest_model(features.fingerprint, forest_result.trees, features)
                    outputs[f"Random forest ({forest_result.trees} trees)"] = forest_probabilities(forest, image, features.num_classes)[0]
                for label, result in labelled.items():
                    outputs[label] = load_model(result).predict(image, verbose=0)[0]
                prediction_columns = st.columns(max(1, len(outputs)))
                for column, (label, probabilities) in zip(prediction_columns, outputs.items()):
                    column.altair_chart(
                        charts.probability_bars(charts.probability_frame(features.class_names, probabilities), title=label, top=5),
                        width="stretch",
                    )

# ---------------------------------------------------------------------------------------------
st.header("4 · Why the results come out this way")
st.dataframe(
    pd.DataFrame(SEED_RESULTS), hide_index=True, key="seed_results",
    column_config={"seed's test accuracy": st.column_config.NumberColumn(format="percent")},
)
st.caption("The seed's own figures on 15 acoustic scenes (40 mel bands × 501 frames), not measured here.")
st.markdown(
    """
- **The forest sees pixels, not patterns.** Each of the bands × frames numbers is a separate feature, so the
  forest cannot tell that a chirp one frame later is the same chirp. It works when *which bands carry energy*
  is enough, as for acoustic scenes, whose sound is a steady texture; more trees average away variance
  (51.5% → 59.5% in the seed) but cannot add the missing notion of time.
- **Flatten → dense throws away what convolution buys.** The seed's CNN learns shift-tolerant local detectors,
  then flattens a large map into a dense layer that has most of its parameters (about 536,000 of 562,000 for
  40 × 501 inputs). With a few hundred clips per class it overfits quickly, and early stopping keeps an early,
  weak epoch: 44.9%, below the forest. On short clips (FSDD's 1 s: 40 × 61) that dense layer is about 9 times
  smaller and the same CNN does well.
- **The LSTM summarises context frame by frame.** Its 32-number state at every frame is a learned, smoothed
  description of what was heard so far, so the flattened sequence is a much better input for the softmax than raw
  pixels, which is why it beat both in the seed (58.9%).
- **The data decides.** Spoken digits (FSDD) are short words that start near the beginning of the clip, so
  position matters less and every model does far better than on scenes; the synthetic sounds are separable by
  their shape in time and frequency, which favours the convolutional and recurrent models over the forest.
"""
)

"""Audio datasets: DATA.ML.200 Exercise 5's four ``.npy`` feature files, WAV folders (class folders or FSDD naming), FSDD, synthetic sounds.

Two kinds of :class:`~core.datasets.Dataset` come out of here, told apart by ``extras["kind"]``:

- ``"waveform"``: ``x`` is (N, samples) float32 mono clips at ``extras["sample_rate"]``, padded or
  trimmed to ``extras["clip_seconds"]``; features are computed later with the page's settings.
- ``"features"``: ``x`` is (N, bands, frames) float32, ready-made features such as DATA.ML.200
  Exercise 5's 40 mel bands × 501 frames.

WAV decoding lives in :mod:`core.datasets.wav`, the synthetic sounds in
:mod:`core.datasets.synthetic_sounds`. Nothing here imports TensorFlow or Keras: FSDD's release
archive downloads through :func:`core.download.fetch`, checked against its published checksum, so a
classroom mirror can serve it like every other file.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from core import download, settings
from core.budget import WorkEstimate
from core.cache import cached_arrays, stable_hash
from core.datasets.archives import unpack_selected
from core.datasets.base import Dataset, DatasetError, Location, made_once, register_loader
from core.datasets.keras_source import keras_datasets_dir, network_available, unreachable_mirror_note
from core.datasets.synthetic_sounds import (
    SYNTHETIC_CLASSES,
    SYNTHETIC_SOURCE,
    synthetic_sounds,
)
from core.datasets.wav import decode_files, decode_work, wav_files
from core.homework import HOMEWORK
from core.settings import is_inside

# The homework whose four arrays the .npy loader reads, named in its messages.
NPY_HOMEWORK = HOMEWORK["data_ml_200_ex5"]
NPY_FILES = ("X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy")
AXIS_ORDERS = ("auto", "bands_frames", "frames_bands")
FSDD_PATTERN = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$", re.IGNORECASE)
FSDD_TEST_INDICES = range(0, 5)  # the dataset's README: recordings 0–4 of every speaker and digit are the test set
FSDD_ORIGIN = download.FSDD_ORIGIN  # release 1.0.9: the one with a published checksum (see core.download)
FSDD_ARCHIVE_NAME = download.FSDD.name
FSDD_FOLDER = "fsdd/recordings"  # in the data directory, as the instructions say, and in the Keras cache after a download
DEFAULT_TEST_FRACTION = 0.2
# One softmax output, one confusion-matrix row and one table column per class: bounded, like the image pages.
MAX_CLASSES = 1000


# ---------------------------------------------------------------------------------------------
# DATA.ML.200 Exercise 5's .npy features


def detect_axis_order(example_shape: tuple[int, int]) -> str:
    """Guess whether examples are (bands, frames) or (frames, bands): spectrograms have fewer bands than frames."""
    first, second = example_shape
    return "frames_bands" if first > second else "bands_frames"


def _check_features(name: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "iuf":
        raise DatasetError(f"{name} has dtype {x.dtype}; features must be numbers (float or integer)")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]  # (N, bands, frames, 1) as fed to the exercise's CNN
    if x.ndim != 3:
        raise DatasetError(
            f"{name} has shape {x.shape}; expected (examples, bands, frames), e.g. (N, 40, 501) as in {NPY_HOMEWORK.name}"
        )
    if x.shape[0] == 0:
        raise DatasetError(f"{name} holds no examples")
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1) if x.dtype.kind == "f" else np.zeros(len(x), bool)
    if bad.any():
        raise DatasetError(
            f"{name} has NaN or infinite values in {int(bad.sum())} examples (the first is example {int(np.argmax(bad))}); "
            "fix or drop them before uploading"
        )
    return x


def _check_labels(name: str, y: np.ndarray) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{name} has shape {y.shape}; expected a 1-D vector of class indices (not one-hot)")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DatasetError(f"{name} holds non-integer values; labels must be class indices 0, 1, 2, …")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{name} has dtype {y.dtype}; labels must be integer class indices")
    # Checked before converting, so a float label of 1e300 or a uint64 of 2**63 cannot wrap around.
    if len(y) and y.min() < 0:
        raise DatasetError(f"{name} has the negative label {y.min():g}; labels must be 0, 1, 2, …")
    if len(y) and y.max() >= MAX_CLASSES:
        raise DatasetError(
            f"{name} has the label {y.max():,.0f}, but labels must be class indices 0 to K−1 with at most "
            f"{MAX_CLASSES:,} classes (one output per class). If your labels are codes or IDs, remap them first: "
            "classes, y = np.unique(y, return_inverse=True)."
        )
    return y.astype(np.int64)


def audio_npy_dataset(
    arrays: Mapping[str, np.ndarray], *, axis_order: str = "auto", source: str = "uploaded .npy files"
) -> Dataset:
    """A features dataset from the four arrays ``X_train, y_train, X_test, y_test``, validated one check at a time."""
    if axis_order not in AXIS_ORDERS:
        raise DatasetError(f"axis_order must be one of {AXIS_ORDERS}, got {axis_order!r}")
    missing = [name for name in NPY_FILES if name.removesuffix(".npy") not in arrays]
    if missing:
        raise DatasetError(f"missing {', '.join(missing)}; {NPY_HOMEWORK.name} saved its features as four files: {', '.join(NPY_FILES)}")
    x_train = _check_features("X_train", np.asarray(arrays["X_train"]))
    x_test = _check_features("X_test", np.asarray(arrays["X_test"]))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"X_train examples are {x_train.shape[1:]} but X_test examples are {x_test.shape[1:]}; both splits need the same shape"
        )
    y_train = _check_labels("y_train", np.asarray(arrays["y_train"]))
    y_test = _check_labels("y_test", np.asarray(arrays["y_test"]))
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) != len(y):
            raise DatasetError(f"X_{split} has {len(x):,} examples but y_{split} has {len(y):,} labels")
    seen = np.unique(y_train)
    if len(seen) < 2:
        raise DatasetError(f"y_train holds only one class ({int(seen[0])}); a classifier needs at least two")
    unseen = sorted(set(np.unique(y_test).tolist()) - set(seen.tolist()))
    if unseen:
        raise DatasetError(f"y_test has the label(s) {unseen}, which never occur in y_train, so no model can learn them")
    order = detect_axis_order(x_train.shape[1:]) if axis_order == "auto" else axis_order
    if order == "frames_bands":
        x_train, x_test = np.swapaxes(x_train, 1, 2), np.swapaxes(x_test, 1, 2)
    classes = int(max(y_train.max(), y_test.max())) + 1
    missing_classes = sorted(set(range(classes)) - set(seen.tolist()))
    if missing_classes:
        listed = ", ".join(str(label) for label in missing_classes[:8]) + (", …" if len(missing_classes) > 8 else "")
        raise DatasetError(
            f"labels must be 0 to K−1 with every class in y_train, but {len(missing_classes):,} of 0–{classes - 1} never "
            f"occur there ({listed}). Remap them to consecutive indices first: "
            "classes, y = np.unique(y_train, return_inverse=True), and map y_test the same way."
        )
    bands, frames = x_train.shape[1:]
    return Dataset(
        name="audio_npy",
        x_train=np.ascontiguousarray(x_train, dtype=np.float32),
        y_train=y_train,
        x_test=np.ascontiguousarray(x_test, dtype=np.float32),
        y_test=y_test,
        class_names=tuple(str(index) for index in range(classes)),
        source=f"{source}: {bands} bands × {frames} frames per example",
        extras={"kind": "features", "axis_order": order, "detected_axis_order": detect_axis_order(arrays["X_train"].shape[1:3])},
        recipe={"loader": "audio_npy", "source": source},
    )


@register_loader("audio_npy")
def load_audio_npy(*, data_dir: Path | None = None, folder: Path | str | None = None, axis_order: str = "auto") -> Dataset:
    """DATA.ML.200 Exercise 5's four ``.npy`` files from ``folder`` (default: the data directory), loaded without pickles."""
    from core.uploads import UploadError, load_npy

    folder = Path(folder) if folder is not None else data_dir
    if folder is None or not folder.is_dir():
        raise DatasetError(f"no folder to read {', '.join(NPY_FILES)} from")
    missing = [name for name in NPY_FILES if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"{', '.join(missing)} missing in {folder}; {NPY_HOMEWORK.name} saved its features as four files: {', '.join(NPY_FILES)}")
    arrays = {}
    for name in NPY_FILES:
        path = folder / name
        try:
            arrays[name.removesuffix(".npy")] = load_npy(path, name=name)
        except UploadError as error:
            raise DatasetError(str(error)) from None
    return audio_npy_dataset(arrays, axis_order=axis_order, source=f"features from {folder}")


# ---------------------------------------------------------------------------------------------
# WAV folders


def _folder_signature(files: list[Path]) -> list[tuple[str, int, int]]:
    signature = []
    for path in files:
        status = path.stat()
        signature.append((str(path), status.st_size, status.st_mtime_ns))
    return signature


def _decode_cached(files: list[Path], sample_rate: int, clip_seconds: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decoded clips for a file list, kept in the disk cache by (paths, sizes, times, rate, length)."""
    key = stable_hash({"files": _folder_signature(files), "rate": sample_rate, "seconds": clip_seconds})

    def compute() -> dict[str, np.ndarray]:
        decoded = decode_files(files, sample_rate=sample_rate, clip_seconds=clip_seconds)
        # 16-bit storage halves the entry (FSDD 1.0.10's 3,000 clips: 48 MB, not 96) and is lossless for 16-bit files.
        return {
            "clips": np.round(decoded.clips * 32767.0).astype(np.int16),
            "kept": np.asarray(decoded.kept, dtype=np.int64),
            "errors": np.asarray(decoded.errors, dtype=str) if decoded.errors else np.zeros(0, dtype="<U1"),
        }

    stored = cached_arrays("audio-clips", key, compute)
    clips = stored["clips"].astype(np.float32) / np.float32(32767.0)
    return clips, stored["kept"], [str(message) for message in stored["errors"]]


def _content_root(folder: Path) -> Path:
    """Descend through wrapper folders (``my_sounds/`` inside a zip) until there is a choice to make."""
    while True:
        children = [child for child in folder.iterdir() if not child.name.startswith((".", "__MACOSX"))]
        wrapper = len(children) == 1 and children[0].is_dir()
        # A lone folder of plain WAVs is one class, not a wrapper (FSDD's recordings/ is the exception).
        if wrapper and (any(child.is_dir() for child in children[0].iterdir()) or is_fsdd_layout(list(children[0].glob("*.wav")))):
            folder = children[0]
        else:
            return folder


def is_fsdd_layout(files: list[Path]) -> bool:
    """True when every file is named ``{digit}_{speaker}_{index}.wav``, FSDD's naming."""
    return bool(files) and all(FSDD_PATTERN.match(path.name) for path in files)


def _split_fsdd(files: list[Path]) -> tuple[list[Path], list[int], list[Path], list[int]]:
    train, train_labels, test, test_labels = [], [], [], []
    for path in files:
        match = FSDD_PATTERN.match(path.name)
        assert match is not None
        digit, index = int(match.group(1)), int(match.group(3))
        if index in FSDD_TEST_INDICES:
            test.append(path)
            test_labels.append(digit)
        else:
            train.append(path)
            train_labels.append(digit)
    return train, train_labels, test, test_labels


def _allowed(path: Path, fence: Path | None) -> bool:
    return fence is None or is_inside(path, fence)


def _class_folders(root: Path, fence: Path | None) -> list[str]:
    names = sorted(child.name for child in root.iterdir() if child.is_dir() and not child.name.startswith(".") and _allowed(child, fence))
    if len(names) > MAX_CLASSES:
        raise DatasetError(f"the folder has {len(names):,} class folders; DL Lab's pages handle at most {MAX_CLASSES:,} classes")
    return names


def _split_class_folders(
    root: Path, *, test_fraction: float, seed: int, fence: Path | None = None
) -> tuple[list[Path], list[int], list[Path], list[int], tuple[str, ...], str]:
    """Class subfolders, either under ``train/`` and ``test/`` or split here with a fixed seed."""
    lowered = {child.name.lower(): child for child in root.iterdir() if child.is_dir() and _allowed(child, fence)}
    if "train" in lowered and "test" in lowered:
        classes = sorted(set(_class_folders(lowered["train"], fence)) | set(_class_folders(lowered["test"], fence)))
        if len(classes) > MAX_CLASSES:
            raise DatasetError(f"the folder has {len(classes):,} classes; DL Lab's pages handle at most {MAX_CLASSES:,}")
        lists: list[list] = [[], [], [], []]
        for offset, split in ((0, "train"), (2, "test")):
            for label, name in enumerate(classes):
                for path in wav_files(lowered[split] / name, fence=fence) if (lowered[split] / name).is_dir() else []:
                    lists[offset].append(path)
                    lists[offset + 1].append(label)
        return lists[0], lists[1], lists[2], lists[3], tuple(classes), "its train/ and test/ folders"
    classes = _class_folders(root, fence)
    rng = np.random.default_rng(seed)
    train, train_labels, test, test_labels = [], [], [], []
    for label, name in enumerate(classes):
        found = wav_files(root / name, fence=fence)
        if not found:
            continue
        order = rng.permutation(len(found))
        test_count = int(round(len(found) * test_fraction)) if len(found) > 1 else 0
        test_count = min(max(test_count, 1 if len(found) > 1 else 0), len(found) - 1)
        for position, index in enumerate(order):
            (test if position < test_count else train).append(found[index])
            (test_labels if position < test_count else train_labels).append(label)
    return train, train_labels, test, test_labels, tuple(classes), f"a seeded {test_fraction:.0%} test split per class"


def split_wav_folder(
    folder: Path, *, test_fraction: float, seed: int, fence: Path | None = None, label: str = "the folder"
) -> tuple[list[Path], list[int], list[Path], list[int], tuple[str, ...], str]:
    """A WAV folder's training and test files with their labels, its class names and how it was split.

    FSDD-named files get FSDD's official split; class subfolders are split by :func:`_split_class_folders`.
    """
    root = _content_root(folder)
    files = wav_files(root, fence=fence)
    if not files:
        raise DatasetError(f"{label} holds no .wav files")
    top_level = [path for path in files if path.parent == root]
    if is_fsdd_layout(top_level) and len(top_level) == len(files):
        train, train_labels, test, test_labels = _split_fsdd(files)
        split_note = "FSDD's official split (recordings 0–4 of each speaker and digit are the test set)"
        return train, train_labels, test, test_labels, tuple(str(digit) for digit in range(10)), split_note
    if top_level:
        raise DatasetError(
            f"{label} has WAV files at the top level ({top_level[0].name}, …) that are not FSDD-named "
            "({digit}_{speaker}_{index}.wav); put each class in its own subfolder instead"
        )
    return _split_class_folders(root, test_fraction=test_fraction, seed=seed, fence=fence)


@register_loader("wav_folder")
def load_wav_folder(
    *,
    data_dir: Path | None = None,
    folder: Path | str | None = None,
    sample_rate: int = 8000,
    clip_seconds: float = 1.0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    dataset_name: str = "wav_folder",
    source: str | None = None,
    fence: Path | None = None,
    shown_as: str | None = None,
    uploaded: bool = False,
) -> Dataset:
    """WAV files in class subfolders, or FSDD-named files with FSDD's official split, as equal-length clips.

    With ``fence`` (the data directory), files and folders whose real path leads outside it are
    ignored. Messages name the folder as ``shown_as`` (the upload's name, say), never by its server path.
    ``uploaded`` marks an unpacked upload, whose run no exported script can remake.
    """
    if folder is None:
        raise DatasetError("choose a folder of WAV files")
    root = Path(folder)
    label = shown_as or root.name
    if not root.is_dir():
        raise DatasetError(f"{label} is not a folder")
    train, train_labels, test, test_labels, class_names, split_note = split_wav_folder(
        root, test_fraction=test_fraction, seed=seed, fence=fence, label=label
    )
    all_files = train + test
    clips, kept, errors = _decode_cached(all_files, sample_rate, clip_seconds)
    labels = np.asarray(train_labels + test_labels, dtype=np.int64)[kept]
    is_test = (np.arange(len(all_files)) >= len(train))[kept]
    names = np.asarray([path.name for path in all_files])[kept]
    x_train, y_train = clips[~is_test], labels[~is_test]
    x_test, y_test = clips[is_test], labels[is_test]
    _require_usable(x_train, y_train, x_test, class_names, label, errors)
    return Dataset(
        name=dataset_name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=class_names,
        source=(source or f"WAV files from {label}") + f", {split_note}",
        extras={
            "kind": "waveform",
            "sample_rate": int(sample_rate),
            "clip_seconds": float(clip_seconds),
            "unreadable": tuple(errors),
            "train_files": tuple(names[~is_test]),
            "test_files": tuple(names[is_test]),
        },
        recipe=_wav_recipe(
            root, label, fence, uploaded, sample_rate=sample_rate, clip_seconds=clip_seconds, test_fraction=test_fraction, seed=seed
        ),
    )


def _wav_recipe(
    root: Path, label: str, fence: Path | None, uploaded: bool, *, sample_rate: int, clip_seconds: float, test_fraction: float, seed: int
) -> dict:
    """How a WAV dataset was made, for exported scripts: a folder on the server is named by its path, an upload is not."""
    if uploaded:  # unpacked only for the moment it was read; a script could never reach it
        return {"loader": "wav_zip", "folder": label}
    return {
        "loader": "wav_folder", "folder": label, "root": str(root.absolute()),
        "fence": str(Path(fence).absolute()) if fence is not None else None,
        "sample_rate": int(sample_rate), "clip_seconds": float(clip_seconds), "test_fraction": float(test_fraction), "seed": int(seed),
    }


def _require_usable(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, class_names: tuple[str, ...], root: str, errors: list[str]
) -> None:
    note = f" ({len(errors)} files could not be read: {errors[0]})" if errors else ""
    if len(class_names) < 2:
        raise DatasetError(f"{root} has {len(class_names)} class folder(s); a classifier needs at least two{note}")
    present = np.unique(y_train)
    if len(present) < 2:
        raise DatasetError(f"{root} has readable training clips for only {len(present)} class(es); a classifier needs at least two{note}")
    if len(x_test) == 0:
        raise DatasetError(f"{root} leaves no clips for the test set; add more files per class{note}")


# ---------------------------------------------------------------------------------------------
# FSDD and the synthetic default


def _holds_fsdd(folder: Path) -> bool:
    # A folder without FSDD-named WAVs is not the dataset, whatever it is called.
    return folder.is_dir() and any(FSDD_PATTERN.match(path.name) for path in folder.glob("*.wav"))


def _recordings_in(folder: Path, wrappers: str = "free-spoken-digit-dataset*") -> Path | None:
    """The first folder of FSDD recordings in or at ``folder``: ``fsdd/recordings``, ``recordings``, itself, ``<wrapper>/recordings``."""
    candidates = [folder / FSDD_FOLDER, folder / "recordings", folder, *sorted(folder.glob(f"{wrappers}/recordings"))]
    return next((candidate for candidate in candidates if _holds_fsdd(candidate)), None)


def locate_fsdd(data_dir: Path | None, keras_datasets: Path) -> Location:
    """Where FSDD's ``recordings/`` folder of ``{digit}_{speaker}_{index}.wav`` files is: the data directory, then ``keras_datasets``."""
    if data_dir is not None and data_dir.is_dir():
        found = _recordings_in(data_dir)
        if found is not None:
            return Location(found, "data directory")
    # download_fsdd puts the recordings in "fsdd/recordings/". Earlier versions of the app let
    # keras.utils.get_file unpack the archive into "fsdd_extracted/<repo>-<tag>/"; other copies sit in
    # the datasets folder under the release's own name.
    for folder, wrappers in (
        (keras_datasets / "fsdd_extracted", "*"),
        (keras_datasets / "fsdd", "*"),
        (keras_datasets, "free-spoken-digit-dataset*"),
    ):
        found = _recordings_in(folder, wrappers) if folder.is_dir() else None
        # The datasets folder itself is shared by every Keras dataset, so it is never FSDD's folder.
        if found is not None and found != keras_datasets:
            return Location(found, "Keras cache")
    return Location(None)


def fsdd_cached_recordings() -> Path | None:
    """The ``recordings`` folder of an FSDD archive already extracted into the Keras cache, or ``None``."""
    return locate_fsdd(None, keras_datasets_dir()).path


def download_fsdd(on_progress: Callable[[download.DownloadProgress], None] | None = None) -> Path:
    """Download FSDD's release archive (checked) into the Keras cache and unpack its recordings; returns their folder.

    Only the FSDD-named ``.wav`` files of the archive's ``recordings/`` folder are unpacked, into
    ``$KERAS_HOME/datasets/fsdd/recordings/``, all at once. The archive stays beside it, where
    ``python -m core.prefetch --serve`` finds it for a classroom mirror. Raises
    :class:`~core.download.DownloadError` when the download fails, with the reason and what to do by hand.
    """
    datasets = keras_datasets_dir()
    archive = download.fetch(download.FSDD, datasets / download.FSDD.name, on_progress=on_progress)
    found = locate_fsdd(None, datasets).path
    if found is None:
        found = datasets / FSDD_FOLDER
        unpack_selected(archive, found, _fsdd_recording, expected="recordings/{digit}_{speaker}_{index}.wav files")
    return found


def _fsdd_recording(member: PurePosixPath) -> PurePosixPath | None:
    # "free-spoken-digit-dataset-1.0.9/recordings/0_jackson_0.wav" -> "0_jackson_0.wav"; the loader reads nothing else.
    if len(member.parts) == 3 and member.parts[1] == "recordings" and FSDD_PATTERN.match(member.name):
        return PurePosixPath(member.name)
    return None


SYNTHETIC_MODULE = "core.datasets.synthetic_sounds"


def synthetic_dataset(
    *, train_per_class: int = 60, test_per_class: int = 20, sample_rate: int = 8000, clip_seconds: float = 1.0, seed: int = 0, note: str = ""
) -> Dataset:
    """The built-in synthetic sound set as a waveform dataset, flagged as a fallback so pages label it.

    Generated once per cache directory and read back afterwards: generating it is 0.3 s or more
    of CPU that every freshly started server paid on its first audio page, while a class waited.
    The key holds the generator's source, so a changed generator makes a new set.
    """
    options = dict(train_per_class=train_per_class, test_per_class=test_per_class, sample_rate=sample_rate, clip_seconds=clip_seconds, seed=seed)
    # The whole generator module keys the set (its helpers shape the sounds too), found by its
    # qualified name so that a test's stand-in for the function does not change the key.
    x_train, y_train, x_test, y_test = made_once(
        "synthetic-sounds", synthetic_sounds, sources=(sys.modules[SYNTHETIC_MODULE],), **options
    )
    return Dataset(
        name="synthetic_sounds",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=SYNTHETIC_CLASSES,
        source=SYNTHETIC_SOURCE.format(seed=seed) + note,
        is_fallback=True,
        extras={"kind": "waveform", "sample_rate": int(sample_rate), "clip_seconds": float(clip_seconds), "unreadable": ()},
        recipe={
            "loader": "synthetic_sounds", "train_per_class": int(train_per_class), "test_per_class": int(test_per_class),
            "sample_rate": int(sample_rate), "clip_seconds": float(clip_seconds), "seed": int(seed),
        },
    )


@register_loader("synthetic_sounds")
def load_synthetic_sounds(*, data_dir: Path | None = None, **options: object) -> Dataset:
    """The offline default: synthetic sounds generated from a fixed seed (``data_dir`` is ignored)."""
    return synthetic_dataset(**options)  # type: ignore[arg-type]


@register_loader("fsdd")
def load_fsdd(
    *, data_dir: Path | None = None, sample_rate: int = 8000, clip_seconds: float = 1.0, allow_download: bool = True
) -> Dataset:
    """FSDD from the data directory, the Keras cache or a download; the synthetic set when none is reachable."""
    location = locate_fsdd(data_dir, keras_datasets_dir())
    recordings, where = location.path, f"the {location.where}"
    note = " FSDD was not found (put fsdd/recordings in the data directory, or go online to download it)."
    if recordings is None and allow_download and network_available():
        try:
            recordings = download_fsdd()
        except download.DownloadError as error:  # a bad mirror or a dropped network: the synthetic sounds, and why
            note += f" {error}"
        except (DatasetError, OSError) as error:  # a verified archive that cannot be unpacked here (a full disk, say)
            note += f" The FSDD archive could not be unpacked: {error}."
        else:
            where = f"release 1.0.9, downloaded from {download.source_label(download.FSDD)}"
    elif recordings is None and allow_download and (unreachable := unreachable_mirror_note()) is not None:
        note += f" {unreachable}"
    if recordings is None:
        return synthetic_dataset(sample_rate=sample_rate, clip_seconds=clip_seconds, note=note)
    return load_wav_folder(
        folder=recordings,
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        dataset_name="fsdd",
        source=f"Free Spoken Digit Dataset from {where} ({recordings})",
    )


def folder_work(folder: Path, sample_rate: int, clip_seconds: float, *, fence: Path | None = None) -> tuple[int, WorkEstimate]:
    """How many WAVs a folder holds and what decoding them at this rate and length costs; a listing, no decoding."""
    root = _content_root(Path(folder))
    files = wav_files(root, fence=fence)
    work = decode_work(len(files), sample_rate, clip_seconds)
    return len(files), work


def zip_work(data: bytes, sample_rate: int, clip_seconds: float, *, max_files: int) -> tuple[int, WorkEstimate]:
    """How many WAVs an uploaded zip holds and what unpacking and decoding them costs, from its directory alone."""
    from core.uploads import AUDIO_SUFFIXES, checked_members, open_zip

    with open_zip(data) as archive:
        members, _skipped = checked_members(archive, suffixes=AUDIO_SUFFIXES, max_files=max_files)
        declared = sum(info.file_size for info, _ in members)
    decode = decode_work(len(members), sample_rate, clip_seconds)
    # Unpacking writes the members to disk at a few hundred MB/s; only the clips stay in memory.
    return len(members), WorkEstimate(decode.seconds + declared / 300e6, decode.peak_bytes)


def fsdd_recordings(data_dir: Path | None) -> Path | None:
    """FSDD's ``recordings`` folder in the data directory or the Keras cache, or ``None``; never downloads."""
    return locate_fsdd(data_dir, keras_datasets_dir()).path


def data_dir_wav_folders(data_dir: Path | None) -> list[Path]:
    """Folders directly inside the data directory that hold WAV files somewhere below them.

    Only folders whose real path is inside the data directory are listed (the same fence the
    image pages use, :func:`core.settings.resolve_data_subfolder`), so a symlink leading out of
    it never shows up. Listing stops at the first WAV found in each folder.
    """
    if data_dir is None or not data_dir.is_dir():
        return []
    found = []
    for name in settings.data_subfolders(data_dir):
        try:
            child = settings.resolve_data_subfolder(name, data_dir)
        except ValueError:
            continue
        for _root, _dirs, names in os.walk(child):
            if any(name_.lower().endswith(".wav") for name_ in names):
                found.append(child)
                break
    return found

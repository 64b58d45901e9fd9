"""Transfer learning: where the pretrained base comes from, and three ways to reuse it, compared on one split.

The base is VGG16's ImageNet convolutions when their weights can be found (a file the user
points to, the Keras cache, or a download when online), or else the in-app *source CNN*: a small
network trained here on one task (digits 0–4) and reused on another (digits 5–9 from a handful of
images). Either way the same three modes run on the same train/validation/test split:

1. **feature extraction** – the frozen base runs once per image; its outputs (the bottleneck
   features) are cached on disk, and only the dense head trains, so an epoch takes milliseconds.
   With augmentation on, every epoch sees different images, so the features cannot be cached and
   each epoch runs the frozen base again;
2. **fine-tuning** – the base's last block is unfrozen and trained with the head at a low rate;
3. **from scratch** – the same architecture from random weights.

Training goes through :func:`core.training.train`, so every run is cached by its configuration
(which includes the weights file's content hash) and the data's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import settings
from core import budget
from core.cache import DiskCache, cached_arrays, stable_hash
from core.errors import user_message
from core.datasets import Dataset, stratified_split
from core.datasets.keras_source import keras_models_dir, network_available
from core.training import (
    ProgressCallback,
    RunResult,
    TrainConfig,
    TrainingProgress,
    cached_result,
    exclusive_compute,
    train,
)

NOTOP_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
FULL_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
CLASS_INDEX_FILE = "imagenet_class_index.json"
WEIGHTS_ENV = "DLLAB_VGG16_WEIGHTS"
PREFETCH_COMMAND = "python -m core.prefetch"
_NOTOP_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + NOTOP_WEIGHTS_FILE
)
_NOTOP_MD5 = "6d6bbae143d832006294945121d1f1fc"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# VGG16 was trained on BGR images with these per-channel ImageNet means subtracted ("caffe" mode).
_IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)

MODES = ("feature_extraction", "fine_tune", "from_scratch")
MODE_LABELS = {
    "feature_extraction": "Feature extraction (frozen base)",
    "fine_tune": "Fine-tuning (last block unfrozen)",
    "from_scratch": "From scratch (random weights)",
}
# Fine-tuning nudges pretrained weights, so it needs a rate well below the head's; VGG16 from
# scratch also diverges or stalls at Adam's usual 1e-3 in short runs.
DEFAULT_LEARNING_RATES = {
    ("vgg16", "feature_extraction"): 1e-3,
    ("vgg16", "fine_tune"): 1e-4,
    ("vgg16", "from_scratch"): 1e-4,
    ("small_cnn", "feature_extraction"): 1e-3,
    ("small_cnn", "fine_tune"): 3e-4,
    ("small_cnn", "from_scratch"): 1e-3,
}
FEATURES_NAMESPACE = "bottleneck-features"


# ---------------------------------------------------------------------------------------------
# VGG16 weights


@dataclass(frozen=True)
class WeightsStatus:
    """Whether VGG16's ImageNet weights were found, where, and what to do when they were not."""

    available: bool
    path: Path | None
    origin: str  # "your file", "Keras cache", "download" or "missing"
    digest: str | None
    message: str


def keras_cache_weights_path() -> Path:
    """Where Keras keeps (and looks for) the VGG16 no-top weights."""
    return keras_models_dir() / NOTOP_WEIGHTS_FILE


def file_digest(path: Path | str) -> str:
    """SHA-256 of a file's content (first 20 hex digits), memoised by path, size and modification time."""
    path = Path(path)
    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()[:20]
    return _digests[key]


_digests: dict[tuple[str, int, int], str] = {}


def resolve_vgg16_weights(user_path: Path | str | None = None, *, allow_download: bool = True) -> WeightsStatus:
    """Find VGG16's no-top weights: the user's file (argument or ``DLLAB_VGG16_WEIGHTS``), the Keras cache, a download.

    Never raises for missing weights; the returned status says how to get them.
    """
    candidates: list[tuple[Path, str]] = []
    chosen = user_path or os.environ.get(WEIGHTS_ENV, "").strip() or None
    if chosen:
        candidates.append((Path(chosen).expanduser(), "your file"))
    candidates.append((keras_cache_weights_path(), "Keras cache"))
    problems = []
    for path, origin in candidates:
        if not path.is_file():
            if origin == "your file":
                problems.append(f"the weights file {path} does not exist")
            continue
        if not _looks_like_hdf5(path):
            problems.append(f"{path} is not an HDF5 weights file")
            continue
        return WeightsStatus(True, path, origin, file_digest(path), f"VGG16 ImageNet weights from the {origin}: {path}")
    if allow_download and network_available():
        try:
            import keras

            downloaded = Path(
                keras.utils.get_file(NOTOP_WEIGHTS_FILE, _NOTOP_URL, cache_subdir="models", file_hash=_NOTOP_MD5)
            )
            return WeightsStatus(True, downloaded, "download", file_digest(downloaded), f"VGG16 ImageNet weights downloaded to {downloaded}")
        except Exception as error:  # noqa: BLE001 - any network failure means "not available", reported below
            problems.append(f"the download failed ({error})")
    advice = (
        f"VGG16's ImageNet weights are not on this machine and cannot be downloaded. To use them, run "
        f"`{PREFETCH_COMMAND}` once while online, or copy `{NOTOP_WEIGHTS_FILE}` (58 MB) into "
        f"`{keras_models_dir()}`, or upload it below, or set `{WEIGHTS_ENV}` to its path."
    )
    if problems:
        advice += " (" + "; ".join(problems) + ".)"
    return WeightsStatus(False, None, "missing", None, advice)


def _looks_like_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == _HDF5_SIGNATURE
    except OSError:
        return False


def store_uploaded_weights(data: bytes, *, name: str = "weights.h5") -> Path:
    """Check an uploaded VGG16 no-top weights file really fits VGG16, and keep it in the cache folder.

    Raises ``ValueError`` naming the upload (never the server's temporary file) when it is not
    HDF5 or its weights do not fit.
    """
    if not bytes(data[:8]) == _HDF5_SIGNATURE:
        raise ValueError(f"{name} is not an HDF5 file; upload Keras' {NOTOP_WEIGHTS_FILE}")
    digest = hashlib.sha256(data).hexdigest()[:20]
    folder = settings.cache_dir() / "weights"
    target = folder / f"vgg16-notop-{digest}.h5"
    if not target.is_file():
        # Sessions share one process, so the temporary name must be unique per upload, not per pid.
        partial = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ValueError(f"{name} could not be kept on the server: {user_message(error)}") from None
        try:
            check_vgg16_weights(partial, name=name)
        except ValueError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
    return target


def check_vgg16_weights(path: Path | str, *, name: str | None = None) -> None:
    """Load the file into a VGG16 no-top base (at 32×32, which is cheap); ``ValueError`` if it does not fit."""
    from core.models.transfer import load_base_weights, vgg16_base

    shown = name or Path(path).name
    try:
        load_base_weights(vgg16_base((32, 32, 3)), path)
    except Exception:  # noqa: BLE001 - h5py and Keras raise many kinds for a file that is not these weights
        raise ValueError(
            f"{shown} is not VGG16's no-top ImageNet weights: its contents do not fit VGG16's convolutional base. "
            f"Upload Keras' {NOTOP_WEIGHTS_FILE} (58 MB), as `{PREFETCH_COMMAND}` downloads it."
        ) from None


# ---------------------------------------------------------------------------------------------
# Bases and preprocessing


@dataclass(frozen=True)
class BaseSpec:
    """The pretrained (or not) base all three modes share."""

    kind: str  # "vgg16" or "small_cnn"
    weights_path: str | None
    weights_digest: str | None
    description: str

    @property
    def pretrained(self) -> bool:
        """True when the base starts from learned weights rather than random ones."""
        return self.weights_path is not None


def vgg16_spec(status: WeightsStatus) -> BaseSpec:
    """VGG16 with ImageNet weights when ``status`` found them, otherwise honestly random."""
    if status.available and status.path is not None:
        return BaseSpec("vgg16", str(status.path), status.digest, f"VGG16 with ImageNet weights ({status.origin})")
    return BaseSpec(
        "vgg16",
        None,
        None,
        "VGG16 with random weights: no ImageNet weights here, so 'frozen' features are random projections",
    )


def source_spec(source_run: RunResult) -> BaseSpec:
    """The in-app source CNN's convolutions, taken from its trained (cached) run."""
    if source_run.model_path is None:
        raise ValueError("the source run has no saved model to transfer from")
    return BaseSpec(
        "small_cnn",
        str(source_run.model_path),
        source_run.key,
        f"the in-app source CNN trained on {source_run.dataset_name} "
        f"({source_run.test_accuracy:.1%} test accuracy on its own task)",
    )


def preprocess(images: np.ndarray, kind: str) -> np.ndarray:
    """What the base expects: VGG16's ``preprocess_input`` (RGB→BGR, minus ImageNet means) or /255 for the small CNN.

    Grayscale images are repeated to three channels for VGG16.
    """
    images = np.asarray(images)
    if kind == "vgg16":
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        converted = images[..., ::-1].astype(np.float32)
        converted -= _IMAGENET_BGR_MEAN  # in place: a second float copy of a whole image set is hundreds of MB
        return converted
    if kind == "small_cnn":
        return images.astype(np.float32) / 255.0
    raise ValueError(f"unknown base kind {kind!r}")


def prepared_dataset(dataset: Dataset, kind: str) -> Dataset:
    """The dataset with every split preprocessed for the base, as float32 the engine passes through unchanged.

    Made once per dataset and base and shared, read-only, by every session and rerun: at 224×224 a
    thousand images are 600 MB as float32, and the page asks for them once per mode on every rerun.
    The copy is budgeted before it is made.
    """
    memo = (dataset.fingerprint, dataset.name, kind)
    with _prepared_guard:
        found = _prepared.get(memo)
        if found is not None:
            _prepared.move_to_end(memo)
            return found
        values = sum(split.size for split in (dataset.x_train, dataset.x_test, dataset.x_val) if split is not None)
        channels_factor = 3 if kind == "vgg16" and dataset.input_shape[-1] == 1 else 1
        budget.check_memory(
            f"{dataset.name}'s images as float32 for the base", values * channels_factor * 4,
            "Use a smaller input size or fewer images.",
        )
        prepared = Dataset(
            name=f"{dataset.name}|{kind}",
            x_train=_read_only(preprocess(dataset.x_train, kind)),
            y_train=dataset.y_train,
            x_test=_read_only(preprocess(dataset.x_test, kind)),
            y_test=dataset.y_test,
            class_names=dataset.class_names,
            source=dataset.source,
            is_fallback=dataset.is_fallback,
            x_val=_read_only(preprocess(dataset.x_val, kind)) if dataset.x_val is not None else None,
            y_val=dataset.y_val,
        )
        _prepared[memo] = prepared
        while len(_prepared) > _MAX_PREPARED:
            _prepared.popitem(last=False)
        return prepared


# Two: the dataset a class is looking at, and the one someone just switched to.
_MAX_PREPARED = 2
_prepared: OrderedDict[tuple[str, str, str], Dataset] = OrderedDict()
_prepared_guard = threading.Lock()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# ---------------------------------------------------------------------------------------------
# The offline demo: digits 0–4 → digits 5–9


@dataclass(frozen=True)
class DigitsTransferTask:
    """A source task with plenty of data and a different target task with very little."""

    source: Dataset
    target: Dataset
    per_class: int


def digits_transfer_task(*, per_class: int = 10, seed: int = 0) -> DigitsTransferTask:
    """Source: all of scikit-learn's digits 0–4. Target: digits 5–9 with ``per_class`` training images each.

    The target keeps 10 validation images per class and tests on all the rest (about 800).
    """
    if not 2 <= per_class <= 100:
        raise ValueError(f"per_class must be between 2 and 100, got {per_class}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    source_mask = labels < 5
    x_source, y_source = images[source_mask], labels[source_mask]
    train, _val, test = stratified_split(y_source, val_fraction=0.0, test_fraction=0.2, seed=seed)
    source = Dataset(
        "digits 0–4", x_source[train], y_source[train], x_source[test], y_source[test],
        tuple(str(d) for d in range(5)),
        "Source task: scikit-learn's 8×8 handwritten digits 0–4 (all ~900 images)",
    )
    x_target, y_target = images[~source_mask], labels[~source_mask] - 5
    rng = np.random.default_rng(seed)
    train_idx, val_idx, test_idx = [], [], []
    for label in range(5):
        members = rng.permutation(np.flatnonzero(y_target == label))
        train_idx.append(members[:per_class])
        val_idx.append(members[per_class : per_class + 10])
        test_idx.append(members[per_class + 10 :])
    train_idx, val_idx, test_idx = (rng.permutation(np.concatenate(part)) for part in (train_idx, val_idx, test_idx))
    target = Dataset(
        f"digits 5–9 ({per_class}/class)", x_target[train_idx], y_target[train_idx], x_target[test_idx], y_target[test_idx],
        tuple(str(d) for d in range(5, 10)),
        f"Target task: scikit-learn's digits 5–9, only {per_class} training images per class "
        "(offline demo; no ImageNet weights needed)",
        x_val=x_target[val_idx], y_val=y_target[val_idx],
    )
    return DigitsTransferTask(source, target, per_class)


def source_config(*, epochs: int = 15, seed: int = 0) -> TrainConfig:
    """The source CNN's training configuration (its hash keys the cached source run)."""
    return TrainConfig("source_cnn", epochs=epochs, batch_size=64, learning_rate=1e-3, seed=seed)


def train_source(
    source: Dataset, *, epochs: int = 15, seed: int = 0, on_progress: ProgressCallback | None = None
) -> RunResult:
    """Train (or fetch from the cache) the source CNN on the source task."""
    return train(source_config(epochs=epochs, seed=seed), source, on_progress=on_progress)


# ---------------------------------------------------------------------------------------------
# Bottleneck features and the three modes


@dataclass(frozen=True)
class FeaturePass:
    """The one-time run of the frozen base over every image."""

    seconds: float
    from_cache: bool
    feature_shape: tuple[int, ...]


def bottleneck_features(
    spec: BaseSpec, data: Dataset, *, batch_size: int = 32, on_progress: ProgressCallback | None = None
) -> tuple[Dataset, FeaturePass]:
    """The frozen base's outputs for every split of ``data`` (already preprocessed), cached on disk.

    The key is the data's fingerprint, the weights' content hash and the input shape, so new
    images, new weights or a new input size compute afresh and everything else is reused.
    """
    report = on_progress or (lambda progress: None)
    key = _features_key(spec, data)
    splits = {"train": data.x_train, "test": data.x_test}
    if data.x_val is not None:
        splits["val"] = data.x_val
    computed = {"ran": False}

    def compute() -> dict[str, np.ndarray]:
        from core.models.transfer import load_base_weights, make_base

        computed["ran"] = True
        # The pass is as heavy as a fit: it queues behind other sessions' training like one.
        with exclusive_compute():
            base = make_base(spec.kind, data.input_shape)
            if spec.weights_path:
                load_base_weights(base, spec.weights_path)
            total = sum(len(x) for x in splits.values())
            done = 0
            outputs: dict[str, np.ndarray] = {}
            for name, x in splits.items():
                parts = []
                for start in range(0, len(x), batch_size):
                    batch = x[start : start + batch_size]
                    parts.append(np.asarray(base(batch, training=False)))
                    done += len(batch)
                    report(TrainingProgress(done / total, f"Running the frozen base once per image: {done:,}/{total:,}"))
                outputs[name] = np.concatenate(parts).astype(np.float32)
            del base
        return outputs

    started = time.perf_counter()
    features = cached_arrays(FEATURES_NAMESPACE, key, compute)
    seconds = time.perf_counter() - started
    feature_data = Dataset(
        name=f"{data.name}|features-{key}",
        x_train=features["train"],
        y_train=data.y_train,
        x_test=features["test"],
        y_test=data.y_test,
        class_names=data.class_names,
        source=data.source,
        x_val=features.get("val"),
        y_val=data.y_val if "val" in features else None,
    )
    return feature_data, FeaturePass(seconds, not computed["ran"], tuple(features["train"].shape[1:]))


def _features_key(spec: BaseSpec, data: Dataset) -> str:
    return stable_hash(
        {"data": data.fingerprint, "base": spec.kind, "weights": spec.weights_digest, "input": list(data.input_shape)}
    )


@dataclass(frozen=True)
class ModeResult:
    """One mode's cached training run, plus the one-time feature pass when it used cached features."""

    mode: str
    run: RunResult
    feature_pass: FeaturePass | None
    cached_features: bool

    @property
    def label(self) -> str:
        """The mode's name as the page shows it."""
        return MODE_LABELS[self.mode]


def mode_config(
    mode: str,
    spec: BaseSpec,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float | None = None,
    augment: tuple[str, ...] = (),
    seed: int = 0,
) -> TrainConfig:
    """The training configuration of one mode; feature extraction without augmentation trains the head alone."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rate = learning_rate or DEFAULT_LEARNING_RATES[(spec.kind, mode)]
    augment = tuple(sorted(augment))
    if mode == "feature_extraction" and not augment:
        return TrainConfig(
            "transfer_head",
            model_options=(("base", spec.kind), ("weights_digest", spec.weights_digest)),
            epochs=epochs, batch_size=batch_size, learning_rate=rate, seed=seed,
        )
    trainable = {"feature_extraction": "none", "fine_tune": "last_block", "from_scratch": "all"}[mode]
    pretrained = mode != "from_scratch" and spec.pretrained
    model_options = (
        ("base", spec.kind),
        ("weights_path", spec.weights_path if pretrained else None),
        ("weights_digest", spec.weights_digest if pretrained else None),
        ("trainable", trainable),
        ("augment", augment),
        ("seed", seed),
    )
    return TrainConfig("transfer_full", model_options=model_options, epochs=epochs, batch_size=batch_size, learning_rate=rate, seed=seed)


def run_mode(
    mode: str,
    dataset: Dataset,
    spec: BaseSpec,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float | None = None,
    augment: tuple[str, ...] = (),
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> ModeResult:
    """Train one mode on ``dataset`` (raw ``uint8`` images), reusing cached features and runs.

    The cache key of a run that uses weights does not contain the weights' path (a re-upload may
    move it) but their content hash, through the ``weights_digest`` model option.
    """
    config = mode_config(mode, spec, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, augment=augment, seed=seed)
    data = prepared_dataset(dataset, spec.kind)
    if config.architecture == "transfer_head":
        features, feature_pass = bottleneck_features(spec, data, on_progress=on_progress)
        return ModeResult(mode, train(config, features, on_progress=on_progress), feature_pass, True)
    return ModeResult(mode, train(config, data, on_progress=on_progress), None, False)


def cached_mode(
    mode: str,
    dataset: Dataset,
    spec: BaseSpec,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float | None = None,
    augment: tuple[str, ...] = (),
    seed: int = 0,
) -> ModeResult | None:
    """The stored result of :func:`run_mode` with these settings, or ``None``; never trains or extracts."""
    config = mode_config(mode, spec, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, augment=augment, seed=seed)
    data = prepared_dataset(dataset, spec.kind)
    if config.architecture != "transfer_head":
        run = cached_result(config, data)
        return ModeResult(mode, run, None, False) if run is not None else None
    if DiskCache().get(FEATURES_NAMESPACE, _features_key(spec, data)) is None:
        return None
    features, feature_pass = bottleneck_features(spec, data)
    run = cached_result(config, features)
    return ModeResult(mode, run, feature_pass, True) if run is not None else None


def comparison_rows(results: list[ModeResult]) -> list[dict[str, Any]]:
    """One row per mode for the results table: accuracy, parameters trained, time per epoch."""
    rows = []
    for result in results:
        run = result.run
        epoch_seconds = run.history.get("epoch_seconds") or [run.seconds_per_epoch]
        rows.append(
            {
                "mode": result.label,
                "test accuracy": round(run.test_accuracy, 4),
                "trainable params": run.trainable_params,
                "total params": run.params,
                "epochs": run.epochs_run,
                "s / epoch (median)": round(float(np.median(epoch_seconds)), 3),
                "one-time feature pass s": round(result.feature_pass.seconds, 2) if result.feature_pass else None,
                "features cached": result.cached_features,
                "status": run.status,
            }
        )
    return rows


def verdict(results: list[ModeResult], *, per_class: int | None = None) -> str:
    """A plain sentence comparing frozen transfer with training from scratch, from the measured runs."""
    by_mode = {result.mode: result.run for result in results}
    frozen, scratch = by_mode.get("feature_extraction"), by_mode.get("from_scratch")
    if frozen is None or scratch is None:
        return "Train both feature extraction and from scratch to compare them."
    amount = f" with only {per_class} training images per class" if per_class else ""
    gap = frozen.test_accuracy - scratch.test_accuracy
    if abs(gap) < 0.01:
        outcome = "about the same as"
    elif gap > 0:
        outcome = f"{gap * 100:.1f} points better than"
    else:
        outcome = f"{-gap * 100:.1f} points worse than"
    return (
        f"Frozen transfer reached {frozen.test_accuracy:.1%} test accuracy{amount}: {outcome} "
        f"the same network trained from scratch ({scratch.test_accuracy:.1%})."
    )


# ---------------------------------------------------------------------------------------------
# Memory guard


def vgg16_layers() -> list[dict[str, Any]]:
    """VGG16's convolutional base as calculator layers."""
    stack: list[dict[str, Any]] = []
    for convs, filters in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        stack += [{"type": "conv2d", "filters": filters, "kernel": 3, "padding": "same"}] * convs
        stack.append({"type": "maxpool2d", "pool": 2})
    return stack


def small_cnn_layers() -> list[dict[str, Any]]:
    """The in-app source CNN's base as calculator layers."""
    conv = {"type": "conv2d", "kernel": 3, "padding": "same"}
    return [
        {**conv, "filters": 32}, {**conv, "filters": 32}, {"type": "maxpool2d", "pool": 2},
        {**conv, "filters": 64}, {**conv, "filters": 64}, {"type": "maxpool2d", "pool": 2},
    ]


def head_layers(num_classes: int, units: int = 256) -> list[dict[str, Any]]:
    """Seed 000's dense head as calculator layers."""
    return [{"type": "flatten"}, {"type": "dense", "units": units}, {"type": "dense", "units": units},
            {"type": "dense", "units": num_classes}]


@dataclass(frozen=True)
class MemoryEstimate:
    """The RAM a mode needs, split into its parts (bytes), from ``core.calculator``."""

    mode: str
    input_shape: tuple[int, ...]
    batch_size: int
    parts: dict[str, int]
    explanation: str

    @property
    def total_bytes(self) -> int:
        """The sum of all parts."""
        return sum(self.parts.values())


def estimate_memory(
    kind: str,
    input_shape: tuple[int, int, int],
    *,
    num_classes: int,
    batch_size: int,
    mode: str,
    augment: bool = False,
    images: int = 0,
) -> MemoryEstimate:
    """RAM for one mode: base, head and the image arrays held in memory, per ``core.calculator``.

    A frozen layer keeps no activations for backpropagation (nothing before it needs a gradient),
    so it costs only its inference peak; trainable layers keep every activation of the batch.
    """
    from core.calculator import analyze

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    base = vgg16_layers() if kind == "vgg16" else small_cnn_layers()
    block_starts = [index for index, layer in enumerate(base) if layer["type"] == "maxpool2d"]
    whole_base = analyze(input_shape, base, batch_size=batch_size)
    features = whole_base.output_shape
    head = analyze(features, head_layers(num_classes), batch_size=batch_size)
    # Preprocessed float32 images, plus the copy tf.data makes of them.
    parts = {"image arrays (float32, ×2 for tf.data)": 2 * images * int(np.prod(input_shape)) * 4}
    if mode == "feature_extraction":
        parts["frozen base, forward only"] = _forward_bytes(whole_base)
        parts["head training"] = head.training_bytes
        explanation = "The frozen base only runs forward, so it needs its weights and one layer's input and output."
        if not augment:
            parts["cached features"] = images * int(np.prod(features)) * 4
    elif mode == "fine_tune":
        split = block_starts[-2] + 1  # everything after the second-to-last pool is the last block
        frozen = analyze(input_shape, base[:split], batch_size=batch_size)
        trainable = analyze(frozen.output_shape, base[split:] + head_layers(num_classes), batch_size=batch_size)
        parts["frozen blocks, forward only"] = _forward_bytes(frozen)
        parts["last block + head training"] = trainable.training_bytes
        explanation = "The frozen blocks run forward only; the last block and head keep activations, gradients and Adam state."
    else:
        full = analyze(input_shape, base + head_layers(num_classes), batch_size=batch_size)
        parts["whole network training"] = full.training_bytes
        explanation = "Every layer trains, so every activation of the batch is kept for backpropagation."
    return MemoryEstimate(mode, tuple(input_shape), batch_size, parts, explanation)


def _forward_bytes(report: Any) -> int:
    """Weights plus the largest live input-and-output pair, for the whole batch.

    The calculator's ``inference_peak_bytes`` is for one instance; activations scale with the batch.
    """
    per_instance = report.inference_peak_bytes - report.weight_bytes
    return report.weight_bytes + report.batch_size * per_instance


def check_memory(estimate: MemoryEstimate, available_bytes: int | None) -> None:
    """Refuse, with the numbers, a run whose estimate exceeds the RAM available (``None`` = unknown, allowed)."""
    if available_bytes is None or estimate.total_bytes <= available_bytes:
        return
    size = "×".join(str(n) for n in estimate.input_shape)
    biggest = max(estimate.parts, key=estimate.parts.__getitem__)
    raise ValueError(
        f"{MODE_LABELS[estimate.mode]} at {size}, batch {estimate.batch_size}, needs about "
        f"{settings.format_bytes(estimate.total_bytes)} of RAM but only {settings.format_bytes(available_bytes)} "
        f"is available (largest part: {biggest}, {settings.format_bytes(estimate.parts[biggest])}). "
        "Use a smaller input size or batch, or freeze the base."
    )


# ---------------------------------------------------------------------------------------------
# ImageNet predictions with the full VGG16


@dataclass(frozen=True)
class ImagenetStatus:
    """Whether the full VGG16 (with its 1,000-class top) and the class names are on this machine."""

    available: bool
    weights_path: Path
    class_index_path: Path
    message: str


def imagenet_status() -> ImagenetStatus:
    """Look for the full VGG16 weights and ImageNet's class index in the Keras cache (no download here)."""
    weights = keras_models_dir() / FULL_WEIGHTS_FILE
    index = keras_models_dir() / CLASS_INDEX_FILE
    missing = [path.name for path in (weights, index) if not path.is_file()]
    if missing:
        message = (
            "ImageNet top-5 needs the full VGG16 (528 MB, with its classifier) and the class names; "
            f"missing from {keras_models_dir()}: {', '.join(missing)}. Run `{PREFETCH_COMMAND}` while online."
        )
        return ImagenetStatus(False, weights, index, message)
    return ImagenetStatus(True, weights, index, f"Full VGG16 from {weights}")


def imagenet_top5(image: np.ndarray, status: ImagenetStatus) -> list[tuple[str, float]]:
    """The five most likely ImageNet classes of one ``uint8`` RGB image, with full VGG16 at 224×224."""
    if not status.available:
        raise ValueError(status.message)
    from PIL import Image

    model = _full_vgg16(str(status.weights_path))
    resized = np.asarray(Image.fromarray(np.asarray(image, dtype=np.uint8).squeeze()).convert("RGB").resize((224, 224)))
    probabilities = np.asarray(model(preprocess(resized[np.newaxis], "vgg16"), training=False))[0]
    with open(status.class_index_path, encoding="utf-8") as handle:
        index = json.load(handle)
    best = np.argsort(probabilities)[::-1][:5]
    return [(index[str(i)][1], float(probabilities[i])) for i in best]


_full_models: dict[str, Any] = {}


def _full_vgg16(weights_path: str) -> Any:
    import keras

    if weights_path not in _full_models:
        _full_models[weights_path] = keras.applications.VGG16(weights=weights_path, include_top=True)
    return _full_models[weights_path]


def predict_probabilities(model: Any, images: np.ndarray, spec: BaseSpec) -> np.ndarray:
    """Class probabilities of a trained full model (not the head alone) for raw ``uint8`` images."""
    return np.asarray(model(preprocess(images, spec.kind), training=False))


def head_probabilities(head: Any, images: np.ndarray, spec: BaseSpec) -> np.ndarray:
    """Class probabilities from a head trained on bottleneck features: base forward, then the head."""
    from core.models.transfer import load_base_weights, make_base

    prepared = preprocess(images, spec.kind)
    base = make_base(spec.kind, prepared.shape[1:])
    if spec.weights_path:
        load_base_weights(base, spec.weights_path)
    return np.asarray(head(np.asarray(base(prepared, training=False)), training=False))


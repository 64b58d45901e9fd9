"""The cached training engine: ``train(config, dataset, on_progress) -> RunResult``.

A run is keyed by the hash of its frozen :class:`TrainConfig` plus the dataset's content
fingerprint, and its history, metrics, test predictions and ``.keras`` model are kept in the
disk cache. The same key never trains twice, across reruns, sessions and server restarts; a
corrupt entry is retrained. Only one model trains at a time per server: on two cores,
concurrent fits only slow each other down, so later requests wait their turn.

TensorFlow is imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.cache import CacheWriteError, DiskCache, key_lock, stable_hash
from core.errors import is_disk_full
from core.datasets import Dataset

RUNS_NAMESPACE = "runs"
OPTIMIZERS = ("adam", "sgd", "sgd_momentum", "rmsprop")
AUGMENTATIONS = ("none", "flip", "flip_crop")
LR_SCHEDULES = ("constant", "one_cycle")
_TRAINING_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's outcome, and nothing else (it is the cache key)."""

    architecture: str
    model_options: tuple[tuple[str, Any], ...] = ()
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0
    augment: str = "none"
    lr_schedule: str = "constant"
    early_stopping_patience: int | None = None
    time_budget_seconds: float | None = None  # seconds of fitting, not counting per-epoch evaluation
    max_steps: int | None = None

    def __post_init__(self) -> None:
        # Keras refuses an int learning rate, and 1e-3 vs 0.001 must give one cache key.
        if isinstance(self.learning_rate, (int, float)) and not isinstance(self.learning_rate, bool):
            object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        object.__setattr__(self, "model_options", options(**dict(self.model_options)))

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """``model_options`` as keyword arguments for the model builder."""
        return dict(self.model_options)


def options(**kwargs: Any) -> tuple[tuple[str, Any], ...]:
    """Keyword options as a sorted, hashable tuple, so equal options give equal cache keys."""
    return tuple(sorted((key, tuple(value) if isinstance(value, list) else value) for key, value in kwargs.items()))


@dataclass(frozen=True)
class TrainingProgress:
    """One progress report; ``fraction`` runs from 0 to 1 over the whole run."""

    fraction: float
    message: str
    epoch: int = 0
    epochs: int = 0
    logs: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[TrainingProgress], None]


@dataclass(frozen=True)
class RunResult:
    """A finished run: what was trained, how it went, and where the model is."""

    key: str
    config: TrainConfig
    dataset_name: str
    dataset_source: str
    dataset_fingerprint: str
    status: str  # "ok", "diverged" or "stopped early"
    message: str
    history: dict[str, list[float]]
    epochs_run: int
    test_accuracy: float
    test_loss: float
    best_test_accuracy: float
    params: int
    trainable_params: int
    train_seconds: float
    predict_seconds: float
    test_predictions: np.ndarray = field(repr=False, compare=False)
    model_path: Path | None = None
    from_cache: bool = False
    curves_on: str = "test"  # which split the per-epoch "val_" curves were measured on
    train_examples: int = 0  # training-set size, so runs on different subsets can be told apart

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall-clock seconds per epoch of training."""
        return self.train_seconds / max(self.epochs_run, 1)

    @property
    def predicted_labels(self) -> np.ndarray:
        """The predicted class of every test example."""
        if self.test_predictions.ndim == 2 and self.test_predictions.shape[1] > 1:
            return self.test_predictions.argmax(axis=1)
        return (self.test_predictions.reshape(-1) >= 0.5).astype(np.int64)

    @property
    def diverged(self) -> bool:
        """True when the loss became NaN or infinite and training was stopped."""
        return self.status == "diverged"

    def summary_row(self) -> dict[str, Any]:
        """One row for a runs table."""
        return {
            "architecture": self.config.architecture,
            **self.config.model_kwargs,
            "optimizer": self.config.optimizer,
            "learning rate": self.config.learning_rate,
            "epochs": self.epochs_run,
            "batch": self.config.batch_size,
            "status": self.status,
            "test accuracy": round(self.test_accuracy, 4),
            "best test accuracy": round(self.best_test_accuracy, 4),
            "params": self.params,
            "train s": round(self.train_seconds, 1),
            "s / epoch": round(self.seconds_per_epoch, 2),
        }


def run_key(config: TrainConfig, dataset: Dataset) -> str:
    """The cache key: the configuration and the data it was trained on.

    Model options named ``*_path`` are file locations, not content, and are left out: the same
    weights reached through another path must reuse the run, so such an option always travels
    with a content digest option (``weights_path`` with ``weights_digest``).
    """
    content_options = tuple((name, value) for name, value in config.model_options if not name.endswith("_path"))
    keyed = dataclasses.replace(config, model_options=content_options)
    return stable_hash({"config": keyed, "dataset": dataset.fingerprint, "name": dataset.name})


@contextmanager
def exclusive_compute() -> Iterator[None]:
    """Hold the server-wide training lock for other heavy Keras work (a frozen base's feature pass)."""
    with _TRAINING_LOCK:
        yield


def cached_result(
    config: TrainConfig, dataset: Dataset, *, cache: DiskCache | None = None
) -> RunResult | None:
    """The stored result for this configuration and data, or ``None`` if it never ran (or is corrupt)."""
    cache = cache or DiskCache()
    return _load_entry(cache, run_key(config, dataset))


def train(
    config: TrainConfig,
    dataset: Dataset,
    *,
    on_progress: ProgressCallback | None = None,
    cache: DiskCache | None = None,
) -> RunResult:
    """Train ``config`` on ``dataset``, or return the cached run with the same key at once."""
    cache = cache or DiskCache()
    report = _broadcast(on_progress)
    key = run_key(config, dataset)
    with key_lock(RUNS_NAMESPACE, key):
        found = _load_entry(cache, key)
        if found is not None:
            report(TrainingProgress(1.0, "Loaded from cache"))
            return found
        if _TRAINING_LOCK.locked():
            report(TrainingProgress(0.0, "Waiting for another training on this server to finish…"))
        with _TRAINING_LOCK:
            try:
                outcome = _fit(config, dataset, report)
            except OSError as error:
                if is_disk_full(error):
                    raise CacheWriteError(
                        "The server's disk is full, so this run could not be trained; runs already trained still show. "
                        "Whoever runs the server needs to free disk space."
                    ) from None
                raise
        try:
            cache.put(RUNS_NAMESPACE, key, lambda folder: _write_entry(folder, key, config, dataset, outcome))
        finally:
            outcome.discard_files()
        result = _load_entry(cache, key)
        if result is None:
            raise RuntimeError("the run was trained and saved but cannot be read back; train it again")
        return dataclasses.replace(result, from_cache=False)


_listeners: list[ProgressCallback] = []


@contextmanager
def progress_listener(callback: ProgressCallback) -> Iterator[None]:
    """Also send every run's progress to ``callback`` while the block runs (a terminal bar, say).

    Command-line tools that drive the pages (``python -m ui.prewarm``) cannot reach the page's
    own progress callback, so they listen here instead.
    """
    _listeners.append(callback)
    try:
        yield
    finally:
        _listeners.remove(callback)


def _broadcast(on_progress: ProgressCallback | None) -> ProgressCallback:
    def report(progress: TrainingProgress) -> None:
        if on_progress is not None:
            on_progress(progress)
        for listener in tuple(_listeners):
            listener(progress)

    return report


def list_cached_runs(
    *, cache: DiskCache | None = None, predicate: Callable[[RunResult], bool] | None = None
) -> list[RunResult]:
    """Every readable cached run, newest first, optionally filtered."""
    cache = cache or DiskCache()
    found = []
    for entry in cache.namespace_entries(RUNS_NAMESPACE):
        result = _read_entry(entry)
        if result is not None and (predicate is None or predicate(result)):
            try:
                found.append((entry.stat().st_mtime, result))
            except OSError:
                continue  # evicted or cleared by another session meanwhile
    return [result for _, result in sorted(found, key=lambda pair: pair[0], reverse=True)]


def load_model(result: RunResult) -> Any:
    """The trained Keras model of a run, loaded with ``safe_mode=True``."""
    if result.model_path is None or not result.model_path.is_file():
        raise FileNotFoundError(f"run {result.key} has no saved model")
    return _load_model_cached(str(result.model_path), result.model_path.stat().st_mtime)


def prepare_inputs(x: np.ndarray) -> np.ndarray:
    """What models see: ``uint8`` images become float32 in [0, 1]; other arrays become float32."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------
# Fitting


@dataclass
class _FitOutcome:
    status: str
    message: str
    history: dict[str, list[float]]
    epochs_run: int
    test_loss: float
    test_accuracy: float
    params: int
    trainable_params: int
    train_seconds: float
    predict_seconds: float
    test_predictions: np.ndarray
    model: Any  # the fitted Keras model when fitted here; None when the worker saved it to model_file
    model_file: Path | None = None

    def save_model(self, path: Path) -> None:
        """Put the fitted model at ``path``: save it, or move the worker's file there."""
        if self.model is not None:
            self.model.save(path)
        elif self.model_file is not None:
            shutil.move(self.model_file, path)
        else:
            raise RuntimeError("the fit produced no model")

    def discard_files(self) -> None:
        """Remove the worker's temporary folder, whether or not the model was moved out of it."""
        if self.model_file is not None:
            shutil.rmtree(self.model_file.parent, ignore_errors=True)


def make_optimizer(name: str, learning_rate: float) -> Any:
    """A Keras optimizer by the names the pages use."""
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd_momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def _input_pipeline(x: np.ndarray, y: np.ndarray, config: TrainConfig, *, training: bool) -> Any:
    """A ``tf.data`` pipeline; on this CPU numpy inputs to ``fit`` stall ~5 s at many epoch starts."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((prepare_inputs(x), y))
    if training:
        dataset = dataset.shuffle(min(len(x), 10_000), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size)
    if training and config.augment != "none" and x.ndim == 4:
        dataset = dataset.map(_augmenter(config.augment, x.shape[1:]), num_parallel_calls=1)
    if training:
        dataset = dataset.repeat()
    dataset = dataset.prefetch(2)
    pipeline_options = tf.data.Options()
    # Autotuning is what caused the epoch-start stalls measured on this machine.
    pipeline_options.autotune.enabled = False
    return dataset.with_options(pipeline_options)


def _augmenter(kind: str, image_shape: tuple[int, ...]) -> Callable[[Any, Any], Any]:
    import tensorflow as tf

    height, width = image_shape[0], image_shape[1]
    pad = max(1, min(height, width) // 8)

    def augment(images: Any, labels: Any) -> Any:
        images = tf.image.random_flip_left_right(images)
        if kind == "flip_crop":
            padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            images = tf.image.random_crop(padded, tf.shape(images))
        return images, labels

    return augment


def _fit(config: TrainConfig, dataset: Dataset, report: ProgressCallback) -> _FitOutcome:
    """Fit in the worker process (see :mod:`core.fit_worker`), or here when it is switched off."""
    from core import fit_worker

    if fit_worker.enabled():
        return fit_worker.shared_worker().fit(config, dataset, report)
    return _fit_here(config, dataset, report)


def _fit_here(config: TrainConfig, dataset: Dataset, report: ProgressCallback) -> _FitOutcome:
    import keras

    from core.models import build_model

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    report(TrainingProgress(0.0, f"Building {config.architecture}…"))
    model = build_model(config.architecture, dataset.input_shape, dataset.num_classes, **config.model_kwargs)
    binary = model.output_shape[-1] == 1
    loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    model.compile(optimizer=make_optimizer(config.optimizer, config.learning_rate), loss=loss, metrics=["accuracy"])

    steps_per_epoch = max(1, math.ceil(len(dataset.x_train) / config.batch_size))
    epochs = config.epochs
    if config.max_steps is not None:
        epochs = max(1, math.ceil(config.max_steps / steps_per_epoch))
    y_train = dataset.y_train.astype(np.float32) if binary else dataset.y_train.astype(np.int64)
    y_test = dataset.y_test.astype(np.float32) if binary else dataset.y_test.astype(np.int64)
    train_data = _input_pipeline(dataset.x_train, y_train, config, training=True)
    test_data = _input_pipeline(dataset.x_test, y_test, config, training=False)
    # Per-epoch curves use the validation split when there is one; the seeds' CIFAR and MNIST
    # homework plotted test accuracy per epoch, so without one the test set plays that role.
    validation_data = test_data
    if dataset.has_validation:
        y_val = dataset.y_val.astype(np.float32) if binary else dataset.y_val.astype(np.int64)
        validation_data = _input_pipeline(dataset.x_val, y_val, config, training=False)

    monitor = _RunMonitor(config, epochs, steps_per_epoch, report)
    callbacks: list[Any] = [monitor]
    if config.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
            )
        )
    started = time.perf_counter()
    history = model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        callbacks=callbacks,
        shuffle=False,  # the pipeline already shuffles
        verbose=0,
    )
    train_seconds = time.perf_counter() - started

    report(TrainingProgress(0.99, "Evaluating on the test set…", monitor.epochs_done, epochs))
    started = time.perf_counter()
    predictions = model.predict(test_data, verbose=0).astype(np.float32)
    predict_seconds = time.perf_counter() - started
    test_loss, test_accuracy = _score(predictions, y_test, binary)

    recorded = {name: [float(value) for value in values] for name, values in history.history.items()}
    recorded["epoch_seconds"] = monitor.epoch_seconds
    epochs_run = len(recorded.get("loss", []))
    if monitor.diverged:
        status, message = "diverged", monitor.divergence_message
    elif epochs_run < epochs:
        status = "stopped early"
        message = (
            f"Stopped after {epochs_run} of {epochs} epochs: "
            + ("time budget reached." if monitor.out_of_time else "early stopping (validation loss stopped improving).")
        )
    else:
        status, message = "ok", f"Trained {epochs_run} epochs in {train_seconds:.1f} s."
    trainable = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    return _FitOutcome(
        status=status,
        message=message,
        history=recorded,
        epochs_run=epochs_run,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        params=int(model.count_params()),
        trainable_params=trainable,
        train_seconds=train_seconds,
        predict_seconds=predict_seconds,
        test_predictions=predictions,
        model=model,
    )


def _score(predictions: np.ndarray, labels: np.ndarray, binary: bool) -> tuple[float, float]:
    """Test loss and accuracy from stored predictions, NaN-safe for diverged runs."""
    if not np.all(np.isfinite(predictions)):
        return float("nan"), float(np.mean(labels == 0)) if binary else 0.0
    eps = 1e-7
    if binary:
        p = np.clip(predictions.reshape(-1), eps, 1 - eps)
        loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
        accuracy = np.mean((p >= 0.5) == (labels >= 0.5))
    else:
        probabilities = np.clip(predictions[np.arange(len(labels)), labels.astype(np.int64)], eps, 1.0)
        loss = -np.mean(np.log(probabilities))
        accuracy = np.mean(predictions.argmax(axis=1) == labels)
    return float(loss), float(accuracy)


def _monitor_base() -> type:
    import keras

    return keras.callbacks.Callback


class _RunMonitor:
    """Keras callback: progress reports, the time budget, NaN detection and the one-cycle schedule."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Subclass keras' Callback lazily so importing this module never imports TensorFlow.
        base = _monitor_base()
        concrete = type("RunMonitor", (cls, base), {})
        instance = base.__new__(concrete)
        return instance

    def __init__(self, config: TrainConfig, epochs: int, steps_per_epoch: int, report: ProgressCallback) -> None:
        _monitor_base().__init__(self)
        self.config = config
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = epochs * steps_per_epoch
        self.report = report
        self.epochs_done = 0
        self.steps_done = 0
        self.epoch_seconds: list[float] = []
        self.diverged = False
        self.out_of_time = False
        self.divergence_message = ""
        self._started = 0.0
        self._epoch_started = 0.0
        self._evaluating_since: float | None = None
        self.evaluation_seconds = 0.0
        self._last_report = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._evaluating_since = time.perf_counter()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._evaluating_since is not None:
            self.evaluation_seconds += time.perf_counter() - self._evaluating_since
            self._evaluating_since = None

    def training_seconds(self) -> float:
        """Time spent fitting so far. The per-epoch evaluation that draws the curves is excluded,
        so a 60 s budget buys the same training whether the held-out set has 1,000 or 10,000 images."""
        return time.perf_counter() - self._started - self.evaluation_seconds

    def _fraction(self) -> float:
        by_steps = self.steps_done / self.total_steps
        if self.config.max_steps is not None:
            by_steps = max(by_steps, self.steps_done / self.config.max_steps)
        if self.config.time_budget_seconds:
            by_steps = max(by_steps, self.training_seconds() / self.config.time_budget_seconds)
        return min(by_steps, 1.0)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.config.lr_schedule == "one_cycle":
            self.model.optimizer.learning_rate.assign(one_cycle_rate(self._fraction(), self.config.learning_rate))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps_done += 1
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.diverged = True
            self.divergence_message = (
                f"Diverged: the training loss became {loss} at epoch {self.epochs_done + 1}, step {batch + 1}. "
                "The learning rate is probably too high for this activation and optimizer; try a smaller one."
            )
            self.model.stop_training = True
            return
        if self.config.time_budget_seconds is not None and self.training_seconds() >= self.config.time_budget_seconds:
            self.out_of_time = True
            self.model.stop_training = True
        if self.config.max_steps is not None and self.steps_done >= self.config.max_steps:
            self.model.stop_training = True
        now = time.perf_counter()
        if now - self._last_report >= 0.25:
            self._last_report = now
            self.report(
                TrainingProgress(
                    min(self._fraction(), 0.98),
                    f"Epoch {self.epochs_done + 1}/{self.epochs} · step {batch + 1}/{self.steps_per_epoch} · loss {loss:.4f}",
                    self.epochs_done + 1,
                    self.epochs,
                    {"loss": loss},
                )
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs_done = epoch + 1
        self.epoch_seconds.append(time.perf_counter() - self._epoch_started)
        logs = {name: float(value) for name, value in (logs or {}).items()}
        accuracy = logs.get("val_accuracy")
        text = f"Epoch {self.epochs_done}/{self.epochs} done"
        if accuracy is not None:
            text += f" · test accuracy {accuracy:.3f}"
        self.report(TrainingProgress(min(self._fraction(), 0.98), text, self.epochs_done, self.epochs, logs))


def one_cycle_rate(fraction: float, peak: float) -> float:
    """One-cycle learning rate: linear warm-up over the first 30%, then cosine decay to ~0."""
    fraction = min(max(fraction, 0.0), 1.0)
    warmup = 0.3
    if fraction < warmup:
        return peak * (0.1 + 0.9 * fraction / warmup)
    progress = (fraction - warmup) / (1 - warmup)
    return peak * (0.005 + 0.995 * 0.5 * (1 + math.cos(math.pi * progress)))


# ---------------------------------------------------------------------------------------------
# The cache entry: result.json, predictions.npy and model.keras


def _write_entry(folder: Path, key: str, config: TrainConfig, dataset: Dataset, outcome: _FitOutcome) -> None:
    outcome.save_model(folder / "model.keras")
    np.save(folder / "predictions.npy", outcome.test_predictions, allow_pickle=False)
    record = {
        "key": key,
        "config": dataclasses.asdict(config),
        "dataset_name": dataset.name,
        "dataset_source": dataset.source,
        "dataset_fingerprint": dataset.fingerprint,
        "curves_on": "validation" if dataset.has_validation else "test",
        "train_examples": len(dataset.x_train),
        **{name: getattr(outcome, name) for name in _SCALAR_FIELDS},
        "history": outcome.history,
    }
    text = json.dumps(record, allow_nan=True, indent=1)
    (folder / "result.json").write_text(text, encoding="utf-8")


_SCALAR_FIELDS = (
    "status",
    "message",
    "epochs_run",
    "test_loss",
    "test_accuracy",
    "params",
    "trainable_params",
    "train_seconds",
    "predict_seconds",
)


def _read_entry(folder: Path) -> RunResult | None:
    """The run stored in ``folder``, or ``None`` when anything in it is missing, damaged or of the wrong type.

    The cache folder is shared and may be edited by hand, so every field is checked before use:
    a ``result.json`` with ``"history": []`` or a number for a key is a corrupt entry, not a crash.
    """
    try:
        if folder.is_symlink():
            return None
        record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        _check_record(record, folder.name)
        predictions = np.load(folder / "predictions.npy", allow_pickle=False)
        if predictions.dtype.kind != "f" or predictions.ndim not in (1, 2):
            return None
        config_fields = dict(record["config"])
        config_fields["model_options"] = tuple(
            (name, tuple(value) if isinstance(value, list) else value) for name, value in config_fields["model_options"]
        )
        config = TrainConfig(**config_fields)
        model_path = folder / "model.keras"
        if model_path.is_symlink() or not model_path.is_file() or model_path.stat().st_size == 0:
            return None
        history = {name: [float(value) for value in values] for name, values in record["history"].items()}
        curves_on = record.get("curves_on", "test")
        accuracy_curve = [value for value in history.get("val_accuracy", []) if math.isfinite(value)]
        if curves_on != "test":
            accuracy_curve = []
        return RunResult(
            key=record["key"],
            config=config,
            dataset_name=record["dataset_name"],
            dataset_source=record["dataset_source"],
            dataset_fingerprint=record["dataset_fingerprint"],
            history=history,
            best_test_accuracy=max(accuracy_curve + [record["test_accuracy"]]),
            test_predictions=predictions,
            model_path=model_path,
            from_cache=True,
            curves_on=curves_on,
            train_examples=int(record.get("train_examples", 0)),
            **{name: record[name] for name in _SCALAR_FIELDS},
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, AttributeError):
        return None


_RECORD_TYPES: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "config": dict,
    "dataset_name": str,
    "dataset_source": str,
    "dataset_fingerprint": str,
    "status": str,
    "message": str,
    "epochs_run": int,
    "test_loss": (int, float),
    "test_accuracy": (int, float),
    "params": int,
    "trainable_params": int,
    "train_seconds": (int, float),
    "predict_seconds": (int, float),
    "history": dict,
}


def _check_record(record: Any, folder_name: str) -> None:
    """Raise ``ValueError`` unless ``record`` has every field of a run with the right type."""
    if not isinstance(record, dict):
        raise ValueError("result.json is not an object")
    for name, expected in _RECORD_TYPES.items():
        value = record.get(name)
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ValueError(f"result.json's {name} is not a {expected}")
    if record["key"] != folder_name:
        raise ValueError("result.json belongs to another entry")
    if record.get("curves_on", "test") not in ("test", "validation"):
        raise ValueError("result.json's curves_on is unknown")
    if not isinstance(record.get("train_examples", 0), int):
        raise ValueError("result.json's train_examples is not a whole number")
    for name, values in record["history"].items():
        if not isinstance(name, str) or not isinstance(values, list):
            raise ValueError("result.json's history is not lists of numbers")
        if any(isinstance(value, bool) or not isinstance(value, (int, float)) for value in values):
            raise ValueError("result.json's history holds something other than numbers")
    options_field = record["config"].get("model_options")
    if not isinstance(options_field, list) or any(not isinstance(pair, list) or len(pair) != 2 for pair in options_field):
        raise ValueError("result.json's model options are damaged")


def _load_entry(cache: DiskCache, key: str) -> RunResult | None:
    """The valid stored run for ``key``; broken entries met on the way are discarded, so the key retrains."""
    for folder in cache.candidates(RUNS_NAMESPACE, key):
        result = _read_entry(folder)
        if result is not None and _model_file_intact(folder / "model.keras"):
            return result
        cache.discard_entry(folder)
    return None


_intact_models: dict[tuple[str, int, int], bool] = {}


def _model_file_intact(path: Path) -> bool:
    """A ``.keras`` file is a zip; a truncated one has no readable central directory.

    Checking decompresses the whole file, so the verdict is remembered by path, size and time:
    a cached page reads its runs on every rerun.
    """
    import zipfile

    try:
        info = path.stat()
        memo = (str(path), info.st_size, info.st_mtime_ns)
        if memo not in _intact_models:
            with zipfile.ZipFile(path) as archive:
                _intact_models[memo] = archive.testzip() is None
        return _intact_models[memo]
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, EOFError):
        return False


_model_cache_guard = threading.Lock()
_model_cache: dict[tuple[str, float], Any] = {}


def _load_model_cached(path: str, modified: float) -> Any:
    import keras

    with _model_cache_guard:
        model = _model_cache.get((path, modified))
        if model is None:
            model = keras.models.load_model(path, safe_mode=True)
            if len(_model_cache) >= 8:
                _model_cache.pop(next(iter(_model_cache)))
            _model_cache[(path, modified)] = model
        return model

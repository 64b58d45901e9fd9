"""The fit itself: build the model, train it with a progress callback, score it, and hand back plain data.

This module imports Keras at the top, so only the places where fits run import it: a worker
process, or the server itself with ``DLLAB_WORKERS=0``. :func:`fit` returns a :class:`FitOutcome`
of plain numbers, arrays and the saved ``.keras`` bytes, so a fit on another machine comes back
whole and the server writes the cache entry; no shared disk is needed.
"""

from __future__ import annotations

import math
import os
import random
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.backend import random as keras_backend_random
from keras.src.random import seed_generator

from core.datasets import Dataset
from core.models import build_model
from core.models.forest import (
    FOREST_ARCHITECTURE,
    fit_forest,
    forest_probabilities,
    tree_nodes,
)
from core.training.config import (
    OPTIMIZERS,
    FitCancelled,
    FitOutcome,
    ProgressCallback,
    TrainConfig,
    TrainingProgress,
    one_cycle_rate,
    prepare_inputs,
)

# Keras draws the seed of every initializer and dropout layer built without one from Python's
# global ``random``, which Dask's event-loop thread also draws from (heartbeat jitter): on a
# worker, a model's first weights depended on timing. Drawing them from a private generator,
# reseeded with the run's seed at every fit, makes a fit on a worker equal the same fit anywhere.
_SEEDS = random.Random()


def _private_default_seed() -> int:
    return _SEEDS.randint(1, int(1e9))


seed_generator.make_default_seed = _private_default_seed
keras_backend_random.make_default_seed = _private_default_seed

# Progress reports travel to the page over the network when the fit runs on a worker; four a
# second keep the bar alive without flooding the scheduler.
_REPORT_EVERY_SECONDS = 0.25
# How often a long fit asks whether it was cancelled (a round trip to the scheduler on a worker).
_CANCEL_CHECK_SECONDS = 0.5


def make_optimizer(name: str, learning_rate: float) -> Any:
    """A Keras optimizer by the names the pages use."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd_momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def input_pipeline(x: np.ndarray, y: np.ndarray, config: TrainConfig, *, training: bool) -> Any:
    """A ``tf.data`` pipeline; on this CPU numpy inputs to ``fit`` stall ~5 s at many epoch starts."""
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
    height, width = image_shape[0], image_shape[1]
    pad = max(1, min(height, width) // 8)

    def augment(images: Any, labels: Any) -> Any:
        images = tf.image.random_flip_left_right(images)
        if kind == "flip_crop":
            padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            images = tf.image.random_crop(padded, tf.shape(images))
        return images, labels

    return augment


class RunMonitor(keras.callbacks.Callback):
    """Progress reports, the time budget, NaN detection, cancellation and the one-cycle schedule."""

    def __init__(
        self, config: TrainConfig, epochs: int, steps_per_epoch: int, report: ProgressCallback,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = epochs * steps_per_epoch
        self.report = report
        self.should_stop = should_stop
        self.epochs_done = 0
        self.steps_done = 0
        self.epoch_seconds: list[float] = []
        self.diverged = False
        self.out_of_time = False
        self.cancelled = False
        self.divergence_message = ""
        self._started = 0.0
        self._epoch_started = 0.0
        self._evaluating_since: float | None = None
        self.evaluation_seconds = 0.0
        self._last_report = 0.0
        self._last_cancel_check = 0.0

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
        if self.should_stop is not None and now - self._last_cancel_check >= _CANCEL_CHECK_SECONDS:
            self._last_cancel_check = now
            if self.should_stop():
                self.cancelled = True
                self.model.stop_training = True
        if now - self._last_report >= _REPORT_EVERY_SECONDS:
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


def fit(
    config: TrainConfig,
    dataset: Dataset,
    report: ProgressCallback,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> FitOutcome:
    """Build, train and score ``config`` on ``dataset``; raises :class:`FitCancelled` when ``should_stop`` says so."""
    if config.architecture == FOREST_ARCHITECTURE:
        return fit_random_forest(config, dataset, report)
    begun = time.time()
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    _SEEDS.seed(config.seed)
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
    train_data = input_pipeline(dataset.x_train, y_train, config, training=True)
    test_data = input_pipeline(dataset.x_test, y_test, config, training=False)
    # Per-epoch curves use the validation split when there is one; the homework's CIFAR and MNIST
    # write-ups plotted test accuracy per epoch, so without one the test set plays that role.
    validation_data = test_data
    if dataset.has_validation:
        y_val = dataset.y_val.astype(np.float32) if binary else dataset.y_val.astype(np.int64)
        validation_data = input_pipeline(dataset.x_val, y_val, config, training=False)

    monitor = RunMonitor(config, epochs, steps_per_epoch, report, should_stop)
    callbacks: list[Any] = [monitor]
    if config.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True)
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
    if monitor.cancelled:
        raise FitCancelled(f"{config.architecture} was cancelled after {monitor.epochs_done} epochs")

    report(TrainingProgress(0.99, "Evaluating on the test set…", monitor.epochs_done, epochs))
    started = time.perf_counter()
    predictions = model.predict(test_data, verbose=0).astype(np.float32)
    predict_seconds = time.perf_counter() - started
    test_loss, test_accuracy = score(predictions, y_test, binary)

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
    return FitOutcome(
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
        model_bytes=model_bytes(model),
        process=f"{os.getpid()}@{socket.gethostname()}",
        started_at=begun,
        finished_at=time.time(),
    )


def model_bytes(model: Any) -> bytes:
    """A model saved in Keras' ``.keras`` format, as bytes (Keras saves only to a path)."""
    with tempfile.TemporaryDirectory(prefix="dllab-model-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def score(predictions: np.ndarray, labels: np.ndarray, binary: bool) -> tuple[float, float]:
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


def fit_random_forest(config: TrainConfig, dataset: Dataset, report: ProgressCallback) -> FitOutcome:
    """Fit and score a random forest (``model_options``: ``trees``); it keeps no model, only what it scored."""
    begun = time.time()
    report(TrainingProgress(0.0, "Fitting the trees…"))
    started = time.perf_counter()
    forest = fit_forest(dataset.x_train, dataset.y_train, trees=int(config.model_kwargs.get("trees", 100)), seed=config.seed)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    probabilities = forest_probabilities(forest, dataset.x_test, dataset.num_classes)
    predict_seconds = time.perf_counter() - started
    test_loss, test_accuracy = score(probabilities, dataset.y_test.astype(np.int64), False)
    nodes = tree_nodes(forest)
    return FitOutcome(
        status="ok",
        message=f"Fitted {len(forest.estimators_)} trees ({nodes:,} nodes) in {train_seconds:.1f} s.",
        history={},
        epochs_run=1,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        params=nodes,
        trainable_params=nodes,
        train_seconds=train_seconds,
        predict_seconds=predict_seconds,
        test_predictions=probabilities,
        model_bytes=b"",  # never a pickle of the forest
        process=f"{os.getpid()}@{socket.gethostname()}",
        started_at=begun,
        finished_at=time.time(),
    )

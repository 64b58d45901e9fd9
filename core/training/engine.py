"""The cached training engine: ``train(config, dataset, on_progress) -> RunResult``, and the run cache behind it.

A run is keyed by the hash of its frozen :class:`TrainConfig` plus the dataset's content
fingerprint, and its history, metrics, test predictions and ``.keras`` model are kept in the
disk cache. The same key never trains twice, across reruns, sessions and server restarts; a
corrupt entry is retrained. Fits run where :mod:`core.training.executor` sends them (Dask
workers by default), one Train click at a time in arrival order; this module turns what comes
back into cache entries, on the server, so workers need no shared disk.

Nothing here imports TensorFlow: pages read cached runs without it. :func:`load_model` imports
Keras when a page inspects a trained model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from core.cache import CacheWriteError, DiskCache, key_lock, stable_hash
from core.datasets import Dataset
from core.errors import is_disk_full
from core.models.forest import FOREST_ARCHITECTURE
from core.training.config import (
    FitOutcome,
    ProgressCallback,
    RunResult,
    TrainConfig,
    TrainingProgress,
)
from core.training.executor import FitRequest, Job, current_executor

RUNS_NAMESPACE = "runs"
_COMPUTE_LOCK = threading.Lock()


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
    """Serialise heavy Keras work done in the server process itself (a frozen base's feature pass)."""
    with _COMPUTE_LOCK:
        yield


def cached_result(config: TrainConfig, dataset: Dataset, *, cache: DiskCache | None = None) -> RunResult | None:
    """The stored result for this configuration and data, or ``None`` if it never ran (or is corrupt)."""
    cache = cache or DiskCache()
    return _load_entry(cache, run_key(config, dataset))


def run_by_key(key: str, *, cache: DiskCache | None = None) -> RunResult | None:
    """The stored run with this cache key (a transfer run's source CNN, say), or ``None``."""
    return _load_entry(cache or DiskCache(), key)


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """One model a Train click asks for: its configuration, its data and how the page names it."""

    config: TrainConfig
    dataset: Dataset
    label: str = ""


def submit(
    runs: Sequence[RunRequest], *, session: str | None = None, cache: DiskCache | None = None
) -> Job:
    """Queue one Train click's models that are not cached yet; returns at once with the job to wait for.

    Each finished fit is written to the cache as it arrives, whoever is still waiting, and the
    job's ``results`` map run keys to :class:`RunResult`. Raises ``QueueFull`` when the session
    already has ``DLLAB_MAX_QUEUED`` trainings waiting.
    """
    cache = cache or DiskCache()
    requests = []
    for run in runs:
        key = run_key(run.config, run.dataset)
        if any(request.key == key for request in requests) or _load_entry(cache, key) is not None:
            continue
        label = run.label or run.config.architecture
        requests.append(FitRequest(key, run.config, run.dataset, label, expected_seconds(run.config, run.dataset)))
    if not requests:  # everything asked for is cached: a job that is done already, which queues nothing
        return Job(uuid.uuid4().hex[:12], session, [], time.time())
    return current_executor().submit(requests, lambda request, outcome: _finish(cache, request, outcome), session=session)


def wait(job: Job, on_progress: ProgressCallback | None = None, *, timeout: float | None = None) -> Job:
    """Block until the job is done (or ``timeout``), sending its progress to ``on_progress`` and any listener."""
    return current_executor().wait(job, _broadcast(on_progress), timeout=timeout)


def train(
    config: TrainConfig,
    dataset: Dataset,
    *,
    on_progress: ProgressCallback | None = None,
    cache: DiskCache | None = None,
    session: str | None = None,
) -> RunResult:
    """Train ``config`` on ``dataset`` and wait for it, or return the cached run with the same key at once."""
    cache = cache or DiskCache()
    report = _broadcast(on_progress)
    key = run_key(config, dataset)
    found = _load_entry(cache, key)
    if found is not None:
        report(TrainingProgress(1.0, "Loaded from cache"))
        return found
    job = submit([RunRequest(config, dataset)], session=session, cache=cache)
    try:
        current_executor().wait(job, report)
    except BaseException:
        current_executor().cancel(job)  # the caller went away (a rerun, say): nobody wants this fit any more
        raise
    if key in job.errors:
        raise _for_the_page(job.errors[key])
    if key in job.results:
        return job.results[key]
    again = _load_entry(cache, key)  # another session's identical run finished first
    if again is None:
        raise RuntimeError("the training was cancelled before it finished")
    return again


def _for_the_page(error: BaseException) -> BaseException:
    if is_disk_full(error):
        return CacheWriteError(
            "The server's disk is full, so this run could not be trained; runs already trained still show. "
            "Whoever runs the server needs to free disk space."
        )
    return error


def _finish(cache: DiskCache, request: FitRequest, outcome: FitOutcome) -> RunResult:
    """Write a finished fit into the cache (on the server: workers need no shared disk) and read it back."""
    with key_lock(RUNS_NAMESPACE, request.key):
        found = _load_entry(cache, request.key)
        if found is None:
            cache.put(RUNS_NAMESPACE, request.key, lambda folder: _write_entry(folder, request.key, request.config, request.dataset, outcome))
            found = _load_entry(cache, request.key)
        if found is None:
            raise RuntimeError("the run was trained and saved but cannot be read back; train it again")
    _remember_duration(request, outcome)
    return dataclasses.replace(found, from_cache=False)


# ---------------------------------------------------------------------------------------------
# How long a run should take, from the measured times of similar runs

_durations: dict[tuple[str, str], list[float]] = {}  # (architecture, dataset) -> seconds per epoch per 1,000 examples
_durations_read_at = 0.0
_durations_guard = threading.Lock()
# With no similar run measured yet: about what the small offline models take on two cores.
_DEFAULT_SECONDS_PER_EPOCH_PER_1000 = 0.5
_OVERHEAD_SECONDS = 2.0  # building, compiling and the final test pass


def expected_seconds(config: TrainConfig, dataset: Dataset) -> float:
    """An estimate of a fit's seconds from runs of the same architecture on the same data, scaled to this one."""
    _refresh_durations()
    examples = max(len(dataset.x_train), 1)
    steps_per_epoch = max(1, math.ceil(examples / config.batch_size))
    epochs = config.epochs if config.max_steps is None else max(1, math.ceil(config.max_steps / steps_per_epoch))
    with _durations_guard:
        measured = _durations.get((config.architecture, dataset.name))
        per_thousand = statistics.median(measured) if measured else _DEFAULT_SECONDS_PER_EPOCH_PER_1000
    seconds = per_thousand * examples / 1000 * epochs
    if config.time_budget_seconds is not None:
        seconds = min(seconds, config.time_budget_seconds)
    return seconds + _OVERHEAD_SECONDS


def _remember_duration(request: FitRequest, outcome: FitOutcome) -> None:
    if outcome.epochs_run < 1:
        return
    per_thousand = outcome.train_seconds / outcome.epochs_run / max(len(request.dataset.x_train), 1) * 1000
    with _durations_guard:
        _durations.setdefault((request.config.architecture, request.dataset.name), []).append(per_thousand)


def _refresh_durations() -> None:
    """Read the cache's runs into the duration table at most once a minute (listing them costs a file read each)."""
    global _durations_read_at
    with _durations_guard:
        if time.monotonic() - _durations_read_at < 60:
            return
        _durations_read_at = time.monotonic()
    table: dict[tuple[str, str], list[float]] = {}
    for result in list_cached_runs():
        if result.epochs_run and result.train_examples:
            per_thousand = result.train_seconds / result.epochs_run / result.train_examples * 1000
            table.setdefault((result.config.architecture, result.dataset_name), []).append(per_thousand)
    with _durations_guard:
        for identity, values in table.items():
            _durations[identity] = values[-20:]


# ---------------------------------------------------------------------------------------------
# Progress for tools that drive pages

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


# ---------------------------------------------------------------------------------------------
# Reading the cache


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
        raise FileNotFoundError(f"run {result.key} has no saved model (a random forest keeps none, and an evicted run lost its)")
    return _load_model_cached(str(result.model_path), result.model_path.stat().st_mtime)


# ---------------------------------------------------------------------------------------------
# The cache entry: result.json, predictions.npy and model.keras


def _write_entry(folder: Path, key: str, config: TrainConfig, dataset: Dataset, outcome: FitOutcome) -> None:
    if outcome.model_bytes:  # a random forest keeps no model (it would be a pickle)
        (folder / "model.keras").write_bytes(outcome.model_bytes)
    np.save(folder / "predictions.npy", outcome.test_predictions, allow_pickle=False)
    record = {
        "key": key,
        "config": dataclasses.asdict(config),
        "dataset_name": dataset.name,
        "dataset_source": dataset.source,
        "dataset_fingerprint": dataset.fingerprint,
        "curves_on": "validation" if dataset.has_validation else "test",
        "train_examples": len(dataset.x_train),
        "data_recipe": _plain_recipe(dataset.recipe),
        **{name: getattr(outcome, name) for name in _SCALAR_FIELDS},
        "history": outcome.history,
    }
    text = json.dumps(record, allow_nan=True, indent=1)
    (folder / "result.json").write_text(text, encoding="utf-8")


def _plain_recipe(recipe: dict | None) -> dict | None:
    """The dataset's recipe as plain JSON data (NumPy scalars become numbers), or ``None`` when it is not JSON-able."""
    if recipe is None:
        return None
    try:
        plain = json.loads(json.dumps(recipe, default=lambda value: value.item() if isinstance(value, np.generic) else _refuse(value)))
    except (TypeError, ValueError):
        return None
    return plain if isinstance(plain, dict) else None


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON data")


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


_entries_read: dict[Path, tuple[tuple[int, ...], RunResult]] = {}
# Bounded by the predictions' bytes: a run on 10,000 test images keeps 400 kB of them.
_MAX_BYTES_READ = 256 * 1024 * 1024
_bytes_read = 0


def _read_entry(folder: Path) -> RunResult | None:
    """:func:`_read_entry_from_disk`, kept in memory while the entry's files are unchanged.

    Pages list every cached run on each rerun (the runs table, "What mattered"), and a class
    server holds hundreds; a published entry never changes in place, so two ``stat`` calls tell
    whether the run read last time is still the one on disk. Its arrays are made read-only, since
    every session now shares the same object.
    """
    global _bytes_read
    try:
        stamp = tuple(
            value
            for name in ("result.json", "predictions.npy")
            for status in ((folder / name).stat(),)
            for value in (status.st_mtime_ns, status.st_size, status.st_ino)
        )
    except OSError:
        _forget_read(folder)  # evicted or cleared
        return None
    kept = _entries_read.get(folder)
    if kept is not None and kept[0] == stamp and (kept[1].model_path is None or kept[1].model_path.is_file()):
        return kept[1]
    _forget_read(folder)
    result = _read_entry_from_disk(folder)
    if result is not None:
        result.test_predictions.setflags(write=False)
        size = result.test_predictions.nbytes
        if _bytes_read + size > _MAX_BYTES_READ:
            _entries_read.clear()
            _bytes_read = 0
        _entries_read[folder] = (stamp, result)
        _bytes_read += size
    return result


def _forget_read(folder: Path) -> None:
    global _bytes_read
    kept = _entries_read.pop(folder, None)
    if kept is not None:
        _bytes_read = max(_bytes_read - kept[1].test_predictions.nbytes, 0)


def _read_entry_from_disk(folder: Path) -> RunResult | None:
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
        model_path: Path | None = folder / "model.keras"
        if config.architecture == FOREST_ARCHITECTURE:
            model_path = None  # scored, never kept: a saved forest would be a pickle
        elif model_path.is_symlink() or not model_path.is_file() or model_path.stat().st_size == 0:
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
            # Entries written before recipes were recorded have none: their data's recipe is unknown.
            data_recipe=record["data_recipe"] if isinstance(record.get("data_recipe"), dict) else None,
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
        if result is not None and (result.model_path is None or _model_file_intact(result.model_path)):
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

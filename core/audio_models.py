"""The audio comparison pipeline: clips → cached features → random forest, CNN and recurrent net → comparable scores.

The networks train through :func:`core.training.train` and its disk cache. The random forest is
cached here by (features fingerprint, trees, seed) as JSON and ``.npy`` (scores, timings, test
probabilities), never as a pickle of the forest: a page that needs the forest itself to label an
uploaded clip refits it in-process (a few seconds) and keeps it in memory.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import audio
from core.budget import check_memory
from core.cache import DiskCache, cached_arrays, fingerprint_arrays, key_lock, stable_hash
from core.datasets import Dataset, stratified_split
from core.training import TrainConfig, options

FEATURES_NAMESPACE = "audio-features"
FOREST_NAMESPACE = "audio-forest"
TREE_CHOICES = (10, 50, 100)
CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "bilstm": "Bidirectional LSTM"}

# Seed 002 (Tampere DATA.ML.200, exercise 5): 15 acoustic scene classes, 40 mel bands × 501 frames.
SEED_RESULTS = (
    {"model": "Random forest, 10 trees", "seed's test accuracy": 0.515},
    {"model": "Random forest, 50 trees", "seed's test accuracy": 0.583},
    {"model": "Random forest, 100 trees", "seed's test accuracy": 0.595},
    {"model": "CNN (conv5×5×32 ×2, early stopping)", "seed's test accuracy": 0.449},
    {"model": "LSTM(32), all timesteps → flatten", "seed's test accuracy": 0.589},
)


# ---------------------------------------------------------------------------------------------
# Features


def audio_features(
    dataset: Dataset,
    settings: audio.FeatureSettings | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    cache: DiskCache | None = None,
) -> Dataset:
    """Standardised (N, bands, frames) features of a waveform or features dataset, with a validation split carved from training.

    Log-mel extraction is cached on disk by (dataset fingerprint, feature settings), and refused
    up front when its estimate exceeds the request budget. Every band is scaled with training
    statistics; the statistics are kept in ``extras`` to treat uploads alike.
    """
    kind = dataset.extras.get("kind")
    started = time.perf_counter()
    if kind == "waveform":
        if settings is None:
            raise ValueError("waveform datasets need feature settings")
        if settings.sample_rate != dataset.extras["sample_rate"]:
            raise ValueError(
                f"feature settings are for {settings.sample_rate} Hz but the clips are at {dataset.extras['sample_rate']} Hz"
            )
        clips = len(dataset.x_train) + len(dataset.x_test)
        work = audio.feature_work(clips, dataset.x_train.shape[1], settings)  # also refuses clips shorter than a frame
        key = features_key(dataset, settings)

        def compute() -> dict[str, np.ndarray]:
            check_memory(
                f"Spectrograms of {clips:,} clips ({settings.bands} bands × {settings.frames(dataset.x_train.shape[1]):,} frames)",
                work.peak_bytes,
                "Use fewer mel bands, a larger hop or shorter clips.",
            )
            return {"features": audio.log_mel_features(np.concatenate([dataset.x_train, dataset.x_test]), settings)}

        features = cached_arrays(FEATURES_NAMESPACE, key, compute, cache=cache)["features"]
    elif kind == "features":
        features = np.concatenate([dataset.x_train, dataset.x_test]).astype(np.float32)
    else:
        raise ValueError(f"dataset {dataset.name!r} is neither audio clips nor audio features")
    extract_seconds = time.perf_counter() - started
    train_count = len(dataset.x_train)
    mean, scale = audio.band_statistics(features[:train_count])
    # In place: these arrays are this call's own (loaded or computed), and a copy would double the peak.
    features -= mean[:, None]
    features /= scale[:, None]
    train_index, val_index, _ = stratified_split(dataset.y_train, val_fraction=validation_fraction, test_fraction=0.0, seed=seed)
    return Dataset(
        name=f"{dataset.name}-features",
        x_train=features[train_index],
        y_train=dataset.y_train[train_index],
        x_test=features[train_count:],
        y_test=dataset.y_test,
        class_names=dataset.class_names,
        source=dataset.source,
        is_fallback=dataset.is_fallback,
        x_val=features[val_index] if len(val_index) else None,
        y_val=dataset.y_train[val_index] if len(val_index) else None,
        extras={
            "kind": "standardised_features",
            "settings": settings if kind == "waveform" else None,
            "band_mean": mean,
            "band_scale": scale,
            "extract_seconds": extract_seconds,
            "clip_samples": int(dataset.x_train.shape[1]) if kind == "waveform" else None,
        },
    )


def features_key(dataset: Dataset, settings: audio.FeatureSettings) -> str:
    """The disk-cache key of a waveform dataset's features with these settings."""
    return stable_hash({"dataset": dataset.fingerprint, "settings": settings})


def features_cached(dataset: Dataset, settings: audio.FeatureSettings | None, *, cache: DiskCache | None = None) -> bool:
    """True when these features are on disk already (or need no computing), so showing them is cheap."""
    if settings is None or dataset.extras.get("kind") != "waveform":
        return True
    return (cache or DiskCache()).get(FEATURES_NAMESPACE, features_key(dataset, settings)) is not None


def clip_features(samples: np.ndarray, sample_rate: int, features: Dataset) -> np.ndarray:
    """One decoded clip as a (1, bands, frames) input scaled like ``features`` (resampled, padded or trimmed)."""
    settings = features.extras.get("settings")
    if settings is None:
        raise ValueError("these features came from .npy files, so there is no recipe to turn a WAV into them")
    clip = audio.fit_length(audio.resample(samples, sample_rate, settings.sample_rate), features.extras["clip_samples"])
    image = audio.log_mel_features(clip[np.newaxis], settings)
    mean, scale = features.extras["band_mean"], features.extras["band_scale"]
    return ((image - mean[:, None]) / scale[:, None]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Scores


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """The unweighted mean of per-class F1 over the classes present in the test labels or predictions."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=np.arange(num_classes), average="macro", zero_division=0))


# ---------------------------------------------------------------------------------------------
# Random forest


@dataclass(frozen=True)
class ForestResult:
    """A random forest's test scores and timings; the forest itself is not kept."""

    trees: int
    seed: int
    test_accuracy: float
    macro_f1: float
    fit_seconds: float
    predict_seconds: float
    nodes: int
    test_probabilities: np.ndarray = dataclasses.field(repr=False, compare=False)
    from_cache: bool = False

    @property
    def predicted_labels(self) -> np.ndarray:
        """The predicted class of every test example."""
        return self.test_probabilities.argmax(axis=1)


def _forest_key(features: Dataset, trees: int, seed: int) -> str:
    fingerprint = fingerprint_arrays(features.x_train, features.y_train, features.x_test, features.y_test)
    return stable_hash({"features": fingerprint, "trees": trees, "seed": seed, "classes": features.num_classes})


def fit_forest(features: Dataset, trees: int, seed: int = 0) -> Any:
    """A scikit-learn random forest on the flattened training features."""
    from sklearn.ensemble import RandomForestClassifier

    if trees < 1:
        raise ValueError(f"the forest needs at least one tree, got {trees}")
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=-1)
    forest.fit(features.x_train.reshape(len(features.x_train), -1), features.y_train)
    return forest


def forest_probabilities(forest: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities over all ``num_classes`` (a forest knows only the classes it saw in training)."""
    partial = forest.predict_proba(x.reshape(len(x), -1))
    full = np.zeros((len(x), num_classes), dtype=np.float32)
    full[:, forest.classes_.astype(np.int64)] = partial
    return full


def cached_forest_result(features: Dataset, trees: int, seed: int = 0, *, cache: DiskCache | None = None) -> ForestResult | None:
    """The stored forest result for these features, trees and seed, or ``None`` (also when corrupt)."""
    cache = cache or DiskCache()
    key = _forest_key(features, trees, seed)
    entry = cache.get(FOREST_NAMESPACE, key)
    if entry is None:
        return None
    try:
        record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
        probabilities = np.load(entry / "probabilities.npy", allow_pickle=False)
        if probabilities.shape != (len(features.y_test), features.num_classes):
            raise ValueError("stored probabilities do not match the test set")
        return ForestResult(test_probabilities=probabilities, from_cache=True, **record)
    except (OSError, ValueError, KeyError, TypeError):
        cache.discard(FOREST_NAMESPACE, key)
        return None


def train_forest(features: Dataset, trees: int, seed: int = 0, *, cache: DiskCache | None = None) -> ForestResult:
    """Fit and score a random forest, or return the cached result for the same features, trees and seed."""
    cache = cache or DiskCache()
    key = _forest_key(features, trees, seed)
    with key_lock(FOREST_NAMESPACE, key):
        found = cached_forest_result(features, trees, seed, cache=cache)
        if found is not None:
            return found
        started = time.perf_counter()
        forest = fit_forest(features, trees, seed)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        probabilities = forest_probabilities(forest, features.x_test, features.num_classes)
        predict_seconds = time.perf_counter() - started
        predicted = probabilities.argmax(axis=1)
        record = {
            "trees": int(trees),
            "seed": int(seed),
            "test_accuracy": float(np.mean(predicted == features.y_test)),
            "macro_f1": macro_f1(features.y_test, predicted, features.num_classes),
            "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds,
            "nodes": int(sum(tree.tree_.node_count for tree in forest.estimators_)),
        }

        def write(folder: Any) -> None:
            np.save(folder / "probabilities.npy", probabilities, allow_pickle=False)
            (folder / "result.json").write_text(json.dumps(record), encoding="utf-8")

        cache.put(FOREST_NAMESPACE, key, write)
        return ForestResult(test_probabilities=probabilities, **record)


# ---------------------------------------------------------------------------------------------
# Networks


def cnn_config(
    *,
    epochs: int = 50,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    patience: int | None = 10,
    seed: int = 0,
    time_budget_seconds: float | None = None,
) -> TrainConfig:
    """The seed's CNN run; the defaults are the seed's (Adam, batch 64, up to 50 epochs, patience 10)."""
    return TrainConfig(
        architecture="audio_cnn",
        optimizer="adam",
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        early_stopping_patience=patience,
        time_budget_seconds=time_budget_seconds,
    )


def rnn_config(
    cell: str = "lstm",
    *,
    epochs: int = 50,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    patience: int | None = None,
    seed: int = 0,
    time_budget_seconds: float | None = None,
    lr_schedule: str = "constant",
) -> TrainConfig:
    """The recurrent run; the defaults are the seed's LSTM (batch 32, 50 epochs, Adam)."""
    if cell not in CELL_NAMES:
        raise ValueError(f"cell must be one of {tuple(CELL_NAMES)}, got {cell!r}")
    return TrainConfig(
        architecture="audio_rnn",
        model_options=options(cell=cell),
        optimizer="adam",
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        early_stopping_patience=patience,
        time_budget_seconds=time_budget_seconds,
        lr_schedule=lr_schedule,
    )


def network_label(config: TrainConfig) -> str:
    """A short display name for a network configuration."""
    if config.architecture == "audio_rnn":
        return CELL_NAMES[dict(config.model_options).get("cell", "lstm")]
    return "Seed's CNN" if config.architecture == "audio_cnn" else config.architecture


def comparison_rows(forest: ForestResult | None, networks: dict[str, Any], y_test: np.ndarray, num_classes: int) -> list[dict]:
    """One row per trained model: test accuracy, macro-F1, fit and predict seconds, parameters (or tree nodes)."""
    rows = []
    if forest is not None:
        rows.append(
            {
                "model": f"Random forest ({forest.trees} trees)",
                "test accuracy": forest.test_accuracy,
                "macro-F1": forest.macro_f1,
                "fit s": forest.fit_seconds,
                "predict s": forest.predict_seconds,
                "params": forest.nodes,
                "note": "params = tree nodes",
            }
        )
    for label, result in networks.items():
        rows.append(
            {
                "model": label,
                "test accuracy": result.test_accuracy,
                "macro-F1": macro_f1(y_test, result.predicted_labels, num_classes),
                "fit s": result.train_seconds,
                "predict s": result.predict_seconds,
                "params": result.params,
                "note": f"{result.epochs_run} epochs, {result.status}",
            }
        )
    return rows

"""The spectrograms the models read: a dataset's standardised features, cached on disk, and one clip made alike.

A waveform dataset (clips) becomes (N, bands, frames) features with the page's settings; a
features dataset (DATA.ML.200 Exercise 5's ``.npy`` arrays) is used as it is. Either way every band
is standardised with training statistics and a validation split is carved from training.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from core.audio.features import (
    FeatureSettings,
    band_statistics,
    feature_work,
    log_mel_features,
)
from core.budget import check_memory
from core.cache import DiskCache, cached_arrays, stable_hash
from core.datasets import Dataset, stratified_split
from core.datasets.wav import fit_length, resample

FEATURES_NAMESPACE = "audio-features"


def audio_features(
    dataset: Dataset,
    settings: FeatureSettings | None = None,
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
        work = feature_work(clips, dataset.x_train.shape[1], settings)  # also refuses clips shorter than a frame
        key = features_key(dataset, settings)

        def compute() -> dict[str, np.ndarray]:
            check_memory(
                f"Spectrograms of {clips:,} clips ({settings.bands} bands × {settings.frames(dataset.x_train.shape[1]):,} frames)",
                work.peak_bytes,
                "Use fewer mel bands, a larger hop or shorter clips.",
            )
            return {"features": log_mel_features(np.concatenate([dataset.x_train, dataset.x_test]), settings)}

        features = cached_arrays(FEATURES_NAMESPACE, key, compute, cache=cache)["features"]
    elif kind == "features":
        features = np.concatenate([dataset.x_train, dataset.x_test]).astype(np.float32)
    else:
        raise ValueError(f"dataset {dataset.name!r} is neither audio clips nor audio features")
    extract_seconds = time.perf_counter() - started
    train_count = len(dataset.x_train)
    mean, scale = band_statistics(features[:train_count])
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
        recipe={
            "step": "audio_features",
            "of": dataset.recipe,
            "settings": dataclasses.asdict(settings) if kind == "waveform" and settings is not None else None,
            "validation_fraction": validation_fraction,
            "seed": seed,
        },
    )


def features_key(dataset: Dataset, settings: FeatureSettings) -> str:
    """The disk-cache key of a waveform dataset's features with these settings."""
    return stable_hash({"dataset": dataset.fingerprint, "settings": settings})


def features_cached(dataset: Dataset, settings: FeatureSettings | None, *, cache: DiskCache | None = None) -> bool:
    """True when these features are on disk already (or need no computing), so showing them is cheap."""
    if settings is None or dataset.extras.get("kind") != "waveform":
        return True
    return (cache or DiskCache()).get(FEATURES_NAMESPACE, features_key(dataset, settings)) is not None


def clip_features(samples: np.ndarray, sample_rate: int, features: Dataset) -> np.ndarray:
    """One decoded clip as a (1, bands, frames) input scaled like ``features`` (resampled, padded or trimmed)."""
    settings = features.extras.get("settings")
    if settings is None:
        raise ValueError("these features came from .npy files, so there is no recipe to turn a WAV into them")
    clip = fit_length(resample(samples, sample_rate, settings.sample_rate), features.extras["clip_samples"])
    image = log_mel_features(clip[np.newaxis], settings)
    mean, scale = features.extras["band_mean"], features.extras["band_scale"]
    return ((image - mean[:, None]) / scale[:, None]).astype(np.float32)

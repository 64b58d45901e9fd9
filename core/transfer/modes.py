"""The three ways to reuse a base, compared on one split: feature extraction, fine-tuning, from scratch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.cache import DiskCache
from core.datasets import Dataset
from core.training import ProgressCallback, RunResult, TrainConfig, cached_result, train
from core.transfer.bases import BaseSpec, prepared_dataset
from core.transfer.features import (
    FEATURES_NAMESPACE,
    FeaturePass,
    bottleneck_features,
    features_key,
)

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
    epochs: int = 10,
    batch_size: int = 32,
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


def mode_inputs(
    mode: str, dataset: Dataset, spec: BaseSpec, *, on_progress: ProgressCallback | None = None, **settings: Any
) -> tuple[TrainConfig, Dataset, FeaturePass | None]:
    """What one mode trains on: its configuration and data, with the frozen base's features computed (and cached) first.

    ``settings`` are :func:`mode_config`'s (epochs, batch size, learning rate, augmentation, seed).
    The cache key of a run that uses weights does not contain the weights' path (a re-upload may
    move it) but their content hash, through the ``weights_digest`` model option.
    """
    config = mode_config(mode, spec, **settings)
    data = prepared_dataset(dataset, spec.kind)
    if config.architecture == "transfer_head":
        features, feature_pass = bottleneck_features(spec, data, on_progress=on_progress)
        return config, features, feature_pass
    return config, data, None


def run_mode(
    mode: str, dataset: Dataset, spec: BaseSpec, *, on_progress: ProgressCallback | None = None, **settings: Any
) -> ModeResult:
    """Train one mode on ``dataset`` (raw ``uint8`` images), reusing cached features and runs."""
    config, data, feature_pass = mode_inputs(mode, dataset, spec, on_progress=on_progress, **settings)
    return ModeResult(mode, train(config, data, on_progress=on_progress), feature_pass, feature_pass is not None)


def cached_mode(mode: str, dataset: Dataset, spec: BaseSpec, **settings: Any) -> ModeResult | None:
    """The stored result of :func:`run_mode` with these ``settings``, or ``None``; never trains or extracts."""
    config = mode_config(mode, spec, **settings)
    data = prepared_dataset(dataset, spec.kind)
    if config.architecture != "transfer_head":
        run = cached_result(config, data)
        return ModeResult(mode, run, None, False) if run is not None else None
    if DiskCache().get(FEATURES_NAMESPACE, features_key(spec, data)) is None:
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


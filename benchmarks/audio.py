"""Audio: random forest vs CNN vs LSTM on FSDD log-mel features, with FSDD's official split.

Uses ``../shared/data/fsdd/recordings`` (3,000 recordings at 8 kHz; recordings 0–4 of every
speaker and digit are the 300 test clips) and a fresh temporary cache, so everything really
runs. Features: 1 s clips, 40 mel bands, 256-sample frames, hop 128 (40 × 61 per clip); 10% of
the training clips are held out for early stopping. Targets: feature extraction for all 3,000
files ≤ 15 s, the best model ≥ 97% test accuracy within 60 s of training, a cached re-run ≤ 1 s.

DATA.ML.200 Exercise 5's CNN and LSTM run with the exercise's settings (Adam 1e-3; CNN batch 64 with early
stopping, patience 10; LSTM batch 32), capped at 50 epochs and 120 s each to bound the run.
The "best" row is the exercise's LSTM architecture with a one-cycle learning rate, stopped at 60 s.
"""

from __future__ import annotations

import os
import tempfile
import time

from benchmarks.common import SHARED_DATA, print_table

BEST_BUDGET_SECONDS = 60.0
EXERCISE_CAP_SECONDS = 120.0


def run() -> list[dict]:
    """Extract features, train every model once, then time a fully cached re-run."""
    recordings = SHARED_DATA / "fsdd" / "recordings"
    if not recordings.is_dir():
        return [{"skipped": f"{recordings} not found"}]
    with tempfile.TemporaryDirectory(prefix="dllab-bench-audio-") as cache_dir:
        os.environ["DLLAB_CACHE_DIR"] = cache_dir
        from core.audio.comparison import cnn_config, rnn_config
        from core.audio.features import FeatureSettings
        from core.audio.forest import forest_config
        from core.datasets import load_dataset
        from core.training import cached_result, train

        settings = FeatureSettings(sample_rate=8000, mel_bands=40, frame_length=256, hop_length=128)
        rows: list[dict] = []

        started = time.perf_counter()
        import tensorflow  # noqa: F401  (a one-off 3–5 s, reported apart from the extraction itself)

        import_seconds = time.perf_counter() - started
        started = time.perf_counter()
        dataset = load_dataset("fsdd", data_dir=SHARED_DATA, allow_download=False)
        decode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        from core.audio.feature_dataset import audio_features

        features = audio_features(dataset, settings)
        feature_seconds = time.perf_counter() - started
        rows.append({"step": "import tensorflow (once per server)", "seconds": import_seconds})
        rows.append(
            {
                "step": "decode 3,000 WAVs (+ resample, pad/trim)",
                "files": len(dataset.x_train) + len(dataset.x_test),
                "seconds": decode_seconds,
            }
        )
        rows.append(
            {
                "step": "log-mel features, batched tf.signal",
                "files": len(dataset.x_train) + len(dataset.x_test),
                "seconds": feature_seconds,
                "note": f"{features.input_shape[0]} bands × {features.input_shape[1]} frames; target ≤ 15 s with decoding",
            }
        )
        print_table(rows, "Feature extraction")

        results: list[dict] = []
        for trees in (10, 50, 100):
            forest = train(forest_config(trees), features)
            results.append(
                {
                    "model": f"random forest, {trees} trees",
                    "test accuracy": forest.test_accuracy,
                    "macro-F1": _macro(forest, features),
                    "fit s": forest.train_seconds,
                    "epochs": "",
                }
            )
        configs = {
            "exercise CNN (exact)": cnn_config(epochs=50, batch_size=64, patience=10, time_budget_seconds=EXERCISE_CAP_SECONDS),
            "exercise LSTM (exact)": rnn_config("lstm", epochs=50, batch_size=32, time_budget_seconds=EXERCISE_CAP_SECONDS),
            "best: exercise LSTM, one-cycle 2e-3, 60 s": rnn_config(
                "lstm", epochs=200, batch_size=32, learning_rate=2e-3, lr_schedule="one_cycle", time_budget_seconds=BEST_BUDGET_SECONDS
            ),
        }
        for label, config in configs.items():
            result = train(config, features)
            results.append(
                {
                    "model": label,
                    "test accuracy": result.test_accuracy,
                    "macro-F1": _macro(result, features),
                    "fit s": result.train_seconds,
                    "epochs": f"{result.epochs_run} ({result.status})",
                    "params": result.params,
                }
            )
        print_table(results, "Test accuracy on FSDD's official split (300 test clips)")

        started = time.perf_counter()
        dataset = load_dataset("fsdd", data_dir=SHARED_DATA, allow_download=False)
        features = audio_features(dataset, settings)
        for trees in (10, 50, 100):
            assert train(forest_config(trees), features).from_cache
        for config in configs.values():
            assert train(config, features).from_cache
        cached_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for trees in (10, 50, 100):
            assert cached_result(forest_config(trees), features) is not None
        for config in configs.values():
            assert cached_result(config, features) is not None
        lookup_seconds = time.perf_counter() - started
        cached = [
            {"step": "cached re-run in a fresh process: read clips, features, 3 forests, 3 networks", "seconds": cached_seconds},
            {"step": "cached re-run as the page does it (data in memory): look up 3 forests, 3 networks", "seconds": lookup_seconds, "note": "target ≤ 1 s"},
        ]
        print_table(cached, "Cached re-run")
        return rows + results + cached


def _macro(result, features) -> float:  # noqa: ANN001
    from core.audio.forest import macro_f1

    return macro_f1(features.y_test, result.predicted_labels, features.num_classes)


if __name__ == "__main__":
    print_table(run(), "Audio benchmark (all rows)")

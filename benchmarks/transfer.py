"""Transfer learning on the shared cats-vs-dogs subset: cached-feature epochs vs a fit through the frozen base, and the three modes' accuracy.

Speed: seconds per epoch of the head on cached bottleneck features against ``model.fit`` through
the frozen VGG16 base every epoch (as the homework write-ups did), at 64×64 and 128×128 in the same run.
Accuracy: test accuracy of feature extraction, fine-tuning and from scratch on one split, with
whatever base is available (the row says which), plus the offline digits 0–4 → 5–9 demo.

Run: ``python -m benchmarks.transfer`` (needs ``../shared/data/cats-vs-dogs-small``).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from benchmarks.common import SHARED_DATA, print_table

SPEED_SIZES = (64, 128)
ACCURACY_SIZE = 64
ACCURACY_EPOCHS = 5


def _median_epoch(result) -> float:
    return float(np.median(result.history["epoch_seconds"]))


def run() -> list[dict]:
    """Rows for both tables (a ``table`` column tells them apart)."""
    os.environ.setdefault("DLLAB_CACHE_DIR", tempfile.mkdtemp(prefix="dllab-bench-transfer-"))
    from core import transfer
    from core.datasets.images import CATS_VS_DOGS_FOLDER, load_image_folder
    from core.training import TrainConfig, train

    folder = SHARED_DATA / CATS_VS_DOGS_FOLDER
    if not folder.is_dir():
        raise SystemExit(f"needs {folder}")
    status = transfer.resolve_vgg16_weights()
    spec = transfer.vgg16_spec(status)
    base_name = "VGG16 ImageNet" if spec.pretrained else "VGG16 random init (no ImageNet weights offline)"
    rows: list[dict] = []
    for size in SPEED_SIZES:
        dataset = load_image_folder(folder, image_size=size, color="rgb", val_fraction=0.15, test_fraction=0.15, seed=0)
        cached = transfer.run_mode("feature_extraction", dataset, spec, epochs=5, batch_size=32)
        through_base_config = TrainConfig(
            "transfer_full",
            model_options=(("base", "vgg16"), ("weights_path", spec.weights_path), ("weights_digest", spec.weights_digest),
                           ("trainable", "none"), ("augment", ()), ("seed", 0)),
            epochs=2, batch_size=32, learning_rate=1e-3,
        )
        started = time.perf_counter()
        through_base = train(through_base_config, transfer.prepared_dataset(dataset, "vgg16"))
        fit_wall = time.perf_counter() - started
        rows.append(
            {
                "table": "speed",
                "input": f"{size}×{size}",
                "train images": len(dataset.x_train),
                "one-time feature pass s": round(cached.feature_pass.seconds, 1),
                "cached head s/epoch": round(_median_epoch(cached.run), 3),
                "fit through frozen base s/epoch": round(_median_epoch(through_base), 2),
                "speed-up per epoch": round(_median_epoch(through_base) / _median_epoch(cached.run), 1),
                "fit wall s (2 epochs, incl. build)": round(fit_wall, 1),
                "base": base_name,
            }
        )
    dataset = load_image_folder(folder, image_size=ACCURACY_SIZE, color="rgb", val_fraction=0.15, test_fraction=0.15, seed=0)
    for mode in transfer.MODES:
        started = time.perf_counter()
        result = transfer.run_mode(mode, dataset, spec, epochs=ACCURACY_EPOCHS, batch_size=32)
        rows.append(
            {
                "table": "accuracy",
                "data": f"cats vs dogs {ACCURACY_SIZE}×{ACCURACY_SIZE}, {len(dataset.x_test)} test images",
                "mode": transfer.MODE_LABELS[mode],
                "epochs": result.run.epochs_run,
                "test accuracy": round(result.run.test_accuracy, 3),
                "wall s": round(time.perf_counter() - started, 1),
                "base": base_name,
            }
        )
    task = transfer.digits_transfer_task(per_class=10)
    source = transfer.train_source(task.source)
    source_spec = transfer.source_spec(source)
    for mode in transfer.MODES:
        result = transfer.run_mode(mode, task.target, source_spec, epochs=30, batch_size=16)
        rows.append(
            {
                "table": "accuracy",
                "data": f"digits 5–9, 10 train images/class, {len(task.target.x_test)} test images",
                "mode": transfer.MODE_LABELS[mode],
                "epochs": result.run.epochs_run,
                "test accuracy": round(result.run.test_accuracy, 3),
                "base": f"in-app source CNN (digits 0–4, {source.test_accuracy:.1%})",
            }
        )
    return rows


if __name__ == "__main__":
    results = run()
    for table in ("speed", "accuracy"):
        print_table([{k: v for k, v in row.items() if k != "table"} for row in results if row["table"] == table], title=f"transfer: {table}")

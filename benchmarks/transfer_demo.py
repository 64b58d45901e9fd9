"""Does the offline transfer demo teach its lesson? Frozen transfer against from scratch over 5 seeds.

The demo (the transfer page with no ImageNet weights) trains a small CNN on digits 0–4 and reuses
its convolutions on digits 5–9 from a few images per class. At the page's default settings,
frozen-base transfer must beat the same network trained from scratch clearly, not by luck of one
split: each seed draws a different handful of target images and a different initialisation, and
trains the source CNN, the frozen head and the from-scratch network exactly as the page does.

Run: ``python -m benchmarks.transfer_demo`` (the page's default images per class), or
``python -m benchmarks.transfer_demo 2 3 5 10`` to sweep images per class and see where the
advantage disappears. Needs no data and no network.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile

SEEDS = (0, 1, 2, 3, 4)


def gaps(per_class: int, *, seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    """One row per seed: frozen and scratch test accuracy at the page's default epochs and batch size."""
    from core import transfer
    from core.training import train
    from core.transfer import DEMO_BATCH_SIZE, DEMO_EPOCHS

    rows = []
    for seed in seeds:
        task = transfer.digits_transfer_task(per_class=per_class, seed=seed)
        source_run = train(transfer.source_config(seed=seed), task.source)
        spec = transfer.source_spec(source_run)
        accuracy = {}
        for mode in ("feature_extraction", "from_scratch"):
            result = transfer.run_mode(mode, task.target, spec, epochs=DEMO_EPOCHS, batch_size=DEMO_BATCH_SIZE, seed=seed)
            accuracy[mode] = result.run.test_accuracy
        rows.append(
            {
                "per class": per_class,
                "seed": seed,
                "source acc": round(source_run.test_accuracy, 3),
                "frozen acc": round(accuracy["feature_extraction"], 3),
                "scratch acc": round(accuracy["from_scratch"], 3),
                "frozen − scratch (points)": round(100 * (accuracy["feature_extraction"] - accuracy["from_scratch"]), 1),
            }
        )
    return rows


def summary(rows: list[dict]) -> dict:
    """Mean and spread of the gap over the seeds."""
    points = [row["frozen − scratch (points)"] for row in rows]
    return {
        "per class": rows[0]["per class"],
        "seeds": len(points),
        "mean frozen − scratch (points)": round(statistics.mean(points), 1),
        "stdev": round(statistics.stdev(points), 1) if len(points) > 1 else 0.0,
        "min": min(points),
        "max": max(points),
        "mean frozen acc": round(statistics.mean(row["frozen acc"] for row in rows), 3),
        "mean scratch acc": round(statistics.mean(row["scratch acc"] for row in rows), 3),
    }


def run(per_class_values: list[int] | None = None) -> list[dict]:
    """The summary rows (one per images-per-class value), after printing each seed's row."""
    os.environ.setdefault("DLLAB_CACHE_DIR", tempfile.mkdtemp(prefix="dllab-bench-transfer-demo-"))
    # Fit in this process: the benchmark measures accuracy, not the queue.
    os.environ.setdefault("DLLAB_WORKERS", "0")
    from benchmarks.common import print_table
    from core.transfer import DEMO_PER_CLASS

    summaries = []
    for per_class in per_class_values or [DEMO_PER_CLASS]:
        rows = gaps(per_class)
        print_table(rows, title=f"{per_class} target images per class")
        summaries.append(summary(rows))
    return summaries


if __name__ == "__main__":
    from benchmarks.common import print_table

    print_table(run([int(value) for value in sys.argv[1:]] or None), title="frozen transfer minus from scratch, 5 seeds")

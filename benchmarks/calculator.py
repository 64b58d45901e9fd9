"""How long the calculator's arithmetic takes on VGG16, the largest preset (target: ≤ 20 ms)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks.common import best_time, print_table
from core.calculator import analyze
from core.calculator.check import check_answer
from core.calculator.presets import preset

TARGET_MS = 20.0


def _median_time(function: Callable[[], object], *, repeats: int = 50) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[dict]:
    """Best and median time of ``analyze`` (and of the answer checker) on the VGG16 preset."""
    vgg16 = preset("vgg16")
    report = analyze(vgg16.input_shape, vgg16.layers, batch_size=vgg16.batch_size)
    cases = {
        f"analyze VGG16 ({len(vgg16.layers)} layers)": lambda: analyze(vgg16.input_shape, vgg16.layers, batch_size=vgg16.batch_size),
        "check_answer, training RAM (VGG16)": lambda: check_answer(report, "training", 1234.5),
        "check_answer, total params (VGG16)": lambda: check_answer(report, "params", 138_000_000),
    }
    rows = []
    for name, function in cases.items():
        best_ms = best_time(function, repeats=50) * 1000
        rows.append(
            {
                "case": name,
                "best ms": best_ms,
                "median ms": _median_time(function) * 1000,
                "target ms": TARGET_MS,
                "meets target": "yes" if best_ms <= TARGET_MS else "no",
            }
        )
    return rows


if __name__ == "__main__":
    print_table(run(), title="calculator")

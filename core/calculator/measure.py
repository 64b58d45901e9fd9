"""The memory Keras really uses for a network: one prediction and one training step, measured.

The calculator's figures count what a network must hold (weights, activations, gradients,
optimizer state). A framework holds more: temporaries for every op, convolution workspaces,
gradient buffers for each intermediate tensor, the traced graph. Summary tools are known to be
far off for this reason (torchinfo#149). Here the same network is built in Keras, in a fresh
Python process so nothing else clouds its memory, and the kernel's own peak-RSS counter
(``VmHWM``, reset through ``/proc/self/clear_refs``) measures how far one ``predict_on_batch``
and one ``train_on_batch`` raise the process's peak memory above where it stood before each.

The fresh process also protects whoever asks: a network that does not fit kills only that
process. Before starting one, :func:`check_fits` refuses a measurement whose likely peak (the
estimate times :data:`MEASURED_OVER_ESTIMATE`, plus TensorFlow itself) exceeds the RAM available.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.budget import format_megabytes
from core.calculator.network import analyze
from core.settings import available_memory_bytes

# How much more than the calculator's training figure a first Keras training step has been seen
# to take on this machine (1.8× measured here for the Géron 3-layer CNN at batch 50; the issue
# measured 2.1× with a longer-lived process); the guard assumes a little worse.
MEASURED_OVER_ESTIMATE = 3.0
# What importing TensorFlow and building a small model costs a process before any batch runs.
TENSORFLOW_BASELINE_BYTES = 900_000_000
MEASURE_TIMEOUT_SECONDS = 180.0
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_KERAS_OPTIMIZERS = {"adam": ("Adam", {}), "rmsprop": ("RMSprop", {}), "sgd_momentum": ("SGD", {"momentum": 0.9}), "sgd": ("SGD", {})}


class MeasurementError(RuntimeError):
    """The measuring process failed or was killed; the message says what happened."""


@dataclass(frozen=True)
class MemoryMeasurement:
    """Measured peak memory growth of one prediction and one training step, in bytes."""

    batch_size: int
    optimizer: str
    params: int
    before_bytes: int  # the process's resident memory with TensorFlow imported and the model built
    predict_growth_bytes: int
    train_step_growth_bytes: int
    seconds: float


def likely_peak_bytes(training_estimate_bytes: int) -> int:
    """What the measuring process may reach: TensorFlow itself plus the estimate with framework overhead."""
    return TENSORFLOW_BASELINE_BYTES + int(training_estimate_bytes * MEASURED_OVER_ESTIMATE)


def check_fits(training_estimate_bytes: int, available_bytes: int | None) -> None:
    """Refuse a measurement that would not fit in the RAM available now (``None``: unknown, allowed)."""
    needed = likely_peak_bytes(training_estimate_bytes)
    if available_bytes is not None and needed > available_bytes:
        raise ValueError(
            f"Measuring this network would need about {format_megabytes(needed)} of RAM (TensorFlow, plus "
            f"{MEASURED_OVER_ESTIMATE:g}× the training estimate of {format_megabytes(training_estimate_bytes)}), "
            f"but only {format_megabytes(available_bytes)} is available now on the machine that would run it. Try a smaller batch size "
            "or input, or measure on your own machine."
        )


def measure_memory(
    input_shape: Sequence[int], layers: Sequence[Mapping[str, Any]], *, batch_size: int, optimizer: str,
    timeout: float = MEASURE_TIMEOUT_SECONDS,
) -> MemoryMeasurement:
    """Build the network in a fresh Python process and measure one prediction and one training step.

    Runs wherever it is called (the page calls it on a training worker, through the executor),
    and checks the RAM free *there*, just before starting the process: the worker may be another
    machine, and the job may have waited in the queue.
    """
    if optimizer not in _KERAS_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(_KERAS_OPTIMIZERS)}, got {optimizer!r}")
    # Impossible layer settings get the calculator's own message, before any process starts.
    estimate = analyze(input_shape, layers, batch_size=int(batch_size), optimizer=optimizer)
    check_fits(estimate.training_bytes, available_memory_bytes())
    request = {"input_shape": list(input_shape), "layers": [dict(layer) for layer in layers], "batch_size": int(batch_size), "optimizer": optimizer}
    environment = {**os.environ, "PYTHONPATH": str(_PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "core.calculator.measure"], input=json.dumps(request), capture_output=True, text=True,
            cwd=_PROJECT_ROOT, env=environment, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise MeasurementError(f"the measurement took longer than {timeout:g} s and was stopped") from error
    if finished.returncode != 0:
        last_line = (finished.stderr.strip().splitlines() or ["no message"])[-1]
        if finished.returncode < 0:
            last_line = f"the measuring process was killed (signal {-finished.returncode}), most likely for lack of memory"
        raise MeasurementError(f"Keras could not run this network: {last_line}")
    try:
        return MemoryMeasurement(**json.loads(finished.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError, TypeError) as error:
        raise MeasurementError(f"the measuring process gave no usable result ({type(error).__name__})") from error


def explanation(measurement: MemoryMeasurement, training_estimate_bytes: int, inference_estimate_bytes: int) -> str:
    """A short reading of measured against estimated: why Keras needs more than the count."""
    ratio = measurement.train_step_growth_bytes / training_estimate_bytes if training_estimate_bytes else float("nan")
    return (
        f"One Keras training step raised the process's peak memory by {format_megabytes(measurement.train_step_growth_bytes)}, "
        f"{ratio:.1f}× the estimate of {format_megabytes(training_estimate_bytes)}; one prediction raised it by "
        f"{format_megabytes(measurement.predict_growth_bytes)} (estimate {format_megabytes(inference_estimate_bytes)}). "
        "The estimate counts what the network must hold: weights, each layer's activations kept for the backward pass, "
        "gradients and the optimizer's state. A framework holds more: a temporary for every operation (the pre-activation "
        "and the activation are separate tensors), workspaces for convolution algorithms, a gradient buffer for each "
        "intermediate tensor on the way back, and the traced graph itself; TensorFlow's CPU allocator and oneDNN also keep "
        "pools of scratch memory per thread, which is why even a prediction can raise the peak far above the activations "
        "it needs (on this machine a second call raised the peak about as much again: that memory is handed back after "
        "each call and taken again by the next, not leaked). "
        "Treat the estimate as a lower bound on what a framework needs, not a prediction of it."
    )


def _resident_bytes(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise MeasurementError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    # Writing 5 resets this process's peak resident size (VmHWM) to its current size (Linux ≥ 4.0).
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def _measure_here(request: Mapping[str, Any]) -> dict[str, Any]:
    """The child's work: build, then measure each call's peak growth above the memory before it."""
    import keras
    import numpy as np

    from core.calculator.keras_check import build_keras_model

    started = time.perf_counter()
    keras.utils.set_random_seed(0)
    model = build_keras_model(tuple(request["input_shape"]), request["layers"])
    class_name, options = _KERAS_OPTIMIZERS[request["optimizer"]]
    # A squared error against zeros fits any output shape; its own memory is one output-sized tensor.
    model.compile(optimizer=getattr(keras.optimizers, class_name)(1e-3, **options), loss="mse")
    batch = np.random.default_rng(0).random((request["batch_size"], *request["input_shape"]), dtype=np.float32)
    targets = np.zeros((request["batch_size"], *model.output_shape[1:]), dtype=np.float32)
    before = _resident_bytes("VmRSS")
    growth = {}
    for name, call in (("predict", lambda: model.predict_on_batch(batch)), ("train_step", lambda: model.train_on_batch(batch, targets))):
        _reset_peak()
        start = _resident_bytes("VmRSS")
        call()
        growth[name] = max(0, _resident_bytes("VmHWM") - start)
    return {
        "batch_size": request["batch_size"], "optimizer": request["optimizer"], "params": int(model.count_params()),
        "before_bytes": before, "predict_growth_bytes": growth["predict"], "train_step_growth_bytes": growth["train_step"],
        "seconds": round(time.perf_counter() - started, 2),
    }


def _die_with_parent() -> None:
    """Ask Linux to kill this process if its parent dies (a worker killed mid-measurement leaves no orphan holding RAM)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent's timeout still bounds the run


if __name__ == "__main__":
    _die_with_parent()
    print(json.dumps(_measure_here(json.loads(sys.stdin.read()))))

"""Training: configurations in, cached runs out, fits on Dask workers served first come, first served.

- :mod:`core.training.config`: the TensorFlow-free types (``TrainConfig``, ``RunResult``,
  ``TrainingProgress``, ``FitOutcome``);
- :mod:`core.training.fit`: the fit itself, with a plain Keras callback for progress, the time
  budget, NaN stops, cancellation and the one-cycle schedule (imports Keras);
- :mod:`core.training.engine`: cache keys, cached results, run listing, ``train`` and ``submit``;
- :mod:`core.training.executor`: where fits run (Dask workers, or this process) and the fair queue.

The names below are the public API; importing this package never imports TensorFlow.
"""

from core.training.config import (
    AUGMENTATIONS,
    LR_SCHEDULES,
    OPTIMIZERS,
    FitCancelled,
    FitOutcome,
    ProgressCallback,
    RunResult,
    TrainConfig,
    TrainingProgress,
    one_cycle_rate,
    options,
    prepare_inputs,
)
from core.training.engine import (
    RUNS_NAMESPACE,
    RunRequest,
    cached_result,
    exclusive_compute,
    expected_seconds,
    list_cached_runs,
    load_model,
    progress_listener,
    run_key,
    submit,
    train,
    wait,
)
from core.training.executor import (
    Job,
    QueueFull,
    QueuePlace,
    WorkerCrashed,
    current_executor,
    prestart,
)

__all__ = [
    "AUGMENTATIONS",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "RUNS_NAMESPACE",
    "FitCancelled",
    "FitOutcome",
    "Job",
    "ProgressCallback",
    "QueueFull",
    "QueuePlace",
    "RunRequest",
    "RunResult",
    "TrainConfig",
    "TrainingProgress",
    "WorkerCrashed",
    "cached_result",
    "exclusive_compute",
    "current_executor",
    "expected_seconds",
    "list_cached_runs",
    "load_model",
    "one_cycle_rate",
    "options",
    "prepare_inputs",
    "prestart",
    "progress_listener",
    "run_key",
    "submit",
    "train",
    "wait",
]

"""What every Dask worker does when it starts: load TensorFlow with threads for its share of the cores.

A module of its own because Dask pickles the plugin to send it to workers (so it must be
importable there) and because it imports ``distributed``, which pages that never train skip.
"""

from __future__ import annotations

import os
from typing import Any

from distributed import WorkerPlugin


class TensorFlowThreads(WorkerPlugin):
    """Load TensorFlow at worker start, with intra-op threads = cores ÷ worker threads on this machine."""

    name = "dllab-tensorflow-threads"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def setup(self, worker: Any) -> None:
        """Set TensorFlow's thread pools before anything runs (they cannot change afterwards)."""
        import tensorflow as tf

        threads = self.threads or max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
        except RuntimeError:
            pass  # TensorFlow already ran in this process: keep what it has

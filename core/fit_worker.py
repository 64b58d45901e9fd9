"""Fitting in a long-lived child process, so a classroom server's memory stays flat.

Keras 3 on TensorFlow keeps a few MB of traced graphs for every model it has fitted, even after
``keras.backend.clear_session()`` and garbage collection (keras-team/tf-keras#286,
tensorflow/tensorflow#61791): measured here, ~4.9 MB per tiny run, +28% after 50 runs. A server
that trains a lecture's worth of configurations would grow without bound. So the engine sends
each fit to one worker process, and replaces the worker once it has grown by
``DLLAB_WORKER_RECYCLE_MB`` past its size after its first fit. The replacement starts at once, in
the background, so its TensorFlow import overlaps with people looking at the results.

The worker is a fresh interpreter (``python -m core.fit_worker``), not a fork: TensorFlow's
thread pools do not survive ``fork``, and ``multiprocessing``'s spawn would re-run the server's
main script in the child. It talks to the server over a socket pair, so it is POSIX-only; on
Windows fits stay in the server process. Only one fit runs at a time (the engine's server-wide
lock), so one worker is enough. Set ``DLLAB_FIT_WORKER=0`` to fit inside the server process
(for debugging with a breakpoint, or where child processes are not allowed).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.datasets import Dataset
    from core.training import ProgressCallback, TrainConfig, _FitOutcome

_LOGGER = logging.getLogger(__name__)
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
WORKER_ENV = "DLLAB_FIT_WORKER"
RECYCLE_ENV = "DLLAB_WORKER_RECYCLE_MB"
DEFAULT_RECYCLE_MB = 150.0
# DL Lab's settings are read at fit time, so each fit carries the server's current values (tests
# and tools change them while the server runs). Keras and TensorFlow read theirs when imported:
# a worker gets the values of when it started, and its replacement the values of then.
_FORWARDED_ENV_PREFIXES = ("DLLAB_", "KERAS_", "TF_")
# After a worker fails to start, pages stop starting new ones for this long (each would load
# TensorFlow on a busy machine only to fail again); a Train click still tries, and says why.
_START_FAILURE_PAUSE_S = 60.0


class WorkerCrashed(RuntimeError):
    """The training process died mid-fit (killed for memory, say); the next fit starts a new one."""


def enabled() -> bool:
    """Whether fits go to the worker process: on POSIX unless ``DLLAB_FIT_WORKER`` is 0/false/no/off."""
    if os.name != "posix":
        return False
    return os.environ.get(WORKER_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def recycle_megabytes() -> float:
    """How much the worker may grow past its size after its first fit before it is replaced."""
    try:
        return max(0.0, float(os.environ.get(RECYCLE_ENV, DEFAULT_RECYCLE_MB)))
    except ValueError:
        return DEFAULT_RECYCLE_MB


def resident_megabytes(pid: int | str = "self") -> float | None:
    """A process's resident memory (VmRSS) in MB, or ``None`` when it cannot be read.

    Without ``/proc`` (macOS), this process's peak resident size stands in: it only grows, which
    is what deciding to recycle the worker needs.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1000
    except OSError:
        pass
    if pid == "self":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak / 1000  # bytes on macOS, kB on Linux
    return None


class FitWorker:
    """One child process that fits models on request; used under the engine's training lock."""

    def __init__(self) -> None:
        self._process: Any = None
        self._connection: Connection | None = None
        self._ready = False
        self._dataset_sent: tuple | None = None
        self._baseline_mb: float | None = None
        self.fits_done = 0
        self.recycled = 0
        self.last_resident_mb: float | None = None
        # Fits are already one at a time (the engine's lock), but a page may ask to start the
        # worker while another session's fit is recycling it.
        self._lock = threading.RLock()
        self._retired: list[subprocess.Popen] = []  # recycled workers, reaped once they have exited
        self._start_failed_at: float | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._process.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the worker if none runs; returns at once, the worker imports TensorFlow on its own."""
        with self._lock:
            self._start()

    def start_unless_busy(self) -> None:
        """Start the worker if none runs, but never wait for a fit in progress (it has a worker)."""
        failed = self._start_failed_at
        if failed is not None and time.monotonic() - failed < _START_FAILURE_PAUSE_S:
            return
        if self._lock.acquire(blocking=False):
            try:
                self._start()
            finally:
                self._lock.release()

    def _start(self) -> None:
        self._retired = [process for process in self._retired if process.poll() is None]
        if self._alive():
            return
        self._discard()
        server_end, worker_end = socket.socketpair()
        environment = dict(os.environ)
        # The worker imports ``core`` from this project wherever the server was started from (it
        # starts in the project folder, so another folder's ``core`` cannot shadow it), then
        # moves to the server's folder, where relative paths in settings are meant.
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), environment.get("PYTHONPATH")]))
        with worker_end:
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "core.fit_worker", str(worker_end.fileno()), os.getcwd()],
                    pass_fds=(worker_end.fileno(),),
                    env=environment,
                    cwd=_PROJECT_ROOT,
                    stdin=subprocess.DEVNULL,
                )
            except BaseException:
                server_end.close()
                raise
        self._connection = Connection(server_end.detach())
        self._ready = False

    def stop(self) -> None:
        """Ask the worker to exit and wait briefly; kill it if it does not."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._process is None:
            return
        try:
            if self._connection is not None:
                self._connection.send(("stop", None))
            self._process.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=5)
        self._discard()

    def fit(self, config: TrainConfig, dataset: Dataset, report: ProgressCallback) -> _FitOutcome:
        """Fit ``config`` on ``dataset`` in the worker; the outcome's model is a file in a temp folder.

        Progress from the worker is passed to ``report`` in the calling thread, so a page's
        progress bar updates as before. Exceptions raised by the fit (a ``ValueError`` for an
        impossible layer setting, say) are raised here again. If the caller is interrupted
        mid-fit (Streamlit stops a script on rerun), the worker is killed: the half-trained
        model would never be used, and a fresh worker is cheaper than waiting for it.
        """
        with self._lock:
            return self._fit(config, dataset, report)

    def _fit(self, config: TrainConfig, dataset: Dataset, report: ProgressCallback) -> _FitOutcome:
        from core.training import TrainingProgress

        self._start()
        assert self._connection is not None
        folder = Path(tempfile.mkdtemp(prefix="dllab-fit-"))
        model_file = folder / "model.keras"
        error: BaseException | None = None
        try:
            if not self._ready:
                report(TrainingProgress(0.0, "Starting the training process (loading TensorFlow)…"))
                self._receive()  # "ready"
                self._ready, self._start_failed_at = True, None
            # Datasets can be large (CIFAR-10 is 150 MB), so one the worker already holds is not sent again.
            identity = (dataset.name, dataset.fingerprint, dataset.class_names)
            lean = None if identity == self._dataset_sent else dataclasses.replace(dataset, extras={})
            environment = {name: value for name, value in os.environ.items() if name.startswith(_FORWARDED_ENV_PREFIXES)}
            self._send(("fit", (config, lean, str(model_file), environment)))
            self._dataset_sent = identity
            while True:
                kind, payload = self._receive()
                if kind == "progress":
                    report(payload)
                elif kind == "error":
                    error, text = payload  # the worker is idle again and stays
                    break
                else:
                    outcome, resident_mb = payload
                    break
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._kill()
            raise
        if error is not None:
            shutil.rmtree(folder, ignore_errors=True)
            raise error from WorkerTraceback(text)
        self.fits_done += 1
        try:
            self._after_fit(resident_mb)
        except Exception as error:  # a failed recycle must not cost the fit that just finished
            _LOGGER.warning("could not replace the training process: %s", error)
        return dataclasses.replace(outcome, model_file=model_file)

    def _send(self, message: tuple[str, Any]) -> None:
        assert self._connection is not None
        try:
            self._connection.send(message)
        except OSError as error:  # a broken pipe: the worker died before or while reading
            raise self._crashed() from error

    def _receive(self) -> tuple[str, Any]:
        assert self._connection is not None
        try:
            return self._connection.recv()
        except (EOFError, OSError) as error:
            raise self._crashed() from error

    def _crashed(self) -> WorkerCrashed:
        """The error for a worker that went away; it is reaped first, so its exit code is known."""
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        started = self._ready
        self._discard()
        if not started:
            self._start_failed_at = time.monotonic()
            return WorkerCrashed(
                f"The training process could not start (exit code {code}); the server's log says why. "
                f"Set {WORKER_ENV}=0 to train inside the server process instead."
            )
        return WorkerCrashed(
            f"The training process stopped unexpectedly (exit code {code}); "
            "it may have run out of memory. Try a smaller configuration, then train again."
        )

    def _after_fit(self, resident_mb: float | None) -> None:
        self.last_resident_mb = resident_mb
        if resident_mb is None:
            return
        if self._baseline_mb is None:
            self._baseline_mb = resident_mb
        elif resident_mb - self._baseline_mb > recycle_megabytes():
            self._retire()
            self.recycled += 1
            self._start()

    def _retire(self) -> None:
        """Tell the idle worker to exit without waiting for it; it is reaped on a later start."""
        if self._process is None:
            return
        try:
            assert self._connection is not None
            self._connection.send(("stop", None))
        except OSError:
            self._process.kill()
        self._retired.append(self._process)
        self._discard()

    def _kill(self) -> None:
        if self._alive():
            self._process.kill()
            self._process.wait(timeout=5)
        self._discard()

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._process, self._connection, self._ready = None, None, False
        self._dataset_sent, self._baseline_mb = None, None


class WorkerTraceback(Exception):
    """The worker's traceback text, chained under an error it raised, for the server log."""


_shared_worker: FitWorker | None = None
_shared_guard = threading.Lock()


def shared_worker() -> FitWorker:
    """The server's one worker (created, not started, on first use)."""
    global _shared_worker
    with _shared_guard:
        if _shared_worker is None:
            _shared_worker = FitWorker()
        return _shared_worker


def prestart() -> None:
    """Start the worker now, so a page's first Train click does not wait for TensorFlow to load."""
    if enabled():
        shared_worker().start_unless_busy()


def _serve(connection: Connection, working_directory: str | None = None) -> None:
    """The worker's loop: receive a fit, send progress, then the outcome or the error; repeat."""
    # Ctrl+C in the server's terminal reaches the whole process group; the server decides when
    # the worker ends (it closes the socket), so the worker does not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import keras

    from core import training

    if working_directory:
        os.chdir(working_directory)
    try:
        connection.send(("ready", None))
    except OSError:
        return  # the server went away while TensorFlow was loading
    dataset = None
    while True:
        try:
            kind, payload = connection.recv()
        except (EOFError, OSError):
            return  # the server went away
        if kind == "stop":
            return
        config, sent_dataset, model_file, environment = payload
        dataset = sent_dataset if sent_dataset is not None else dataset
        for name in [name for name in os.environ if name.startswith(_FORWARDED_ENV_PREFIXES)]:
            if name not in environment:
                del os.environ[name]  # unset in the server since the last fit
        os.environ.update(environment)
        try:
            outcome = training._fit_here(config, dataset, lambda progress: connection.send(("progress", progress)))
            outcome.model.save(model_file)
            outcome = dataclasses.replace(outcome, model=None)
        except Exception as error:
            text = traceback.format_exc()
            connection.send(("error", (_transportable(error), text)))
            continue
        finally:
            keras.backend.clear_session()
            gc.collect()
        connection.send(("done", (outcome, resident_megabytes())))


def _transportable(error: Exception) -> Exception:
    """``error`` itself if it survives pickling both ways, else a RuntimeError with its message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), sys.argv[2] if len(sys.argv) > 2 else None)

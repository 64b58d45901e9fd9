"""Where fits run, and in what order: a fair queue on Dask workers (or, for a debugger, this process).

One Train click is one :class:`Job`, however many models it trains. Jobs are served first come,
first served: every fit carries the job's submission time as its Dask priority, so a worker that
frees up always takes the oldest job's next fit, and eight students clicking together are served
one after the other instead of interleaved. Two requests for the same run (two students, same
settings) share one fit. A session may hold at most ``DLLAB_MAX_QUEUED`` unfinished jobs.

Backends:

- **Dask** (default). ``DLLAB_DASK_SCHEDULER=tcp://host:8786`` uses an existing cluster (``dask
  scheduler`` on one machine, ``dask worker tcp://host:8786`` on each lab machine, with the
  project installed). Otherwise the server starts a ``LocalCluster`` on first use with
  ``DLLAB_WORKERS`` worker processes (default one per two cores), each with TensorFlow's threads
  set so the workers share the cores instead of fighting over them. The dataset goes to the
  workers once per dataset (scattered); the fit's history, predictions and ``.keras`` bytes come
  back with its result and the server writes the cache entry, so workers need no shared disk.
  A worker that has grown ``DLLAB_WORKER_RECYCLE_MB`` past its size after its first fit is
  restarted by Dask between fits (Keras leaks a few MB of traced graphs per fit, upstream).
- **This process** with ``DLLAB_WORKERS=0``: fits run in the waiting thread, one job at a time in
  arrival order; meant for a debugger.

Progress travels from the worker as Dask events (``log_event`` / ``subscribe_topic``); Cancel
sets a Dask ``Event`` that the fit checks twice a second. A worker that dies mid-fit fails that
fit with a clear :class:`WorkerCrashed` (Dask restarts the worker; the next fit works).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.datasets import Dataset
from core.training.config import (
    FitCancelled,
    ProgressCallback,
    TrainConfig,
    TrainingProgress,
)

_LOGGER = logging.getLogger(__name__)
WORKERS_ENV = "DLLAB_WORKERS"
SCHEDULER_ENV = "DLLAB_DASK_SCHEDULER"
MAX_QUEUED_ENV = "DLLAB_MAX_QUEUED"
RECYCLE_ENV = "DLLAB_WORKER_RECYCLE_MB"
DEFAULT_MAX_QUEUED = 2
DEFAULT_RECYCLE_MB = 150.0
# Settings a fit may read where it runs, sent with every fit (a worker started earlier has old ones).
_FORWARDED_ENV_PREFIXES = ("DLLAB_", "KERAS_")


class QueueFull(ValueError):
    """The session already has as many trainings waiting as one session may; the message says so."""


class WorkerCrashed(RuntimeError):
    """The process fitting a model died (killed for memory, say); the next fit starts a new one."""


def worker_count() -> int:
    """Worker processes for the local cluster: ``DLLAB_WORKERS``, default one per two cores (at least one); 0 = none."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            pass
    return max(1, (os.cpu_count() or 2) // 2)


def max_queued() -> int:
    """How many unfinished trainings one session may have at once (``DLLAB_MAX_QUEUED``, default 2)."""
    try:
        return max(1, int(os.environ.get(MAX_QUEUED_ENV, DEFAULT_MAX_QUEUED)))
    except ValueError:
        return DEFAULT_MAX_QUEUED


def recycle_megabytes() -> float:
    """How much a worker may grow past its size after its first fit before Dask restarts it."""
    try:
        return max(0.0, float(os.environ.get(RECYCLE_ENV, DEFAULT_RECYCLE_MB)))
    except ValueError:
        return DEFAULT_RECYCLE_MB


@dataclass
class FitRequest:
    """One model of a job: its run key, configuration and data, and what finishing it means."""

    key: str
    config: TrainConfig
    dataset: Dataset
    label: str
    expected_seconds: float = 10.0


@dataclass
class Job:
    """One Train click: its fits, served first come first served, with their progress and results."""

    id: str
    session: str | None
    requests: list[FitRequest]
    submitted_at: float
    results: dict[str, Any] = field(default_factory=dict)  # run key -> what ``finish`` returned
    errors: dict[str, BaseException] = field(default_factory=dict)
    progress: dict[str, TrainingProgress] = field(default_factory=dict)
    finished_at: dict[str, float] = field(default_factory=dict)  # run key -> when its fit came back
    cancelled: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def done(self) -> bool:
        """True once every fit has a result or an error, or the job was cancelled."""
        return self.cancelled or all(request.key in self.results or request.key in self.errors for request in self.requests)

    def fraction(self) -> float:
        """How much of the job is done, 0 to 1, weighting each fit by its expected time."""
        total = sum(request.expected_seconds for request in self.requests) or 1.0
        done = sum(
            request.expected_seconds * (1.0 if request.key in self.results or request.key in self.errors else self.progress.get(request.key, TrainingProgress(0.0, "")).fraction)
            for request in self.requests
        )
        return min(done / total, 1.0)

    def remaining_seconds(self) -> float:
        """Expected seconds of fitting this job still needs."""
        remaining = 0.0
        for request in self.requests:
            if request.key in self.results or request.key in self.errors:
                continue
            fraction = self.progress.get(request.key, TrainingProgress(0.0, "")).fraction
            remaining += request.expected_seconds * (1.0 - fraction)
        return remaining

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)


@dataclass(frozen=True)
class QueuePlace:
    """Where a job stands: its place in line (1 = being served) and a time estimate from similar runs."""

    place: int
    jobs_ahead: int
    seconds: float
    workers: int

    def describe(self) -> str:
        """'3rd in line, about 40 s' as the page shows it."""
        if self.place <= 1:
            return f"training now, about {_seconds_text(self.seconds)} to go"
        return f"{_ordinal(self.place)} in line, about {_seconds_text(self.seconds)}"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _seconds_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min"


Finish = Callable[[FitRequest, Any], Any]


class Executor:
    """The queue of jobs and the fits behind them; subclasses decide where a fit runs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._finish: dict[str, Finish] = {}
        self.fits_started: Counter[str] = Counter()  # run key -> fits begun (shared identical runs count once)
        self.restarts = 0  # workers restarted for memory

    # -- the queue --------------------------------------------------------------------------

    def submit(self, requests: list[FitRequest], finish: Finish, *, session: str | None = None) -> Job:
        """Queue one job of fits; ``finish(request, outcome)`` turns each fit into its result (writes the cache)."""
        with self._lock:
            if session is not None:
                waiting = [job for job in self._jobs.values() if job.session == session and not job.done]
                if len(waiting) >= max_queued():
                    raise QueueFull(
                        f"You already have {len(waiting)} trainings waiting, the most one session may have on this "
                        "server; wait for one to finish or cancel it, then click again."
                    )
            job = Job(uuid.uuid4().hex[:12], session, list(requests), time.time())
            self._jobs[job.id] = job
            self._finish[job.id] = finish
            self._prune()
        self._start(job)
        return job

    def job(self, job_id: str) -> Job | None:
        """A job of this server by id (finished ones are kept a while so a page can show them)."""
        with self._lock:
            return self._jobs.get(job_id)

    def place(self, job: Job) -> QueuePlace:
        """The job's place in line and an estimate of when it will be done, from similar runs' times."""
        with self._lock:
            ahead = [other for other in self._jobs.values() if not other.done and other.submitted_at < job.submitted_at]
        workers = max(1, self.workers())
        seconds = sum(other.remaining_seconds() for other in ahead) / workers + job.remaining_seconds()
        return QueuePlace(len(ahead) + 1, len(ahead), seconds, workers)

    def cancel(self, job: Job) -> None:
        """Cancel the job's unfinished fits (a fit another job also waits for goes on); nothing is cached."""
        with self._lock:
            job.cancelled = True
        self._cancel_fits(job)
        job._notify()

    def wait(self, job: Job, report: ProgressCallback | None = None, *, timeout: float | None = None) -> Job:
        """Block until the job is done (or ``timeout``), relaying its overall progress to ``report``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: list[TrainingProgress | None] = [None]

        def relay() -> None:
            if report is None:
                return
            snapshot = self._summary(job)
            if snapshot != last[0]:
                last[0] = snapshot
                report(snapshot)

        while not job.done:
            self._drive(job, relay)
            relay()
            if deadline is not None and time.monotonic() > deadline:
                break
            job._wait_for_change(0.2)
        return job

    def _summary(self, job: Job) -> TrainingProgress:
        running = [request for request in job.requests if request.key not in job.results and request.key not in job.errors]
        if not running:
            return TrainingProgress(1.0, "Done")
        current = running[0]
        position = job.requests.index(current) + 1
        step = job.progress.get(current.key)
        place = self.place(job)
        if step is None and place.place > 1:
            message = f"Waiting: {place.describe()}"
        else:
            detail = step.message if step is not None else "starting…"
            message = f"{current.label} ({position} of {len(job.requests)}): {detail}"
        return TrainingProgress(job.fraction(), message, step.epoch if step else 0, step.epochs if step else 0)

    def _prune(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.done]
        for job_id in finished[:-50]:  # keep the last few so a page rerun can still show them
            self._jobs.pop(job_id, None)
            self._finish.pop(job_id, None)

    def _complete(self, job: Job, request: FitRequest, outcome: Any = None, error: BaseException | None = None) -> None:
        if job.cancelled:
            return
        job.finished_at[request.key] = time.time()
        if error is None:
            try:
                job.results[request.key] = self._finish[job.id](request, outcome)
            except BaseException as failure:  # noqa: BLE001 - a cache write that fails is this fit's error
                job.errors[request.key] = failure
        else:
            job.errors[request.key] = error
        job._notify()

    # -- what backends provide --------------------------------------------------------------

    def workers(self) -> int:
        """How many fits can run at once."""
        raise NotImplementedError

    def _start(self, job: Job) -> None:
        raise NotImplementedError

    def _drive(self, job: Job, relay: Callable[[], None]) -> None:
        """Called by a waiting thread; the in-process backend does its fitting here."""

    def _cancel_fits(self, job: Job) -> None:
        raise NotImplementedError

    def run_task(self, function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run a short piece of work where fits run (a worker), wait for it, and return its value.

        For work that should not weigh on the server's own process, such as measuring a
        network's memory in Keras. In this process (``DLLAB_WORKERS=0``) it runs in the caller.
        """
        return function(*args)

    def prestart(self) -> None:
        """Get ready to fit (start workers, load TensorFlow) without waiting for it."""

    def close(self) -> None:
        """Stop whatever this executor started."""


# ---------------------------------------------------------------------------------------------
# This process


class InProcessExecutor(Executor):
    """Fits in the waiting thread, one job at a time in arrival order (``DLLAB_WORKERS=0``, for a debugger)."""

    def __init__(self) -> None:
        super().__init__()
        self._turn = threading.Lock()
        self._stop_flags: dict[str, threading.Event] = {}

    def workers(self) -> int:
        return 1

    def _start(self, job: Job) -> None:
        self._stop_flags[job.id] = threading.Event()

    def _cancel_fits(self, job: Job) -> None:
        flag = self._stop_flags.get(job.id)
        if flag is not None:
            flag.set()

    def _my_turn(self, job: Job) -> bool:
        with self._lock:
            waiting = [other for other in self._jobs.values() if not other.done]
        return bool(waiting) and waiting[0] is job

    def _drive(self, job: Job, relay: Callable[[], None]) -> None:
        if not self._my_turn(job) or not self._turn.acquire(blocking=False):
            return
        from core.training.fit import fit

        flag = self._stop_flags[job.id]
        try:
            for request in job.requests:
                if job.done or request.key in job.results or request.key in job.errors:
                    continue

                def report(progress: TrainingProgress, key: str = request.key) -> None:
                    job.progress[key] = progress
                    relay()

                self.fits_started[request.key] += 1
                try:
                    outcome = fit(request.config, request.dataset, report, should_stop=flag.is_set)
                except FitCancelled:
                    return
                except Exception as error:  # noqa: BLE001 - one model's failure is reported, the others still train
                    self._complete(job, request, error=error)
                    continue
                self._complete(job, request, outcome)
        except BaseException:
            # The waiting thread was stopped (Streamlit ends a script on rerun): this job can no
            # longer be served here, so it gives way to the next one instead of blocking the queue.
            job.cancelled = True
            raise
        finally:
            import keras

            keras.backend.clear_session()
            self._turn.release()


# ---------------------------------------------------------------------------------------------
# Dask


def _remote_fit(config: TrainConfig, dataset: Dataset, topic: str, cancel_name: str, environment: dict[str, str]) -> Any:
    """Runs on a Dask worker: one fit, with progress sent as events and cancellation checked twice a second."""
    import gc

    import keras
    from distributed import Event, get_worker

    from core.settings import resident_megabytes
    from core.training.fit import fit

    for name in [name for name in os.environ if name.startswith(_FORWARDED_ENV_PREFIXES)]:
        if name not in environment:
            del os.environ[name]
    os.environ.update(environment)
    worker = get_worker()
    cancelled = Event(cancel_name)

    def report(progress: TrainingProgress) -> None:
        worker.log_event(topic, {**asdict(progress), "pid": os.getpid()})

    try:
        outcome = fit(config, dataset, report, should_stop=cancelled.is_set)
    finally:
        keras.backend.clear_session()
        gc.collect()
    return replace(outcome, resident_mb=resident_megabytes())


def spawn_without_script_main() -> None:
    """Keep the worker processes this server spawns from running the page script again.

    A spawned process first re-imports the parent's ``__main__`` from its file. In a Streamlit
    server ``__main__`` is the module Streamlit made for the last script run, whose file is
    ``app.py`` (or a test's page script), so every worker, and every worker Dask restarts, ran
    the whole app in bare mode before its first fit; a test's page script failed there and left
    the worker dead. A ``__main__`` that was not loaded from a file (it has no ``__loader__``,
    as Streamlit's has not) is left out of what the new process prepares; the fits need only
    modules they import by name. Installed once, for the whole process.
    """
    from multiprocessing import spawn

    if getattr(spawn.get_preparation_data, "_skips_script_main", False):
        return
    prepare = spawn.get_preparation_data

    def preparation_data(name: str) -> dict[str, Any]:
        data = prepare(name)
        main = sys.modules.get("__main__")
        if main is not None and getattr(main, "__loader__", None) is None:
            data.pop("init_main_from_path", None)
        return data

    preparation_data._skips_script_main = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = preparation_data


class _SharedFit:
    """One fit on the cluster and the jobs waiting for it (two students asking for the same run share it)."""

    def __init__(self, request: FitRequest, priority: int) -> None:
        self.request = request
        self.priority = priority
        self.future: Any = None
        self.data: Any = None  # the scattered dataset the fit reads
        self.jobs: list[Job] = []
        self.pid: int | None = None


class DaskExecutor(Executor):
    """Fits on Dask workers: a LocalCluster started on first use, or the cluster at ``DLLAB_DASK_SCHEDULER``."""

    def __init__(self, *, n_workers: int | None = None, scheduler: str | None = None) -> None:
        super().__init__()
        self._n_workers = n_workers
        self._scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None
        self._starting = threading.Lock()
        self._fits: dict[str, _SharedFit] = {}  # every unfinished fit, sent or held
        # Fits held here until a worker thread is free, sent in order of arrival. Dask alone does
        # not keep that order on several workers: a fit reading a scattered dataset goes to the
        # worker holding it, and work stealing reshuffles, so measured with two workers all
        # eight students of a class finished together at 57 s instead of one after another.
        self._held: list[_SharedFit] = []
        self._capacity = (0.0, 1)  # (when measured, worker threads); measured at first use
        self._scattered: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._baselines: dict[str, float] = {}
        self._due_restart: set[str] = set()
        # Held while Dask restarts a worker: a fit submitted meanwhile could land on the restarting
        # worker and wait forever for the scattered dataset the restart threw away.
        self._restarting = threading.Lock()
        self._tasks_running = 0  # run_task work sent to the cluster and not yet finished

    # -- the cluster ------------------------------------------------------------------------

    def client(self) -> Any:
        """The Dask client, starting the local cluster (or connecting) on first use."""
        with self._starting:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        import dask
        from distributed import Client, LocalCluster

        # One failure is enough: a worker that died mid-fit (out of memory, say) would likely die
        # again, and the student should hear about it now, not after three silent retries.
        # Saturation 1.0 keeps queued fits on the scheduler, so first come, first served holds.
        # A worker that is slow to come back after a restart (TensorFlow's import on a loaded
        # machine takes well over Dask's default 15 s) must not have its nanny closed for good:
        # measured in CI, that left the server with no workers and every later Train waiting.
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": 0,
                "distributed.scheduler.worker-saturation": 1.0,
                "distributed.deploy.lost-worker-timeout": "1 hour",
            }
        )
        if self._scheduler:
            client = Client(self._scheduler, timeout="20s")
        else:
            workers = self._n_workers if self._n_workers is not None else max(1, worker_count())
            spawn_without_script_main()
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: several servers (or tests) may run on one machine
                silence_logs=logging.ERROR,
            )
            client = Client(self._cluster)
        from core.training.worker_plugin import TensorFlowThreads

        client.register_plugin(TensorFlowThreads())
        return client

    def workers(self) -> int:
        if self._client is None:
            return max(1, self._n_workers or worker_count())
        try:
            return max(1, sum(self._client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a cluster going away must not break an estimate
            return 1

    def prestart(self) -> None:
        if self._client is None and not self._starting.locked():
            threading.Thread(target=self._prestart_quietly, name="dllab-dask-start", daemon=True).start()

    def _prestart_quietly(self) -> None:
        try:
            self.client()
        except Exception as error:  # noqa: BLE001 - a Train click will try again and say why
            _LOGGER.warning("could not start the training workers: %s", error)

    def close(self) -> None:
        # Bounded: a worker stuck in a fit must not keep the server (or the test run) from exiting.
        with self._starting:
            try:
                if self._client is not None:
                    self._client.close(timeout=10)
                if self._cluster is not None:
                    self._cluster.close(timeout=20)
            finally:
                self._client = self._cluster = None

    # -- fits -------------------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        self.client()
        self._heal()
        with self._restarting:
            pass  # let a restart that is under way finish first
        milliseconds = int(job.submitted_at * 1000)
        for index, request in enumerate(job.requests):
            with self._lock:
                shared = self._fits.get(request.key)
                if shared is None:
                    shared = _SharedFit(request, priority=-(milliseconds * 64 + index))
                    self._fits[request.key] = shared
                    self.fits_started[request.key] += 1
                    self._held.append(shared)
                shared.jobs.append(job)
        self._dispatch()

    def run_task(self, function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        client = self.client()
        self._heal()
        with self._restarting:
            pass  # a restart under way would kill the task's worker mid-run
        # A task asked for now waits behind fits already sent, like a job would.
        priority = -(int(time.time() * 1000) * 64)
        with self._lock:
            self._tasks_running += 1  # a worker running a task is not idle: no restart for memory meanwhile
        future = client.submit(function, *args, key=f"dllab-task-{uuid.uuid4().hex[:12]}", priority=priority, pure=False)
        try:
            return future.result(timeout=timeout)
        except Exception as error:
            explained = _explained(error)
            if explained is error:
                raise
            raise explained from error
        finally:
            future.release()
            with self._lock:
                self._tasks_running -= 1

    def _heal(self) -> None:
        """Bring the local cluster back to its size if Dask gave up on a worker (a nanny it closed)."""
        cluster = self._cluster
        if cluster is None:
            return
        wanted = max(1, self._n_workers if self._n_workers is not None else worker_count())
        if len(cluster.workers) < wanted:
            _LOGGER.warning("the training cluster had %d of %d workers; starting the missing ones", len(cluster.workers), wanted)
            cluster.scale(wanted)

    def _worker_threads(self) -> int:
        """The cluster's worker threads, asked at most every few seconds (workers may join a cluster).

        0 while every worker is down (killed, or restarting): asked again at each call then.
        """
        measured_at, threads = self._capacity
        if threads == 0 or time.monotonic() - measured_at > 5.0:
            try:
                threads = sum(self._client.nthreads().values())
            except Exception:  # noqa: BLE001 - a cluster going away has no free thread
                threads = 0
            self._capacity = (time.monotonic(), threads)
        return threads

    def _dispatch(self) -> None:
        """Send the earliest held fits to the cluster while it has a free worker thread."""
        if self._restarting.locked():
            return  # the restart's worker would lose the data a fit reads; a waiting page calls again
        threads = self._worker_threads()
        if threads == 0:
            # Scattering the data now would fail after 30 s with "No valid workers found"; held
            # fits go out when a worker is back (a waiting page calls again).
            self._heal()
            return
        with self._lock:
            sent = sum(1 for shared in self._fits.values() if shared.future is not None)
            self._held.sort(key=lambda shared: -shared.priority)
            while self._held and sent < threads:
                self._launch(self._held.pop(0))
                sent += 1

    def _launch(self, shared: _SharedFit) -> None:
        """Send the fit to the cluster (again, when a queued fit's data went with a worker that stopped)."""
        client = self.client()
        request = shared.request
        environment = {name: value for name, value in os.environ.items() if name.startswith(_FORWARDED_ENV_PREFIXES)}
        # Unique per fit, so servers sharing one scheduler never mix up their progress or cancels.
        name = f"dllab-fit-{request.key}-{uuid.uuid4().hex[:8]}"
        shared.data = self._scatter(client, request.dataset)
        shared.future = client.submit(
            _remote_fit,
            request.config,
            shared.data,
            f"{name}-progress",
            f"{name}-cancel",
            environment,
            key=name,
            priority=shared.priority,
            pure=False,
        )
        client.subscribe_topic(f"{name}-progress", lambda event, key=request.key: self._on_progress(key, event))
        shared.future.add_done_callback(lambda done, key=request.key, mine=shared.future: self._on_done(key, done, mine))

    def _scatter(self, client: Any, dataset: Dataset) -> Any:
        """The dataset on the cluster, sent once per dataset; extras stay here (pages' notes, not training data)."""
        identity = (dataset.fingerprint, dataset.name)
        found = self._scattered.get(identity)
        if found is None or found.status != "finished":  # lost with a worker that died or restarted
            found = client.scatter(replace(dataset, extras={}), hash=False)
            self._scattered[identity] = found
            while len(self._scattered) > 2:
                self._scattered.popitem(last=False)
        self._scattered.move_to_end(identity)
        return found

    def _drive(self, job: Job, relay: Callable[[], None]) -> None:
        """A waiting page double-checks its fits: one that finished unseen is handled, one whose data was lost is resent.

        A fit queued behind others reads a scattered dataset; if the worker holding it stopped
        (killed, or restarted for memory) the fit would wait forever for it, so it goes again.
        """
        self._dispatch()
        with self._lock:
            pending = [(request.key, self._fits.get(request.key)) for request in job.requests]
        for key, shared in pending:
            if shared is None or shared.future is None:
                continue
            if shared.future.status in ("finished", "error", "cancelled", "lost"):
                self._on_done(key, shared.future, shared.future)
            elif shared.future.status == "pending" and shared.data is not None and shared.data.status != "finished":
                with self._lock:
                    stale = shared.future
                    self._launch(shared)
                stale.cancel()

    def _on_progress(self, key: str, event: Any) -> None:
        payload = dict(event[1]) if isinstance(event, tuple) else dict(event)
        with self._lock:
            shared = self._fits.get(key)
        if shared is None:
            return
        shared.pid = payload.pop("pid", shared.pid)
        payload.pop("worker", None)
        progress = TrainingProgress(**{name: payload[name] for name in ("fraction", "message", "epoch", "epochs", "logs") if name in payload})
        for job in list(shared.jobs):
            job.progress[key] = progress
            job._notify()

    def _on_done(self, key: str, future: Any, mine: Any) -> None:
        """In Dask's callback thread: hand the outcome (or error) to every job waiting for this fit."""
        with self._lock:
            shared = self._fits.get(key)
            if shared is None or shared.future is not mine:
                return  # a fit that was resent: its replacement reports instead
            del self._fits[key]
        try:
            self._client.unsubscribe_topic(f"{future.key}-progress")
        except Exception:  # noqa: BLE001 - a closing client has no subscriptions left
            pass
        outcome, error = None, None
        if future.status == "lost":
            error = WorkerCrashed(
                "The training process lost its data (a worker stopped); train again and it will be sent anew."
            )
        elif not future.cancelled():
            try:
                outcome = future.result()
            except BaseException as failure:  # noqa: BLE001 - every failure reaches the page as an error
                error = _explained(failure)
        if isinstance(error, WorkerCrashed):
            self._scattered.clear()  # what the dead worker held is gone
        for job in shared.jobs:
            if future.cancelled() or isinstance(error, FitCancelled):
                job._notify()
                continue
            self._complete(job, shared.request, outcome, error)
        if outcome is not None:
            self._recycle(future, outcome)
        self._dispatch()

    def _recycle(self, future: Any, outcome: Any) -> None:
        """Restart a worker that has grown too much since its first fit (Keras' per-fit leak).

        Only when no other fit is queued or running here: a restart loses what the worker holds
        (the scattered dataset), and a fit waiting for it would fail.
        """
        if outcome.resident_mb is None or self._client is None:
            return
        try:
            where = self._client.who_has(future).get(future.key) or ()
        except Exception:  # noqa: BLE001
            return
        for address in where:
            baseline = self._baselines.setdefault(address, outcome.resident_mb)
            if outcome.resident_mb - baseline > recycle_megabytes():
                self._due_restart.add(address)
        with self._lock:
            idle = not self._fits and not self._tasks_running
            due, self._due_restart = (self._due_restart, set()) if idle else (set(), self._due_restart)
        if due:
            self._restarting.acquire()  # before returning, so no later submission can slip in ahead of it
            threading.Thread(target=self._restart_quietly, args=(sorted(due),), daemon=True).start()

    def _restart_quietly(self, addresses: list[str]) -> None:
        try:
            for address in addresses:
                self._baselines.pop(address, None)
            self._scattered.clear()
            self.restarts += len(addresses)
            self._client.restart_workers(addresses, raise_for_error=False)
        except Exception as error:  # noqa: BLE001 - a failed restart only costs memory, not the fit
            if self._client is not None and self._client.status == "running":
                _LOGGER.warning("could not restart training workers %s: %s", addresses, error)
        finally:
            self._restarting.release()

    def _cancel_fits(self, job: Job) -> None:
        from distributed import Event

        with self._lock:
            for request in job.requests:
                shared = self._fits.get(request.key)
                if shared is None or job not in shared.jobs:
                    continue
                shared.jobs.remove(job)
                if shared.jobs:
                    continue
                if shared.future is None:  # never sent: it simply leaves the line
                    self._held.remove(shared)
                    del self._fits[request.key]
                else:
                    Event(f"{shared.future.key}-cancel", client=self._client).set()
                    shared.future.cancel()
        self._dispatch()

    def worker_pids(self) -> dict[str, int]:
        """Each worker's process id (for tests and the soak benchmark)."""
        return self.client().run(os.getpid)

    def settle(self) -> None:
        """Wait for a worker restart under way to finish (benchmarks sample memory between fits)."""
        with self._restarting:
            pass

    def workers_megabytes(self) -> float:
        """The workers' resident memory together, in MB (0 before the cluster starts)."""
        if self._client is None:
            return 0.0
        from core.settings import resident_megabytes

        return sum(resident_megabytes(pid) or 0.0 for pid in self.worker_pids().values())


def _explained(error: BaseException) -> BaseException:
    """A dead worker's error in words a student can act on; anything else as it is."""
    if type(error).__name__ == "KilledWorker":
        return WorkerCrashed(
            "The training process stopped unexpectedly (it may have run out of memory). "
            "Try a smaller configuration, then train again."
        )
    return error


# ---------------------------------------------------------------------------------------------
# The server's executor


_executors: dict[tuple[str, str], Executor] = {}
_executor_guard = threading.Lock()


def current_executor() -> Executor:
    """The server's executor: in-process when ``DLLAB_WORKERS=0``, else Dask (local cluster or ``DLLAB_DASK_SCHEDULER``).

    The settings are read at each call, so a test or a tool can switch backends while the
    server runs; each backend is started once and kept.
    """
    scheduler = os.environ.get(SCHEDULER_ENV, "").strip()
    kind = ("dask", scheduler) if scheduler or worker_count() > 0 else ("here", "")
    with _executor_guard:
        if kind not in _executors:
            _executors[kind] = DaskExecutor(scheduler=scheduler or None) if kind[0] == "dask" else InProcessExecutor()
        return _executors[kind]


def prestart() -> None:
    """Start the workers in the background, so a page's first Train click does not wait for TensorFlow."""
    current_executor().prestart()


@atexit.register
def _close_at_exit() -> None:
    with _executor_guard:
        for running in _executors.values():
            try:
                running.close()
            except Exception:  # noqa: BLE001 - the process is ending anyway
                pass

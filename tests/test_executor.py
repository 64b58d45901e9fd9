"""Fits on Dask workers: a fair queue, shared identical runs, cancel, a dead worker, and the same numbers as here."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import core.training.executor as executor_module
from core.cache import DiskCache
from core.datasets import Dataset, load_dataset
from core.training import (
    RUNS_NAMESPACE,
    QueueFull,
    RunRequest,
    TrainConfig,
    TrainingProgress,
    WorkerCrashed,
    cached_result,
    current_executor,
    load_model,
    prepare_inputs,
    submit,
    train,
    wait,
)
from core.training.executor import DaskExecutor, FitRequest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def _config(**changes) -> TrainConfig:
    base = dict(architecture="mlp", model_options=(("hidden_units", 24),), epochs=2, batch_size=64, learning_rate=3e-3)
    base.update(changes)
    return TrainConfig(**base)


def _no_half_written_entries() -> bool:
    folder = DiskCache().root / RUNS_NAMESPACE
    return not folder.is_dir() or not list(folder.glob(".tmp-*"))


def test_a_fit_on_a_worker_matches_the_same_fit_in_this_process(digits, tmp_path, monkeypatch) -> None:
    progress: list[TrainingProgress] = []
    on_worker = train(_config(), digits, on_progress=progress.append)
    assert isinstance(current_executor(), DaskExecutor)
    assert os.getpid() not in current_executor().worker_pids().values()
    assert any(report.epoch == 2 for report in progress)  # epochs reported from the worker, as they happened

    monkeypatch.setenv("DLLAB_WORKERS", "0")
    monkeypatch.setenv("DLLAB_CACHE_DIR", str(tmp_path / "here"))
    here = train(_config(), digits)
    assert here.key == on_worker.key and not here.from_cache
    assert here.params == on_worker.params and here.history["loss"] == pytest.approx(on_worker.history["loss"], rel=1e-4)
    np.testing.assert_allclose(here.test_predictions, on_worker.test_predictions, atol=1e-5)
    # The model bytes that came back from the worker predict what the worker reported.
    again = load_model(on_worker).predict(prepare_inputs(digits.x_test), verbose=0)
    np.testing.assert_allclose(again, on_worker.test_predictions, atol=1e-5)


def test_an_error_in_the_fit_is_raised_here_and_the_worker_stays(digits) -> None:
    train(_config(epochs=1), digits)
    before = current_executor().worker_pids()
    with pytest.raises(ValueError, match="hidden units"):
        train(TrainConfig("simple_rnn", model_options=(("units", 0),), epochs=1), load_dataset("mnist", train_size=64))
    assert current_executor().worker_pids() == before
    assert train(_config(epochs=1, seed=3), digits).status == "ok" and _no_half_written_entries()


def test_jobs_are_served_first_come_first_served(digits) -> None:
    # One worker; three students click nearly together, the first for two models.
    first = submit([RunRequest(_config(seed=40, epochs=3), digits, "a"), RunRequest(_config(seed=41, epochs=3), digits, "b")])
    second = submit([RunRequest(_config(seed=42, epochs=3), digits, "c")])
    third = submit([RunRequest(_config(seed=43, epochs=3), digits, "d")])
    places = [current_executor().place(job) for job in (first, second, third)]
    assert [place.place for place in places] == [1, 2, 3]
    assert places[2].describe().startswith("3rd in line, about ")
    for job in (first, second, third):
        wait(job)
    finished = {request.label: job.finished_at[request.key] for job in (first, second, third) for request in job.requests}
    assert sorted(finished, key=finished.get) == ["a", "b", "c", "d"]


def test_two_students_asking_for_the_same_run_share_one_fit(digits) -> None:
    config = _config(seed=50, epochs=3)
    one = submit([RunRequest(config, digits)])
    other = submit([RunRequest(config, digits)])
    wait(one)
    wait(other)
    key = one.requests[0].key
    assert current_executor().fits_started[key] == 1
    assert one.results[key].train_seconds == other.results[key].train_seconds


def test_a_session_may_queue_only_so_many_trainings(digits, monkeypatch) -> None:
    monkeypatch.setenv("DLLAB_MAX_QUEUED", "2")
    jobs = [submit([RunRequest(_config(seed=60 + index, epochs=40), digits)], session="student-7") for index in range(2)]
    with pytest.raises(QueueFull, match="2 trainings waiting"):
        submit([RunRequest(_config(seed=62), digits)], session="student-7")
    submit([RunRequest(_config(seed=63, epochs=1), digits)], session="student-8")  # another session is not affected
    for job in jobs:
        current_executor().cancel(job)


def test_cancel_stops_the_fit_and_caches_nothing(digits) -> None:
    config = _config(seed=70, epochs=400)
    job = submit([RunRequest(config, digits)])
    started = threading.Event()
    waiter = threading.Thread(target=wait, args=(job,), kwargs={"on_progress": lambda progress: progress.epoch and started.set()})
    waiter.start()
    assert started.wait(120), "the fit never reported an epoch"
    current_executor().cancel(job)
    waiter.join(30)
    assert job.done and job.cancelled and not job.results and not job.errors
    time.sleep(1.5)  # the worker notices within half a second and drops the fit
    assert cached_result(config, digits) is None and _no_half_written_entries()
    assert train(_config(seed=71, epochs=1), digits).status == "ok"  # the worker is free again


class _PageRerun(BaseException):
    """Stands in for Streamlit stopping a script mid-run (its control exceptions are BaseExceptions)."""


def test_leaving_the_page_mid_fit_cancels_it(digits) -> None:
    config = _config(seed=72, epochs=400)

    def rerun_at_first_epoch(progress: TrainingProgress) -> None:
        if progress.epoch >= 1:
            raise _PageRerun

    with pytest.raises(_PageRerun):
        train(config, digits, on_progress=rerun_at_first_epoch)
    time.sleep(1.5)
    assert cached_result(config, digits) is None
    assert train(_config(seed=73, epochs=1), digits).status == "ok"


def test_a_killed_worker_gives_a_clear_error_and_the_next_fit_works(digits) -> None:
    config = _config(seed=80, epochs=400)
    pids: list[int] = []

    def kill_at_first_epoch(progress: TrainingProgress) -> None:
        if progress.epoch >= 1 and not pids:
            pids.extend(current_executor().worker_pids().values())
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(WorkerCrashed, match="stopped unexpectedly"):
        train(config, digits, on_progress=kill_at_first_epoch)
    assert cached_result(config, digits) is None and _no_half_written_entries()
    result = train(_config(seed=81, epochs=1), digits)
    assert result.status == "ok" and not set(pids) & set(current_executor().worker_pids().values())


def test_a_worker_that_grew_is_restarted_between_fits(digits, monkeypatch) -> None:
    monkeypatch.setenv("DLLAB_WORKER_RECYCLE_MB", "0")
    train(_config(seed=90, epochs=1), digits)  # its size after this fit is the baseline
    before = set(current_executor().worker_pids().values())
    train(_config(seed=91, epochs=1, model_options=(("hidden_units", 400),)), digits)
    # Any growth at all exceeds a 0 MB allowance, so Dask restarts the worker once it is idle.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and set(current_executor().worker_pids().values()) & before:
        time.sleep(0.5)
    assert not set(current_executor().worker_pids().values()) & before
    assert train(_config(seed=92, epochs=1), digits).status == "ok"


def test_a_worker_dask_gave_up_on_is_started_again_and_the_fit_runs(digits) -> None:
    # On a loaded machine a restarted worker can take longer than Dask's lost-worker timeout to
    # come back, and Dask then closes its nanny for good: in CI that left a server with no worker
    # and every later Train waiting forever. The executor keeps its cluster at its size.
    executor = DaskExecutor(n_workers=1)
    try:
        executor.client()
        cluster = executor._cluster
        name, nanny = next(iter(cluster.workers.items()))
        del cluster.workers[name]  # what Dask's SpecCluster does once the timeout has passed
        cluster.sync(nanny.close)
        deadline = time.monotonic() + 30
        while executor.client().nthreads() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not executor.client().nthreads(), "the worker should be gone"
        outcomes: dict = {}

        def keep(request: FitRequest, outcome) -> str:
            outcomes[request.label] = outcome
            return request.label

        job = executor.submit([FitRequest("healed", _config(epochs=1, seed=5), digits, "healed", 5)], keep)
        executor.wait(job, timeout=180)
        assert job.done and not job.errors, job.errors
        assert outcomes["healed"].process != os.getpid() and len(executor.client().nthreads()) == 1
    finally:
        executor.close()


@contextmanager
def _two_workers() -> Iterator[tuple[DaskExecutor, dict, Callable]]:
    """A local cluster of two started workers, the outcomes by label, and the callback that keeps them."""
    cluster = DaskExecutor(n_workers=2)
    try:
        cluster.client()
        deadline = time.monotonic() + 60
        while len(cluster.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        outcomes: dict = {}

        def keep(request: FitRequest, outcome) -> str:
            outcomes[request.label] = outcome
            return request.label

        yield cluster, outcomes, keep
    finally:
        cluster.close()


def test_two_workers_fit_two_runs_at_once_in_two_processes(digits) -> None:
    with _two_workers() as (cluster, outcomes, keep):
        config = _config(epochs=60)
        one = cluster.submit([FitRequest("k1", config, digits, "one", 5)], keep)
        two = cluster.submit([FitRequest("k2", _config(epochs=60, seed=1), digits, "two", 5)], keep)
        cluster.wait(one)
        cluster.wait(two)
        first, second = outcomes["one"], outcomes["two"]
        assert first.process != second.process  # two worker processes
        assert first.started_at < second.finished_at and second.started_at < first.finished_at  # at the same time


def test_two_workers_serve_six_students_in_order_of_arrival(digits) -> None:
    # With several workers Dask alone sends a fit to the worker holding its data and steals work
    # back and forth; the executor holds fits until a worker is free, so the order still holds.
    with _two_workers() as (cluster, outcomes, keep):
        jobs = [
            cluster.submit([FitRequest(f"order{index}", _config(epochs=8, seed=70 + index), digits, str(index), 5)], keep)
            for index in range(6)
        ]
        for job in jobs:
            cluster.wait(job)
        started = [outcomes[str(index)].started_at for index in range(6)]
        finished = [outcomes[str(index)].finished_at for index in range(6)]
        # Every later student starts only once an earlier student's fit is over: never ahead of them.
        for later in range(2, 6):
            assert started[later] >= min(finished[:later]) - 0.05, (started, finished)
        assert max(finished[:2]) <= min(finished[4:]) + 0.05


def test_a_worker_started_during_a_page_run_does_not_run_the_page_script(digits, tmp_path, monkeypatch) -> None:
    # Streamlit leaves __main__ as a module it made for the script, with the script's file; a
    # spawned worker used to import that file first: app.py in bare mode, or a test's page script,
    # which failed there and left the fit waiting for a worker that never came.
    marker = tmp_path / "ran.txt"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'a').write('the page script ran in a worker')\n", encoding="utf-8")
    page_main = types.ModuleType("__main__")
    page_main.__dict__["__file__"] = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page_main)
    cluster = DaskExecutor(n_workers=1)
    try:
        job = cluster.submit([FitRequest("script-main", _config(epochs=1, seed=9), digits, "fit", 5)], lambda request, outcome: "kept")
        cluster.wait(job, timeout=180)
        assert job.done and not job.errors, job.errors
    finally:
        cluster.close()
    assert not marker.exists(), marker.read_text()


def test_settings() -> None:
    assert executor_module.worker_count() == max(1, (os.cpu_count() or 2) // 2)
    for raw, expected in (("0", 0), ("3", 3), ("lots", max(1, (os.cpu_count() or 2) // 2))):
        os.environ["DLLAB_WORKERS"] = raw
        try:
            assert executor_module.worker_count() == expected
        finally:
            del os.environ["DLLAB_WORKERS"]
    assert executor_module.max_queued() == 2
    assert executor_module.recycle_megabytes() == executor_module.DEFAULT_RECYCLE_MB

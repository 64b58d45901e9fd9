"""The fit worker: fits run in a child process, agree with fitting here, and survive its failures."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from core import fit_worker
from core.cache import DiskCache
from core.datasets import Dataset, load_dataset
from core.training import RUNS_NAMESPACE, TrainConfig, TrainingProgress, cached_result, load_model, prepare_inputs, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def _config(**changes) -> TrainConfig:
    base = dict(architecture="mlp", model_options=(("hidden_units", 24),), epochs=2, batch_size=64, learning_rate=3e-3)
    base.update(changes)
    return TrainConfig(**base)


def _no_temporaries() -> bool:
    """No half-written cache entry, and none of the worker's model folders left behind."""
    half_written = list((DiskCache().root / RUNS_NAMESPACE).glob(".tmp-*"))
    worker_folders = list(Path(tempfile.gettempdir()).glob("dllab-fit-*"))
    return not half_written and not worker_folders


def test_a_fit_in_the_worker_matches_the_same_fit_in_this_process(digits, tmp_path, monkeypatch) -> None:
    progress: list[TrainingProgress] = []
    in_worker = train(_config(), digits, on_progress=progress.append)
    worker = fit_worker.shared_worker()
    assert worker.pid is not None and worker.pid != os.getpid()
    assert any(report.epoch == 2 for report in progress)  # epochs reported from the worker, as they happened

    monkeypatch.setenv("DLLAB_FIT_WORKER", "0")
    monkeypatch.setenv("DLLAB_CACHE_DIR", str(tmp_path / "here"))
    here = train(_config(), digits)
    assert here.key == in_worker.key and not here.from_cache
    assert here.params == in_worker.params and here.history["loss"] == pytest.approx(in_worker.history["loss"], rel=1e-4)
    np.testing.assert_allclose(here.test_predictions, in_worker.test_predictions, atol=1e-5)
    # The worker's saved model predicts what the worker reported.
    again = load_model(in_worker).predict(prepare_inputs(digits.x_test), verbose=0)
    np.testing.assert_allclose(again, in_worker.test_predictions, atol=1e-5)


def test_an_error_in_the_fit_is_raised_here_and_the_worker_stays(digits, monkeypatch) -> None:
    monkeypatch.setenv(fit_worker.RECYCLE_ENV, "100000")  # growth must not replace it mid-test
    train(_config(epochs=1), digits)
    pid = fit_worker.shared_worker().pid
    with pytest.raises(ValueError, match="hidden units"):
        train(TrainConfig("simple_rnn", model_options=(("units", 0),), epochs=1), load_dataset("mnist", train_size=64))
    assert fit_worker.shared_worker().pid == pid
    assert train(_config(epochs=1, seed=3), digits).status == "ok"
    assert fit_worker.shared_worker().pid == pid and _no_temporaries()


def test_a_killed_worker_gives_a_clear_error_and_the_next_fit_starts_a_new_one(digits) -> None:
    train(_config(epochs=1), digits)
    killed = fit_worker.shared_worker().pid

    def kill_at_first_epoch(progress: TrainingProgress) -> None:
        if progress.epoch >= 1:
            os.kill(killed, signal.SIGKILL)

    with pytest.raises(fit_worker.WorkerCrashed, match="stopped unexpectedly"):
        train(_config(epochs=30, seed=1), digits, on_progress=kill_at_first_epoch)
    assert cached_result(_config(epochs=30, seed=1), digits) is None and _no_temporaries()
    result = train(_config(epochs=2, seed=1), digits)
    assert result.status == "ok" and fit_worker.shared_worker().pid not in (None, killed)


class _PageRerun(BaseException):
    """Stands in for Streamlit stopping a script mid-run (its control exceptions are BaseExceptions)."""


def test_an_interrupted_fit_stops_the_worker_and_caches_nothing(digits) -> None:
    train(_config(epochs=1), digits)
    interrupted = fit_worker.shared_worker().pid

    def rerun_at_first_epoch(progress: TrainingProgress) -> None:
        if progress.epoch >= 1:
            raise _PageRerun

    with pytest.raises(_PageRerun):
        train(_config(epochs=30, seed=2), digits, on_progress=rerun_at_first_epoch)
    with pytest.raises(ProcessLookupError):
        os.kill(interrupted, 0)  # gone, not fitting on in the background
    assert cached_result(_config(epochs=30, seed=2), digits) is None and _no_temporaries()
    assert train(_config(epochs=1, seed=2), digits).status == "ok"


def test_the_worker_is_replaced_once_it_grows_past_the_limit(digits, monkeypatch) -> None:
    monkeypatch.setenv(fit_worker.RECYCLE_ENV, "0")
    worker = fit_worker.shared_worker()
    worker.stop()  # a fresh worker: its size after its first fit is the baseline
    train(_config(epochs=1, seed=10), digits)
    first, recycled = worker.pid, worker.recycled
    train(_config(epochs=1, seed=11, model_options=(("hidden_units", 200),)), digits)
    # Any growth at all exceeds a 0 MB allowance, so the worker was swapped for a fresh one.
    assert worker.recycled == recycled + 1 and worker.pid not in (None, first)
    assert train(_config(epochs=1, seed=12), digits).status == "ok"


def test_the_worker_works_in_the_servers_folder(digits, tmp_path, monkeypatch) -> None:
    # Relative paths in settings (DLLAB_VGG16_WEIGHTS=weights/vgg16.h5, say) mean the server's folder.
    monkeypatch.chdir(tmp_path)
    worker = fit_worker.shared_worker()
    worker.stop()
    try:
        assert train(_config(epochs=1, seed=20), digits).status == "ok"
        assert Path(f"/proc/{worker.pid}/cwd").resolve() == tmp_path.resolve()
    finally:
        worker.stop()  # later tests get a worker in their own folder, not this temporary one


def test_a_page_asking_to_prestart_never_waits_for_a_fit_in_progress() -> None:
    worker = fit_worker.shared_worker()
    worker.stop()
    holding, release = threading.Event(), threading.Event()

    def fit_in_progress() -> None:
        with worker._lock:  # what a fit holds while it runs
            holding.set()
            release.wait(10)

    busy = threading.Thread(target=fit_in_progress)
    busy.start()
    holding.wait(10)
    try:
        fit_worker.prestart()  # returns at once instead of waiting for the fit
        assert worker.pid is None
    finally:
        release.set()
        busy.join()
    fit_worker.prestart()
    assert worker.pid is not None


def test_a_worker_that_cannot_start_says_so_and_pages_stop_starting_more(digits, monkeypatch) -> None:
    worker = fit_worker.shared_worker()
    worker.stop()
    monkeypatch.setattr(fit_worker.sys, "executable", "/bin/false")  # an interpreter that exits at once
    with pytest.raises(fit_worker.WorkerCrashed, match=r"could not start \(exit code 1\).*DLLAB_FIT_WORKER=0"):
        train(_config(epochs=1, seed=30), digits)
    assert _no_temporaries()
    monkeypatch.undo()
    fit_worker.prestart()
    assert worker.pid is None, "a page started another worker right after one failed to start"
    assert train(_config(epochs=1, seed=30), digits).status == "ok"  # a Train click still tries


def test_an_error_that_cannot_cross_the_socket_still_brings_its_message() -> None:
    class NeedsTwoArguments(Exception):
        def __init__(self, first: str, second: str) -> None:
            super().__init__(f"{first} and {second}")

    sent = fit_worker._transportable(NeedsTwoArguments("this", "that"))
    assert type(sent) is RuntimeError and str(sent) == "NeedsTwoArguments: this and that"
    plain = ValueError("units must be at least 1")
    assert fit_worker._transportable(plain) is plain


def test_settings_for_the_worker() -> None:
    assert fit_worker.enabled()
    assert fit_worker.recycle_megabytes() == fit_worker.DEFAULT_RECYCLE_MB
    os.environ[fit_worker.RECYCLE_ENV] = "lots"
    try:
        assert fit_worker.recycle_megabytes() == fit_worker.DEFAULT_RECYCLE_MB
    finally:
        del os.environ[fit_worker.RECYCLE_ENV]
    for off in ("0", "false", "No", " off "):
        os.environ[fit_worker.WORKER_ENV] = off
        try:
            assert not fit_worker.enabled()
        finally:
            del os.environ[fit_worker.WORKER_ENV]
    assert fit_worker.resident_megabytes() > 10

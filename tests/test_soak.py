"""Concurrency (4 sessions training at once), a 50-run memory soak, and cache-size eviction through a page."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.soak import concurrency
from conftest import ROOT, app_test
from core.cache import DiskCache
from core.training import RUNS_NAMESPACE, cached_result, list_cached_runs, load_model

pytestmark = pytest.mark.slow


def test_four_configurations_train_at_once_and_the_cache_stays_consistent(record_property) -> None:
    measured = concurrency((50, 128, 300, 17), duplicates=2)
    record_property("concurrency_wall_seconds", round(measured["wall_seconds"], 1))
    print(f"\n6 concurrent sessions (4 configurations): {measured['wall_seconds']:.1f} s wall")
    results = []
    for config, (result, error) in zip(measured["requests"], measured["outcomes"]):
        assert error is None and result is not None and result.status == "ok", (config, error)
        assert result.config == config
        results.append(result)
    # The duplicates got the very same run, and each configuration was fitted exactly once.
    assert {result.key for result in results[4:]} == {results[0].key}
    assert sorted(config.model_kwargs["units"] for config in measured["fits"]) == [17, 50, 128, 300]
    assert set(measured["fits"].values()) == {1}
    cache = DiskCache()
    assert not list((cache.root / RUNS_NAMESPACE).glob(".tmp-*"))
    assert len(list_cached_runs()) == len(list((cache.root / RUNS_NAMESPACE).iterdir())) == 4
    for config in measured["fits"]:
        result = cached_result(config, measured["dataset"])
        assert result is not None and load_model(result).count_params() == result.params
    # A page session opened afterwards shows a run from the cache without training.
    at = app_test("app_pages/sequence_models.py")
    at.multiselect(key="models").set_value(["simple_rnn"]).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="train_size").set_value(200).run()
    assert not at.exception


def test_fifty_trainings_keep_memory_flat(record_property) -> None:
    # 50 reruns of the sequence page, each with new hidden units and a Train click, in a fresh
    # process, like a freshly started server: in this test process the models and pages of
    # earlier tests would already have raised the baseline and hidden the growth. Memory is the
    # server's plus the training workers', since a worker is where Keras keeps what it leaks.
    # (`python -m benchmarks.soak` also soaks the engine directly, loading every model here.)
    code = "import json; from benchmarks.soak import page_soak; print(json.dumps(page_soak(50)))"
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=900
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    samples = json.loads(finished.stdout.strip().splitlines()[-1])
    total, server = samples["total"], samples["server"]
    growth = (total[-1] - total[4]) / total[4]
    record_property("total_mb_after_5", round(total[4], 1))
    record_property("total_mb_after_50", round(total[-1], 1))
    print(
        f"\nsoak: server+worker after 5 {total[4]:.0f} MB, after 50 {total[-1]:.0f} MB ({100 * growth:+.1f}%); "
        f"server {server[4]:.0f} → {server[-1]:.0f} MB; workers restarted {samples['recycled'][0]:.0f}×"
    )
    assert len(list_cached_runs()) == 50
    assert all(value > 0 for value in samples["worker"][1:]), "the fits did not run on a worker"
    assert growth < 0.20, samples


def test_a_tiny_cache_limit_evicts_the_oldest_runs_and_the_newest_still_shows(monkeypatch) -> None:
    # One tiny run's entry is ~200-700 kB; a 1 MB limit holds about one of them.
    monkeypatch.setenv("DLLAB_CACHE_LIMIT_MB", "1")
    at = app_test("app_pages/sequence_models.py", timeout=180)
    at.multiselect(key="models").set_value(["simple_rnn"]).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="train_size").set_value(100).run()
    trained = []
    for units in (50, 128, 300):
        at.selectbox(key="units_choice").set_value(units).run()
        at.button(key="train").click().run()
        assert not at.exception and not at.error
        assert at.dataframe[0].value["model"].tolist() == [f"RNN ({units})"]
        (newest,) = [run for run in list_cached_runs() if run.config.model_kwargs["units"] == units]
        trained.append(newest.key)
    cache = DiskCache()
    assert cache.size_bytes() <= cache.limit_bytes or len(cache.entries()) == 1
    kept = [key for key in trained if cache.entry_path(RUNS_NAMESPACE, key).is_dir()]
    assert kept[-1:] == trained[-1:] and trained[0] not in kept  # the oldest went first, the newest stays
    # The newest run still shows on a fresh visit without training; the evicted one asks to train again.
    again = app_test("app_pages/sequence_models.py")
    again.multiselect(key="models").set_value(["simple_rnn"]).run()
    again.number_input(key="epochs").set_value(1).run()
    again.number_input(key="train_size").set_value(100).run()
    again.selectbox(key="units_choice").set_value(300).run()
    assert not again.exception and again.button(key="train").disabled
    assert again.dataframe[0].value["model"].tolist() == ["RNN (300)"]
    again.selectbox(key="units_choice").set_value(50).run()
    assert not again.exception and not again.button(key="train").disabled

"""Soak and concurrency: does memory stay flat over 50 trainings, and do sessions training at once agree?

``page_soak`` reruns the sequence page 50 times with new hidden units and a Train click, as a
student would; ``soak`` trains 50 tiny models through the cached engine directly and loads each
trained model in the server, as the pages that inspect models do. Both sample resident memory
of the server and of the training workers; ``run`` starts each in a fresh process. ``concurrency`` has
six threads of one server ask the engine for four sequence-page configurations at the same
moment. All run against a throwaway cache unless ``DLLAB_CACHE_DIR`` is already set by the caller.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import print_table

ROOT = Path(__file__).resolve().parents[1]
SEQUENCE_PAGE = "app_pages/sequence_models.py"


def soak(runs: int = 50, *, kind: str = "mlp", train_size: int = 100) -> dict[str, list[float]]:
    """Train ``runs`` distinct tiny configurations one after another; resident MB after each.

    ``kind`` is ``"mlp"`` (a dense net, the cheapest fit) or a sequence-page model such as
    ``"simple_rnn"``. Returns per-run samples as :func:`_sampled` does.
    """
    from core.datasets import load_dataset
    from core.sequence import sequence_config
    from core.training import TrainConfig, load_model, options, train

    dataset = load_dataset("mnist", train_size=train_size, seed=0)

    def one_run(index: int) -> None:
        if kind == "mlp":
            config = TrainConfig("mlp", model_options=options(hidden_units=4 + index), epochs=1, batch_size=32)
        else:
            config = sequence_config(kind, units=4 + index, epochs=1, batch_size=32)
        result = train(config, dataset)
        load_model(result).predict(dataset.x_test[:4].astype("float32") / 255.0, verbose=0)

    return _sampled(runs, one_run)


def page_soak(runs: int = 50, *, train_size: int = 100) -> dict[str, list[float]]:
    """Like :func:`soak`, but through the sequence page as a student uses it: one session changes
    the hidden units and clicks Train, ``runs`` times (a simple RNN, 1 epoch each)."""
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    page.run()
    page.switch_page(SEQUENCE_PAGE).run()
    page.multiselect(key="models").set_value(["simple_rnn"]).run()
    page.number_input(key="epochs").set_value(1).run()
    page.number_input(key="train_size").set_value(train_size).run()
    page.selectbox(key="units_choice").set_value("other").run()

    def one_run(index: int) -> None:
        page.number_input(key="units_other").set_value(4 + index).run()
        page.button(key="train").click().run()
        if page.exception or page.error:
            raise RuntimeError(f"run {index}: {(page.exception or page.error)[0].value}")

    return _sampled(runs, one_run)


def _sampled(runs: int, one_run: Callable[[int], None]) -> dict[str, list[float]]:
    """Call ``one_run(0 … runs-1)`` and sample resident MB after each: server, workers and total.

    A worker Dask is restarting for memory is waited for, so each sample counts every worker.
    """
    from core.settings import resident_megabytes
    from core.training import current_executor

    samples: dict[str, list[float]] = {"server": [], "worker": [], "total": []}
    for index in range(runs):
        one_run(index)
        running = current_executor()
        if hasattr(running, "settle"):
            running.settle()
        server = resident_megabytes() or 0.0
        workers = running.workers_megabytes() if hasattr(running, "workers_megabytes") else 0.0
        samples["server"].append(server)
        samples["worker"].append(workers)
        samples["total"].append(server + workers)
    samples["recycled"] = [float(current_executor().restarts)]
    return samples


def concurrency(units: tuple[int, ...] = (50, 128, 300, 17), *, train_size: int = 200, duplicates: int = 2) -> dict:
    """Sessions training at once in one server: one thread per unit count, plus ``duplicates`` extra
    threads asking for the first configuration again. Returns wall time, fits per config and results.

    Threads call the engine exactly as a page's Train button does. AppTest sessions cannot run in
    threads: each run swaps process-wide globals (the mock Runtime, config options), and concurrent
    runs were measured to corrupt each other's widget state.
    """
    import core.training
    from core.datasets import load_dataset
    from core.sequence import sequence_config
    from core.training import current_executor, run_key

    dataset = load_dataset("mnist", train_size=train_size, seed=0)
    configs = [sequence_config("simple_rnn", units=count, epochs=1) for count in units]
    requests = configs + [configs[0]] * duplicates
    outcomes: list[tuple[object, object]] = [(None, None)] * len(requests)
    start = threading.Barrier(len(requests))

    def session(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = (core.training.train(requests[index], dataset), None)
        except Exception as error:  # reported, not raised: the caller asserts on every session
            outcomes[index] = (None, error)

    before = Counter(current_executor().fits_started)
    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = current_executor().fits_started
    fits = Counter({config: after[run_key(config, dataset)] - before[run_key(config, dataset)] for config in configs})
    return {
        "wall_seconds": time.perf_counter() - started,
        "fits": fits,
        "requests": requests,
        "outcomes": outcomes,
        "dataset": dataset,
    }


def in_fresh_process(call: str) -> dict[str, list[float]]:
    """Run one soak function of this module in a new interpreter, as a newly started server would
    be, and return its samples (a process that has already trained hides later growth)."""
    import json
    import subprocess

    code = f"import json; from benchmarks.soak import *; print(json.dumps({call}))"
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{call} failed: {finished.stderr[-2000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    """The soak (RSS after 5 and after 50 trainings) and the 4-session concurrency wall time."""
    own_cache = "DLLAB_CACHE_DIR" not in os.environ
    if own_cache:
        os.environ["DLLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="dllab-soak-")
    os.environ.setdefault("DLLAB_OFFLINE", "1")
    measured = concurrency()
    assert all(error is None for _, error in measured["outcomes"]), measured["outcomes"]
    rows = []
    for kind in ("mlp", "simple_rnn", "sequence page"):
        started = time.perf_counter()
        samples = in_fresh_process("page_soak()" if kind == "sequence page" else f"soak(kind={kind!r})")
        total = samples["total"]
        rows.append(
            {
                "soak": kind if kind == "sequence page" else f"engine, {kind}, model loaded in server",
                "server+worker MB after 5": round(total[4], 1),
                "after 50": round(total[-1], 1),
                "growth %": round(100 * (total[-1] - total[4]) / total[4], 1),
                "server MB 5 → 50": f"{samples['server'][4]:.0f} → {samples['server'][-1]:.0f}",
                "worker recycled (cumulative)": int(samples["recycled"][0]),
                "soak s": round(time.perf_counter() - started, 1),
                "4 configs + 2 duplicate sessions wall s": round(measured["wall_seconds"], 1),
                "fits per config": sorted(set(measured["fits"].values())),
            }
        )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print_table(run(), "Soak (50 tiny trainings) and 4 concurrent sessions")

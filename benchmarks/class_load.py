"""A class on one server, measured at the protocol level: the training queue, page load, and both at once.

Drives ``benchmarks/class_load_client.py`` (DL Lab's copy of ``../shared/tools/class_load.py``)
against real ``streamlit run app.py`` servers on 127.0.0.1, offline defaults, each with its own
temporary cache. Scenarios and the issue's targets:

- ``queue``: K = 1, 4, 8 students open the sequence page with different hidden sizes and click
  Train at the same moment, one worker. The i-th to see results must wait at most
  i × (one student's time) × 1.15 (first come, first served). Then K = 8 with two workers:
  the last wait at least 1.3× shorter than with one.
- ``load``: a pre-warmed cache; 25 then 50 students open home, a topic page and change a widget.
  Topic page p95 ≤ 2.5 s (25) and ≤ 5 s (50), no errors.
- ``fresh``: the same 50 students on a server started a moment ago (pre-warmed cache): p95 ≤ 8 s.
- ``starve``: 25 idle students, one training, 10 students opening the calculator in 3 waves:
  page runs during the training within 1.5× of the same loads without it.

``python -m benchmarks class_load`` runs them all (about 15 minutes on two cores); ``python -m
benchmarks.class_load queue`` runs one. Run it on a quiet machine: the client measures wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import ROOT, print_table
from scripts.browser import StreamlitServer, streamlit_server

CLIENT = ROOT / "benchmarks" / "class_load_client.py"
FAIRNESS_SLACK = 1.15
TWO_WORKER_SPEEDUP = 1.3
QUEUE_UNITS = 60


def client(scenario: str, server: StreamlitServer, *arguments: str, timeout: float = 900) -> dict:
    """Run one scenario of the protocol-level client against ``server``; its JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = Path(out.name)
    command = [
        sys.executable, str(CLIENT), scenario, "--url", server.url, "--server-pid", str(server.process.pid),
        "--timeout", "600", "--out", str(out_path), *arguments,
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if completed.returncode not in (0, 1) or not out_path.stat().st_size:
        raise RuntimeError(f"class_load {scenario} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    result = json.loads(out_path.read_text())
    out_path.unlink()
    return result["summary"]


@contextmanager
def server(*, workers: int = 1, cache_dir: Path | None = None) -> Iterator[StreamlitServer]:
    """A fresh app server with ``workers`` training workers (and a warm cache when ``cache_dir`` is given)."""
    env = {"DLLAB_WORKERS": str(workers)}
    if cache_dir is not None:
        env["DLLAB_CACHE_DIR"] = str(cache_dir)
    with streamlit_server(env=env, timeout=180) as running:
        yield running


def prewarm(cache_dir: Path) -> float:
    """Train every page's default settings into ``cache_dir`` (``python -m ui.prewarm``); seconds taken."""
    env = {**os.environ, "DLLAB_CACHE_DIR": str(cache_dir), "DLLAB_OFFLINE": "1"}
    env.pop("DLLAB_DATA_DIR", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ui.prewarm"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"prewarm failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def queue() -> list[dict]:
    """First come, first served with one worker; the same eight students with two."""
    rows: list[dict] = []
    waits: dict[tuple[int, int], list[float]] = {}
    for workers, students in ((1, 1), (1, 4), (1, 8), (2, 8)):
        with server(workers=workers) as running:
            # Student i trains QUEUE_UNITS + i hidden units in every case, so "one student's time"
            # is measured on the same size of model the i-th of eight trains, not a smaller one.
            summary = client("train", running, "--students", str(students), "--units-start", str(QUEUE_UNITS))
        waits[(workers, students)] = summary["waits_s"]
        rows.append(
            {
                "workers": workers,
                "students": students,
                "first s": summary["first_wait_s"],
                "last s": summary["last_wait_s"],
                "waits s": " ".join(f"{wait:.1f}" for wait in summary["waits_s"]),
                "place shown": summary["waiting_notice_seen"],
                "problems": len(summary["problems"]),
            }
        )
    one = waits[(1, 1)][0]
    for row in rows:
        if row["workers"] == 1:
            sorted_waits = waits[(1, row["students"])]
            row["worst i-th / (i × one)"] = max(wait / ((i + 1) * one) for i, wait in enumerate(sorted_waits))
            row["target"] = f"≤ {FAIRNESS_SLACK}"
    speedup = waits[(1, 8)][-1] / waits[(2, 8)][-1]
    rows[-1]["speed-up vs 1 worker"] = speedup
    rows[-1]["target"] = f"≥ {TWO_WORKER_SPEEDUP}"
    print_table(rows, "Training queue: students clicking Train together (sequence page, 3 models each)")
    return rows


def _load_row(label: str, summary: dict) -> dict:
    topic, home = summary["topic"], summary["home"]
    return {
        "case": label,
        "students": summary["students"],
        "topic median s": topic.get("median"),
        "topic p95 s": topic.get("p95"),
        "home median s": home.get("median"),
        "home p95 s": home.get("p95"),
        "change p95 s": summary["change"].get("p95"),
        "server MB": (summary.get("memory") or {}).get("server_mb_peak"),
        "problems": summary["problem_count"],
    }


def load() -> list[dict]:
    """25 and 50 students on a warm server, then 50 on a freshly started one (both with a pre-warmed cache)."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dllab-classload-") as scratch:
        cache = Path(scratch) / "cache"
        prewarm_seconds = prewarm(cache)
        with server(cache_dir=cache) as running:
            # The server's first visitors, two on every page: imports, first data, each page's charts,
            # and the training workers a page with something untrained starts before its click.
            client("load", running, "--students", "14")
            for students, target in ((25, 2.5), (50, 5.0)):
                row = _load_row("warm server", client("load", running, "--students", str(students)))
                row["target p95"] = f"≤ {target}"
                rows.append(row)
        with server(cache_dir=cache) as running:
            fresh = client("load", running, "--students", "50", "--settle", "0.5")
            row = _load_row("started a moment ago", fresh)
            row["target p95"] = "≤ 8"
            rows.append(row)
    print_table(rows, f"50 students at once (cache pre-warmed in {prewarm_seconds:.0f} s)")
    by_page = [
        {"page": page or "(home)", "students": figures.get("n"), "median s": figures.get("median"), "p95 s": figures.get("p95")}
        for page, figures in sorted(fresh.get("topic_by_page", {}).items())
    ]
    print_table(by_page, "The freshly started server, by page")
    return rows


def starve() -> list[dict]:
    """Page runs with and without a training going on."""
    with server() as running:
        summary = client(
            "starve", running, "--idle", "25", "--loaders", "10", "--waves", "3", "--units", "60", "--extra-query", "epochs=20",
        )
    baseline, during = summary["baseline_topic"], summary["during_topic"]
    rows = [
        {"case": "no training", "loads": baseline.get("n"), "median s": baseline.get("median"), "p95 s": baseline.get("p95")},
        {
            "case": "during a training",
            "loads": during.get("n"),
            "median s": during.get("median"),
            "p95 s": during.get("p95"),
            "ratio p95": (during.get("p95") or 0) / max(baseline.get("p95") or 1e-9, 1e-9),
            "target": "≤ 1.5",
        },
    ]
    print_table(rows, "10 students opening the calculator, 25 more connected, while one trains")
    return rows


SCENARIOS = {"queue": queue, "load": load, "starve": starve}


def run(names: list[str] | None = None) -> list[dict]:
    """Every scenario (or those named), each with its own servers."""
    rows: list[dict] = []
    for name in names or list(SCENARIOS):
        rows += [{"scenario": name, **row} for row in SCENARIOS[name]()]
    return rows


if __name__ == "__main__":
    run(sys.argv[1:] or None)

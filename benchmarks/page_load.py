"""Time from navigation until a page's title is visible in headless Chromium, DL Lab vs ``streamlit hello``.

Starts ``streamlit run app.py`` (temporary cache, no data directory, offline) and ``streamlit hello``
on free localhost ports, opens each page in a fresh Chromium profile, and prints the times and
the ratio to hello (target: ≤ 1.3×). Add a page by listing its URL path in ``PAGE_PATHS``; its
title is read from the ``st.title`` call in ``app_pages/<name>.py``.

Needs the ``playwright`` Python package and Debian's ``/usr/bin/chromium``; never run
``playwright install``.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import print_table
from scripts.browser import CHROMIUM, CHROMIUM_ARGS
from ui.catalog import TOPIC_PAGES

ROOT = Path(__file__).resolve().parents[1]
# Home first, as a student following the instructor's link to the app would; then every page.
PAGE_PATHS: tuple[str, ...] = ("/",) + tuple("/" + Path(topic.path).stem for topic in TOPIC_PAGES)
# Pages that never train are held to hello's speed; training pages, pre-warmed, to 3 s.
LIGHT_PATHS = frozenset({"/"} | {"/" + Path(topic.path).stem for topic in TOPIC_PAGES if not topic.train_button})
HELLO_TITLE = "Welcome to Streamlit"
TARGET_RATIO = 1.3
CACHED_TARGET_S = 3.0
# Streamlit marks the app element when a script run is over (as scripts/browser.py waits for).
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
REPEATS = 5
TIMEOUT_S = 60
# Both servers share two cores: a pause before each load lets the previous page's session wind
# down (a closed training page's objects being freed), which otherwise lands on whichever page,
# often hello's, comes next.
SETTLE_S = 1.0


def page_title(url_path: str) -> str | None:
    """The ``st.title`` text of the page served at ``url_path``, or ``None`` if there is no such page."""
    name = url_path.strip("/") or "home"
    source = ROOT / "app_pages" / f"{name}.py"
    if not source.is_file():
        return None
    match = re.search(r"""st\.title\(\s*(["'])(.+?)\1""", source.read_text(encoding="utf-8"))
    return match.group(2) if match else None


def url_path_of(url: str) -> str:
    """The path part of a page URL (``/`` for the root)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def free_port() -> int:
    """A localhost port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(arguments: list[str], *, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Run a headless Streamlit server and yield its base URL once its health check answers."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", *arguments,
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    server = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {server.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not answer its health check in time")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def time_to_title(playwright, url: str, title: str) -> float:
    """Seconds from starting navigation until ``title`` is visible, in a fresh Chromium profile."""
    time.sleep(SETTLE_S)
    with tempfile.TemporaryDirectory(prefix="dllab-chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True, viewport={"width": 1280, "height": 900}
        )
        try:
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
            page.get_by_role("heading", name=title).first.wait_for(state="visible", timeout=TIMEOUT_S * 1000)
            if url_path_of(url) not in LIGHT_PATHS and title != HELLO_TITLE:
                # A training page counts only once its script run is over, i.e. its cached results are drawn.
                page.wait_for_selector(APP_IDLE, state="attached", timeout=TIMEOUT_S * 1000)
            return time.perf_counter() - started
        finally:
            browser.close()


def measure(playwright, targets: list[tuple[str, str, str, str]]) -> list[dict]:
    """First load (server cold) of each target, then ``REPEATS`` rounds over all targets, interleaved.

    Interleaving puts DL Lab and hello under the same background load, which on a shared machine
    drifts by more than the difference being measured.
    """
    first = {target: time_to_title(playwright, target[2] + target[1], target[3]) for target in targets}
    times: dict[tuple[str, str, str, str], list[float]] = {target: [] for target in targets}
    for _ in range(REPEATS):
        for target in targets:
            times[target].append(time_to_title(playwright, target[2] + target[1], target[3]))
    return [
        {
            "app": app,
            "page": url_path,
            "title": title,
            "first load s": first[(app, url_path, base, title)],
            "median load s": statistics.median(times[(app, url_path, base, title)]),
            "min s": min(times[(app, url_path, base, title)]),
        }
        for app, url_path, base, title in targets
    ]


def run() -> list[dict]:
    """Load times of DL Lab's pages and of ``streamlit hello``, with each page's ratio to hello."""
    from playwright.sync_api import sync_playwright

    pages = [(path, title) for path in PAGE_PATHS if (title := page_title(path))]
    with tempfile.TemporaryDirectory(prefix="dllab-bench-cache-") as cache, tempfile.TemporaryDirectory(prefix="hello-") as hello_dir:
        env = {key: value for key, value in os.environ.items() if key != "DLLAB_DATA_DIR"}
        env.update({"DLLAB_CACHE_DIR": cache, "DLLAB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
        # Training pages are timed showing cached results, as in class after `python -m ui.prewarm`.
        subprocess.run([sys.executable, "-m", "ui.prewarm"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        with (
            sync_playwright() as playwright,
            streamlit_server(["hello"], cwd=Path(hello_dir), env=env) as hello_url,
            streamlit_server(["run", "app.py"], cwd=ROOT, env=env) as app_url,
        ):
            targets = [("streamlit hello", "/", hello_url, HELLO_TITLE)]
            targets += [("DL Lab", path, app_url, title) for path, title in pages]
            rows = measure(playwright, targets)
    baseline = rows[0]["median load s"]
    for row in rows:
        row["ratio to hello"] = row["median load s"] / baseline
        if row["app"] == "DL Lab" and row["page"] not in LIGHT_PATHS:
            row["target"] = f"≤ {CACHED_TARGET_S:g} s (cached results)"
            row["meets target"] = "yes" if row["median load s"] <= CACHED_TARGET_S else "no"
        else:
            row["target"] = f"≤ {TARGET_RATIO}× hello"
            row["meets target"] = "yes" if row["ratio to hello"] <= TARGET_RATIO else "no"
    return rows


if __name__ == "__main__":
    print_table(run(), title="page_load")

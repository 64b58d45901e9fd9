"""Run the real app in a real browser: a headless Streamlit server plus Debian's Chromium via Playwright.

Shared by ``tests/test_browser.py``, ``scripts/screenshots.py`` and the benchmarks (a project module, not a
test helper, so scripts and benchmarks never import test code)::

    with streamlit_server() as server, chromium() as browser:
        page = browser.new_page()
        visit = open_app_page(page, server.url_for(topic))   # waits until the script run is done
        assert not visit.problems, visit.problems

The server gets a free localhost port, a temporary cache directory and Keras home, no data
directory and no downloads, unless the caller says otherwise; it and the browser are always
stopped on exit, even after a failure. Playwright's own browser download is never used: it
fails offline, and Debian's ``/usr/bin/chromium`` (installed by ``.ci/run``) is launched instead.
Each ``launch`` gets a fresh temporary profile directory from Playwright, removed on close.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("DLLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
VIEWPORT = {"width": 1400, "height": 900}
MAIN = '[data-testid="stMainBlockContainer"]'
EXCEPTION_BOX = '[data-testid="stException"]'
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'


def browser_unavailable_reason() -> str | None:
    """Why a browser test cannot run here (no Playwright, no Chromium), or ``None`` when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, as .ci/run does)"
    return None


def free_port() -> int:
    """A localhost TCP port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_url_path(page_file: str) -> str:
    """The URL path Streamlit derives from a page file, e.g. ``app_pages/cnn_calculator.py`` → ``cnn_calculator``."""
    from streamlit.source_util import page_icon_and_name

    _icon, name = page_icon_and_name(Path(page_file))
    return name or Path(page_file).stem


@dataclass
class StreamlitServer:
    """A running ``streamlit`` process and where to reach it."""

    process: subprocess.Popen
    port: int
    cache_dir: Path
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        """The app's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, page_file: str | None = None, *, default: bool = False) -> str:
        """The URL of one page of the app; the default page lives at the root."""
        if page_file is None or default:
            return self.url + "/"
        return f"{self.url}/{page_url_path(page_file)}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server printed, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_healthy(process: subprocess.Popen, port: int, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"streamlit exited with code {process.returncode} before answering:\n{log}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)  # polling an HTTP endpoint: there is no event to wait on
    raise TimeoutError(f"streamlit did not answer {health} within {timeout:.0f} s")


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop a process started with its own session, and its children: SIGTERM, then SIGKILL if they linger."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(timeout=15)


@contextmanager
def streamlit_server(
    command: Sequence[str] = ("run", "app.py"),
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    isolate: bool = True,
    timeout: float = 120,
) -> Iterator[StreamlitServer]:
    """Start ``python -m streamlit <command>`` headless on a free port; stop it on exit.

    ``isolate`` (the default) gives it a temporary cache directory and Keras home, no data
    directory and no downloads; ``env`` entries are applied last, so a caller can point
    ``DLLAB_CACHE_DIR`` at a warm cache. ``command=("hello",)`` starts Streamlit's demo app.
    """
    scratch = Path(tempfile.mkdtemp(prefix="dllab-server-"))
    server_env = dict(os.environ)
    if isolate:
        server_env.pop("DLLAB_DATA_DIR", None)
        server_env.update(
            DLLAB_CACHE_DIR=str(scratch / "cache"),
            KERAS_HOME=str(scratch / "keras"),
            DLLAB_OFFLINE="1",
        )
    server_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    server_env.update(env or {})
    port = free_port()
    log_path = scratch / "server.log"
    arguments = [
        sys.executable, "-m", "streamlit", *command,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            arguments, cwd=cwd, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_healthy(process, port, log_path, timeout)
        yield StreamlitServer(process, port, Path(server_env.get("DLLAB_CACHE_DIR", "")), log_path, server_env)
    finally:
        stop_process_group(process)
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def chromium(*, args: Sequence[str] = ()) -> Iterator[Browser]:
    """Debian's Chromium, headless, under Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *args], timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


# Toasts vanish after a few seconds, possibly before a slow page finishes; record every one shown.
_TOAST_RECORDER = """
window.__dllabToasts = [];
new MutationObserver(() => {
    for (const toast of document.querySelectorAll('[data-testid="stToast"]')) {
        const text = toast.innerText;
        if (text && !window.__dllabToasts.includes(text)) window.__dllabToasts.push(text);
    }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def new_page(browser: Browser, *, viewport: Mapping[str, int] = VIEWPORT, timeout_ms: float = 90_000) -> Page:
    """A page in a fresh browser context (its own Streamlit session) with generous default timeouts."""
    context = browser.new_context(viewport=dict(viewport), device_scale_factor=1)
    context.set_default_timeout(timeout_ms)
    context.add_init_script(_TOAST_RECORDER)
    return context.new_page()


def toasts_seen(page: Page) -> list[str]:
    """The text of every toast shown since the page was loaded, even those already gone."""
    return list(page.evaluate("() => window.__dllabToasts || []"))


@dataclass(frozen=True)
class PageVisit:
    """What a page showed once its script run finished.

    ``seconds`` runs from navigation until the run was over and the page had been still for the
    quiet interval (included), so it is a settled-page time, slightly above first paint.
    """

    url: str
    heading: str
    nav_title: str
    seconds: float
    problems: tuple[str, ...]


_QUIET_DOM = """quietMs => {
    if (window.__dllabLastChange === undefined) {
        window.__dllabLastChange = performance.now();
        new MutationObserver(() => { window.__dllabLastChange = performance.now(); })
            .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    }
    return performance.now() - window.__dllabLastChange >= quietMs;
}"""


def wait_until_idle(page: Page, *, timeout_ms: float = 90_000, quiet_ms: int = 400) -> None:
    """Wait until the app is connected, its script run has finished and the page has stopped changing.

    The run-state flag flips when the server says the run is over, a moment before the browser
    has drawn the last elements, so the page must also be quiet for ``quiet_ms``.
    """
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    page.wait_for_function(_QUIET_DOM, arg=quiet_ms, timeout=timeout_ms, polling=100)


def page_problems(page: Page) -> tuple[str, ...]:
    """Exception boxes and tracebacks on the page, each as a short description (empty when clean)."""
    problems = []
    for box in page.locator(EXCEPTION_BOX).all():
        problems.append("exception box: " + box.inner_text()[:500])
    body = page.locator("body").inner_text()
    if "Traceback" in body:
        start = body.index("Traceback")
        problems.append("'Traceback' on the page: " + body[start : start + 500])
    return tuple(problems)


def open_app_page(page: Page, url: str, *, timeout_ms: float = 90_000) -> PageVisit:
    """Go to ``url``, wait for the end of the script run, and report its heading, menu entry and problems.

    ``heading`` is the main area's first ``h1`` (a page's ``st.title``), or ``""`` when it has none.
    """
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    wait_until_idle(page, timeout_ms=timeout_ms)
    seconds = time.perf_counter() - started
    headings = page.locator(f"{MAIN} h1")
    heading = headings.first.inner_text().strip() if headings.count() else ""
    active = page.locator('[data-testid="stSidebarNav"] a[aria-current="page"]')
    # The link's text starts with its Material icon's ligature name ("school"); the label is last.
    nav_lines = active.first.inner_text().strip().splitlines() if active.count() else [""]
    nav_title = nav_lines[-1].strip()
    return PageVisit(url, heading, nav_title, seconds, page_problems(page))


def content_height(page: Page) -> int:
    """The height the whole page needs: Streamlit scrolls inside its main area, not the document."""
    return int(
        page.evaluate(
            """() => Math.max(
                document.documentElement.scrollHeight,
                ...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
                    .map(selector => document.querySelector(selector))
                    .filter(element => element !== null)
                    .map(element => element.scrollHeight))"""
        )
    )


def screenshot(page: Page, path: Path, *, full_page: bool = True, max_height: int = 6000) -> Path:
    """Save a PNG of the page, creating the folder; ``full_page`` grows the window to fit all content.

    Playwright's own ``full_page`` sees only the document, which Streamlit keeps one window high,
    so the window itself is made as tall as the content (up to ``max_height``) for the shot.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or dict(VIEWPORT)
    if full_page:
        height = min(max(content_height(page), original["height"]), max_height)
        page.set_viewport_size({"width": original["width"], "height": height})
        # Let the browser lay out and paint at the new size before the shot.
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    try:
        page.screenshot(path=str(path), animations="disabled")
    finally:
        if full_page:
            page.set_viewport_size(original)
    return path

"""Class-sized load on one Streamlit server, simulated at the protocol level (no browsers).

DL Lab's copy of ``../shared/tools/class_load.py`` (a user's clone has no ``../shared``), with one
changes: a student keeps every cookie the server sets, as a browser does, so a reverse proxy's
sticky-session cookie keeps the student on one app process; and the training queue's notice
("2nd in line, about 40 s") counts as a waiting notice. ``benchmarks/class_load.py`` drives it.

usage:
  python class_load.py load   --url http://127.0.0.1:8601 --students 25 [--rounds 2] [--pages a,b]
                              [--no-change] [--assets assets.json] [--server-pid PID] [--spread 1.0]
                              [--out result.json]
  python class_load.py train  --url http://127.0.0.1:8601 --students 4 --units-start 41
                              [--page sequence_models] [--extra-query epochs=5] [--server-pid PID]
  python class_load.py starve --url http://127.0.0.1:8601 --idle 25 --loaders 10 --waves 3 --units 60
                              [--extra-query epochs=40] [--loader-page cnn_calculator] [--server-pid PID]
  (any scenario: --quiet-wait 120 first waits for an idle machine; --out FILE keeps the full JSON)
  python class_load.py single --url http://127.0.0.1:8601 --page cnn_calculator [--direct] [--change]
  python class_load.py compare --url http://127.0.0.1:8601 --capture cap.json --page cnn_calculator [--direct]

Run it with the Streamlit app's own interpreter (it needs ``streamlit.proto`` and ``websockets``),
e.g. ``.venv/bin/python ../shared/tools/class_load.py load --url http://127.0.0.1:8601 --students 10``.

What one simulated student does, exactly as Chromium does it (checked against captured frames):

1. ``connect``: GET the page's HTML, ``/_stcore/health`` (which sets the ``_streamlit_xsrf``
   cookie) and ``/_stcore/host-config``, then opens ``ws://HOST/_stcore/stream`` with
   ``Sec-WebSocket-Protocol: streamlit, <xsrf token>``, the cookie and an ``Origin`` header.
2. A script run is a binary ``BackMsg{rerun_script: ClientState}``: the first one carries the
   URL path as ``page_name`` (``""`` for home) and the query string; a page change inside the
   session carries the target's ``page_script_hash`` (read from the ``navigation`` ForwardMsg);
   a widget change carries ``widget_states`` (a click is ``trigger_value=true``). Every one
   carries ``context_info`` (timezone, locale, url) as the browser's does.
3. The server answers with ForwardMsgs: ``new_session`` (run started), ``delta``s (elements),
   ``page_info_changed`` (URL query updates) and finally ``script_finished``. A run is done at a
   ``script_finished`` other than ``FINISHED_EARLY_FOR_RERUN``.

Recorded per run: seconds to ``new_session`` and to ``script_finished``, deltas, bytes, elements
by type, exceptions (``Element.exception`` / compile errors) and ``st.error`` boxes.

Scenarios: ``load`` (each student: connect, home, one topic page round-robin, one widget change:
the first slider, else number box, else checkbox, main area first), ``train`` (K students open
the page with different ``units_other`` in the URL, then click Train at the same moment),
``starve`` (idle students + one training + loaders, with a no-training baseline first),
``single`` (one verbose student) and ``compare`` (against a ``capture_chromium.py`` capture).
``--assets`` adds what a browser with an empty cache fetches first (``/static/`` scripts, styles,
fonts: 148 files, 5.5 MB for DL Lab) over 6 keep-alive connections; without it the client models
browsers with a warm cache. ``/media/`` images are not fetched. ``--server-pid`` samples the
server's and its children's (the fit worker's) VmRSS every 0.5 s, and reports whole-machine CPU
during the run: ``foreign_cpu_s`` is CPU used by neither the server tree nor this client (another
program competing for the cores; ``--quiet-wait`` waits for an idle machine before starting).

Validated against Chromium (capture_chromium.py + compare): same BackMsgs, and per run the same
ForwardMsg count, delta count, element types and bytes (within 2 bytes: the URL) for home,
page navigation, a number-box change and a Train click (progress-bar updates differ by timing).
Server time measured on the wire with tcp_tap.py matched too (0.12 s vs 0.08-0.13 s); Chromium's
own CDP frame timestamps run 0.2-0.4 s later because the renderer queues frames while it works.

Every wait is bounded (``--timeout``); every loop runs over a fixed list. Traffic goes only to the
``--url`` given, which must be on 127.0.0.1 / localhost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import connect as ws_connect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
STATUS_NAMES = {value: name for name, value in ForwardMsg.ScriptFinishedStatus.items()}
ALERT_ERROR = 1
ALERT_SUCCESS = 4
MAIN, SIDEBAR = 0, 1


def now() -> float:
    return time.perf_counter()


# ---------------------------------------------------------------------------------------------
# Tiny HTTP client (GET only, Connection: close) so "connect" costs the server what a browser's does.


async def http_get(host: str, port: int, path: str, *, cookie: str | None = None, timeout: float = 30.0) -> tuple[int, dict[str, list[str]], bytes]:
    async def _do() -> tuple[int, dict[str, list[str]], bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close", "Accept: */*",
                     "User-Agent: class_load/1"]
            if cookie:
                lines.append(f"Cookie: {cookie}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            data = await reader.read(-1)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass
        head, _, body = data.partition(b"\r\n\r\n")
        head_lines = head.decode("latin-1").split("\r\n")
        status = int(head_lines[0].split()[1])
        headers: dict[str, list[str]] = {}
        for line in head_lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        return status, headers, body

    return await asyncio.wait_for(_do(), timeout)


async def fetch_many(host: str, port: int, paths: list[str], *, connections: int = 6, timeout: float = 60.0) -> tuple[int, int]:
    """GET every path over ``connections`` keep-alive HTTP/1.1 connections, as a browser with an empty
    cache fetches a page's scripts, styles and fonts. Returns (responses, body bytes)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    totals = [0, 0]

    async def worker() -> None:
        reader = writer = None
        try:
            for _ in range(len(paths)):  # bounded
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n"
                              "Accept-Encoding: gzip, deflate, br, zstd\r\nUser-Agent: class_load/1\r\n\r\n").encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                    size = len(body)
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    size = 0
                    for _ in range(100_000):
                        length = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                        await reader.readexactly(length + 2)
                        size += length
                        if length == 0:
                            break
                else:
                    size = len(await reader.read(-1))
                    writer.close()
                    reader = writer = None
                totals[0] += 1
                totals[1] += size
                if headers.get("connection", "").lower() == "close" and writer is not None:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), timeout)
    return totals[0], totals[1]


# ---------------------------------------------------------------------------------------------
# One run and one session


@dataclass
class RunRecord:
    label: str
    sent_at: float = 0.0
    started_s: float | None = None  # new_session after sending
    first_delta_s: float | None = None
    finished_s: float | None = None  # final script_finished after sending
    status: str | None = None
    reruns: int = 0  # FINISHED_EARLY_FOR_RERUN seen (st.rerun / superseded)
    messages: int = 0
    deltas: int = 0
    bytes: int = 0
    elements: dict[str, int] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    error_boxes: list[str] = field(default_factory=list)
    success_boxes: list[str] = field(default_factory=list)
    progress_updates: int = 0
    last_progress_text: str = ""
    waiting_notice: bool = False
    page_not_found: bool = False
    timed_out: bool = False
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "sent_at"}


class Student:
    """One browser tab's worth of protocol: a websocket session and its script runs."""

    def __init__(self, base_url: str, name: str, *, timeout: float = 300.0, fetch_html: bool = True,
                 assets: list[str] | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"refusing non-local server {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.base = f"http://{self.host}:{self.port}"
        self.name = name
        self.timeout = timeout
        self.fetch_html = fetch_html
        self.assets = assets or []
        self.assets_s: float | None = None
        self.assets_bytes = 0
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.current: RunRecord | None = None
        self.done = asyncio.Event()
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.page_script_hash = ""
        self.query_string = ""
        self.url_path = "/"
        self.widgets: list[tuple[str, int, Any]] = []  # (element type, root container, proto) of the last run
        self.connect_s: float | None = None
        self.http_s: float | None = None
        self.closed_reason: str | None = None

    # -- connection ----------------------------------------------------------------------------
    async def connect(self, url_path: str = "/") -> float:
        started = now()
        cookie = None
        jar: dict[str, str] = {}  # every cookie set so far, sent back as a browser would

        def keep(headers: dict[str, list[str]]) -> None:
            for value in headers.get("set-cookie", []):
                name, _, rest = value.split(";", 1)[0].partition("=")
                jar[name.strip()] = rest

        def cookies() -> str | None:
            return "; ".join(f"{name}={value}" for name, value in jar.items()) or None

        if self.fetch_html:
            _status, headers, _ = await http_get(self.host, self.port, url_path, timeout=self.timeout)
            keep(headers)
        if self.assets:  # an empty browser cache: scripts, styles and fonts before the app can connect
            assets_started = now()
            _count, self.assets_bytes = await fetch_many(self.host, self.port, self.assets, timeout=self.timeout)
            self.assets_s = now() - assets_started
        status, headers, _ = await http_get(self.host, self.port, "/_stcore/health", cookie=cookies(), timeout=self.timeout)
        if status != 200:
            raise RuntimeError(f"health check answered {status}")
        keep(headers)
        for value in headers.get("set-cookie", []):
            if value.startswith("_streamlit_xsrf="):
                cookie = value.split(";", 1)[0]
        await http_get(self.host, self.port, "/_stcore/host-config", cookie=cookies(), timeout=self.timeout)
        self.http_s = now() - started
        subprotocols = ["streamlit"]
        extra = {}
        if cookie:
            subprotocols.append(cookie.split("=", 1)[1])
        if jar:
            extra["Cookie"] = cookies()
        self.ws = await ws_connect(
            f"ws://{self.host}:{self.port}/_stcore/stream",
            origin=self.base,
            subprotocols=subprotocols,
            additional_headers=extra,
            proxy=None,
            max_size=None,
            ping_interval=None,  # browsers send no pings; the server's pings are answered automatically
            open_timeout=self.timeout,
            close_timeout=5,
            compression="deflate",
        )
        self.connect_s = now() - started
        self.url_path = url_path
        self.reader = asyncio.create_task(self._read(), name=f"reader-{self.name}")
        return self.connect_s

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 10)
            except Exception:
                pass
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except BaseException:
                pass

    # -- receiving ------------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, str):
                    continue
                self._handle(raw)
        except websockets.ConnectionClosed as closed:
            self.closed_reason = f"closed: {closed}"
        except Exception as error:  # keep going: record it
            self.closed_reason = f"reader error: {error!r}"
        finally:
            if self.current is not None and self.current.finished_s is None:
                self.current.error = self.closed_reason or "connection closed"
                self.done.set()

    def _handle(self, raw: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        run = self.current
        kind = msg.WhichOneof("type")
        t = now()
        if kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in msg.navigation.app_pages}
            if msg.navigation.page_script_hash:
                self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
            if run is not None and run.started_s is None:
                run.started_s = t - run.sent_at
            self.widgets = []
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        if run is None:
            return
        run.messages += 1
        run.bytes += len(raw)
        if kind == "delta":
            run.deltas += 1
            if run.first_delta_s is None:
                run.first_delta_s = t - run.sent_at
            delta = msg.delta
            dkind = delta.WhichOneof("type")
            if dkind == "new_element":
                element = delta.new_element
                ekind = element.WhichOneof("type") or "?"
                run.elements[ekind] = run.elements.get(ekind, 0) + 1
                root = msg.metadata.delta_path[0] if msg.metadata.delta_path else MAIN
                if ekind == "exception":
                    run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
                elif ekind == "alert":
                    if element.alert.format == ALERT_ERROR:
                        run.error_boxes.append(element.alert.body[:300])
                    elif element.alert.format == ALERT_SUCCESS:
                        run.success_boxes.append(element.alert.body[:300])
                elif ekind == "progress":
                    run.progress_updates += 1
                    run.last_progress_text = element.progress.text[:200]
                    if "Waiting for another training" in element.progress.text or " in line" in element.progress.text:
                        run.waiting_notice = True
                if ekind in ("slider", "number_input", "checkbox", "button", "selectbox", "text_input"):
                    self.widgets.append((ekind, root, getattr(element, ekind)))
            elif dkind == "add_block":
                run.elements["add_block"] = run.elements.get("add_block", 0) + 1
            else:
                run.elements[dkind or "?"] = run.elements.get(dkind or "?", 0) + 1
        elif kind == "session_event":
            if msg.session_event.HasField("script_compilation_exception"):
                exc = msg.session_event.script_compilation_exception
                run.exceptions.append(f"compile {exc.type}: {exc.message}"[:300])
        elif kind == "page_not_found":
            run.page_not_found = True
        elif kind == "script_finished":
            if msg.script_finished == FINISHED_EARLY:
                run.reruns += 1
            elif run.started_s is not None:  # a finish of this run, not a stale one
                run.finished_s = t - run.sent_at
                run.status = STATUS_NAMES.get(msg.script_finished, str(msg.script_finished))
                self.done.set()

    # -- sending -------------------------------------------------------------------------------
    def _client_state(self, back: BackMsg) -> None:
        cs = back.rerun_script
        cs.context_info.timezone = "UTC"
        cs.context_info.timezone_offset = 0
        cs.context_info.locale = "en-US"
        cs.context_info.url = self.base + self.url_path
        cs.context_info.is_embedded = False
        cs.context_info.color_scheme = "light"

    async def _run(self, label: str, back: BackMsg) -> RunRecord:
        run = RunRecord(label)
        self.current = run
        self.done = asyncio.Event()
        run.sent_at = now()
        try:
            await self.ws.send(back.SerializeToString())
            await asyncio.wait_for(self.done.wait(), self.timeout)
        except asyncio.TimeoutError:
            run.timed_out = True
            run.error = f"no script_finished within {self.timeout:.0f} s"
        except Exception as error:
            run.error = f"{type(error).__name__}: {error}"
        self.current = None
        return run

    async def open_url(self, url_path: str, query_string: str = "", label: str | None = None) -> RunRecord:
        """The first run of a freshly loaded URL (what a browser sends right after connecting)."""
        back = BackMsg()
        back.rerun_script.SetInParent()
        self.url_path = url_path
        name = url_path.strip("/")
        if name:
            back.rerun_script.page_name = name
        if query_string:
            back.rerun_script.query_string = query_string
        self._client_state(back)
        return await self._run(label or f"open {url_path}", back)

    async def navigate(self, url_pathname: str, label: str | None = None) -> RunRecord:
        """Click a page link inside the app: a rerun with the target's page_script_hash."""
        target = self.pages.get(url_pathname)
        if target is None:
            run = RunRecord(label or f"nav {url_pathname}")
            run.error = f"no page {url_pathname!r} in navigation {sorted(self.pages)}"
            return run
        back = BackMsg()
        back.rerun_script.page_script_hash = target
        back.rerun_script.widget_states.SetInParent()
        self._client_state(back)  # the browser still reports the URL it was on when clicking
        self.url_path = "/" + url_pathname
        self.query_string = ""
        return await self._run(label or f"nav {url_pathname}", back)

    async def send_widgets(self, states: list[WidgetState], label: str) -> RunRecord:
        back = BackMsg()
        back.rerun_script.page_script_hash = self.page_script_hash
        back.rerun_script.query_string = self.query_string
        back.rerun_script.widget_states.widgets.extend(states)
        self._client_state(back)
        return await self._run(label, back)

    # -- widgets ---------------------------------------------------------------------------------
    def find_button(self, user_key: str) -> Any | None:
        for ekind, _root, proto in self.widgets:
            if ekind == "button" and proto.id.endswith("-" + user_key):
                return proto
        return None

    def widget_change(self) -> tuple[WidgetState, str] | None:
        """One harmless widget change: a slider, else a number box, else a checkbox; main area first, then sidebar."""
        for area in (MAIN, SIDEBAR):
            found = self._widget_change_in(area)
            if found is not None:
                return found
        return None

    def _widget_change_in(self, area: int) -> tuple[WidgetState, str] | None:
        for wanted in ("slider", "number_input", "checkbox"):
            for ekind, root, proto in self.widgets:
                if ekind != wanted or root != area or proto.disabled or proto.form_id:
                    continue
                state = WidgetState(id=proto.id)
                if ekind == "slider":
                    values = list(proto.value) if proto.set_value else list(proto.default)
                    if len(values) != 1:
                        continue
                    step = proto.step or 1
                    new = values[0] + step if values[0] + step <= proto.max else values[0] - step
                    state.double_array_value.data.append(new)
                    return state, f"slider {proto.label!r} {values[0]} -> {new}"
                if ekind == "number_input":
                    current = proto.value if proto.set_value else proto.default
                    step = proto.step or 1
                    new = current + step
                    if proto.has_max and new > proto.max:
                        new = current - step
                    if proto.data_type == 0:
                        state.int_value = int(new)
                    else:
                        state.double_value = float(new)
                    return state, f"number_input {proto.label!r} {current} -> {new}"
                if ekind == "checkbox":
                    current = proto.value if proto.set_value else proto.default
                    state.bool_value = not current
                    return state, f"checkbox {proto.label!r} {current} -> {not current}"
        return None


# ---------------------------------------------------------------------------------------------
# Server memory from /proc


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                text = fh.read().decode("latin-1")
            ppid = int(text[text.rfind(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
        fields = text[text.rfind(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def tree(pid: int) -> list[int]:
    children = _children_map()
    found, todo = [], [pid]
    for _ in range(10_000):  # bounded walk
        if not todo:
            break
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def busy_cores(seconds: float) -> float:
    """How many cores the whole machine kept busy over the next ``seconds``."""
    busy0, total0 = machine_jiffies()
    time.sleep(seconds)
    busy1, total1 = machine_jiffies()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet(limit_s: float, threshold: float = 0.2, window_s: float = 3.0) -> dict[str, Any]:
    """Wait (at most ``limit_s``) for ``window_s`` seconds in which the machine uses < ``threshold`` cores.

    Another program on the machine would otherwise be measured as the server's slowness.
    """
    started = time.monotonic()
    last = None
    for _ in range(int(limit_s / window_s) + 1):
        last = busy_cores(window_s)
        if last < threshold or time.monotonic() - started >= limit_s:
            break
    return {"waited_s": round(time.monotonic() - started, 1), "busy_cores_before": round(last or 0, 2),
            "quiet": bool(last is not None and last < threshold)}


class MemorySampler:
    """Samples the server's and its descendants' RSS every ``interval`` seconds while running."""

    def __init__(self, pid: int | None, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float, float, int]] = []  # (t, server MB, children MB, #children)
        self.task: asyncio.Task | None = None
        self.cpu_start: float | None = None
        self.cpu_end: float | None = None

    def snapshot(self) -> tuple[float, float, int]:
        if self.pid is None:
            return 0.0, 0.0, 0
        pids = tree(self.pid)
        others = [p for p in pids if p != self.pid]
        return rss_mb(self.pid), sum(rss_mb(p) for p in others), len(others)

    def cpu(self) -> float:
        """CPU seconds of the server process itself (children come and go: the fit worker is recycled)."""
        return cpu_seconds(self.pid) if self.pid else 0.0

    async def _loop(self, limit_s: float) -> None:
        started = now()
        while now() - started < limit_s:
            server, children, count = self.snapshot()
            self.samples.append((now() - started, server, children, count))
            await asyncio.sleep(self.interval)

    def _tree_cpu(self) -> dict[int, float]:
        return {p: cpu_seconds(p) for p in tree(self.pid)} if self.pid else {}

    def start(self, limit_s: float = 3600) -> None:
        self.machine_start = machine_jiffies()
        self.wall_start = now()
        self.client_start = _client_cpu()
        self.tree_start = self._tree_cpu()
        if self.pid is not None:
            self.cpu_start = self.cpu()
            self.samples.append((0.0, *self.snapshot()))
            self.task = asyncio.create_task(self._loop(limit_s))

    async def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except BaseException:
                pass
        if self.pid is None or not self.samples:
            return {}
        self.cpu_end = self.cpu()
        server, children, count = self.snapshot()
        # Whole-machine CPU during the run, and how much of it was neither the server (with its
        # children) nor this client: another program competing for the same cores.
        busy1, total1 = machine_jiffies()
        busy0, total0 = self.machine_start
        wall = now() - self.wall_start
        tick = os.sysconf("SC_CLK_TCK")
        machine_busy_s = (busy1 - busy0) / tick
        tree_end = self._tree_cpu()
        tree_s = sum(v - self.tree_start.get(p, 0.0) for p, v in tree_end.items())
        client_s = _client_cpu() - self.client_start
        foreign_s = max(0.0, machine_busy_s - tree_s - client_s)
        return {
            "server_mb_before": round(self.samples[0][1], 1),
            "children_mb_before": round(self.samples[0][2], 1),
            "server_mb_peak": round(max(s[1] for s in self.samples), 1),
            "children_mb_peak": round(max(s[2] for s in self.samples), 1),
            "total_mb_peak": round(max(s[1] + s[2] for s in self.samples), 1),
            "server_mb_after": round(server, 1),
            "children_mb_after": round(children, 1),
            "children_after": count,
            "server_cpu_s": round((self.cpu_end or 0) - (self.cpu_start or 0), 1),
            "server_tree_cpu_s": round(tree_s, 1),
            "client_cpu_s": round(client_s, 1),
            "machine_busy_cores": round(machine_busy_s / max(wall, 1e-9), 2),
            "foreign_cpu_s": round(foreign_s, 1),
            "foreign_cores": round(foreign_s / max(wall, 1e-9), 2),
        }


# ---------------------------------------------------------------------------------------------
# Statistics


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(values: list[float]) -> dict[str, float | None]:
    rounded = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {
        "n": len(values),
        "median": rounded(statistics.median(values)) if values else None,
        "p95": rounded(pct(values, 0.95)),
        "max": rounded(max(values)) if values else None,
        "min": rounded(min(values)) if values else None,
    }


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# Scenarios


async def discover_pages(url: str, timeout: float) -> list[str]:
    student = Student(url, "probe", timeout=timeout)
    await student.connect("/")
    try:
        run = await student.open_url("/")
        if run.error:
            raise RuntimeError(run.error)
        return [path for path in student.pages if path]
    finally:
        await student.close()


async def one_student(url: str, index: int, page: str, start_at: float, *, change: bool, timeout: float,
                      fetch_html: bool, assets: list[str] | None = None) -> dict[str, Any]:
    await asyncio.sleep(max(0.0, start_at - now()))
    student = Student(url, f"s{index}", timeout=timeout, fetch_html=fetch_html, assets=assets)
    record: dict[str, Any] = {"student": index, "page": page, "start": round(start_at, 3)}
    try:
        record["connect_s"] = round(await student.connect("/"), 4)
        if assets:
            record["assets_s"] = round(student.assets_s or 0, 4)
            record["assets_bytes"] = student.assets_bytes
        home = await student.open_url("/", label="home")
        record["home"] = home.summary()
        if home.error:
            return record
        topic = await student.navigate(page, label=page)
        record["topic"] = topic.summary()
        if change and not topic.error:
            chosen = student.widget_change()
            if chosen is None:
                record["change"] = {"skipped": "no slider/number/checkbox in the main area"}
            else:
                state, what = chosen
                run = await student.send_widgets([state], label=f"change {page}")
                record["change"] = {**run.summary(), "what": what}
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {error}"
    finally:
        record["closed_reason"] = student.closed_reason
        await student.close()
    return record


def load_asset_list(path: str) -> list[str]:
    """Static paths a cold Chromium fetched: a JSON list of paths, or a capture_chromium.py capture."""
    data = json.load(open(path))
    if isinstance(data, dict):
        urls = [r["url"] for r in data.get("requests", []) if r.get("url", "").startswith("http")]
        paths = []
        for url in urls:
            path = urlsplit(url).path
            if (path.startswith("/static/") or path == "/favicon.png") and path not in paths:
                paths.append(path)
        return paths
    return list(data)


def _run_stats(records: list[dict], key: str) -> dict[str, Any]:
    runs = [r[key] for r in records if isinstance(r.get(key), dict) and "finished_s" in r[key]]
    done = [run["finished_s"] for run in runs if run.get("finished_s") is not None and not run.get("error")]
    return {
        **describe(done),
        "failed": len([r for r in records if not isinstance(r.get(key), dict) or r[key].get("error") or r[key].get("finished_s") is None]),
        "exceptions": sum(len(run.get("exceptions", [])) for run in runs),
        "error_boxes": sum(len(run.get("error_boxes", [])) for run in runs),
        "deltas_median": statistics.median([run["deltas"] for run in runs]) if runs else None,
    }


async def scenario_load(args: argparse.Namespace) -> dict[str, Any]:
    pages = args.pages.split(",") if args.pages else await discover_pages(args.url, args.timeout)
    assets = load_asset_list(args.assets) if args.assets else None
    sampler = MemorySampler(args.server_pid)
    await asyncio.sleep(args.settle)
    sampler.start()
    client_cpu = _client_cpu()
    started = now()
    records: list[dict] = []
    walls: list[float] = []
    for round_index in range(args.rounds):  # each round: N students start evenly within --spread seconds
        if round_index:
            await asyncio.sleep(args.round_pause)
        round_started = now()
        base = round_started + 0.05
        offset = round_index * args.students
        tasks = [
            one_student(args.url, offset + i, pages[(offset + i) % len(pages)],
                        base + (args.spread * i / max(args.students, 1)),
                        change=not args.no_change, timeout=args.timeout, fetch_html=not args.no_html,
                        assets=assets)
            for i in range(args.students)
        ]
        wave = await asyncio.gather(*tasks)
        for record in wave:
            record["round"] = round_index
        records.extend(wave)
        walls.append(round(now() - round_started, 2))
    wall = now() - started
    memory = await sampler.stop()
    connect = [r["connect_s"] for r in records if "connect_s" in r]
    per_page: dict[str, list[float]] = {}
    for r in records:
        t = r.get("topic") or {}
        if t.get("finished_s") is not None and not t.get("error"):
            per_page.setdefault(r["page"], []).append(t["finished_s"])
    problems = []
    for r in records:
        for key in ("home", "topic", "change"):
            run = r.get(key) or {}
            for exc in run.get("exceptions", []):
                problems.append(f"s{r['student']} {key} {r['page']}: exception {exc}")
            for box in run.get("error_boxes", []):
                problems.append(f"s{r['student']} {key} {r['page']}: st.error {box}")
            if run.get("error"):
                problems.append(f"s{r['student']} {key} {r['page']}: {run['error']}")
        if r.get("error"):
            problems.append(f"s{r['student']}: {r['error']}")
    summary = {
        "scenario": "load",
        "url": args.url,
        "students": args.students,
        "spread_s": args.spread,
        "pages": pages,
        "rounds": args.rounds,
        "wall_s": round(wall, 2),
        "round_wall_s": walls,
        "connect": describe(connect),
        "assets": ({"files": len(assets), "per_student_mb": round(max((r.get("assets_bytes", 0) for r in records), default=0) / 1e6, 2),
                    **describe([r["assets_s"] for r in records if "assets_s" in r])} if assets else None),
        "home": _run_stats(records, "home"),
        "topic": _run_stats(records, "topic"),
        "change": _run_stats([r for r in records if isinstance(r.get("change"), dict) and "finished_s" in r["change"]], "change"),
        "topic_by_page": {page: describe(values) for page, values in per_page.items()},
        "memory": memory,
        "client_cpu_s": round(_client_cpu() - client_cpu, 1),
        "problems": problems[:50],
        "problem_count": len(problems),
    }
    return {"summary": summary, "students": records}


def train_query(units: int, extra: str) -> str:
    query = f"units_choice=other&units_other={units}"
    return query + ("&" + extra if extra else "")


async def trainer(url: str, index: int, page: str, query: str, button: str, gate: asyncio.Event,
                  ready: list, timeout: float) -> dict[str, Any]:
    student = Student(url, f"t{index}", timeout=timeout)
    record: dict[str, Any] = {"student": index, "query": query}
    try:
        record["connect_s"] = round(await student.connect("/" + page), 4)
        opened = await student.open_url("/" + page, query, label=f"open {page}")
        record["open"] = opened.summary()
        proto = student.find_button(button)
        if proto is None:
            record["error"] = f"no {button!r} button on the page"
            ready.append(index)
            return record
        record["button_disabled"] = proto.disabled
        ready.append(index)
        await gate.wait()
        clicked = await student.send_widgets([WidgetState(id=proto.id, trigger_value=True)], label="train click")
        record["click"] = clicked.summary()
        record["clicked_at"] = clicked.sent_at
        record["wait_s"] = clicked.finished_s
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {error}"
        if index not in ready:
            ready.append(index)
    finally:
        record["closed_reason"] = student.closed_reason
        await student.close()
    return record


async def scenario_train(args: argparse.Namespace) -> dict[str, Any]:
    sampler = MemorySampler(args.server_pid)
    sampler.start()
    gate = asyncio.Event()
    ready: list[int] = []
    queries = [train_query(args.units_start + i, args.extra_query) for i in range(args.students)]
    tasks = [asyncio.create_task(trainer(args.url, i, args.page, queries[i], args.button, gate, ready, args.timeout))
             for i in range(args.students)]
    deadline = now() + args.timeout
    while len(ready) < args.students and now() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(args.settle)  # the page starts the fit worker on load; a student reads before clicking
    server, children, count = sampler.snapshot()

    gate.set()
    records = await asyncio.gather(*tasks)
    memory = await sampler.stop()
    waits = sorted(r["wait_s"] for r in records if r.get("wait_s") is not None)
    order = sorted(((r["wait_s"], r["student"]) for r in records if r.get("wait_s") is not None))
    problems = []
    for r in records:
        for key in ("open", "click"):
            run = r.get(key) or {}
            problems += [f"t{r['student']} {key}: exception {e}" for e in run.get("exceptions", [])]
            problems += [f"t{r['student']} {key}: st.error {e}" for e in run.get("error_boxes", [])]
            if run.get("error"):
                problems.append(f"t{r['student']} {key}: {run['error']}")
        if r.get("error"):
            problems.append(f"t{r['student']}: {r['error']}")
        if r.get("button_disabled"):
            problems.append(f"t{r['student']}: Train was disabled (settings already cached)")
        click = r.get("click") or {}
        if click and not click.get("success_boxes"):
            problems.append(f"t{r['student']}: no 'Trained ...' success box after the click")
    summary = {
        "scenario": "train",
        "students": args.students,
        "queries": queries,
        "worker_processes_at_click": count,
        "children_mb_at_click": round(children, 1),
        "first_wait_s": waits[0] if waits else None,
        "last_wait_s": waits[-1] if waits else None,
        "waits_s": [round(w, 2) for w in waits],
        "order": order,
        "waiting_notice_seen": sum(1 for r in records if (r.get("click") or {}).get("waiting_notice")),
        "memory": memory,
        "problems": problems,
    }
    return {"summary": summary, "students": records}


async def scenario_starve(args: argparse.Namespace) -> dict[str, Any]:
    sampler = MemorySampler(args.server_pid)
    sampler.start()
    idle: list[Student] = []
    result: dict[str, Any] = {}
    try:
        # 1. M idle students: connected, home page loaded, then nothing.
        for i in range(args.idle):
            student = Student(args.url, f"idle{i}", timeout=args.timeout)
            await student.connect("/")
            idle.append(student)
        idle_runs = await asyncio.gather(*(s.open_url("/", label="home") for s in idle))
        result["idle_home"] = describe([r.finished_s for r in idle_runs if r.finished_s is not None])
        result["idle_failed"] = [r.error for r in idle_runs if r.error]
        await asyncio.sleep(args.settle)

        async def loaders(tag: str, stop_when: asyncio.Task | None = None) -> list[dict]:
            """``--waves`` waves of ``--loaders`` students (each wave starts within ``--spread`` s)."""
            records: list[dict] = []
            for wave in range(args.waves):
                if stop_when is not None and stop_when.done():
                    break  # the training ended: later waves would not be "during" it
                base = now() + 0.05
                batch = await asyncio.gather(*(
                    one_student(args.url, 1000 + wave * args.loaders + i, args.loader_page,
                                base + args.spread * i / max(args.loaders, 1),
                                change=False, timeout=args.timeout, fetch_html=True)
                    for i in range(args.loaders)))
                for record in batch:
                    record["wave"] = wave
                    record["training_running_at_end"] = stop_when is not None and not stop_when.done()
                records.extend(batch)
                await asyncio.sleep(args.wave_pause)
            return records

        # 2. Baseline: the same loaders with nobody training.
        baseline = await loaders("baseline")
        result["baseline_topic"] = _run_stats(baseline, "topic")
        await asyncio.sleep(args.settle)

        # 3. One student trains; once its progress shows an epoch running, the loaders come in.
        trainer_student = Student(args.url, "trainer", timeout=args.timeout)
        await trainer_student.connect("/" + args.page)
        query = train_query(args.units, args.extra_query)
        opened = await trainer_student.open_url("/" + args.page, query)
        button = trainer_student.find_button(args.button)
        if button is None or button.disabled:
            result["error"] = f"train button missing or disabled (cached?) for {query}: {opened.summary()}"
            await trainer_student.close()
            return result
        await asyncio.sleep(args.settle)
        click_task = asyncio.create_task(trainer_student.send_widgets([WidgetState(id=button.id, trigger_value=True)], "train"))
        deadline = now() + args.timeout
        while now() < deadline and not click_task.done():
            run = trainer_student.current
            if run is not None and "Epoch" in run.last_progress_text:
                break
            await asyncio.sleep(0.05)
        training_seen_at = now()
        result["training_epoch_seen_s"] = round(training_seen_at - (trainer_student.current.sent_at if trainer_student.current else training_seen_at), 2)
        tree_before = {p: cpu_seconds(p) for p in tree(args.server_pid)} if args.server_pid else {}
        during = await loaders("during", stop_when=click_task)
        loaders_done_at = now()
        if args.server_pid:
            tree_after = {p: cpu_seconds(p) for p in tree(args.server_pid)}
            span = max(loaders_done_at - training_seen_at, 1e-9)
            result["during_server_cores"] = round((tree_after.get(args.server_pid, 0) - tree_before.get(args.server_pid, 0)) / span, 2)
            result["during_worker_cores"] = round(sum(v - tree_before.get(p, 0.0) for p, v in tree_after.items() if p != args.server_pid) / span, 2)
        during = [r for r in during if r.get("training_running_at_end")]  # only loads that ended while it trained
        click = await click_task
        result["during_topic"] = _run_stats(during, "topic")
        result["during_connect"] = describe([r["connect_s"] for r in during if "connect_s" in r])
        result["baseline_connect"] = describe([r["connect_s"] for r in baseline if "connect_s" in r])
        result["training_total_s"] = click.finished_s
        result["training_finished_after_loaders_s"] = round(click.sent_at + (click.finished_s or 0) - loaders_done_at, 2)
        result["training_success"] = click.success_boxes
        result["training_problems"] = click.exceptions + click.error_boxes + ([click.error] if click.error else [])
        result["during_records"] = during
        result["baseline_records"] = baseline
        await trainer_student.close()
    finally:
        for student in idle:
            await student.close()
        result["memory"] = await sampler.stop()
    result["scenario"] = "starve"
    result["idle"] = args.idle
    result["loaders"] = args.loaders
    return {"summary": {k: v for k, v in result.items() if not k.endswith("_records")}, "details": result}


async def scenario_single(args: argparse.Namespace) -> dict[str, Any]:
    student = Student(args.url, "single", timeout=args.timeout)
    out: dict[str, Any] = {}
    try:
        if args.direct:
            out["connect_s"] = await student.connect("/" + args.page)
            out["open"] = (await student.open_url("/" + args.page, args.query)).summary()
        else:
            out["connect_s"] = await student.connect("/")
            out["home"] = (await student.open_url("/")).summary()
            out["topic"] = (await student.navigate(args.page)).summary()
        out["widgets"] = [(k, r, p.id) for k, r, p in student.widgets]
        if args.change:
            chosen = student.widget_change()
            if chosen:
                out["change"] = {**(await student.send_widgets([chosen[0]], "change")).summary(), "what": chosen[1]}
    finally:
        await student.close()
    return out


def _capture_runs(path: str) -> list[dict]:
    """Split a capture_chromium.py JSON into runs: element counts between each sent rerun and its finish."""
    events = json.load(open(path))["events"]
    runs: list[dict] = []
    current: dict | None = None
    for event in events:
        if event["dir"] == "sent" and "rerunScript" in event.get("msg", {}):
            current = {"deltas": 0, "elements": {}, "bytes": 0, "messages": 0}
            runs.append(current)
        elif event["dir"] == "recv" and current is not None:
            current["messages"] += 1
            current["bytes"] += event.get("bytes", 0)
            if event.get("type") == "delta":
                current["deltas"] += 1
                key = event.get("element") or event.get("delta")
                current["elements"][key] = current["elements"].get(key, 0) + 1
            if event.get("type") == "script_finished" and event.get("status") != "FINISHED_EARLY_FOR_RERUN":
                current["status"] = event.get("status")
                current = None
    return runs


async def scenario_compare(args: argparse.Namespace) -> dict[str, Any]:
    browser_runs = _capture_runs(args.capture)
    mine = await scenario_single(args)
    keys = ["open"] if args.direct else ["home", "topic"]
    if args.change:
        keys.append("change")
    rows = []
    for key, browser in zip(keys, browser_runs):
        own = mine.get(key) or {}
        rows.append({
            "run": key,
            "browser_status": browser.get("status"), "client_status": own.get("status"),
            "browser_deltas": browser["deltas"], "client_deltas": own.get("deltas"),
            "browser_bytes": browser["bytes"], "client_bytes": own.get("bytes"),
            "element_diff": {k: (browser["elements"].get(k, 0), own.get("elements", {}).get(k, 0))
                             for k in sorted(set(browser["elements"]) | set(own.get("elements", {})))
                             if browser["elements"].get(k, 0) != own.get("elements", {}).get(k, 0)},
        })
    return {"comparison": rows, "client": mine}


# ---------------------------------------------------------------------------------------------


def print_summary(result: dict[str, Any]) -> None:
    summary = result.get("summary", result)
    print(json.dumps(summary, indent=1, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default="http://127.0.0.1:8501")
    common.add_argument("--timeout", type=float, default=600.0, help="seconds any one wait may take")
    common.add_argument("--server-pid", type=int, help="server PID, to sample its (and children's) RSS from /proc")
    common.add_argument("--out", help="write the full JSON result here")
    common.add_argument("--settle", type=float, default=2.0, help="pause (s) before measuring / clicking")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--quiet-wait", type=float, default=0.0,
                        help="first wait up to this many seconds for the machine to be idle (<0.2 cores for 3 s)")

    load = sub.add_parser("load", parents=[common], help="N students: home, one topic page, one widget change")
    load.add_argument("--students", type=int, default=10)
    load.add_argument("--pages", help="comma-separated URL paths of topic pages (default: all but home)")
    load.add_argument("--spread", type=float, default=1.0, help="students start evenly within this many seconds")
    load.add_argument("--no-change", action="store_true", help="skip the widget change")
    load.add_argument("--no-html", action="store_true", help="skip the GET of the page HTML on connect")
    load.add_argument("--assets", help="cold browser cache: also GET these static files on connect "
                      "(a JSON list of paths, or a capture_chromium.py capture to take /static/ paths from)")
    load.add_argument("--rounds", type=int, default=1, help="repeat the wave; student ids (and pages) keep rotating")
    load.add_argument("--round-pause", type=float, default=3.0, help="seconds between rounds")

    train = sub.add_parser("train", parents=[common], help="K students click Train with different settings at once")
    train.add_argument("--students", type=int, default=4)
    train.add_argument("--page", default="sequence_models")
    train.add_argument("--button", default="train")
    train.add_argument("--units-start", type=int, default=40, help="student i trains units_other=units_start+i")
    train.add_argument("--extra-query", default="", help="more query parameters, e.g. epochs=5")

    starve = sub.add_parser("starve", parents=[common], help="idle students + 1 training + loaders during it")
    starve.add_argument("--idle", type=int, default=25)
    starve.add_argument("--loaders", type=int, default=10)
    starve.add_argument("--loader-page", default="cnn_calculator")
    starve.add_argument("--page", default="sequence_models")
    starve.add_argument("--button", default="train")
    starve.add_argument("--units", type=int, default=60)
    starve.add_argument("--extra-query", default="epochs=20")
    starve.add_argument("--spread", type=float, default=1.0)
    starve.add_argument("--waves", type=int, default=1, help="waves of loaders, in the baseline and during the training")
    starve.add_argument("--wave-pause", type=float, default=1.0)

    single = sub.add_parser("single", parents=[common], help="one student, verbose")
    single.add_argument("--page", default="cnn_calculator")
    single.add_argument("--query", default="")
    single.add_argument("--direct", action="store_true", help="open the page's URL directly (no home first)")
    single.add_argument("--change", action="store_true")

    compare = sub.add_parser("compare", parents=[common], help="compare with a capture_chromium.py capture")
    compare.add_argument("--capture", required=True)
    compare.add_argument("--page", default="cnn_calculator")
    compare.add_argument("--query", default="")
    compare.add_argument("--direct", action="store_true")
    compare.add_argument("--change", action="store_true")

    args = parser.parse_args(argv)
    random.seed(args.seed)
    runner = {"load": scenario_load, "train": scenario_train, "starve": scenario_starve,
              "single": scenario_single, "compare": scenario_compare}[args.scenario]
    quiet = wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
    result = asyncio.run(asyncio.wait_for(runner(args), args.timeout * 3))
    if quiet is not None:
        (result["summary"] if "summary" in result else result)["quiet_wait"] = quiet
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1, default=str)
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

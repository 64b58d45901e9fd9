"""Two app processes behind the shipped nginx configuration, one Dask scheduler, ten simulated students.

This is the README's "more than one Streamlit process" setup on 127.0.0.1: ``deploy/nginx-dllab.conf``
with its ports filled in, two ``streamlit run app.py`` sharing ``DLLAB_CACHE_DIR``, the cookie
secret and a ``dask scheduler`` with one worker. The students are the protocol-level client of
``benchmarks/class_load_client.py`` (a browser's frames, its cookies included).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from scripts.browser import free_port, stop_process_group, streamlit_server

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)"),
]

LOG_FORMAT = '$cookie_dllab_route|$upstream_addr|$status|$request_uri'


def nginx_config(template: str, *, listen: int, backends: list[int], prefix: Path) -> str:
    """The shipped configuration with this test's ports, wrapped in a main file nginx can run as a user."""
    body = template.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    servers = "\n".join(f"    server 127.0.0.1:{port};" for port in backends)
    body = re.sub(r"(    server 127\.0\.0\.1:\d+;\n)+", servers + "\n", body)
    body = body.replace("server {", f"log_format dllab '{LOG_FORMAT}';\nserver {{\n    access_log {prefix / 'access.log'} dllab;", 1)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write the temp files below
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"client_body_temp_path {prefix / 'body'};\nproxy_temp_path {prefix / 'proxy'};\n"
        f"fastcgi_temp_path {prefix / 'fastcgi'};\nuwsgi_temp_path {prefix / 'uwsgi'};\nscgi_temp_path {prefix / 'scgi'};\n"
        f"{body}\n}}\n"
    )


@contextmanager
def process(arguments: list[str], *, log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as output:
        running = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield running
    finally:
        stop_process_group(running)  # the Dask worker's nanny has a child of its own


def wait_for(url: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.25)


def test_two_app_processes_behind_nginx_serve_ten_students_each_on_one_process(tmp_path: Path) -> None:
    scheduler_port, listen = free_port(), free_port()
    scheduler = f"tcp://127.0.0.1:{scheduler_port}"
    shared_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # What the embedded cluster sets for itself (see core.training.executor): fail fast, serve in order.
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    }
    app_env = {
        "DLLAB_DASK_SCHEDULER": scheduler,
        "DLLAB_CACHE_DIR": str(tmp_path / "shared-cache"),
        "STREAMLIT_SERVER_COOKIE_SECRET": "the-same-secret-on-every-process",
    }
    with ExitStack() as stack:
        # `dask scheduler` and `dask worker`, as the README says, through this interpreter.
        stack.enter_context(process(
            [sys.executable, "-m", "distributed.cli.dask_scheduler",
             "--host", "127.0.0.1", "--port", str(scheduler_port), "--dashboard-address", ":0"],
            log=tmp_path / "scheduler.log", env=shared_env,
        ))  # fmt: skip
        stack.enter_context(process(
            [sys.executable, "-m", "distributed.cli.dask_worker", scheduler,
             "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            log=tmp_path / "worker.log", env=shared_env,
        ))  # fmt: skip
        apps = [stack.enter_context(streamlit_server(env=app_env, timeout=180)) for _ in range(2)]
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        template = (ROOT / "deploy" / "nginx-dllab.conf").read_text()
        (prefix / "nginx.conf").write_text(nginx_config(template, listen=listen, backends=[app.port for app in apps], prefix=prefix))
        stack.enter_context(process([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], log=tmp_path / "nginx.log"))
        url = f"http://127.0.0.1:{listen}"
        wait_for(url + "/_stcore/health")

        out = tmp_path / "students.json"
        completed = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "class_load_client.py"), "load", "--url", url,
             "--students", "10", "--timeout", "300", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert out.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
        summary = json.loads(out.read_text())["summary"]
        assert summary["problem_count"] == 0, summary["problems"]
        assert summary["topic"]["n"] == 10 and summary["home"]["n"] == 10 and summary["change"]["failed"] == 0

        # Sticky: every request carrying a student's cookie reached one process, and both processes had students.
        upstreams: dict[str, set[str]] = defaultdict(set)
        for line in (prefix / "access.log").read_text().splitlines():
            route, upstream, _status, uri = line.split("|", 3)
            if route and route != "-":
                upstreams[route].add(upstream)
        assert len(upstreams) >= 10
        assert all(len(served) == 1 for served in upstreams.values()), upstreams
        assert {next(iter(served)) for served in upstreams.values()} == {f"127.0.0.1:{app.port}" for app in apps}
        # The training pages connected to the shared scheduler (the cluster the README describes), not a cluster of their own.
        scheduler_log = (tmp_path / "scheduler.log").read_text()
        assert "Register worker" in scheduler_log and "Receive client connection" in scheduler_log

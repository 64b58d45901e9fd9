"""A classroom mirror: serve the prefetched files, read-only, to every laptop in the room.

``python -m core.prefetch --serve`` calls :func:`serve` with the files prefetch found. Students
set ``DLLAB_MIRROR=http://<instructor's address>:8765/`` and every download (``core.download``)
comes from the instructor's laptop over the room's network instead of 40 laptops each fetching
170 MB from the internet. The checksum of each file is still checked on the student's side, so a
mirror can save bandwidth but never change what a student trains on.

Only the named files are served, by their plain names (``/mnist.npz``): no folder listing, no
other path, no writes. Range requests are answered, so an interrupted download resumes.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_PORT = 8765
CHUNK_BYTES = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class MirrorServer(ThreadingHTTPServer):
    """An HTTP server that knows which files it may serve."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], files: Mapping[str, Path]) -> None:
        self.files = {name: Path(path) for name, path in files.items()}
        super().__init__(address, _MirrorHandler)

    @property
    def url(self) -> str:
        """The mirror's address as seen from this machine (``http://127.0.0.1:8765/`` for a local bind)."""
        host, port = self.server_address[:2]
        shown = host if host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{shown}:{port}/"


class _MirrorHandler(BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server naming
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        payload = (text + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, *, body: bool) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        path = self.server.files.get(name)
        if path is None or not path.is_file():
            # One plain answer for every other path: the mirror names no file it does not serve.
            self._refuse(HTTPStatus.NOT_FOUND, "not served here; this mirror serves only DL Lab's prefetched files")
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        status = HTTPStatus.OK
        wanted = self.headers.get("Range")
        if wanted:
            match = _RANGE.match(wanted.strip())
            if match is None or int(match.group(1)) >= size:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the student's download was interrupted; it resumes with a Range request
                remaining -= len(chunk)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
        pass  # a class of downloads would flood the instructor's terminal


def start(files: Mapping[str, Path], *, host: str = "0.0.0.0", port: int = DEFAULT_PORT) -> MirrorServer:
    """Start serving ``files`` (name -> path) in a background thread; ``port=0`` picks a free port."""
    server = MirrorServer((host, port), files)
    threading.Thread(target=server.serve_forever, name="dllab-mirror", daemon=True).start()
    return server


def room_address() -> str:
    """This machine's address on the room's network (the one other laptops can reach), or 127.0.0.1.

    A UDP "connect" sends nothing: it only asks the kernel which interface would carry the packet.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()

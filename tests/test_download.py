"""The one download path against an HTTP server on 127.0.0.1: mirror, progress, checksum, resume, failures.

No network: every download comes from a threaded ``http.server`` on a free local port, which
can drop the connection after some bytes, stall, ignore ``Range``, serve the wrong bytes, or be
down. The fixtures are small random bytes, so the tests fetch the real :data:`KNOWN_FILES`
entries (their names, hence their mirror paths) with ``checksum=`` set to the fixture's digest.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import pickle
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core import download
from core.download import (
    KNOWN_FILES,
    MIRROR_ENV,
    ChecksumMismatch,
    DownloadError,
    DownloadProgress,
    RemoteFile,
    SourceUnreachable,
    fetch,
    source_label,
    source_url,
    verify,
)

MNIST = KNOWN_FILES["mnist.npz"]
BODY = os.urandom(600_000)
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


@dataclass
class Served:
    """What the server does for one path; ``drop_after`` and ``stall_after`` apply to the first request only."""

    body: bytes
    honour_range: bool = True
    send_length: bool = True
    drop_after: int | None = None  # announce the whole body, send this many bytes, hang up
    stall_after: int | None = None  # send this many bytes, then go silent for STALL_SECONDS
    redirect_to: str | None = None


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    range: str | None
    status: int = 0
    sent: int = 0


STALL_SECONDS = 1.5


@dataclass
class FileServer:
    """The running server: files by name, the requests it saw, and its address (without a trailing slash)."""

    url: str
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state: FileServer = self.server.state  # type: ignore[attr-defined]
        name = urllib.parse.unquote(self.path.lstrip("/"))
        first = not any(seen.path == name for seen in state.requests)
        seen = Seen(name, self.headers.get("Range"))
        state.requests.append(seen)
        served = state.files.get(name)
        if served is None:
            seen.status = 404
            self.send_error(404)
            return
        if served.redirect_to is not None:
            seen.status = 302
            self.send_response(302)
            self.send_header("Location", served.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, start = served.body, 0
        if seen.range and served.honour_range:
            start = int(seen.range.removeprefix("bytes=").rstrip("-"))
            seen.status = 206
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            seen.status = 200
            self.send_response(200)
        piece = body[start:]
        if served.send_length:
            self.send_header("Content-Length", str(len(piece)))
        self.end_headers()
        if first and served.drop_after is not None:
            piece = piece[: served.drop_after]
        elif first and served.stall_after is not None:
            seen.sent = served.stall_after
            self.wfile.write(piece[: served.stall_after])
            time.sleep(STALL_SECONDS)
            return
        seen.sent = len(piece)  # before writing: the client may finish reading before this thread resumes
        self.wfile.write(piece)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # closing must not wait for a handler that is stalling on purpose

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up on purpose (a refused file) is not a test failure


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A threaded HTTP server on 127.0.0.1 at a free port, set as ``DLLAB_MIRROR`` (no trailing slash)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    state = FileServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv(MIRROR_ENV, state.url)
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------
# Success, progress and the mirror


def test_downloads_through_the_mirror_reporting_progress(server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.files["mnist.npz"] = Served(BODY)
    # Small chunks and no throttle, so even a local transfer reports several times.
    monkeypatch.setattr(download, "CHUNK_BYTES", 64 * 1024)
    monkeypatch.setattr(download, "PROGRESS_INTERVAL_SECONDS", 0.0)
    reports: list[DownloadProgress] = []
    destination = tmp_path / "datasets" / "mnist.npz"

    assert fetch(MNIST, destination, on_progress=reports.append, checksum=BODY_SHA256) == destination

    assert destination.read_bytes() == BODY
    assert _leftovers(destination.parent) == ["mnist.npz"]
    assert [(seen.path, seen.range) for seen in server.requests] == [("mnist.npz", None)]
    assert len(reports) >= 5
    done = [report.done_bytes for report in reports]
    assert done == sorted(done)
    assert reports[-1].done_bytes == reports[-1].total_bytes == len(BODY)
    assert reports[-1].fraction == 1.0
    assert all(report.total_bytes == len(BODY) for report in reports)
    assert {report.source for report in reports} == {f"mirror {server.url}/"}


def test_progress_is_throttled_and_always_ends_with_a_final_report(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY)
    reports: list[DownloadProgress] = []
    fetch(MNIST, tmp_path / "mnist.npz", on_progress=reports.append, checksum=BODY_SHA256)
    assert 1 <= len(reports) <= 2  # one 1 MB read of a local 0.6 MB file: well inside one 0.2 s interval
    assert reports[-1].done_bytes == reports[-1].total_bytes == len(BODY)


def test_a_body_without_content_length_is_accepted(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY, send_length=False)
    destination = fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256)
    assert destination.read_bytes() == BODY


# ---------------------------------------------------------------------------------------------
# Checksum


def test_wrong_bytes_are_refused_naming_the_mirror_and_both_checksums(server: FileServer, tmp_path: Path) -> None:
    wrong = b"not the official file " * 1000
    server.files["mnist.npz"] = Served(wrong)
    destination = tmp_path / "datasets" / "mnist.npz"

    with pytest.raises(ChecksumMismatch) as caught:
        fetch(MNIST, destination, checksum=BODY_SHA256)

    message = str(caught.value)
    assert f"mirror {server.url}/" in message
    assert BODY_SHA256 in message and hashlib.sha256(wrong).hexdigest() in message
    assert "nothing was kept" in message
    assert "MNIST (mnist.npz)" in message and MNIST.by_hand in message
    assert caught.value.expected == BODY_SHA256
    assert str(pickle.loads(pickle.dumps(caught.value))) == message  # intact when raised in a Dask worker
    assert _leftovers(destination.parent) == []  # neither mnist.npz nor .mnist.npz.part


def test_md5_checksums_are_checked_too(server: FileServer, tmp_path: Path) -> None:
    weights = KNOWN_FILES["vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    server.files[weights.name] = Served(BODY)
    assert fetch(weights, tmp_path / weights.name, checksum=hashlib.md5(BODY).hexdigest()).read_bytes() == BODY
    with pytest.raises(ChecksumMismatch, match="MD5"):
        fetch(weights, tmp_path / "other" / weights.name)  # the official MD5, which random bytes do not have
    assert _leftovers(tmp_path / "other") == []


# ---------------------------------------------------------------------------------------------
# Interruptions


def test_a_dropped_connection_is_resumed_with_a_range_request(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY, drop_after=250_000)
    reports: list[DownloadProgress] = []

    destination = fetch(MNIST, tmp_path / "mnist.npz", on_progress=reports.append, checksum=BODY_SHA256)

    assert destination.read_bytes() == BODY
    first, second = server.requests
    assert (first.range, first.sent) == (None, 250_000)
    assert (second.range, second.status) == ("bytes=250000-", 206)
    assert second.sent == len(BODY) - 250_000 < len(BODY)
    assert reports[-1].done_bytes == len(BODY)
    assert _leftovers(tmp_path) == ["mnist.npz"]


def test_a_server_that_ignores_range_starts_again_from_zero(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY, drop_after=250_000, honour_range=False)

    destination = fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256)

    assert destination.read_bytes() == BODY
    assert [(seen.range, seen.status, seen.sent) for seen in server.requests] == [
        (None, 200, 250_000),
        ("bytes=250000-", 200, len(BODY)),
    ]


def test_without_content_length_the_known_size_tells_a_drop_from_the_end(server: FileServer, tmp_path: Path) -> None:
    sized = RemoteFile("sized.bin", "https://example.org/sized.bin", BODY_SHA256, "a sized file", "copy it by hand", size=len(BODY))
    server.files["sized.bin"] = Served(BODY, drop_after=250_000, send_length=False)

    assert fetch(sized, tmp_path / "sized.bin").read_bytes() == BODY
    assert [seen.range for seen in server.requests] == [None, "bytes=250000-"]


def test_a_stalled_connection_times_out_and_resumes(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY, stall_after=100_000)

    destination = fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256, timeout=0.3)

    assert destination.read_bytes() == BODY
    assert [seen.range for seen in server.requests] == [None, "bytes=100000-"]


def test_the_last_failed_attempt_leaves_nothing_behind(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY, drop_after=250_000)
    with pytest.raises(DownloadError, match="tried once") as caught:
        fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256, attempts=1)
    assert "after 250,000 of 600,000 bytes" in str(caught.value)
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Failures that are not worth retrying


def test_a_server_that_is_down_fails_fast_with_the_by_hand_instruction(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{closed_port}/")
    started = time.monotonic()

    with pytest.raises(SourceUnreachable) as caught:
        fetch(MNIST, tmp_path / "datasets" / "mnist.npz", checksum=BODY_SHA256)

    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert f"nothing answered at 127.0.0.1:{closed_port}" in message
    assert f"http://127.0.0.1:{closed_port}/mnist.npz" in message
    assert MNIST.by_hand in message
    assert type(pickle.loads(pickle.dumps(caught.value))) is SourceUnreachable
    assert _leftovers(tmp_path / "datasets") == []


def test_a_missing_file_is_one_request_and_a_plain_reason(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="no such file"):
        fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256)
    assert len(server.requests) == 1
    assert _leftovers(tmp_path) == []


def test_more_bytes_than_the_file_can_be_are_refused(server: FileServer, tmp_path: Path) -> None:
    small = RemoteFile("small.bin", "https://example.org/small.bin", BODY_SHA256, "a small file", "copy it by hand", size=1000)
    server.files["small.bin"] = Served(BODY)
    with pytest.raises(DownloadError, match="more than the 2,000"):
        fetch(small, tmp_path / "small.bin")
    server.files["small.bin"] = Served(BODY, send_length=False)  # found while streaming, not from the header
    with pytest.raises(DownloadError, match="more than the 2,000"):
        fetch(small, tmp_path / "small.bin")
    assert _leftovers(tmp_path) == []


def test_redirects_are_followed_only_to_http(server: FileServer, tmp_path: Path) -> None:
    server.files["real.npz"] = Served(BODY)
    server.files["mnist.npz"] = Served(b"", redirect_to="/real.npz")
    assert fetch(MNIST, tmp_path / "mnist.npz", checksum=BODY_SHA256).read_bytes() == BODY

    server.files["mnist.npz"] = Served(b"", redirect_to="file:///etc/passwd")
    with pytest.raises(DownloadError, match="not followed"):
        fetch(MNIST, tmp_path / "elsewhere" / "mnist.npz", checksum=BODY_SHA256)
    assert _leftovers(tmp_path / "elsewhere") == []


# ---------------------------------------------------------------------------------------------
# What is already there


def test_a_good_file_in_place_is_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    destination = tmp_path / "mnist.npz"
    destination.write_bytes(BODY)
    assert fetch(MNIST, destination, checksum=BODY_SHA256) == destination
    assert server.requests == []


def test_a_corrupt_file_in_place_is_replaced(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY)
    destination = tmp_path / "mnist.npz"
    destination.write_bytes(BODY[:1000])
    assert fetch(MNIST, destination, checksum=BODY_SHA256).read_bytes() == BODY
    assert len(server.requests) == 1
    assert _leftovers(tmp_path) == ["mnist.npz"]


# ---------------------------------------------------------------------------------------------
# Sources, progress text, checksums


@pytest.mark.parametrize("mirror", ["http://10.0.0.5:8765", "http://10.0.0.5:8765/", "  http://10.0.0.5:8765/ "])
def test_the_mirror_replaces_the_origin_under_the_same_name(mirror: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, mirror)
    assert source_url(MNIST) == "http://10.0.0.5:8765/mnist.npz"
    assert source_label(MNIST) == "mirror http://10.0.0.5:8765/"


def test_a_mirror_in_a_subfolder_keeps_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, "https://lab.example.edu/dllab")
    assert source_url(KNOWN_FILES["cifar-10-python.tar.gz"]) == "https://lab.example.edu/dllab/cifar-10-python.tar.gz"


@pytest.mark.parametrize("unset", [None, "", "   "])
def test_without_a_mirror_files_come_from_their_origin(unset: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if unset is None:
        monkeypatch.delenv(MIRROR_ENV, raising=False)
    else:
        monkeypatch.setenv(MIRROR_ENV, unset)
    assert source_url(MNIST) == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert source_label(MNIST) == "origin storage.googleapis.com"
    assert source_label(KNOWN_FILES["cifar-10-python.tar.gz"]) == "origin www.cs.toronto.edu"


def test_a_mirror_that_is_not_http_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MIRROR_ENV, "ftp://10.0.0.5/")
    with pytest.raises(ValueError, match=MIRROR_ENV):
        source_url(MNIST)
    with pytest.raises(DownloadError, match="not an http:// address"):
        fetch(MNIST, tmp_path / "mnist.npz")


def test_progress_reads_as_mb_done_total_and_speed() -> None:
    progress = DownloadProgress(12_300_000, 170_498_071, 3.0, "origin www.cs.toronto.edu")
    assert progress.describe() == "12.3 of 170.5 MB, 4.1 MB/s"
    assert progress.fraction == pytest.approx(12_300_000 / 170_498_071)
    assert DownloadProgress(2_500_000, None, 0.5, "x").describe() == "2.5 MB, 5.0 MB/s"
    assert DownloadProgress(2_500_000, None, 0.5, "x").fraction is None
    assert DownloadProgress(0, 1000, 0.0, "x").describe() == "0.0 of 0.0 MB"


def test_known_files_have_official_checksums_of_the_right_length() -> None:
    lengths = {"sha256": 64, "md5": 32}
    assert set(KNOWN_FILES) == {
        "mnist.npz",
        "cifar-10-python.tar.gz",
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "imagenet_class_index.json",
        "free-spoken-digit-dataset-1.0.9.tar.gz",
        "flower_photos.tgz",
    }
    for name, remote in KNOWN_FILES.items():
        assert remote.name == name and remote.origin.startswith("https://")
        # GitHub names a tag's archive after the tag alone; the mirror's name says which dataset it is.
        origin_name = "v1.0.9.tar.gz" if name.startswith("free-spoken-digit-dataset") else name
        assert remote.origin.endswith("/" + origin_name)
        assert len(remote.checksum) == lengths[remote.algorithm]
        assert remote.checksum == remote.checksum.lower()
        # Every size is the published file's, except the class names', which no source states.
        assert (remote.size or name == "imagenet_class_index.json") and remote.by_hand and remote.what
    # Keras lists SHA-256 for its datasets and MD5 for the VGG16 weights; TensorFlow Datasets lists SHA-256.
    assert [remote.algorithm for remote in KNOWN_FILES.values()] == ["sha256", "sha256", "md5", "md5", "md5", "sha256", "sha256"]


def test_known_files_agree_with_the_loaders_and_prefetch() -> None:
    from core import prefetch
    from core.datasets import audio, mnist
    from core.transfer import weights

    assert KNOWN_FILES[mnist.NPZ_FILE].origin == prefetch.MNIST_ORIGIN
    assert KNOWN_FILES["cifar-10-python.tar.gz"].origin == prefetch.CIFAR_ORIGIN
    notop, full = KNOWN_FILES[weights.NOTOP_WEIGHTS_FILE], KNOWN_FILES[weights.FULL_WEIGHTS_FILE]
    assert notop.origin == weights.WEIGHTS_ORIGIN_FOLDER + weights.NOTOP_WEIGHTS_FILE
    assert full.origin == weights.WEIGHTS_ORIGIN_FOLDER + weights.FULL_WEIGHTS_FILE
    assert notop.checksum == weights._NOTOP_MD5
    assert notop.size > weights.NOTOP_MIN_BYTES and full.size > weights.FULL_MIN_BYTES
    assert KNOWN_FILES[audio.FSDD_ARCHIVE_NAME].origin == audio.FSDD_ORIGIN == prefetch.FSDD_ORIGIN
    assert KNOWN_FILES["flower_photos.tgz"].origin == prefetch.FLOWERS_ORIGIN
    # Every known file is prefetched and served; the class names come with the full weights' item.
    assert {item.remote for item in prefetch.ITEMS if item.remote} | {"imagenet_class_index.json"} == set(KNOWN_FILES)


def test_verify_streams_sha256_and_md5(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(BODY)
    assert verify(path, BODY_SHA256)
    assert verify(path, hashlib.md5(BODY).hexdigest().upper())
    assert not verify(path, hashlib.sha256(b"other").hexdigest())
    assert not verify(tmp_path / "missing.bin", BODY_SHA256)
    with pytest.raises(ValueError, match="64 hex digits"):
        verify(path, "abc")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "sub/mnist.npz"}, "plain file name"),
        ({"origin": "ftp://example.org/mnist.npz"}, "http"),
        ({"checksum": "12345"}, "hex digest"),
        ({"size": 0}, "positive"),
    ],
)
def test_remote_files_check_their_fields(changes: dict[str, object], message: str) -> None:
    fields = {"name": "mnist.npz", "origin": MNIST.origin, "checksum": BODY_SHA256, "what": "MNIST", "by_hand": "copy it"}
    with pytest.raises(ValueError, match=message):
        RemoteFile(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_destination_that_cannot_be_written_is_a_download_error(server: FileServer, tmp_path: Path) -> None:
    server.files["mnist.npz"] = Served(BODY)
    (tmp_path / "datasets").write_text("a file where the folder should be")
    with pytest.raises(DownloadError, match="could not write the file on this machine"):
        fetch(MNIST, tmp_path / "datasets" / "mnist.npz", checksum=BODY_SHA256)

"""The one download path: a file from its official origin or a classroom mirror, checked, resumed, atomic.

Every file the app downloads (MNIST, CIFAR-10, FSDD, VGG16's weights, an image archive) goes
through :func:`fetch`:

- with ``DLLAB_MIRROR=http://host:port/`` set, the file comes from ``<mirror><name>`` instead of
  its official origin, so a class downloads from the instructor's laptop;
- the bytes stream into ``.<name>.part`` beside the destination, reporting
  :class:`DownloadProgress` (MB done, total, speed) as they arrive;
- a dropped connection is resumed with an HTTP ``Range`` request (or restarted when the server
  ignores it), a few times with a short pause;
- the whole file must match the official checksum (SHA-256, or the MD5 Keras lists for VGG16's
  weights); a file that does not is refused and nothing is kept;
- only a verified file is moved into place, atomically, so a failed or corrupt download never
  leaves anything half-written where the loaders look.

Failures raise :class:`DownloadError`, whose message names the file, the address tried, the
reason in plain words and where to put the file by hand.

This module is a leaf (standard library only): the loaders, prefetch and the mirror import it,
so it must not import them back. The official names and origins are therefore stated here, and
a test checks they agree with the loaders' own constants.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MIRROR_ENV = "DLLAB_MIRROR"
CHUNK_BYTES = 1 << 20
PROGRESS_INTERVAL_SECONDS = 0.2
# Pauses before the 2nd, 3rd, ... attempt: long enough for a Wi-Fi hiccup, short enough for tests.
RETRY_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0)
# A refused connection means nothing listens there; retrying more than once only makes the page wait.
REFUSED_RETRIES = 1
# Without a known size, no file we fetch is anywhere near this; it stops a hostile mirror filling the disk.
MAX_UNKNOWN_SIZE_BYTES = 2 * 1024**3
SIZE_MARGIN = 2
ALLOWED_SCHEMES = ("http", "https")
_ALGORITHM_BY_HEX_LENGTH = {64: "sha256", 32: "md5"}
_HEX_DIGITS = frozenset("0123456789abcdef")
_USER_AGENT = "DL-Lab-download/1"
_MEGABYTE = 1_000_000


def checksum_algorithm(checksum: str) -> str:
    """``"sha256"`` for 64 hex digits, ``"md5"`` for 32; a ``ValueError`` for anything else."""
    text = checksum.strip().lower()
    algorithm = _ALGORITHM_BY_HEX_LENGTH.get(len(text))
    if algorithm is None or not set(text) <= _HEX_DIGITS:
        raise ValueError(
            f"checksum {checksum!r} is not a hex digest: expected 64 hex digits (SHA-256) or 32 (MD5)"
        )
    return algorithm


@dataclass(frozen=True)
class RemoteFile:
    """A file the app can download: its name (also its path under a mirror), official origin and checksum."""

    name: str
    origin: str
    checksum: str
    what: str
    by_hand: str
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"name {self.name!r} must be a plain file name (it is also the path under a mirror)")
        if urllib.parse.urlsplit(self.origin).scheme not in ALLOWED_SCHEMES:
            raise ValueError(f"origin {self.origin!r} must be an http:// or https:// address")
        checksum_algorithm(self.checksum)
        if self.size is not None and self.size <= 0:
            raise ValueError(f"size must be a positive number of bytes or None, not {self.size!r}")

    @property
    def algorithm(self) -> str:
        """The hash the checksum is for: ``"sha256"`` or ``"md5"``."""
        return checksum_algorithm(self.checksum)


# ---------------------------------------------------------------------------------------------
# The files whose official checksum we know: Keras' own ``file_hash`` values (keras 3.15,
# keras/src/datasets/{mnist,cifar10}.py and keras/src/applications/vgg16.py). Sizes are the
# Content-Length the origins send.

MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
VGG16_ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"

MNIST = RemoteFile(
    name="mnist.npz",
    origin=MNIST_ORIGIN,
    checksum="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    what="MNIST",
    by_hand=f"put mnist.npz (from {MNIST_ORIGIN}) in the data directory, or at $KERAS_HOME/datasets/mnist.npz",
    size=11_490_434,
)
CIFAR10 = RemoteFile(
    name="cifar-10-python.tar.gz",
    origin=CIFAR10_ORIGIN,
    checksum="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    what="CIFAR-10",
    by_hand=(
        f"download {CIFAR10_ORIGIN}, extract it and put its cifar-10-batches-py/ folder in the data directory, "
        "or at $KERAS_HOME/datasets/cifar-10-batches-py/"
    ),
    size=170_498_071,
)
VGG16_NOTOP_WEIGHTS = RemoteFile(
    name="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    origin=VGG16_ORIGIN_FOLDER + "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    checksum="6d6bbae143d832006294945121d1f1fc",
    what="VGG16 ImageNet weights (no top)",
    by_hand=(
        f"download {VGG16_ORIGIN_FOLDER}vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 to "
        "$KERAS_HOME/models/ (or anywhere, and set DLLAB_VGG16_WEIGHTS to its path)"
    ),
    size=58_889_256,
)
VGG16_FULL_WEIGHTS = RemoteFile(
    name="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    origin=VGG16_ORIGIN_FOLDER + "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    checksum="64373286793e3c8b2b4e3219cbf3544b",
    what="VGG16 ImageNet weights (full)",
    by_hand=f"download {VGG16_ORIGIN_FOLDER}vgg16_weights_tf_dim_ordering_tf_kernels.h5 to $KERAS_HOME/models/",
    size=553_467_096,
)

# The two archives Keras has no checksum for: TensorFlow Datasets' (tensorflow_datasets/datasets/
# {spoken_digit,tf_flowers}/checksums.tsv), with their sizes from the same lines.

# FSDD release 1.0.9 (2,500 recordings, 5 speakers), not the newer 1.0.10 (3,000, 6 speakers): it
# is the only release whose archive has a published checksum, and without one a mirror could not be
# checked. GitHub builds tag archives on request; if it ever builds different bytes, the download is
# refused with the checksum named, never used unchecked.
FSDD_ORIGIN = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/v1.0.9.tar.gz"
# TFDS lists http://download.tensorflow.org/...; that host is this storage bucket, reached here over https.
FLOWERS_ORIGIN = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"

FSDD = RemoteFile(
    # Named by release: the origin's own name (v1.0.9.tar.gz) would say nothing in a mirror's folder.
    name="free-spoken-digit-dataset-1.0.9.tar.gz",
    origin=FSDD_ORIGIN,
    checksum="8bc44cde129d505cbbb6b365c09f80c663f2aa77578afc634e6141a2f87100c0",
    what="FSDD (the Free Spoken Digit Dataset, release 1.0.9)",
    by_hand=(
        f"download {FSDD_ORIGIN}, extract it and put its recordings/ folder in the data directory as fsdd/recordings/, "
        "or at $KERAS_HOME/datasets/fsdd/recordings/"
    ),
    size=11_975_353,
)
FLOWERS = RemoteFile(
    name="flower_photos.tgz",
    origin=FLOWERS_ORIGIN,
    checksum="4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
    what="TensorFlow's flower photos",
    by_hand=(
        f"download {FLOWERS_ORIGIN}, extract it and put its flower_photos/ folder (one subfolder per class) in the "
        "data directory, or at $KERAS_HOME/datasets/flower_photos/"
    ),
    size=228_813_984,
)

# The ImageNet top-5 demo names its classes from this file, which Keras fetches beside the weights.
IMAGENET_CLASS_INDEX = RemoteFile(
    name="imagenet_class_index.json",
    origin="https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    checksum="c2c37ea517e94d9795004a39431a14cb",
    what="ImageNet's class names",
    by_hand=(
        "download https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json "
        "to $KERAS_HOME/models/"
    ),
)

KNOWN_FILES: Mapping[str, RemoteFile] = {
    remote.name: remote
    for remote in (MNIST, CIFAR10, VGG16_NOTOP_WEIGHTS, VGG16_FULL_WEIGHTS, IMAGENET_CLASS_INDEX, FSDD, FLOWERS)
}


# ---------------------------------------------------------------------------------------------
# Where a file comes from


def mirror_url() -> str | None:
    """``DLLAB_MIRROR`` ending in "/", or ``None`` when unset or blank; a ``ValueError`` when it is not http(s)."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.netloc:
        raise ValueError(f"{MIRROR_ENV}={value!r} is not an http:// address such as http://10.0.0.5:8765/")
    return value if value.endswith("/") else value + "/"


def source_url(remote: RemoteFile) -> str:
    """The address :func:`fetch` downloads ``remote`` from: ``<DLLAB_MIRROR>/<name>`` when set, else its origin."""
    mirror = mirror_url()
    return mirror + urllib.parse.quote(remote.name) if mirror else remote.origin


def source_label(remote: RemoteFile) -> str:
    """Where ``remote`` comes from, for tables and banners: ``"mirror http://10.0.0.5:8765/"`` or ``"origin storage.googleapis.com"``."""
    mirror = mirror_url()
    return f"mirror {mirror}" if mirror else f"origin {urllib.parse.urlsplit(remote.origin).netloc}"


# ---------------------------------------------------------------------------------------------
# Progress and errors


@dataclass(frozen=True)
class DownloadProgress:
    """How far a download is: bytes so far, the total when known, time spent, and where from (:func:`source_label`)."""

    done_bytes: int
    total_bytes: int | None
    elapsed_seconds: float
    source: str

    @property
    def fraction(self) -> float | None:
        """Done over total, between 0 and 1; ``None`` when the total is unknown."""
        if not self.total_bytes:
            return None
        return min(1.0, max(0.0, self.done_bytes / self.total_bytes))

    @property
    def bytes_per_second(self) -> float | None:
        """Average speed so far; ``None`` before any time has passed."""
        return self.done_bytes / self.elapsed_seconds if self.elapsed_seconds > 0 else None

    def describe(self) -> str:
        """Plain text such as ``"12.3 of 170.5 MB, 4.1 MB/s"``."""
        done = f"{self.done_bytes / _MEGABYTE:.1f}"
        amount = f"{done} of {self.total_bytes / _MEGABYTE:.1f} MB" if self.total_bytes else f"{done} MB"
        speed = self.bytes_per_second
        return amount if speed is None else f"{amount}, {speed / _MEGABYTE:.1f} MB/s"


ProgressCallback = Callable[[DownloadProgress], None]


class DownloadError(RuntimeError):
    """A download that failed: the message names the file, the address tried, why, and how to get it by hand."""

    def __init__(self, remote: RemoteFile, url: str, reason: str) -> None:
        self.remote = remote
        self.url = url
        self.reason = reason
        super().__init__(
            f"Could not download {remote.what} ({remote.name}) from {url}: {reason}. "
            f"To get it by hand, {remote.by_hand}."
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Exceptions pickle through their constructor's arguments: a failure in a Dask worker must reach the page intact.
        return type(self), (self.remote, self.url, self.reason)


class SourceUnreachable(DownloadError):
    """Nothing answered at the address (connection refused, unknown host): retrying would not help."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes are not the official file; they were deleted."""

    def __init__(self, remote: RemoteFile, url: str, source: str, expected: str, actual: str) -> None:
        self.source = source
        self.expected = expected
        self.actual = actual
        algorithm = checksum_algorithm(expected).upper().replace("SHA256", "SHA-256")
        super().__init__(
            remote,
            url,
            f"the file from {source} has {algorithm} {actual}, but the official file's is {expected}, "
            "so it was refused and nothing was kept",
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return type(self), (self.remote, self.url, self.source, self.expected, self.actual)


# ---------------------------------------------------------------------------------------------
# Fetching


def verify(path: str | Path, checksum: str) -> bool:
    """True when the file at ``path`` exists and its SHA-256 or MD5 (by the checksum's length) matches."""
    expected = checksum.strip().lower()
    digest = hashlib.new(checksum_algorithm(expected))
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == expected


class _SchemeCheckingRedirects(urllib.request.HTTPRedirectHandler):
    # urllib alone would follow a redirect to ftp://; a mirror or origin may only send us to http(s).
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme
        if scheme not in ALLOWED_SCHEMES:
            raise urllib.error.HTTPError(newurl, code, msg, headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# Two sessions of one server asking for the same file must not write the same .part file at once:
# the second waits, then finds the first one's verified file in place.
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class _Interrupted(Exception):
    """The transfer stopped early in a way worth another attempt; the message says how, in plain words."""


class _Restart(_Interrupted):
    """The bytes kept so far cannot be continued; the next attempt starts from zero."""


class _TooLarge(Exception):
    """More bytes than the file can be: a wrong or hostile server, not worth another attempt."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the server sends {size:,} bytes or more, more than the {limit:,} this file can be")


def size_limit(known_size: int | None) -> int:
    """The most bytes :func:`fetch` accepts for a file: twice its known size, else 2 GiB."""
    return SIZE_MARGIN * known_size if known_size else MAX_UNKNOWN_SIZE_BYTES


def fetch(
    remote: RemoteFile,
    destination: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    attempts: int = 3,
    timeout: float = 30.0,
    checksum: str | None = None,
) -> Path:
    """Download ``remote`` to ``destination`` (from ``DLLAB_MIRROR`` when set), verified, and return the path.

    A destination that already matches the checksum is returned without touching the network.
    Otherwise the file streams into ``.<name>.part`` beside it; a dropped connection is resumed
    with a ``Range`` request, up to ``attempts`` requests in all; the whole file must match the
    checksum before it is moved into place atomically. ``on_progress`` gets a
    :class:`DownloadProgress` about every 0.2 s and once at the end. ``timeout`` is per socket
    operation (connect, each read), not for the whole file.

    ``checksum`` replaces ``remote.checksum`` (and then ``remote.size`` counts as unknown): tests
    pass the digest of their small fixtures, which cannot be the official file, with the real
    :data:`KNOWN_FILES` entries.

    On any failure nothing new is left behind: no ``.part`` file and no destination (a file that
    was already at the destination and did not match is left as it was). Raises
    :class:`DownloadError` (:class:`SourceUnreachable`, :class:`ChecksumMismatch`) for every
    network, server, checksum or disk problem; ``ValueError`` for bad arguments.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    expected = (checksum if checksum is not None else remote.checksum).strip().lower()
    checksum_algorithm(expected)
    on_progress = _with_listeners(remote, on_progress)
    destination = Path(destination)
    if destination.is_file() and verify(destination, expected):
        return destination
    try:
        url, source = source_url(remote), source_label(remote)
    except ValueError as error:
        raise DownloadError(remote, f"${MIRROR_ENV}", str(error)) from None

    with _lock_for(destination):
        if destination.is_file() and verify(destination, expected):
            return destination  # another session finished it while this one waited
        part = destination.with_name(f".{destination.name}.part")
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            # A size belongs to the official file: with another checksum (a fixture), the size is unknown.
            known_size = remote.size if expected == remote.checksum.lower() else None
            actual = _download_with_retries(remote, url, source, part, expected, known_size, on_progress, attempts, timeout)
            if actual != expected:
                raise ChecksumMismatch(remote, url, source=source, expected=expected, actual=actual)
            os.replace(part, destination)
        except BaseException as error:
            with contextlib.suppress(OSError):  # the error that stopped the download is the one worth reporting
                part.unlink(missing_ok=True)
            if isinstance(error, OSError):
                # Disk errors (full, read-only, permissions) while writing: the download itself was fine.
                reason = f"could not write the file on this machine ({error.strerror or error})"
                raise DownloadError(remote, url, reason) from error
            raise
    return destination


def _lock_for(destination: Path) -> threading.Lock:
    key = destination.absolute()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _download_with_retries(
    remote: RemoteFile,
    url: str,
    source: str,
    part: Path,
    expected: str,
    known_size: int | None,
    on_progress: ProgressCallback | None,
    attempts: int,
    timeout: float,
) -> str:
    """Fill ``part`` with the whole file, resuming after drops; returns the hex digest of what was written."""
    algorithm = checksum_algorithm(expected)
    limit = size_limit(known_size)
    started = time.monotonic()
    refused = 0
    reasons: list[str] = []
    with open(part, "wb") as sink:
        transfer = _Transfer(sink, hashlib.new(algorithm), known_size, limit, source, started, on_progress)
        for attempt in range(attempts):
            if attempt:
                time.sleep(RETRY_DELAYS_SECONDS[min(attempt - 1, len(RETRY_DELAYS_SECONDS) - 1)])
            try:
                transfer.run(url, timeout)
                return transfer.digest.hexdigest()
            except _Restart as interruption:
                transfer.restart()
                reasons.append(str(interruption))
            except _Interrupted as interruption:
                reasons.append(str(interruption))
            except _TooLarge as error:
                raise DownloadError(remote, url, str(error)) from None
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    raise DownloadError(remote, url, _http_reason(error)) from None
                reasons.append(_http_reason(error))
            except urllib.error.URLError as error:
                cause = error.reason
                if isinstance(cause, socket.gaierror):
                    host = urllib.parse.urlsplit(url).hostname
                    raise SourceUnreachable(
                        remote, url, f"the address {host} could not be found (no network, or a mistyped {MIRROR_ENV})"
                    ) from None
                if isinstance(cause, ConnectionRefusedError):
                    refused += 1
                    if refused > REFUSED_RETRIES or attempt == attempts - 1:
                        raise SourceUnreachable(remote, url, f"nothing answered at {_host_and_port(url)} (connection refused)") from None
                    reasons.append("connection refused")
                elif isinstance(cause, (TimeoutError, socket.timeout)):
                    reasons.append(f"no answer within {timeout:g} s")
                else:
                    reasons.append(f"the connection failed ({cause})")
            except (TimeoutError, socket.timeout):
                reasons.append(f"no answer within {timeout:g} s")
            except (http.client.HTTPException, ConnectionError) as error:
                reasons.append(f"the connection broke ({type(error).__name__})")
    attempts_text = "once" if attempts == 1 else f"{attempts} times"
    raise DownloadError(remote, url, f"tried {attempts_text} and the download did not complete (last: {reasons[-1]})")


def _http_reason(error: urllib.error.HTTPError) -> str:
    if 300 <= error.code < 400:
        return f"the server redirected to {error.filename}, which is not an http(s) address, so it was not followed"
    if error.code == 404:
        return "the server has no such file (HTTP 404)"
    return f"the server answered HTTP {error.code} {error.msg}"


def _host_and_port(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


class _Transfer:
    """One download into an open part file, carried across attempts so a later one can resume."""

    def __init__(
        self,
        sink: BinaryIO,
        digest: hashlib._Hash,
        known_size: int | None,
        limit: int,
        source: str,
        started: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.sink = sink
        self.digest = digest
        self.limit = limit
        self.source = source
        self.started = started
        self.on_progress = on_progress
        self.done = 0
        self.total: int | None = known_size
        self.last_report = started

    def restart(self) -> None:
        """Throw away what was kept: the next attempt starts from the first byte."""
        self.sink.seek(0)
        self.sink.truncate()
        self.digest = hashlib.new(self.digest.name)
        self.done = 0

    def run(self, url: str, timeout: float) -> None:
        """One request: continue from ``done`` bytes (a ``Range`` request) and read to the end."""
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if self.done:
            headers["Range"] = f"bytes={self.done}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            # Built per request so proxy settings (http_proxy, no_proxy) are read when the download starts.
            response = urllib.request.build_opener(_SchemeCheckingRedirects).open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416 and self.done:
                raise _Restart("the server could not continue the interrupted download") from None
            raise
        with response:
            self._accept(response)
            self._stream(response)

    def _accept(self, response: http.client.HTTPResponse) -> None:
        status = response.status
        if status == 206 and self.done:
            first = _content_range_start(response.headers.get("Content-Range", ""))
            if first != self.done:
                raise _Restart(f"the server resumed at byte {first}, not {self.done}")
        elif status == 200:
            if self.done:
                self.restart()  # the server ignored the Range header and sends the whole file again
        else:
            raise _Restart(f"the server answered HTTP {status}")
        length = response.headers.get("Content-Length")
        if length is not None and length.strip().isdigit():
            self.total = self.done + int(length)
        if self.total is not None and self.total > self.limit:
            raise _TooLarge(self.total, self.limit)

    def _stream(self, response: http.client.HTTPResponse) -> None:
        while True:
            try:
                # read1 hands over whatever arrived, so bytes before a stall are kept for the resume;
                # read(n) would wait for all n and lose them when the socket times out.
                chunk = response.read1(CHUNK_BYTES)
            except http.client.IncompleteRead as error:
                self._keep(error.partial)
                raise _Interrupted(f"the connection dropped after {self.done:,} bytes") from None
            except (TimeoutError, socket.timeout):
                raise _Interrupted(f"the connection stalled after {self.done:,} bytes") from None
            except (OSError, http.client.HTTPException) as error:
                raise _Interrupted(f"the connection broke after {self.done:,} bytes ({type(error).__name__})") from None
            if not chunk:
                break
            self._keep(chunk)
        # Without a Content-Length a dropped connection looks like a clean end; the known size tells them apart.
        if self.total is not None and self.done < self.total:
            raise _Interrupted(f"the connection ended after {self.done:,} of {self.total:,} bytes")
        self._report(final=True)

    def _keep(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.done + len(chunk) > self.limit:
            raise _TooLarge(self.done + len(chunk), self.limit)
        self.sink.write(chunk)
        self.digest.update(chunk)
        self.done += len(chunk)
        self._report(final=False)

    def _report(self, *, final: bool) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not final and now - self.last_report < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_report = now
        total = self.done if final else self.total
        self.on_progress(DownloadProgress(self.done, total, now - self.started, self.source))


def _content_range_start(header: str) -> int | None:
    # "bytes 500-999/1000": the first byte of this part of the body.
    unit, _, rest = header.strip().partition(" ")
    first = rest.partition("-")[0]
    return int(first) if unit == "bytes" and first.isdigit() else None


# ---------------------------------------------------------------------------------------------
# Progress for whoever is drawing: a page's bar for whatever its loaders fetch

_thread_listeners = threading.local()
PageListener = Callable[[RemoteFile, DownloadProgress], None]


@contextlib.contextmanager
def progress_listener(listener: PageListener) -> Iterator[None]:
    """Also send the progress of every download made in this thread to ``listener``, with the file.

    A page's script runs in one thread and calls loaders that know nothing of pages; the router
    listens around the whole page, so any download shows a bar with MB and speed.
    """
    outer = list(getattr(_thread_listeners, "listeners", ()))
    _thread_listeners.listeners = [*outer, listener]
    try:
        yield
    finally:
        _thread_listeners.listeners = outer


def _with_listeners(remote: RemoteFile, on_progress: ProgressCallback | None) -> ProgressCallback | None:
    listeners = list(getattr(_thread_listeners, "listeners", ()))
    if not listeners:
        return on_progress

    def report(progress: DownloadProgress) -> None:
        if on_progress is not None:
            on_progress(progress)
        for listener in listeners:
            try:
                listener(remote, progress)
            except Exception:  # noqa: BLE001 - a page that went away must not stop the download
                continue

    return report

"""The online path through a classroom mirror, on 127.0.0.1: every loader's and prefetch's download, and ``--serve``.

The fixtures are small files in the real formats (``mnist.npz``, the CIFAR-10 python archive, a
VGG16-layout ``.h5`` of random weights). Each test declares its fixture the official file (its
checksum replaces Keras' in ``core.download.KNOWN_FILES``), exactly as the real file would be.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from core import download, prefetch
from core.datasets import load_dataset
from core.datasets.keras_source import keras_home
from test_datasets_cifar import _write_cifar_folder
from test_download import Served, closed_port, server  # noqa: F401 - fixtures used by name

ATTRIBUTES = {
    "imagenet_class_index.json": "IMAGENET_CLASS_INDEX",
    "vgg16_weights_tf_dim_ordering_tf_kernels.h5": "VGG16_FULL_WEIGHTS",
    "mnist.npz": "MNIST",
    "cifar-10-python.tar.gz": "CIFAR10",
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5": "VGG16_NOTOP_WEIGHTS",
    "free-spoken-digit-dataset-1.0.9.tar.gz": "FSDD",
    "flower_photos.tgz": "FLOWERS",
}
VGG16_NOTOP_LAYERS = (
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64), ("block1_pool", 0, 0),
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128), ("block2_pool", 0, 0),
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256), ("block3_conv3", 256, 256), ("block3_pool", 0, 0),
    ("block4_conv1", 256, 512), ("block4_conv2", 512, 512), ("block4_conv3", 512, 512), ("block4_pool", 0, 0),
    ("block5_conv1", 512, 512), ("block5_conv2", 512, 512), ("block5_conv3", 512, 512), ("block5_pool", 0, 0),
)


def declare_official(monkeypatch: pytest.MonkeyPatch, name: str, body: bytes) -> str:
    """Make ``body`` the official file ``name`` for this test: its SHA-256 is the one downloads must match."""
    checksum = hashlib.sha256(body).hexdigest()
    remote = replace(download.KNOWN_FILES[name], checksum=checksum, size=None)
    monkeypatch.setitem(download.KNOWN_FILES, name, remote)  # type: ignore[arg-type]
    monkeypatch.setattr(download, ATTRIBUTES[name], remote)
    return checksum


def mnist_bytes() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_train": np.arange(30, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), "y_test": np.arange(10, dtype=np.uint8),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue(), arrays


def cifar_archive_bytes(scratch: Path) -> tuple[bytes, dict[str, np.ndarray]]:
    """``cifar-10-python.tar.gz`` as the official one is laid out: ``cifar-10-batches-py/`` with pickled batches."""
    arrays = _write_cifar_folder(scratch / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        bundle.add(scratch / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buffer.getvalue(), arrays


def vgg16_notop_bytes(scratch: Path) -> bytes:
    """VGG16's no-top weights in Keras' legacy .h5 layout (the published file's), with random values: 58.9 MB."""
    import h5py

    path = scratch / "vgg16_notop.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [name.encode() for name, *_ in VGG16_NOTOP_LAYERS]
        for name, inputs, outputs in VGG16_NOTOP_LAYERS:
            group = handle.create_group(name)
            if not outputs:
                group.attrs["weight_names"] = []
                continue
            group.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            group.create_dataset(f"{name}/kernel:0", data=rng.standard_normal((3, 3, inputs, outputs), dtype=np.float32))
            group.create_dataset(f"{name}/bias:0", data=np.zeros(outputs, np.float32))
    return path.read_bytes()


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.name.startswith(".") or path.suffix == ".part")


# ---------------------------------------------------------------------------------------------
# The loaders' download branches


def test_the_pages_get_real_mnist_and_cifar_from_the_mirror(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    mnist_body, mnist_arrays = mnist_bytes()
    cifar_body, cifar_arrays = cifar_archive_bytes(tmp_path)
    declare_official(monkeypatch, "mnist.npz", mnist_body)
    declare_official(monkeypatch, "cifar-10-python.tar.gz", cifar_body)
    server.files.update({"mnist.npz": Served(mnist_body), "cifar-10-python.tar.gz": Served(cifar_body)})

    digits = load_dataset("mnist")
    assert not digits.is_fallback and f"from mirror {server.url}/" in digits.source
    assert np.array_equal(digits.x_test[..., 0], mnist_arrays["x_test"])
    colour = load_dataset("cifar10")
    assert not colour.is_fallback and f"CIFAR-10 downloaded from mirror {server.url}/" in colour.source
    assert np.array_equal(colour.x_test, cifar_arrays["x_test"])
    datasets = keras_home() / "datasets"
    assert sorted(path.name for path in datasets.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz", "mnist.npz"]
    assert [seen.path for seen in server.requests] == ["mnist.npz", "cifar-10-python.tar.gz"]
    load_dataset("cifar10-gray28")  # from the unpacked batches now: no second download
    assert len(server.requests) == 2


def test_a_mirror_file_that_is_not_the_official_one_is_refused_and_named(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    mnist_body, _ = mnist_bytes()
    official = declare_official(monkeypatch, "mnist.npz", mnist_body)
    server.files["mnist.npz"] = Served(mnist_body[:-10] + b"0123456789")  # the same size, other bytes
    digits = load_dataset("mnist")
    assert digits.is_fallback
    for expected in (f"mirror {server.url}/", official, "nothing was kept"):
        assert expected in digits.source
    assert not (keras_home() / "datasets" / "mnist.npz").exists() and not _leftovers(keras_home())


def test_a_connection_dropped_halfway_is_resumed_by_the_loader(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    body, arrays = cifar_archive_bytes(tmp_path)
    declare_official(monkeypatch, "cifar-10-python.tar.gz", body)
    server.files["cifar-10-python.tar.gz"] = Served(body, drop_after=len(body) // 2)
    colour = load_dataset("cifar10")
    assert not colour.is_fallback and np.array_equal(colour.x_test, arrays["x_test"])
    assert [seen.range for seen in server.requests] == [None, f"bytes={len(body) // 2}-"]


def test_a_mirror_that_is_down_gives_the_fallback_with_the_reason(closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{closed_port}")
    started = time.perf_counter()
    for name in ("mnist", "cifar10", "fsdd"):
        fallback = load_dataset(name)
        assert fallback.is_fallback and f"DLLAB_MIRROR=http://127.0.0.1:{closed_port}/ did not answer" in fallback.source
    assert not any(keras_home().rglob("*"))  # nothing was downloaded, nothing half-written
    assert time.perf_counter() - started < 30


def test_a_mirror_that_is_down_is_named_by_the_weights_advice_and_by_prefetch(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    from core.transfer import weights

    monkeypatch.delenv("DLLAB_OFFLINE")
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{closed_port}/")
    status = weights.resolve_vgg16_weights()
    assert not status.available and f"DLLAB_MIRROR=http://127.0.0.1:{closed_port}/ did not answer" in status.message
    assert prefetch.main(["--only", "mnist"]) == 1
    printed = capsys.readouterr().out
    assert f"DLLAB_MIRROR=http://127.0.0.1:{closed_port}/ did not answer" in printed and "nothing will be downloaded" in printed


@pytest.mark.slow
def test_the_transfer_page_gets_vgg16_weights_from_the_mirror(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    from core.transfer import weights

    monkeypatch.delenv("DLLAB_OFFLINE")
    body = vgg16_notop_bytes(tmp_path)
    assert len(body) > weights.NOTOP_MIN_BYTES
    name = weights.NOTOP_WEIGHTS_FILE
    server.files[name] = Served(body[: len(body) // 3] + bytes(10) + body[len(body) // 3 + 10 :])
    declare_official(monkeypatch, name, body)
    refused = weights.resolve_vgg16_weights()
    assert not refused.available and f"mirror {server.url}/" in refused.message and not _leftovers(keras_home())

    server.files[name] = Served(body, drop_after=len(body) // 2)
    server.requests.clear()
    status = weights.resolve_vgg16_weights()
    assert status.available and status.origin == "download" and status.path.read_bytes() == body
    assert f"from mirror {server.url}/" in status.message
    assert [seen.range for seen in server.requests] == [None, f"bytes={len(body) // 2}-"]
    weights.check_vgg16_weights(status.path)  # a VGG16 no-top base loads it


# ---------------------------------------------------------------------------------------------
# Prefetch through a mirror, and --serve


def test_prefetch_fetches_through_the_mirror_and_says_so(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    mnist_body, _ = mnist_bytes()
    cifar_body, _ = cifar_archive_bytes(tmp_path)
    declare_official(monkeypatch, "mnist.npz", mnist_body)
    declare_official(monkeypatch, "cifar-10-python.tar.gz", cifar_body)
    server.files.update({"mnist.npz": Served(mnist_body), "cifar-10-python.tar.gz": Served(cifar_body[:100] + b"!" + cifar_body[101:])})
    items = [item for item in prefetch.ITEMS if item.key in ("mnist", "cifar10")]
    statuses = {status.item.key: status for status in prefetch.prefetch(online=True, items=items, announce=lambda _: None)}
    assert statuses["mnist"].state == prefetch.FETCHED and statuses["mnist"].source == f"mirror {server.url}/"
    assert statuses["cifar10"].state == prefetch.FAILED and "nothing was kept" in statuses["cifar10"].detail
    table = prefetch.format_table(list(statuses.values()))
    assert "source" in table.splitlines()[0] and f"mirror {server.url}/" in table


def _python(script: str, env: dict[str, str]) -> subprocess.Popen:
    body = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{script}"
    return subprocess.Popen(
        [sys.executable, "-u", "-c", body], cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


DECLARE_FIXTURES = """
import hashlib, pathlib
from dataclasses import replace
from core import download
for name, attribute in (("mnist.npz", "MNIST"), ("cifar-10-python.tar.gz", "CIFAR10")):
    body = (pathlib.Path({fixtures!r}) / name).read_bytes()
    remote = replace(download.KNOWN_FILES[name], checksum=hashlib.sha256(body).hexdigest(), size=None)
    download.KNOWN_FILES[name] = remote
    setattr(download, attribute, remote)
"""


def test_prefetch_serve_is_a_mirror_another_machine_downloads_through(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    mnist_body, _ = mnist_bytes()
    cifar_body, _ = cifar_archive_bytes(tmp_path)
    (fixtures / "mnist.npz").write_bytes(mnist_body)
    (fixtures / "cifar-10-python.tar.gz").write_bytes(cifar_body)
    instructor_home = tmp_path / "instructor_keras"
    (instructor_home / "datasets").mkdir(parents=True)
    (instructor_home / "datasets" / "mnist.npz").write_bytes(mnist_body)
    (instructor_home / "datasets" / "cifar-10-python.tar.gz").write_bytes(cifar_body)
    (instructor_home / "models").mkdir()
    (instructor_home / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"not the weights")

    serving = _python(
        DECLARE_FIXTURES.format(fixtures=str(fixtures))
        + "from core import prefetch\nsys.exit(prefetch.main(['--serve', '--port', '0', '--host', '127.0.0.1']))\n",
        {"KERAS_HOME": str(instructor_home)},
    )
    try:
        announced = []
        mirror_line = None
        while mirror_line is None:
            line = serving.stdout.readline()
            assert line, "the mirror stopped:\n" + "".join(announced)
            announced.append(line)
            mirror_line = re.search(r"DLLAB_MIRROR=(http://127\.0\.0\.1:\d+/)", line)
        text = "".join(announced)
        mirror_url = mirror_line.group(1)
        assert "Serving 2 file(s)" in text and "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in text
        assert "does not match the official checksum" in text  # the broken weights file is not handed out

        for path in ("", "../mnist.npz", "%2e%2e/etc/passwd", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(mirror_url + path, timeout=10)
            assert refused.value.code == 404
        request = urllib.request.Request(mirror_url + "mnist.npz", method="PUT", data=b"x")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)

        student_home = tmp_path / "student_keras"
        student = _python(
            DECLARE_FIXTURES.format(fixtures=str(fixtures))
            + "from core import prefetch\nsys.exit(prefetch.main(['--only', 'mnist', 'cifar10']))\n",
            {"KERAS_HOME": str(student_home), "DLLAB_MIRROR": mirror_url, "DLLAB_OFFLINE": ""},
        )
        report, _ = student.communicate(timeout=120)
        assert student.returncode == 0, report
        table = [line for line in report.splitlines() if line.startswith(("MNIST", "CIFAR-10 "))]
        assert len(table) == 2 and all("| fetched | " in line and f"| mirror {mirror_url} |" in line for line in table), report
        assert "100% 0.0 of 0.0 MB" in report and f"from mirror {mirror_url}" in report  # the progress lines
        assert (student_home / "datasets" / "mnist.npz").read_bytes() == mnist_body
        assert (student_home / "datasets" / "cifar-10-batches-py" / "test_batch").is_file()
    finally:
        serving.terminate()
        serving.wait(timeout=10)


def test_prefetching_the_full_weights_brings_the_imagenet_class_names_too(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from core.transfer import imagenet

    weights_body = b"\x89HDF\r\n\x1a\n" + bytes(600_000)  # the HDF5 signature; the size check is relaxed below
    names_body = b'{"0": ["n01440764", "tench"]}'
    declare_official(monkeypatch, "vgg16_weights_tf_dim_ordering_tf_kernels.h5", weights_body)
    declare_official(monkeypatch, "imagenet_class_index.json", names_body)
    monkeypatch.setattr("core.transfer.weights.FULL_MIN_BYTES", 1_000)
    server.files.update({"vgg16_weights_tf_dim_ordering_tf_kernels.h5": Served(weights_body), "imagenet_class_index.json": Served(names_body)})
    (status,) = prefetch.prefetch(online=True, items=[prefetch.ITEMS[[item.key for item in prefetch.ITEMS].index("vgg16-full")]], announce=lambda _: None)
    assert status.state == prefetch.FETCHED and status.source == f"mirror {server.url}/"
    assert imagenet.imagenet_status().available  # weights and class names are both where the demo looks

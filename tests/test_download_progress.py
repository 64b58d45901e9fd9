"""A page's progress bar for downloads: listeners per thread, and a page that downloads real MNIST from a mirror."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import app_test
from core import download
from test_download import Served, server  # noqa: F401 - the 127.0.0.1 file server fixture
from test_mirror import declare_official, mnist_bytes


def test_a_listener_hears_the_downloads_of_its_own_thread_only(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    body, _ = mnist_bytes()
    declare_official(monkeypatch, "mnist.npz", body)
    server.files["mnist.npz"] = Served(body)
    heard: list[tuple[str, int]] = []
    other_thread: list[Path] = []

    def elsewhere() -> None:  # another session's download, at the same time
        other_thread.append(download.fetch(download.MNIST, tmp_path / "other" / "mnist.npz"))

    with download.progress_listener(lambda remote, progress: heard.append((remote.what, progress.done_bytes))):
        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
        assert heard == []  # nothing from the other thread
        download.fetch(download.MNIST, tmp_path / "mine" / "mnist.npz")
    assert heard and heard[-1] == ("MNIST", len(body)) and other_thread
    download.fetch(download.MNIST, tmp_path / "third" / "mnist.npz")
    assert heard[-1] == ("MNIST", len(body)) and len(heard) <= 3  # the listener is gone after the block


def test_a_broken_listener_never_stops_a_download(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    body, _ = mnist_bytes()
    declare_official(monkeypatch, "mnist.npz", body)
    server.files["mnist.npz"] = Served(body)

    def broken(remote: download.RemoteFile, progress: download.DownloadProgress) -> None:
        raise RuntimeError("the page went away")

    with download.progress_listener(broken):
        assert download.fetch(download.MNIST, tmp_path / "mnist.npz").read_bytes() == body


@pytest.mark.slow
def test_the_sequence_page_opens_on_real_mnist_downloaded_from_the_mirror(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    body, _ = mnist_bytes()
    declare_official(monkeypatch, "mnist.npz", body)
    server.files["mnist.npz"] = Served(body)
    # A training size no other test uses: the page keeps loaded datasets per size for every session
    # of the process, and an earlier test's offline stand-in must not answer for this one.
    at = app_test("app_pages/sequence_models.py", timeout=120, query={"train_size": "4321"})
    assert not at.exception
    assert any(f"MNIST downloaded from mirror {server.url}/" in caption.value for caption in at.caption)
    assert not any("digits" in warning.value.lower() for warning in at.warning)  # not the offline stand-in
    assert [seen.path for seen in server.requests] == ["mnist.npz"]
    assert not [element for element in at.main if getattr(element, "type", "") == "progress"]  # the bar is gone after


@pytest.mark.slow
def test_the_transfer_page_opens_on_the_flower_photos_when_a_mirror_has_them(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Real photos by default when they can be had; the 229 MB download waits for a click, then the photos are the data."""
    import io
    import tarfile

    from test_mirror_more import _add, _jpeg

    monkeypatch.delenv("DLLAB_OFFLINE")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:  # enough photos per kind to split three ways
        for kind, green in (("daisy", 200), ("roses", 0)):
            for index in range(6):
                _add(bundle, f"flower_photos/{kind}/{index}.jpg", _jpeg((40 * index, green, 90)))
    body = buffer.getvalue()
    declare_official(monkeypatch, "flower_photos.tgz", body)
    server.files["flower_photos.tgz"] = Served(body)
    at = app_test("app_pages/transfer_learning.py", timeout=180)
    assert not at.exception
    assert at.radio(key="tl_source").value == "flowers"
    assert "flower_photos.tgz" not in [seen.path for seen in server.requests]  # opening the page does not fetch 229 MB
    assert any("not on this server yet" in info.value for info in at.info)
    at.button(key="tl_download_flowers").click().run()
    assert not at.exception and [seen.path for seen in server.requests].count("flower_photos.tgz") == 1
    caption = next(caption.value for caption in at.caption if "classes (" in caption.value)
    assert caption.startswith("2 classes (daisy, roses)")


def test_offline_the_transfer_page_keeps_the_digits_demo_as_its_default() -> None:
    at = app_test("app_pages/transfer_learning.py", timeout=120)
    assert at.radio(key="tl_source").value == "demo"

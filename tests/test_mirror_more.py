"""FSDD and TensorFlow's flower photos through a classroom mirror on 127.0.0.1: checked, resumed, unpacked safely.

The fixtures are small archives in the real layouts: FSDD's release tarball
(``free-spoken-digit-dataset-1.0.9/recordings/{digit}_{speaker}_{index}.wav``, 8 kHz WAVs written
with the standard library's ``wave``, and a README) and ``flower_photos.tgz``
(``flower_photos/<class>/*.jpg``, a LICENSE.txt, and members no unpacking may write: a ``..``
path, a symlink, a hard link, a device). Each test declares its fixture the official file, as in
``tests/test_mirror.py``. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import io
import tarfile
import wave
from pathlib import Path

import numpy as np
import pytest

from core import download, prefetch
from core.datasets import load_dataset
from core.datasets.flowers import download_flowers, locate_flowers
from core.datasets.images import scan_image_folder
from core.datasets.keras_source import keras_home
from test_download import Served, server  # noqa: F401 - the 127.0.0.1 file server fixture, used by name
from test_mirror import _leftovers, declare_official

FSDD_NAME = "free-spoken-digit-dataset-1.0.9.tar.gz"
FLOWERS_NAME = "flower_photos.tgz"
FSDD_TOP = "free-spoken-digit-dataset-1.0.9"
RATE = 8000


def _wav(frequency: float, seconds: float = 0.1) -> bytes:
    samples = (0.4 * 32767 * np.sin(2 * np.pi * frequency * np.arange(int(RATE * seconds)) / RATE)).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(RATE)
        sound.writeframes(samples.tobytes())
    return buffer.getvalue()


def _add(bundle: tarfile.TarFile, name: str, body: bytes = b"", **fields: object) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(body)
    for field, value in fields.items():
        setattr(member, field, value)
    bundle.addfile(member, io.BytesIO(body) if body else None)


def fsdd_archive_bytes() -> tuple[bytes, dict[str, bytes]]:
    """FSDD's release tarball, tiny: three digits, two speakers, recordings 0–5 (0–4 are the test set)."""
    recordings = {
        f"{digit}_{speaker}_{index}.wav": _wav(200 + 100 * digit + 7 * index)
        for digit in range(3) for speaker in ("jackson", "theo") for index in range(6)
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        _add(bundle, f"{FSDD_TOP}/README.md", b"# Free Spoken Digit Dataset\n")
        _add(bundle, f"{FSDD_TOP}/recordings", type=tarfile.DIRTYPE, mode=0o755)
        for name, body in recordings.items():
            _add(bundle, f"{FSDD_TOP}/recordings/{name}", body)
        _add(bundle, f"{FSDD_TOP}/recordings/metadata.txt", b"not a recording\n")
        _add(bundle, f"{FSDD_TOP}/utils/spectogramer.py", b"print('hello')\n")
    return buffer.getvalue(), recordings


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def flowers_archive_bytes() -> tuple[bytes, dict[str, bytes]]:
    """``flower_photos.tgz``, tiny: two classes of three JPEGs, the licence, and members that must never be written."""
    photos = {
        f"{kind}/{index}.jpg": _jpeg((40 * index, 200 if kind == "daisy" else 0, 90))
        for kind in ("daisy", "roses") for index in range(3)
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        _add(bundle, "flower_photos/LICENSE.txt", b"All images are licensed under the Creative Commons By-Attribution License\n")
        for name, body in photos.items():
            _add(bundle, f"flower_photos/{name}", body)
        _add(bundle, "flower_photos/../../evil.txt", b"escaped\n")
        _add(bundle, "flower_photos/../escape.jpg", _jpeg((0, 0, 0)))
        _add(bundle, "/tmp/absolute.jpg", _jpeg((0, 0, 0)))
        _add(bundle, "flower_photos/daisy/link.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        _add(bundle, "flower_photos/roses/hard.jpg", type=tarfile.LNKTYPE, linkname="flower_photos/daisy/0.jpg")
        _add(bundle, "flower_photos/roses/device.jpg", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        _add(bundle, "flower_photos/daisy/._0.jpg", b"\x00\x05\x16\x07 macOS resource fork")
    return buffer.getvalue(), photos


def _files_under(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file() or path.is_symlink()}


# ---------------------------------------------------------------------------------------------
# FSDD through the audio loader


def test_fsdd_comes_from_the_mirror_checked_and_only_its_recordings_are_unpacked(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    body, recordings = fsdd_archive_bytes()
    declare_official(monkeypatch, FSDD_NAME, body)
    server.files[FSDD_NAME] = Served(body)

    fsdd = load_dataset("fsdd", clip_seconds=0.1)
    assert not fsdd.is_fallback and fsdd.name == "fsdd"
    assert f"release 1.0.9, downloaded from mirror {server.url}/" in fsdd.source
    datasets = keras_home() / "datasets"
    assert sorted(path.name for path in datasets.iterdir()) == ["free-spoken-digit-dataset-1.0.9.tar.gz", "fsdd"]
    assert (datasets / FSDD_NAME).read_bytes() == body  # kept beside, for prefetch --serve
    assert _files_under(datasets / "fsdd") == {f"recordings/{name}": wav for name, wav in recordings.items()}
    assert not _leftovers(keras_home())

    # The same recordings, read from a folder written by hand, give the same clips in the same order.
    by_hand = tmp_path / "data" / "fsdd" / "recordings"
    by_hand.mkdir(parents=True)
    for name, wav in recordings.items():
        (by_hand / name).write_bytes(wav)
    local = load_dataset("fsdd", data_dir=tmp_path / "data", clip_seconds=0.1, allow_download=False)
    assert (len(fsdd.x_train), len(fsdd.x_test)) == (6, 30)
    np.testing.assert_array_equal(fsdd.x_test, local.x_test)
    np.testing.assert_array_equal(fsdd.y_train, local.y_train)
    assert fsdd.extras["test_files"] == local.extras["test_files"]

    again = load_dataset("fsdd", clip_seconds=0.1)
    assert "Keras cache" in again.source and len(server.requests) == 1


def test_an_fsdd_archive_that_is_not_the_official_one_is_refused_and_named(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    body, _ = fsdd_archive_bytes()
    official = declare_official(monkeypatch, FSDD_NAME, body)
    server.files[FSDD_NAME] = Served(body[:-10] + b"0123456789")
    fallback = load_dataset("fsdd", clip_seconds=0.1)
    assert fallback.is_fallback and fallback.name == "synthetic_sounds"
    for expected in (f"mirror {server.url}/", official, "nothing was kept", FSDD_NAME, "fsdd/recordings/"):
        assert expected in fallback.source
    assert not any((keras_home() / "datasets").glob("*")) and not _leftovers(keras_home())


def test_an_fsdd_download_dropped_halfway_is_resumed(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    body, recordings = fsdd_archive_bytes()
    declare_official(monkeypatch, FSDD_NAME, body)
    server.files[FSDD_NAME] = Served(body, drop_after=len(body) // 2)
    fsdd = load_dataset("fsdd", clip_seconds=0.1)
    assert not fsdd.is_fallback and len(fsdd.x_train) + len(fsdd.x_test) == len(recordings)
    assert [seen.range for seen in server.requests] == [None, f"bytes={len(body) // 2}-"]
    assert (keras_home() / "datasets" / FSDD_NAME).read_bytes() == body


def test_an_fsdd_archive_without_recordings_is_a_plain_reason_and_leaves_no_folder(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("DLLAB_OFFLINE")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        _add(bundle, f"{FSDD_TOP}/README.md", b"# moved\n")
    declare_official(monkeypatch, FSDD_NAME, buffer.getvalue())
    server.files[FSDD_NAME] = Served(buffer.getvalue())
    fallback = load_dataset("fsdd", clip_seconds=0.1)
    assert fallback.is_fallback and "could not be unpacked" in fallback.source and "holds no recordings" in fallback.source
    assert not (keras_home() / "datasets" / "fsdd").exists() and not _leftovers(keras_home())


# ---------------------------------------------------------------------------------------------
# The flower photos


def test_the_flower_photos_come_from_the_mirror_and_nothing_else_is_unpacked(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    body, photos = flowers_archive_bytes()
    declare_official(monkeypatch, FLOWERS_NAME, body)
    server.files[FLOWERS_NAME] = Served(body, drop_after=len(body) // 3)
    heard: list[download.DownloadProgress] = []

    folder = download_flowers(on_progress=heard.append)
    datasets = keras_home() / "datasets"
    assert folder == datasets / "flower_photos"
    assert _files_under(folder) == photos  # no licence, no links, no device, no hidden companion
    assert sorted(path.name for path in datasets.iterdir()) == ["flower_photos", "flower_photos.tgz"]
    assert not list(tmp_path.parent.rglob("evil.txt")) and not list(tmp_path.parent.rglob("escape.jpg"))
    assert not list(Path("/tmp").glob("absolute.jpg"))
    assert not _leftovers(keras_home())
    assert [seen.range for seen in server.requests] == [None, f"bytes={len(body) // 3}-"]
    assert heard and heard[-1].done_bytes == len(body) and heard[-1].source == f"mirror {server.url}/"

    assert locate_flowers(None, datasets) == prefetch.Found(folder, "Keras cache")
    scan = scan_image_folder(folder)
    assert scan.class_names == ("daisy", "roses") and scan.counts == {"daisy": 3, "roses": 3} and scan.non_image_files == 0
    assert download_flowers() == folder and len(server.requests) == 2  # already here: no second download


def test_a_flowers_archive_that_is_not_the_official_one_leaves_nothing(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    body, _ = flowers_archive_bytes()
    official = declare_official(monkeypatch, FLOWERS_NAME, body)
    server.files[FLOWERS_NAME] = Served(body[:200] + bytes(5) + body[205:])
    with pytest.raises(download.ChecksumMismatch) as refused:
        download_flowers()
    message = str(refused.value)
    for expected in (f"mirror {server.url}/", official, "nothing was kept", "flower_photos/ folder"):
        assert expected in message
    assert not any((keras_home() / "datasets").glob("*")) and not _leftovers(keras_home())


def test_an_unfinished_flowers_folder_is_replaced_whole(server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    body, photos = flowers_archive_bytes()
    declare_official(monkeypatch, FLOWERS_NAME, body)
    server.files[FLOWERS_NAME] = Served(body)
    stale = keras_home() / "datasets" / "flower_photos" / "daisy"
    stale.mkdir(parents=True)
    (stale / "half.jpg").write_bytes(b"\xff\xd8")  # one class of an interrupted copy: not the data set
    assert locate_flowers(None, keras_home() / "datasets").path is None
    assert _files_under(download_flowers()) == photos


# ---------------------------------------------------------------------------------------------
# Prefetch and --serve


def test_prefetch_fetches_fsdd_and_the_flowers_through_the_mirror(server, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: F811
    fsdd_body, _ = fsdd_archive_bytes()
    flowers_body, photos = flowers_archive_bytes()
    declare_official(monkeypatch, FSDD_NAME, fsdd_body)
    declare_official(monkeypatch, FLOWERS_NAME, flowers_body)
    server.files.update({FSDD_NAME: Served(fsdd_body), FLOWERS_NAME: Served(flowers_body)})
    items = [item for item in prefetch.ITEMS if item.key in ("fsdd", "flowers")]
    assert {item.remote for item in items} == {FSDD_NAME, FLOWERS_NAME}
    statuses = prefetch.prefetch(online=True, items=items, announce=lambda _: None)
    assert [(status.item.key, status.state, status.source) for status in statuses] == [
        ("fsdd", prefetch.FETCHED, f"mirror {server.url}/"),
        ("flowers", prefetch.FETCHED, f"mirror {server.url}/"),
    ]
    assert "Keras cache" in statuses[1].location and "flower_photos" in statuses[1].location
    progress = capsys.readouterr().err
    assert progress.count("100% 0.0 of 0.0 MB") == 2 and f"from mirror {server.url}/" in progress
    table = prefetch.format_table(statuses)
    assert "TensorFlow flower photos" in table and table.count(f"mirror {server.url}/") == 2

    served, not_served = prefetch.served_files(keras_home(), None)
    assert served[FSDD_NAME] == keras_home() / "datasets" / FSDD_NAME
    assert served[FLOWERS_NAME] == keras_home() / "datasets" / FLOWERS_NAME
    assert not any(reason.startswith((FSDD_NAME, FLOWERS_NAME)) for reason in not_served)


def test_served_files_serve_fsdd_and_the_flowers_only_when_they_verify(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fsdd_body, _ = fsdd_archive_bytes()
    flowers_body, _ = flowers_archive_bytes()
    declare_official(monkeypatch, FSDD_NAME, fsdd_body)
    declare_official(monkeypatch, FLOWERS_NAME, flowers_body)
    keras_root, data_dir = tmp_path / "keras", tmp_path / "data"
    (keras_root / "datasets").mkdir(parents=True)
    data_dir.mkdir()
    served, not_served = prefetch.served_files(keras_root, data_dir)
    assert FSDD_NAME not in served and f"{FSDD_NAME}: not prefetched" in not_served

    (keras_root / "datasets" / FSDD_NAME).write_bytes(fsdd_body[:-1])  # an interrupted copy
    (data_dir / FLOWERS_NAME).write_bytes(flowers_body)  # an instructor's own copy in the data directory
    served, not_served = prefetch.served_files(keras_root, data_dir)
    assert FSDD_NAME not in served and any(reason.startswith(FSDD_NAME) and "does not match" in reason for reason in not_served)
    assert served[FLOWERS_NAME] == data_dir / FLOWERS_NAME

    (data_dir / FSDD_NAME).write_bytes(fsdd_body)
    served, _ = prefetch.served_files(keras_root, data_dir)
    assert served[FSDD_NAME] == data_dir / FSDD_NAME  # the verified copy, not the broken one

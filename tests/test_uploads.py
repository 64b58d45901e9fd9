"""Hostile uploads: corrupt images, bombs, pickles and zip tricks get clear errors and write nothing stray."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.uploads import IMAGE_SUFFIXES, UploadError, load_npy, open_image, safe_extract_zip


def _png_bytes(size=(8, 6), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=0).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color=(200, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_good_image_decodes() -> None:
    assert open_image(_png_bytes(), name="a.png").size == (8, 6)


def test_text_renamed_png_is_rejected() -> None:
    with pytest.raises(UploadError, match="not an image"):
        open_image(b"hello, I am text", name="notes.png")


def test_truncated_jpeg_is_rejected_by_name() -> None:
    data = _jpeg_bytes()
    with pytest.raises(UploadError, match="broken.jpg.*corrupt or truncated"):
        open_image(data[: len(data) // 2], name="broken.jpg")


def test_hundred_megapixel_image_is_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # 100 MP, a few kB on disk
    with pytest.raises(UploadError, match="decompression-bomb"):
        open_image(buffer.getvalue(), name="huge.png")


def test_image_over_our_own_pixel_cap_names_its_size() -> None:
    with pytest.raises(UploadError, match="4,000×3,000 = 12 megapixels"):
        open_image(_png_bytes(size=(4000, 3000), mode="1"), name="photo.png", max_pixels=10_000_000)


def test_pickled_npy_is_refused_without_unpickling(tmp_path) -> None:
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"payload": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UploadError, match="pickled"):
        load_npy(path, name="evil.npy")


def test_npy_roundtrip_and_garbage() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(buffer.getvalue()), np.arange(6).reshape(2, 3))
    with pytest.raises(UploadError, match="not a valid .npy"):
        load_npy(b"\x93NUMPY garbage", name="x.npy")
    with pytest.raises(UploadError, match="lacks the NumPy header"):
        load_npy(b"1,2,3\n4,5,6\n", name="table.npy")


def test_corrupt_deflate_stream_is_an_upload_error_and_leaves_nothing(tmp_path) -> None:
    data = bytearray(_zip({"zero/a.wav": b"RIFF" + bytes(range(256)) * 40}))
    start = data.find(b"PK\x03\x04") + 30 + len("zero/a.wav")
    data[start + 5 : start + 60] = b"\xff" * 55  # garble the compressed bytes, keep the headers
    with pytest.raises(UploadError, match="corrupt"):
        safe_extract_zip(bytes(data), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_slip_is_refused_and_writes_nothing(tmp_path) -> None:
    destination = tmp_path / "out"
    archive = _zip({"good/a.png": _png_bytes(), "../evil.txt": b"owned"})
    with pytest.raises(UploadError, match="outside"):
        safe_extract_zip(archive, destination)
    assert not (tmp_path / "evil.txt").exists()
    assert not destination.exists() or not any(destination.rglob("*"))


def test_absolute_path_is_refused(tmp_path) -> None:
    with pytest.raises(UploadError, match="outside"):
        safe_extract_zip(_zip({"/etc/passwd": b"x"}), tmp_path / "out")


def test_zip_bomb_is_stopped_at_the_cap(tmp_path) -> None:
    bomb = _zip({"cats/a.png": b"\0" * 5_000_000})
    assert len(bomb) < 20_000
    with pytest.raises(UploadError, match="limit"):
        safe_extract_zip(bomb, tmp_path / "out", max_total_bytes=1_000_000)
    assert not (tmp_path / "out").exists()


def test_lying_sizes_are_caught_while_inflating(tmp_path) -> None:
    data = bytearray(_zip({"a.png": b"\0" * 2_000_000}))
    # Forge the declared uncompressed size in the central directory down to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    with pytest.raises(UploadError):
        safe_extract_zip(bytes(data), tmp_path / "out", max_total_bytes=1_000_000)


def test_too_many_files_and_not_a_zip(tmp_path) -> None:
    with pytest.raises(UploadError, match="3 files"):
        safe_extract_zip(_zip({f"{i}.png": b"x" for i in range(3)}), tmp_path / "a", max_files=2)
    with pytest.raises(UploadError, match="not a valid zip"):
        safe_extract_zip(b"plain text", tmp_path / "b")


def test_non_matching_and_hidden_files_are_skipped(tmp_path) -> None:
    archive = _zip({"cats/a.png": _png_bytes(), "cats/readme.txt": b"hi", "__MACOSX/._a.png": b"x", "dogs/.DS_Store": b"x"})
    result = safe_extract_zip(archive, tmp_path / "out", suffixes=IMAGE_SUFFIXES)
    assert [path.relative_to(tmp_path / "out").as_posix() for path in result.files] == ["cats/a.png"]
    assert sorted(result.skipped) == ["__MACOSX/._a.png", "cats/readme.txt", "dogs/.DS_Store"]

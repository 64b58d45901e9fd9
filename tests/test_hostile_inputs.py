"""Hostile input, round 2 (issue 11): what an input *causes*, not only its size, through the page where it enters.

Each test hands one of the inputs a mischievous student tried to the page where it enters (an
upload, a pasted link, the data directory, the shared cache) after a run has been trained and
cached, and checks: a clear message, no traceback, no server path in the message, nothing heavy
done before a click, and the cached run still there and loading. The calculator's and the links'
rows are in ``tests/test_hostile_links.py``. The README's reliability table lists the same cases.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import app_test, assert_baseline_intact, baseline_run, cifar_page
from core import settings
from core.datasets import wav as audio
from core.cache import DiskCache
from core.training import RunResult, list_cached_runs

AUDIO = "app_pages/audio_models.py"
TRANSFER = "app_pages/transfer_learning.py"
FEATURE_MAPS = "app_pages/feature_maps.py"
pytestmark = pytest.mark.slow

# Where each page takes a zip: (page, its source radio and value, its uploader key).
ZIP_ENTRIES = {
    "transfer": (TRANSFER, "tl_source", "zip", "tl_zip"),
    "feature maps": (FEATURE_MAPS, "fm_source", "zip", "fm_zip"),
    "audio": (AUDIO, "audio_source", "zip", "zip_upload"),
}


# ---------------------------------------------------------------------------------------------
# Helpers


def _errors(at) -> list[str]:
    return [error.value for error in at.error]


def _assert_clear_error(at, *fragments: str) -> str:
    """One error holds every fragment; no traceback, and no server path or temporary folder in any message."""
    assert not at.exception, at.exception
    errors = _errors(at)
    matching = [error for error in errors if all(fragment in error for fragment in fragments)]
    assert matching, errors
    for text in errors:
        for leak in ("dllab-zip-", "dllab-fit-", ".tmp", "/tmp/", str(settings.cache_dir()), "Traceback", "Errno"):
            assert leak not in text, f"{leak!r} shown to the user: {text}"
    return matching[0]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_files(**changes: np.ndarray | bytes) -> list[tuple[str, bytes, str]]:
    rng = np.random.default_rng(0)
    arrays: dict[str, np.ndarray | bytes] = {
        "X_train": rng.standard_normal((24, 12, 30)).astype(np.float32),
        "y_train": np.arange(24) % 3,
        "X_test": rng.standard_normal((9, 12, 30)).astype(np.float32),
        "y_test": np.arange(9) % 3,
    }
    arrays.update(changes)
    return [
        (f"{name}.npy", value if isinstance(value, bytes) else _npy(value), "application/octet-stream")
        for name, value in arrays.items()
    ]


def _upload_npy(files):
    at = app_test(AUDIO, timeout=120)
    at.radio(key="audio_source").set_value("npy").run()
    at.file_uploader(key="npy_upload").set_value(files).run()
    return at


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _upload_zip(entry: str, name: str, content: bytes, *, query: dict[str, str] | None = None):
    page, radio, value, uploader = ZIP_ENTRIES[entry]
    at = app_test(page, timeout=120, query=query)
    at.radio(key=radio).set_value(value).run()
    at.file_uploader(key=uploader).set_value((name, content, "application/zip")).run()
    return at


def _tone_wav(frequency: float = 440.0, rate: int = 8000, seconds: float = 0.5) -> bytes:
    return audio.wav_bytes(0.3 * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate), rate)


def _wav_header(*, channels: int, rate: int, width: int, frames: bytes, format_tag: int = 1) -> bytes:
    """A WAV file written by hand, so its header can say what no writer would."""
    block = channels * width
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, (rate * block) % 2**32, block, width * 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _sound_zip(extra: dict[str, bytes] | None = None) -> bytes:
    members = {f"sounds/low/{index}.wav": _tone_wav(250.0) for index in range(5)}
    members.update({f"sounds/high/{index}.wav": _tone_wav(1000.0) for index in range(5)})
    members.update(extra or {})
    return _zip(members)


def _features_on_disk() -> list[Path]:
    return list((settings.cache_dir() / "audio-features").glob("*")) if (settings.cache_dir() / "audio-features").is_dir() else []


# ---------------------------------------------------------------------------------------------
# 1, 2: .npy uploads whose labels or header would cost gigabytes


def test_row1_a_label_of_a_million_is_refused_not_a_million_columns(baseline: RunResult) -> None:
    at = _upload_npy(_npy_files(y_train=np.array([0, 1_000_000] * 12), y_test=np.zeros(9, np.int64)))
    _assert_clear_error(at, "y_train", "1,000,000", "0 to K−1", "np.unique(y, return_inverse=True)")
    assert_baseline_intact(baseline)


def test_row1_labels_with_gaps_are_refused_with_how_to_remap(baseline: RunResult) -> None:
    at = _upload_npy(_npy_files(y_train=np.array([0, 7] * 12), y_test=np.array([0, 7, 0, 7, 0, 7, 0, 7, 0])))
    _assert_clear_error(at, "0 to K−1", "never occur", "return_inverse")
    assert_baseline_intact(baseline)


def test_row2_a_128_byte_npy_claiming_7_tib_is_refused_from_its_header(baseline: RunResult) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    liar = header.getvalue() + bytes(8)
    assert len(liar) <= 136
    at = _upload_npy(_npy_files(X_train=liar))
    _assert_clear_error(at, "X_train.npy", "1,000,000,000,000", "holds", "truncated or its header lies")
    assert_baseline_intact(baseline)


def test_row2_an_honest_npy_over_the_request_budget_is_refused_before_loading(
    baseline: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLLAB_REQUEST_MEMORY_MB", "1")
    at = _upload_npy(_npy_files(X_train=np.zeros((2000, 12, 30), np.float32), y_train=np.arange(2000) % 3))
    _assert_clear_error(at, "would need about", "at most 1 MB", "DLLAB_REQUEST_MEMORY_MB")
    assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# 3: a link whose in-range values make the audio page heavy waits for a click

HEAVY_AUDIO_LINK = {"sample_rate": "22050", "clip_seconds": "2.5", "mel_bands": "128", "frame_length": "1024", "hop_length": "64"}


def test_row3_a_heavy_audio_link_waits_behind_a_button_that_says_the_cost(baseline: RunResult) -> None:
    at = app_test(AUDIO, timeout=120, query=HEAVY_AUDIO_LINK)
    assert not at.exception and not _errors(at)
    assert at.slider(key="mel_bands").value == 128 and at.selectbox(key="hop_length").value == 64
    button = at.button(key="compute_features")
    assert button.label.startswith("Compute features (about ") and " MB)" in button.label
    assert any("waits for a click" in info.value for info in at.info)
    # Nothing was computed: no spectrograms on disk, and the models section never ran.
    assert _features_on_disk() == [] and "train_all" not in [b.key for b in at.button]
    assert_baseline_intact(baseline)


def test_row3_settings_past_the_budget_are_refused_with_what_to_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLLAB_REQUEST_MEMORY_MB", "200")
    at = app_test(AUDIO, timeout=120, query={**HEAVY_AUDIO_LINK, "clip_seconds": "5.0"})
    _assert_clear_error(at, "would need about", "shorter clips", "fewer mel bands")
    assert _features_on_disk() == []


def test_row3_the_default_audio_page_still_opens_on_its_own() -> None:
    at = app_test(AUDIO, timeout=240)
    assert not at.exception and not _errors(at)
    assert "compute_features" not in [b.key for b in at.button] and "train_all" in [b.key for b in at.button]


# ---------------------------------------------------------------------------------------------
# 4, 5: image zips whose decoding would cost gigabytes or hours


def _tiny_png_zip(count: int) -> bytes:
    tiny = _png(Image.new("RGB", (1, 1), (200, 10, 10)))
    return _zip({f"data/{'cats' if index % 2 else 'dogs'}/{index}.png": tiny for index in range(count)})


def test_row4_twenty_thousand_tiny_pngs_at_224_are_refused_before_decoding(baseline: RunResult) -> None:
    archive = _tiny_png_zip(20_000)
    assert len(archive) < 5_000_000
    at = _upload_zip("transfer", "pixels.zip", archive, query={"tl_size": "224"})
    _assert_clear_error(at, "pixels.zip", "20,000 images at 224×224", "would need about", "smaller input size")
    assert_baseline_intact(baseline)


def test_row4_float_copies_are_made_once_and_shared_read_only() -> None:
    from core import transfer
    from core.datasets.images import load_image_zip

    dataset = load_image_zip(_tiny_png_zip(20), name="few.zip", image_size=32)
    first = transfer.prepared_dataset(dataset, "vgg16")
    again = transfer.prepared_dataset(dataset, "vgg16")
    assert again is first and first.x_train.dtype == np.float32 and not first.x_train.flags.writeable


def _bilevel_bomb_zip(copies: int) -> bytes:
    bomb = _png(Image.new("1", (7000, 7000)))
    assert len(bomb) < 10_000  # 49 megapixels in a few kB
    return _zip({f"data/{'cats' if index % 2 else 'dogs'}/{index}.png": bomb for index in range(copies)})


def test_row5_forty_49_megapixel_pngs_wait_for_a_click(baseline: RunResult) -> None:
    at = _upload_zip("transfer", "bombs.zip", _bilevel_bomb_zip(40))
    assert not at.exception and not _errors(at)
    assert at.button(key="decode_images").label.startswith("Decode the images (about ")
    assert "tl_train" not in [b.key for b in at.button]  # nothing decoded, so nothing to train yet
    assert_baseline_intact(baseline)


def test_row5_two_thousand_of_them_are_refused_for_the_time_they_would_take(baseline: RunResult) -> None:
    at = _upload_zip("feature maps", "bombs.zip", _bilevel_bomb_zip(2000))
    _assert_clear_error(at, "bombs.zip", "gigapixels", "Resize the images")
    assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# 6: zip members that cannot be unpacked


def _long_name_zip() -> bytes:
    image = _png(Image.new("RGB", (8, 8)))
    return _zip({f"data/{'c' * 300}/{index}.png": image for index in range(5)} | {f"data/dogs/{i}.png": image for i in range(5)})


def _deep_zip() -> bytes:
    return _zip({"/".join(["d"] * 2100) + "/x.png": _png(Image.new("RGB", (8, 8)))})


def _file_and_folder_zip() -> bytes:
    image = _png(Image.new("RGB", (8, 8)))
    return _zip({"data/cats/x.png": image, "data/cats/x.png/y.png": image, "data/dogs/z.png": image})


def _wav_variant(archive: bytes) -> bytes:
    """The same tree with .wav members, for the audio page's zip (it unpacks only WAVs)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    return _zip({info.filename.replace(".png", ".wav"): _tone_wav() for info in source.infolist()})


@pytest.mark.parametrize("entry", list(ZIP_ENTRIES))
@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        (_file_and_folder_zip, ("both as a file and as a folder",)),
        (_long_name_zip, ("300 characters", "at most 255 bytes")),
        (_deep_zip, ("2,100 deep", "limit is 32")),
    ],
    ids=["file and folder", "300-character name", "2,100 nested folders"],
)
def test_row6_zip_members_that_cannot_be_unpacked(baseline: RunResult, entry: str, build, fragments) -> None:
    archive = build()
    if entry == "audio":
        archive = _wav_variant(archive)
    at = _upload_zip(entry, "tricky.zip", archive)
    _assert_clear_error(at, *fragments)
    assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# 7: a WAV whose header claims an absurd sample rate


def test_row7_absurd_sample_rate_inside_a_zip_is_skipped_with_a_warning(baseline: RunResult) -> None:
    absurd = _wav_header(channels=1, rate=4_294_967_291, width=2, frames=bytes(1600))
    megahertz = _wav_header(channels=1, rate=1_000_003, width=2, frames=bytes(1600))
    at = _upload_zip("audio", "sounds.zip", _sound_zip({"sounds/high/absurd.wav": absurd, "sounds/low/mega.wav": megahertz}))
    assert not at.exception and not _errors(at)
    warnings = " ".join(warning.value for warning in at.warning)
    assert "absurd.wav declares a sample rate of 4,294,967,291 Hz" in warnings and "mega.wav" in warnings
    assert "1,000 to 384,000 Hz" in warnings
    assert_baseline_intact(baseline)


@pytest.fixture(scope="module")
def trained_audio_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An audio-page cache with all three models trained on short clips (the clip uploader needs them)."""
    root = tmp_path_factory.mktemp("audio_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLLAB_CACHE_DIR", str(root))
        patch.setenv("DLLAB_OFFLINE", "1")
        patch.delenv("DLLAB_DATA_DIR", raising=False)
        at = _small_audio(app_test(AUDIO, timeout=300))
        at.button(key="train_all").click().run()
        assert not at.exception and not _errors(at)
    return root


def _small_audio(at):
    at.slider(key="clip_seconds").set_value(0.5).run()
    at.number_input(key="epochs").set_value(1).run()
    at.selectbox(key="trees_choice").set_value(10).run()
    return at


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("absurd.wav", _wav_header(channels=1, rate=4_294_967_291, width=2, frames=bytes(1600)), ("4,294,967,291 Hz", "1,000 to 384,000 Hz")),
        ("mega.wav", _wav_header(channels=1, rate=1_000_003, width=2, frames=bytes(1600)), ("1,000,003 Hz",)),
        ("silent.wav", _wav_header(channels=0, rate=8000, width=2, frames=bytes(1600)), ("0 channels", "not audio DL Lab reads")),
        (
            "loud.wav",
            _wav_header(channels=1, rate=8000, width=4, format_tag=3, frames=np.full(400, 3e38, "<f4").tobytes()),
            ("3e+38", "between -1 and 1", "Normalise"),
        ),
    ],
    ids=["4 GHz", "1 MHz", "zero channels", "float 3e38"],
)
def test_row7_and_weaker_a_hostile_clip_to_label_gets_a_sentence(trained_audio_cache: Path, name: str, content: bytes, fragments) -> None:
    shutil.copytree(trained_audio_cache, settings.cache_dir(), dirs_exist_ok=True)
    at = _small_audio(app_test(AUDIO, timeout=300))
    assert at.button(key="train_all").disabled  # the three models come from the cache
    at.file_uploader(key="wav_upload").set_value((name, content, "audio/wav")).run()
    _assert_clear_error(at, name, *fragments)


# ---------------------------------------------------------------------------------------------
# 8: unpacked uploads have their own pool and cannot evict trained runs


def _inflating_sound_zip(seed: int) -> bytes:
    """About 11 kB that unpack to about 10 MB: long silent WAVs (silence compresses to nothing)."""
    silent = audio.wav_bytes(np.zeros(8000 * 120), 8000)  # 2 minutes at 8 kHz, 16-bit: 1.9 MB
    members = {f"s/{label}/{index}.wav": silent for label in ("a", "b") for index in range(3)}
    members[f"s/a/seed{seed}.wav"] = _tone_wav(300.0 + seed)
    return _zip(members, compression=zipfile.ZIP_DEFLATED)


def test_row8_three_inflating_zips_never_evict_a_trained_run(baseline: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLLAB_CACHE_LIMIT_MB", "30")
    monkeypatch.setenv("DLLAB_UPLOAD_CACHE_LIMIT_MB", "15")
    for seed in range(3):
        archive = _inflating_sound_zip(seed)
        assert len(archive) < 100_000
        at = _upload_zip("audio", f"quiet{seed}.zip", archive, query={"clip_seconds": "0.5"})
        assert not at.exception and not _errors(at), _errors(at)
    uploads = DiskCache().entries("uploads")
    assert 1 <= len(uploads) < 3  # evicted among themselves
    assert sum(settings.directory_size_bytes(entry) for entry in uploads) <= 15_000_000
    assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# 9: a symlink in the data directory that leads out of it


def test_row9_the_audio_folder_list_is_fenced_like_the_image_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, outside = tmp_path / "data", tmp_path / "secret"
    for root, name in ((data_dir, "sounds"), (outside, "loot")):
        for label in ("low", "high"):
            (root / name / label).mkdir(parents=True)
            for index in range(4):
                (root / name / label / f"{index}.wav").write_bytes(_tone_wav(250.0 if label == "low" else 900.0))
    (data_dir / "escape").symlink_to(outside / "loot", target_is_directory=True)
    (data_dir / "sounds" / "low" / "stolen.wav").symlink_to(outside / "loot" / "low" / "0.wav")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_dir))
    at = app_test(AUDIO, timeout=120, query={"clip_seconds": "0.5"})
    at.radio(key="audio_source").set_value("folder").run()
    assert not at.exception and not _errors(at)
    assert [str(option).rsplit("/", 1)[-1] for option in at.selectbox(key="wav_folder").options] == ["sounds"]
    counts = next(frame.value for frame in at.dataframe if "low" in frame.value.columns)
    assert int(counts["low"].sum()) == 4  # the symlinked stolen.wav was not read


# ---------------------------------------------------------------------------------------------
# 11, 13: a damaged or replaced cache entry


@pytest.mark.parametrize(
    "damage",
    [
        {"history": []},
        {"key": 123},
        {"history": {"loss": ["high", "low"]}},
        {"params": "many"},
    ],
    ids=["history list", "numeric key", "string history", "string params"],
)
def test_row11_a_result_json_of_the_wrong_types_is_dropped_and_retrained(baseline: RunResult, damage: dict) -> None:
    import json

    path = DiskCache().entry_path("runs", baseline.key) / "result.json"
    record = json.loads(path.read_text())
    record.update(damage)
    path.write_text(json.dumps(record))
    assert list_cached_runs() == []  # every page's run listing skips it
    at = cifar_page(timeout=180)
    assert not at.exception and not _errors(at)
    assert not at.button(key="train").disabled
    at.button(key="train").click().run()
    assert not at.exception and not _errors(at)
    assert_baseline_intact(baseline)


def test_row13_an_entry_replaced_by_a_symlink_is_retrained_into_a_real_folder(baseline: RunResult, tmp_path: Path) -> None:
    entry = DiskCache().entry_path("runs", baseline.key)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(entry, elsewhere)
    entry.symlink_to(elsewhere, target_is_directory=True)
    at = cifar_page(timeout=180)
    assert not at.exception and not _errors(at)
    assert not at.button(key="train").disabled  # the symlinked entry is not trusted
    at.button(key="train").click().run()
    assert not at.exception and not _errors(at)
    assert entry.is_dir() and not entry.is_symlink() and elsewhere.is_dir()  # unlinked, never followed
    assert_baseline_intact(baseline)


# ---------------------------------------------------------------------------------------------
# 12, 14: a cache folder that takes no writes


@contextmanager
def _read_only(folder: Path):
    """Make ``folder`` read-only for this process, as a read-only mount would (root ignores file modes)."""
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [folder, *folder.rglob("*")] if not path.is_symlink()}
        for path in modes:
            path.chmod(modes[path] & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot make a read-only folder here (no bind mount as root)")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def fresh_cache_state():
    """Forget what the cache learned about folders' writability, before and after the test."""
    from core import cache

    cache._writability.clear()
    yield
    cache._writability.clear()


def test_row12_a_read_only_cache_keeps_working_and_says_so(baseline: RunResult, fresh_cache_state) -> None:
    with _read_only(settings.cache_dir()):
        at = cifar_page(timeout=180)
        assert not at.exception and not _errors(at)
        banner = " ".join(warning.value for warning in at.warning)
        assert "Results from now on are not kept" in banner and "read-only" in banner
        assert at.button(key="train").disabled  # the cached run shows, and Train agrees it is trained
        # Activation statistics of the cached run still work (their cache entry goes to the private folder).
        # Another configuration trains in the private temporary folder and then shows as trained.
        at.number_input(key="epochs").set_value(2).run()
        assert not at.button(key="train").disabled
        at.button(key="train").click().run()
        assert not at.exception and not _errors(at)
        at.run()
        assert at.button(key="train").disabled
        assert len(list_cached_runs()) == 2
        # "Clear cache" says what it could not remove rather than claiming success.
        at.button(key="clear_cache").click().run()
        assert any("could not be removed" in error and "read-only" in error for error in _errors(at))
    assert_baseline_intact(baseline)


@contextmanager
def _tiny_filesystem(folder: Path, free_bytes: int):
    """Mount a small tmpfs on ``folder`` (root only) holding a copy of its content, with ``free_bytes`` left."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small filesystem")
    saved = folder.with_name(folder.name + "-saved")
    shutil.copytree(folder, saved)
    size_kb = settings.directory_size_bytes(saved) // 1024 + 1024
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)], capture_output=True).returncode:
        shutil.rmtree(saved)
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        filler = folder / "filler.bin"
        with open(filler, "wb") as handle:  # fill the disk, then give back just ``free_bytes``
            try:
                while True:
                    handle.write(bytes(64 * 1024))
                    handle.flush()
            except OSError:
                pass
        os.truncate(filler, max(0, filler.stat().st_size - free_bytes))
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        shutil.rmtree(saved, ignore_errors=True)


def test_row14_a_full_disk_trains_in_the_private_folder_and_says_so(baseline: RunResult, fresh_cache_state) -> None:
    with _tiny_filesystem(settings.cache_dir(), free_bytes=4096):
        at = cifar_page(timeout=180)
        assert not at.exception and at.button(key="train").disabled
        at.number_input(key="epochs").set_value(2).run()
        at.button(key="train").click().run()
        assert not at.exception and not _errors(at), _errors(at)
        at.run()
        banner = " ".join(warning.value for warning in at.warning)
        assert "Results from now on are not kept" in banner and "full" in banner
        assert at.button(key="train").disabled and len(list_cached_runs()) == 2
        assert baseline_run() is not None


# ---------------------------------------------------------------------------------------------
# Weaker cases: each gets a sentence that says what to do


def _encrypted(archive: bytes) -> bytes:
    """Set the 'encrypted' flag on every member, as a password-protected zip has it."""
    data = bytearray(archive)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            flags = struct.unpack_from("<H", data, start + flag_offset)[0]
            struct.pack_into("<H", data, start + flag_offset, flags | 0x1)
            start += 4
    return bytes(data)


@pytest.mark.parametrize("entry", list(ZIP_ENTRIES))
def test_an_encrypted_zip_asks_for_one_without_a_password(baseline: RunResult, entry: str) -> None:
    archive = _sound_zip() if entry == "audio" else _tiny_png_zip(12)
    at = _upload_zip(entry, "locked.zip", _encrypted(archive))
    _assert_clear_error(at, "password-protected", "without a password")
    assert_baseline_intact(baseline)


def test_a_zip_without_readable_images_names_the_zip_not_a_server_folder(baseline: RunResult) -> None:
    junk = {f"data/{label}/{index}.png": b"not really a picture" for label in ("cats", "dogs") for index in range(6)}
    at = _upload_zip("transfer", "broken.zip", _zip(junk))
    message = _assert_clear_error(at, "broken.zip", "readable images")
    assert "second class" not in message.lower()
    assert_baseline_intact(baseline)


def test_garbage_vgg16_weights_are_refused_without_internal_names(baseline: RunResult) -> None:
    at = app_test(TRANSFER, timeout=120)
    at.radio(key="tl_source").set_value("zip").run()
    garbage = b"\x89HDF\r\n\x1a\n" + os.urandom(4096)
    at.file_uploader(key="tl_weights").set_value(("weights.h5", garbage, "application/octet-stream")).run()
    message = _assert_clear_error(at, "weights.h5", "not VGG16's no-top ImageNet weights")
    assert "h5py" not in message and "signature" not in message
    assert_baseline_intact(baseline)


def test_sixteen_bit_png_float_tiff_and_exif_orientation_decode_as_seen(tmp_path: Path) -> None:
    from core.datasets.images import decode_resized

    ramp16 = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 15).astype(np.uint16)  # 0 … 61,425
    image16 = Image.fromarray(ramp16)
    assert image16.mode.startswith("I;16")
    decoded = decode_resized(_png(image16), name="deep.png", image_size=32, color="grayscale")[..., 0]
    assert decoded.min() < 20 and decoded.max() > 235  # scaled by its range, not clipped to white

    small_floats = Image.fromarray(np.linspace(0.0, 0.01, 64 * 64, dtype=np.float32).reshape(64, 64), mode="F")
    buffer = io.BytesIO()
    small_floats.save(buffer, format="TIFF")
    decoded = decode_resized(buffer.getvalue(), name="floats.tif", image_size=32, color="grayscale")[..., 0]
    assert decoded.min() < 20 and decoded.max() > 235  # not all black

    # A portrait photo stored sideways with EXIF orientation 6 (rotate 90° clockwise to view).
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:, :40] = 255  # left half white as stored: the top half once upright
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = io.BytesIO()
    Image.fromarray(stored).save(jpeg, format="JPEG", exif=exif)
    upright = decode_resized(jpeg.getvalue(), name="portrait.jpg", image_size=40, color="grayscale")[..., 0]
    assert upright[:15].mean() > 200 and upright[-15:].mean() < 50


def test_a_long_silent_wav_in_a_zip_is_read_only_as_far_as_the_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(audio.wav_bytes(np.zeros(8000 * 600), 8000))  # 10 minutes, 9.6 MB
    opened: list[int] = []
    original = audio._open_source

    def counting(source):
        stream, size = original(source)
        read = stream.read

        def counted(*args):
            chunk = read(*args)
            opened.append(len(chunk))
            return chunk

        stream.read = counted
        return stream, size

    monkeypatch.setattr(audio, "_open_source", counting)
    samples, rate = audio.read_wav(path, max_seconds=1.0)
    assert rate == 8000 and len(samples) == 8001
    assert sum(opened) < 100_000  # 16 kB of audio and the headers, not 9.6 MB


def test_the_sidebar_lists_a_huge_data_directory_briefly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(3000):
        (tmp_path / f"file{index:05d}.txt").touch()
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path))
    at = app_test()
    listing = " ".join(markdown.value for markdown in at.sidebar.markdown)
    assert "file00000.txt" in listing and "… and 2,988 more" in listing and "file02999.txt" not in listing

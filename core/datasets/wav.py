"""Reading sound files: WAV decoding, resampling, pad/trim and the listing of a folder's WAVs.

Decoding uses the standard library's ``wave`` module and NumPy for integer PCM (8, 16, 24 and
32 bit), and ``scipy.io.wavfile`` for float and WAVE_FORMAT_EXTENSIBLE files, which ``wave``
refuses. Every clip becomes mono float32 in [-1, 1] at one sample rate. The dataset loaders
(:mod:`core.datasets.audio`) and the audio topic (:mod:`core.audio`) both read sound through here.
"""

from __future__ import annotations

import io
import math
import os
import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.budget import WorkEstimate
from core.errors import user_message, without_paths

MAX_CLIP_SECONDS = 30.0


class AudioError(ValueError):
    """A sound file or setting that cannot be used; the message names the file and the problem."""


# Rates outside this range are not audio a classifier should be fed, and a header that claims
# one makes the resampler's filter (2·10·max(up, down) taps) and output enormous: 4,294,967,291 Hz
# asked for 640 GiB. Real files run from 8 kHz telephone speech to 384 kHz studio masters.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 64
# Float WAV samples live in [-1, 1]; a little over is clipping, far over is a broken or wrongly scaled file.
MAX_FLOAT_PEAK = 1.5


def _open_source(source: bytes | Path | str | BinaryIO) -> tuple[BinaryIO, int]:
    """A seekable stream over the WAV and its size in bytes, without reading a file into memory."""
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source), len(source)
    if isinstance(source, (str, Path)):
        return open(source, "rb"), os.path.getsize(source)
    data = source.read()
    return io.BytesIO(data), len(data)


def _find_chunk(stream: BinaryIO, size: int, wanted: bytes) -> tuple[int, int] | None:
    """Where a RIFF file's chunk ``wanted`` starts and how long its header says it is."""
    stream.seek(12)
    while stream.tell() + 8 <= size:
        header = stream.read(8)
        if len(header) < 8:
            return None
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
        if chunk_id == wanted:
            return stream.tell(), chunk_size
        stream.seek(chunk_size + (chunk_size & 1), io.SEEK_CUR)
    return None


def _declared_format(stream: BinaryIO, size: int) -> tuple[int, int] | None:
    """The channel count and sample rate a WAV's ``fmt`` chunk declares, read before any decoder sees them."""
    located = _find_chunk(stream, size, b"fmt ")
    if located is None:
        return None
    stream.seek(located[0])
    fields = stream.read(8)
    if len(fields) < 8:
        return None
    _format_tag, channels, rate = struct.unpack("<HHI", fields)
    return channels, rate


def _pcm_to_float(frames: bytes, sample_width: int, channels: int) -> np.ndarray:
    """Little-endian PCM bytes as float32 in [-1, 1], shaped (samples, channels)."""
    if sample_width == 1:  # 8-bit WAV is unsigned, centred on 128
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif sample_width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif sample_width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        # Assemble 24-bit little-endian words in the top of an int32 so the sign comes for free.
        words = (raw[:, 0] << 8) | (raw[:, 1] << 16) | (raw[:, 2] << 24)
        samples = (words >> 8).astype(np.float32) / 8388608.0
    elif sample_width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise AudioError(f"{sample_width * 8}-bit PCM is not supported (use 8, 16, 24 or 32 bit)")
    return samples.reshape(-1, channels)


def _read_with_scipy(source: bytes | Path | str | BinaryIO, name: str, max_seconds: float | None) -> tuple[np.ndarray, int]:
    import warnings

    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scipy only warns about truncated or odd chunks
            if isinstance(source, (str, Path)):
                # Memory-mapped, so only the frames kept below are ever read from disk.
                rate, samples = wavfile.read(str(source), mmap=True)
            else:
                stream, _size = _open_source(source)
                rate, samples = wavfile.read(stream)
    except Exception as error:  # scipy raises ValueError, EOFError, struct.error, warnings...
        raise AudioError(f"{name} cannot be decoded as WAV ({without_paths(str(error), limit=120)})") from None
    _check_rate(int(rate), name)
    if max_seconds is not None:
        samples = samples[: int(math.ceil(max_seconds * rate)) + 1]
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[:, np.newaxis]
    if samples.ndim != 2 or not 1 <= samples.shape[1] <= MAX_CHANNELS:
        raise AudioError(f"{name} declares {samples.shape[-1] if samples.ndim else 0} channels; DL Lab reads 1 to {MAX_CHANNELS}")
    if samples.dtype.kind == "f":
        converted = samples.astype(np.float32)
        if converted.size and not np.all(np.isfinite(converted)):
            raise AudioError(f"{name} contains NaN or infinite samples")
        peak = float(np.max(np.abs(converted))) if converted.size else 0.0
        if peak > MAX_FLOAT_PEAK:
            raise AudioError(
                f"{name} holds float samples as large as {peak:.3g}; float WAV samples must lie between -1 and 1, "
                "so its features would be meaningless. Normalise the file, or save it as 16-bit PCM."
            )
        converted = np.clip(converted, -1.0, 1.0)
    elif samples.dtype == np.uint8:
        converted = (samples.astype(np.float32) - 128.0) / 128.0
    elif samples.dtype.kind == "i":
        converted = samples.astype(np.float32) / float(2 ** (8 * samples.dtype.itemsize - 1))
    else:
        raise AudioError(f"{name} holds {samples.dtype} samples, which DL Lab cannot use")
    return converted, int(rate)


def _check_rate(rate: int, name: str) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name} declares a sample rate of {rate:,} Hz; DL Lab reads {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz. "
            "Its header is probably damaged: export the file again."
        )


def read_wav(
    source: bytes | Path | str | BinaryIO, *, name: str | None = None, max_seconds: float | None = None
) -> tuple[np.ndarray, int]:
    """Decode a WAV file into mono float32 samples in [-1, 1] and its sample rate; stereo is mixed down.

    With ``max_seconds``, only the start of the file is read: a clip trimmed to one second never
    needs the other 289 MB of a long recording (a 352 kB zip of silence held such a file).
    """
    if name is None:
        name = Path(source).name if isinstance(source, (str, Path)) else "the WAV file"
    try:
        stream, size = _open_source(source)
    except OSError as error:
        raise AudioError(f"{name} cannot be read ({user_message(error)})") from None
    with stream:
        header = stream.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise AudioError(f"{name} is not a WAV file (no RIFF/WAVE header)")
        # Checked here for every WAV flavour, before a decoder divides by the channels or sizes a resampler by the rate.
        declared = _declared_format(stream, size)
        if declared is not None:
            channels, rate = declared
            if not 1 <= channels <= MAX_CHANNELS:
                raise AudioError(f"{name} declares {channels:,} channels, which is not audio DL Lab reads (1 to {MAX_CHANNELS})")
            _check_rate(rate, name)
        stream.seek(0)
        try:
            with wave.open(stream, "rb") as reader:
                channels, width, rate, count = (
                    reader.getnchannels(),
                    reader.getsampwidth(),
                    reader.getframerate(),
                    reader.getnframes(),
                )
                if channels < 1 or width < 1:
                    raise AudioError(f"{name} declares {channels} channels of {width}-byte samples, which is not audio")
                if channels > MAX_CHANNELS:
                    raise AudioError(f"{name} declares {channels:,} channels; DL Lab reads 1 to {MAX_CHANNELS}")
                _check_rate(rate, name)
                wanted = count if max_seconds is None else min(count, int(math.ceil(max_seconds * rate)) + 1)
                frames = reader.readframes(wanted)
        except wave.Error:
            # Float and WAVE_FORMAT_EXTENSIBLE files; Python 3.11's wave reads integer PCM only.
            samples, rate = _read_with_scipy(source, name, max_seconds)
        except AudioError:
            raise
        except (EOFError, ValueError, OSError, ZeroDivisionError, struct.error) as error:
            raise AudioError(f"{name} has a broken WAV header ({user_message(error, limit=100)})") from None
        else:
            promised = count * channels * width
            located = _find_chunk(stream, size, b"data")
            holds = size - located[0] if located is not None else len(frames)
            if promised > holds or len(frames) != wanted * channels * width:
                raise AudioError(
                    f"{name} is truncated or its header lies: the header promises {promised:,} bytes of audio "
                    f"({count:,} frames), the file holds {holds:,}"
                )
            samples = _pcm_to_float(frames, width, channels)
    if samples.shape[0] == 0:
        raise AudioError(f"{name} holds no audio samples")
    mono = samples.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{name} contains NaN or infinite samples")
    return mono, rate


def write_wav(path: Path | str | BinaryIO, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono or (samples, channels) float audio in [-1, 1] as 16-bit PCM (for playback and tests)."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    pcm = np.clip(np.round(array * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path if not isinstance(path, Path) else str(path), "wb") as writer:
        writer.setnchannels(array.shape[1])
        writer.setsampwidth(2)
        writer.setframerate(int(sample_rate))
        writer.writeframes(pcm.tobytes())


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit WAV file in memory, for ``st.audio``."""
    buffer = io.BytesIO()
    write_wav(buffer, samples, sample_rate)
    return buffer.getvalue()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Change the sample rate with a polyphase anti-aliasing filter (``scipy.signal.resample_poly``).

    The up/down factors are kept to at most 1,000 (the ratio rounded within a few parts per
    million when needed): the filter has 20 taps per unit of the larger factor, so an awkward
    rate such as 383,999 Hz → 8,000 Hz would otherwise need a 7.7-million-tap filter.
    Every common pair (44.1 kHz → 8 kHz is 80/441) stays exact.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    for rate in (from_rate, to_rate):
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise AudioError(f"sample rates must be {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz, got {rate:,}")
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(int(to_rate), int(from_rate)).limit_denominator(1000)
    if ratio.numerator > 1000:  # upsampling by more than 1,000× is refused above (rates ≤ 384×)
        raise AudioError(f"cannot resample {from_rate:,} Hz to {to_rate:,} Hz")
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim to ``length`` samples, or pad the end with silence."""
    if length < 1:
        raise AudioError(f"clip length must be at least one sample, got {length}")
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def clip_samples(sample_rate: int, clip_seconds: float) -> int:
    """Samples in one clip of ``clip_seconds`` at ``sample_rate``."""
    if not 0 < clip_seconds <= MAX_CLIP_SECONDS:
        raise AudioError(f"clip length must be between 0 and {MAX_CLIP_SECONDS:g} s, got {clip_seconds}")
    return max(1, int(round(sample_rate * clip_seconds)))


@dataclass(frozen=True)
class DecodedClips:
    """Equal-length mono clips from a list of files, plus the files that could not be read."""

    clips: np.ndarray  # (N, samples) float32
    kept: tuple[int, ...]  # indices into the input list of the files in ``clips``
    errors: tuple[str, ...]  # one message per unreadable file, naming it


def decode_files(
    paths: Sequence[Path], *, sample_rate: int, clip_seconds: float, on_progress: object = None
) -> DecodedClips:
    """Read, mix down, resample and pad/trim every file; unreadable files are listed, not fatal.

    Clips are written straight into one preallocated array (a list of clips and then a stacked
    copy would hold every clip twice), and only each clip's first ``clip_seconds`` are read.
    """
    length = clip_samples(sample_rate, clip_seconds)
    clips = np.zeros((len(paths), length), dtype=np.float32)
    kept, errors = [], []
    for index, path in enumerate(paths):
        try:
            samples, rate = read_wav(path, name=path.name, max_seconds=clip_seconds)
            clips[len(kept)] = fit_length(resample(samples, rate, sample_rate), length)
            kept.append(index)
        except AudioError as error:
            errors.append(str(error))
        if on_progress is not None and index % 200 == 0:
            on_progress((index + 1) / len(paths))  # type: ignore[operator]
    return DecodedClips(clips[: len(kept)], tuple(kept), tuple(errors))


def decode_work(files: int, sample_rate: int, clip_seconds: float) -> WorkEstimate:
    """What decoding ``files`` WAVs into clips will cost (measured on FSDD here, conservative)."""
    length = clip_samples(sample_rate, clip_seconds)
    # Per file: opening and parsing, then resampling, which costs up to ~55 ns per output sample.
    seconds = files * (0.0002 + length * 55e-9)
    # The clips, plus the 16-bit copy the disk cache stores and reads back.
    return WorkEstimate(seconds, int(files * length * 4 * 1.5))


def wav_files(folder: Path, *, fence: Path | None = None) -> list[Path]:
    """Every ``.wav`` below ``folder`` (any case), sorted, skipping hidden files and folders.

    With ``fence``, a file whose real path leads outside it (a symlink out of the data directory) is skipped.
    """
    found = []
    # os.walk's scandir already knows which entries are files; Path.rglob + is_file stats each one again.
    for root, directories, names in os.walk(folder):
        directories[:] = [name for name in directories if not name.startswith((".", "__MACOSX"))]
        for name in names:
            if name.lower().endswith(".wav") and not name.startswith("."):
                path = Path(root) / name
                if fence is None or not path.is_symlink() or path.resolve().is_relative_to(Path(fence).resolve()):
                    found.append(path)
    return sorted(found)


def summarise_errors(errors: Iterable[str], *, limit: int = 10) -> str:
    """The first few per-file error messages, and how many more there were."""
    errors = list(errors)
    shown = "\n".join(f"- {message}" for message in errors[:limit])
    if len(errors) > limit:
        shown += f"\n- … and {len(errors) - limit} more"
    return shown

"""Audio for the classifiers: WAV decoding, resampling, pad/trim, log-mel features and a synthetic sound set.

Decoding uses the standard library's ``wave`` module and NumPy for integer PCM (8, 16, 24 and
32 bit), and ``scipy.io.wavfile`` for float and WAVE_FORMAT_EXTENSIBLE files, which ``wave``
refuses. Every clip becomes mono float32 in [-1, 1] at one sample rate.

Log-mel features are computed with ``tf.signal`` on the whole batch of clips at once: on this
machine per-file eager calls take ~8 s for FSDD's 3,000 files and one batched call ~0.5 s.
TensorFlow is imported inside :func:`log_mel_features` only. :func:`log_mel_reference` is the
same computation in plain NumPy, written from the formulas, for the tests.
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

FEATURE_KINDS = ("log_mel", "mfcc")
# log(0) is -inf; this floor is about -14 in natural log, well below any real band energy.
LOG_OFFSET = 1e-6
MAX_CLIP_SECONDS = 30.0


class AudioError(ValueError):
    """A sound file or setting that cannot be used; the message names the file and the problem."""


# ---------------------------------------------------------------------------------------------
# Decoding


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


# ---------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True)
class FeatureSettings:
    """How clips become a (bands, frames) image; part of the feature cache key."""

    sample_rate: int = 8000
    mel_bands: int = 40
    frame_length: int = 256
    hop_length: int = 128
    kind: str = "log_mel"
    mfcc_count: int = 13
    lower_hz: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise AudioError(f"feature kind must be one of {FEATURE_KINDS}, got {self.kind!r}")
        if not 4 <= self.mel_bands <= 256:
            raise AudioError(f"mel bands must be between 4 and 256, got {self.mel_bands}")
        if self.frame_length < 16:
            raise AudioError(f"frame length must be at least 16 samples, got {self.frame_length}")
        if not 1 <= self.hop_length <= self.frame_length:
            raise AudioError(
                f"hop must be between 1 and the frame length ({self.frame_length}), got {self.hop_length}"
            )
        if self.kind == "mfcc" and not 1 <= self.mfcc_count <= self.mel_bands:
            raise AudioError(f"MFCC count must be between 1 and the mel bands ({self.mel_bands}), got {self.mfcc_count}")
        if not 0 <= self.lower_hz < self.sample_rate / 2:
            raise AudioError(f"lowest frequency must be below the Nyquist frequency {self.sample_rate / 2:g} Hz")

    @property
    def fft_length(self) -> int:
        """The FFT size: the frame length rounded up to a power of two, as ``tf.signal.stft`` does."""
        return 1 << (self.frame_length - 1).bit_length()

    @property
    def bands(self) -> int:
        """Rows of the feature image: mel bands, or MFCC coefficients."""
        return self.mfcc_count if self.kind == "mfcc" else self.mel_bands

    def frames(self, clip_length: int) -> int:
        """Columns of the feature image for clips of ``clip_length`` samples (frames fully inside the clip)."""
        if clip_length < self.frame_length:
            raise AudioError(
                f"clips of {clip_length} samples are shorter than one {self.frame_length}-sample frame; "
                "use a longer clip or a shorter frame"
            )
        return 1 + (clip_length - self.frame_length) // self.hop_length


# A batch's STFT holds about 16 bytes per (frame × FFT bin) of every clip in it (the framed
# signal, the complex spectrum and its power); 128 MB per batch keeps a 1024-sample frame with a
# 64-sample hop from needing 6.5 GB, as a batch of 512 such clips once did.
FEATURE_BATCH_BYTES = 128_000_000
_STFT_BYTES_PER_BIN = 16


def feature_batch_size(clip_length: int, settings: FeatureSettings) -> int:
    """Clips per ``tf.signal`` call so one call stays within :data:`FEATURE_BATCH_BYTES`."""
    per_clip = settings.frames(clip_length) * settings.fft_length * _STFT_BYTES_PER_BIN
    return int(max(1, min(512, FEATURE_BATCH_BYTES // per_clip)))


def feature_work(clips: int, clip_length: int, settings: FeatureSettings) -> WorkEstimate:
    """What computing and standardising the features of ``clips`` clips will cost (measured here, conservative)."""
    frames = settings.frames(clip_length)
    fft = settings.fft_length
    seconds = 0.2 + 2.0e-9 * clips * frames * fft * math.log2(fft)
    features = clips * settings.bands * frames * 4
    batch = min(clips, feature_batch_size(clip_length, settings)) * frames * fft * _STFT_BYTES_PER_BIN
    # The stored features, and one standardised split copy of them, beside the largest batch.
    return WorkEstimate(seconds, int(2 * features + batch))


def log_mel_features(clips: np.ndarray, settings: FeatureSettings, *, batch_size: int | None = None) -> np.ndarray:
    """Log-mel (or MFCC) images of every clip, shaped (N, bands, frames), computed in batches with ``tf.signal``.

    The output is allocated once and filled batch by batch; the batch size defaults to what keeps
    one batch's spectra within :data:`FEATURE_BATCH_BYTES`.
    """
    import tensorflow as tf

    clips = np.asarray(clips, dtype=np.float32)
    if clips.ndim != 2:
        raise AudioError(f"clips must be a (clips, samples) array, got shape {clips.shape}")
    frames = settings.frames(clips.shape[1])
    batch_size = batch_size or feature_batch_size(clips.shape[1], settings)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=settings.mel_bands,
        num_spectrogram_bins=settings.fft_length // 2 + 1,
        sample_rate=settings.sample_rate,
        lower_edge_hertz=settings.lower_hz,
        upper_edge_hertz=settings.sample_rate / 2,
    )
    output = np.zeros((len(clips), settings.bands, frames), dtype=np.float32)
    for start in range(0, len(clips), batch_size):
        batch = tf.constant(clips[start : start + batch_size])
        spectrum = tf.signal.stft(
            batch,
            frame_length=settings.frame_length,
            frame_step=settings.hop_length,
            fft_length=settings.fft_length,
            window_fn=tf.signal.hann_window,
        )
        power = tf.math.square(tf.abs(spectrum))
        del spectrum
        log_mel = tf.math.log(tf.tensordot(power, mel_matrix, 1) + LOG_OFFSET)
        del power
        if settings.kind == "mfcc":
            log_mel = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : settings.mfcc_count]
        output[start : start + batch_size] = tf.transpose(log_mel, [0, 2, 1]).numpy()
    return output


def hertz_to_mel(hertz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale that ``tf.signal`` uses: 1127 · ln(1 + f / 700)."""
    return 1127.0 * np.log1p(np.asarray(hertz, dtype=np.float64) / 700.0)


def mel_filterbank(settings: FeatureSettings) -> np.ndarray:
    """Triangular mel filters, (FFT bins, mel bands), built in NumPy from the HTK formula; the DC bin gets no weight."""
    bins = settings.fft_length // 2 + 1
    nyquist = settings.sample_rate / 2
    bin_mels = hertz_to_mel(np.linspace(0.0, nyquist, bins)[1:])[:, np.newaxis]
    edges = np.linspace(hertz_to_mel(settings.lower_hz), hertz_to_mel(nyquist), settings.mel_bands + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels - lower) / (centre - lower)
    falling = (upper - bin_mels) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, settings.mel_bands)), weights])


def log_mel_reference(clips: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """The log-mel image computed directly in NumPy: Hann-windowed frames → |rFFT|² → mel filters → log."""
    if settings.kind != "log_mel":
        raise AudioError("the NumPy reference covers log-mel only")
    clips = np.asarray(clips, dtype=np.float64)
    frames = settings.frames(clips.shape[1])
    starts = np.arange(frames) * settings.hop_length
    framed = clips[:, starts[:, np.newaxis] + np.arange(settings.frame_length)]
    # The periodic Hann window, tf.signal.hann_window's default.
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(settings.frame_length) / settings.frame_length)
    power = np.abs(np.fft.rfft(framed * window, n=settings.fft_length)) ** 2
    log_mel = np.log(power @ mel_filterbank(settings) + LOG_OFFSET)
    return np.transpose(log_mel, (0, 2, 1)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The synthetic sound set

SYNTHETIC_CLASSES = (
    "tone",
    "rising chirp",
    "falling chirp",
    "siren (FM)",
    "click train",
    "noise burst",
    "harmonic vowel",
    "two-tone",
)
SYNTHETIC_SOURCE = (
    "Synthetic sounds generated in NumPy (seed {seed}): 8 classes of tones, chirps, sirens, clicks, noise bursts, "
    "vowels and two-tone beeps with random pitch, duration, loudness and background noise. Not real recordings."
)


def _synthetic_clip(label: int, rng: np.random.Generator, sample_rate: int, length: int) -> np.ndarray:
    """One example of a synthetic class, with random pitch, duration, onset, loudness and noise."""
    nyquist = sample_rate / 2
    duration = int(length * rng.uniform(0.35, 0.9))
    onset = int(rng.integers(0, length - duration + 1))
    t = np.arange(duration) / sample_rate
    base = rng.uniform(200, min(1200, 0.3 * nyquist))
    if label == 0:  # steady tone
        signal = np.sin(2 * np.pi * base * t)
    elif label in (1, 2):  # linear chirp up or down over an octave or two
        span = base * rng.uniform(1.0, 2.0)
        start, stop = (base, base + span) if label == 1 else (base + span, base)
        stop = min(stop, 0.45 * nyquist)
        phase = 2 * np.pi * (start * t + (stop - start) * t**2 / (2 * t[-1] + 1e-9))
        signal = np.sin(phase)
    elif label == 3:  # siren: slow sinusoidal frequency modulation
        rate = rng.uniform(2, 6)
        depth = base * rng.uniform(0.2, 0.5)
        phase = 2 * np.pi * base * t - depth / rate * np.cos(2 * np.pi * rate * t)
        signal = np.sin(phase)
    elif label == 4:  # click train: short decaying pulses at a random rate
        signal = np.zeros(duration)
        period = int(sample_rate / rng.uniform(8, 30))
        decay = np.exp(-np.arange(min(40, period)) / 6.0)
        for start in range(0, duration - len(decay), period):
            signal[start : start + len(decay)] += decay * rng.choice([-1.0, 1.0])
    elif label == 5:  # band of white noise with a fast attack and slow decay
        signal = rng.standard_normal(duration) * np.exp(-t * rng.uniform(1, 6))
    elif label == 6:  # vowel-like: a harmonic series shaped by two formants
        f0 = rng.uniform(90, 250)
        formants = (rng.uniform(400, 900), rng.uniform(1000, min(2400, 0.8 * nyquist)))
        signal = np.zeros(duration)
        for harmonic in range(1, int(0.9 * nyquist / f0)):
            frequency = harmonic * f0
            gain = sum(np.exp(-(((frequency - formant) / 150.0) ** 2)) for formant in formants) + 0.05 / harmonic
            signal += gain * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
    else:  # two-tone: alternating beeps at two pitches, like a doorbell
        ratio = rng.uniform(1.2, 1.6)
        segment = max(1, int(sample_rate * rng.uniform(0.08, 0.2)))
        high = (np.arange(duration) // segment) % 2 == 1
        frequency = np.where(high, min(base * ratio, 0.45 * nyquist), base)
        signal = np.sin(2 * np.pi * np.cumsum(frequency) / sample_rate)
    ramp = min(len(signal) // 2, int(0.01 * sample_rate))
    if ramp > 0:  # short fades, so the clip edges do not click
        envelope = np.ones(len(signal))
        envelope[:ramp] = np.linspace(0, 1, ramp)
        envelope[-ramp:] = np.linspace(1, 0, ramp)
        signal = signal * envelope
    signal = signal / (np.max(np.abs(signal)) + 1e-9) * rng.uniform(0.1, 0.9)
    clip = np.zeros(length)
    clip[onset : onset + duration] = signal
    clip += rng.standard_normal(length) * rng.uniform(0.005, 0.08)
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def synthetic_sounds(
    *, train_per_class: int = 60, test_per_class: int = 20, sample_rate: int = 8000, clip_seconds: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The built-in synthetic sound set: (x_train, y_train, x_test, y_test) with clips shaped (N, samples)."""
    if train_per_class < 1 or test_per_class < 1:
        raise AudioError("the synthetic set needs at least one training and one test clip per class")
    length = clip_samples(sample_rate, clip_seconds)
    rng = np.random.default_rng(seed)
    splits = []
    for per_class in (train_per_class, test_per_class):
        labels = np.repeat(np.arange(len(SYNTHETIC_CLASSES)), per_class)
        labels = labels[rng.permutation(len(labels))]
        clips = np.stack([_synthetic_clip(int(label), rng, sample_rate, length) for label in labels])
        splits += [clips, labels.astype(np.int64)]
    return splits[0], splits[1], splits[2], splits[3]


def synthetic_work(*, train_per_class: int = 60, test_per_class: int = 20, sample_rate: int = 8000, clip_seconds: float = 1.0) -> WorkEstimate:
    """What generating the synthetic set will cost: its vowels' harmonics grow with the rate, so time goes as samples × rate."""
    samples = len(SYNTHETIC_CLASSES) * (train_per_class + test_per_class) * clip_samples(sample_rate, clip_seconds)
    # Measured here: 0.3 s at 8 kHz × 1 s, 2.9 s at 22.05 kHz × 2.5 s, 6.0 s at 22.05 kHz × 5 s.
    seconds = samples * (40e-9 + sample_rate * 2e-12)
    return WorkEstimate(seconds, samples * 4 * 2)


def band_statistics(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation of (N, bands, frames) training features."""
    return train.mean(axis=(0, 2)).astype(np.float32), (train.std(axis=(0, 2)) + 1e-6).astype(np.float32)


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

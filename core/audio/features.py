"""How a clip becomes a picture: log-mel and MFCC settings, their batched ``tf.signal`` computation and its cost.

Log-mel features are computed with ``tf.signal`` on the whole batch of clips at once: on this
machine per-file eager calls take ~8 s for FSDD's 3,000 files and one batched call ~0.5 s.
TensorFlow is imported inside :func:`log_mel_features` only. :func:`log_mel_reference` is the
same computation in plain NumPy, written from the formulas, for the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.budget import WorkEstimate
from core.datasets.wav import AudioError

FEATURE_KINDS = ("log_mel", "mfcc")
# log(0) is -inf; this floor is about -14 in natural log, well below any real band energy.
LOG_OFFSET = 1e-6


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


def band_statistics(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation of (N, bands, frames) training features."""
    return train.mean(axis=(0, 2)).astype(np.float32), (train.std(axis=(0, 2)) + 1e-6).astype(np.float32)


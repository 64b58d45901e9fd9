"""The built-in synthetic sound set: eight classes of tones, chirps, sirens, clicks, noise, vowels and beeps.

The offline default of the audio page, generated in NumPy from a fixed seed, so a class without
network or data still has sounds to classify. The loader that wraps it as a dataset is
:func:`core.datasets.audio.synthetic_dataset`.
"""

from __future__ import annotations

import numpy as np

from core.budget import WorkEstimate
from core.datasets.wav import AudioError, clip_samples

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


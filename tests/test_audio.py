"""WAV decoding, resampling, pad/trim, log-mel features and the synthetic sound set, on files the tests write."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from core.audio.features import FeatureSettings, log_mel_features, log_mel_reference, mel_filterbank
from core.datasets import synthetic_sounds, wav


def _pcm_wav(samples: np.ndarray, rate: int, width: int) -> bytes:
    """A WAV file with integer PCM of ``width`` bytes, written by the standard library."""
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    full_scale = 2 ** (8 * width - 1)
    ints = np.clip(np.round(array * full_scale), -full_scale, full_scale - 1).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        flat = ints.reshape(-1) & 0xFFFFFF
        raw = np.stack([flat & 0xFF, (flat >> 8) & 0xFF, (flat >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    else:
        raw = ints.astype(f"<i{width}").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(array.shape[1])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(raw)
    return buffer.getvalue()


RAMP = np.linspace(-0.9, 0.9, 101)


@pytest.mark.parametrize(("width", "tolerance"), [(1, 1 / 128), (2, 1 / 32768), (3, 1 / 8388608), (4, 1e-7)])
def test_integer_pcm_at_every_bit_depth_decodes_to_the_same_waveform(width: int, tolerance: float) -> None:
    samples, rate = wav.read_wav(_pcm_wav(RAMP, 8000, width))
    assert rate == 8000 and samples.dtype == np.float32
    np.testing.assert_allclose(samples, RAMP, atol=tolerance + 1e-7)


def test_negative_24_bit_samples_keep_their_sign() -> None:
    samples, _ = wav.read_wav(_pcm_wav(np.array([-0.5, 0.5, -1.0]), 16000, 3))
    np.testing.assert_allclose(samples, [-0.5, 0.5, -1.0], atol=1e-6)


def test_stereo_is_mixed_down_to_mono() -> None:
    stereo = np.stack([RAMP, np.zeros_like(RAMP)], axis=1)
    samples, _ = wav.read_wav(_pcm_wav(stereo, 22050, 2))
    np.testing.assert_allclose(samples, RAMP / 2, atol=1e-4)


def test_float_wav_goes_through_scipy() -> None:
    buffer = io.BytesIO()
    wavfile.write(buffer, 44100, RAMP.astype(np.float32))
    samples, rate = wav.read_wav(buffer.getvalue())
    assert rate == 44100
    np.testing.assert_allclose(samples, RAMP, atol=1e-6)


def test_header_that_lies_about_the_data_size_is_refused_by_name() -> None:
    data = bytearray(_pcm_wav(RAMP, 8000, 2))
    data_chunk = data.index(b"data")
    struct.pack_into("<I", data, data_chunk + 4, 10_000)  # claims 10,000 bytes; 202 follow
    with pytest.raises(wav.AudioError, match=r"liar\.wav is truncated or its header lies.*10,000 bytes"):
        wav.read_wav(bytes(data), name="liar.wav")


def test_not_a_wav_and_empty_wav_are_clear_errors() -> None:
    with pytest.raises(wav.AudioError, match="x.wav is not a WAV file"):
        wav.read_wav(b"ID3 this is an mp3", name="x.wav")
    with pytest.raises(wav.AudioError, match="no audio samples"):
        wav.read_wav(_pcm_wav(np.zeros(0), 8000, 2), name="empty.wav")


def test_resampling_keeps_a_tone_at_its_frequency() -> None:
    rate, frequency = 16000, 440.0
    tone = np.sin(2 * np.pi * frequency * np.arange(rate) / rate).astype(np.float32)
    down = wav.resample(tone, rate, 8000)
    assert len(down) == 8000
    spectrum = np.abs(np.fft.rfft(down))
    assert np.argmax(spectrum) == pytest.approx(frequency, abs=1)  # 1 s of audio: bin k is k Hz
    up = wav.resample(tone[:441], 44100, 48000)
    assert len(up) == 480
    np.testing.assert_array_equal(wav.resample(tone, rate, rate), tone)


def test_fit_length_pads_with_silence_and_trims() -> None:
    np.testing.assert_array_equal(wav.fit_length(np.ones(3), 5), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(wav.fit_length(np.arange(10), 4), [0, 1, 2, 3])
    with pytest.raises(wav.AudioError, match="clip length"):
        wav.fit_length(np.ones(3), 0)


def test_decode_files_reports_unreadable_files_by_name(tmp_path) -> None:
    good = tmp_path / "good.wav"
    good.write_bytes(_pcm_wav(RAMP, 16000, 2))
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    decoded = wav.decode_files([good, bad], sample_rate=8000, clip_seconds=0.5)
    assert decoded.clips.shape == (1, 4000) and decoded.kept == (0,)
    assert len(decoded.errors) == 1 and decoded.errors[0].startswith("broken.wav")


def test_log_mel_matches_the_direct_numpy_computation() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 8000
    clips = np.stack([np.sin(2 * np.pi * 440 * t), rng.standard_normal(4000) * 0.1, np.sin(2 * np.pi * (300 + 800 * t) * t)])
    settings = FeatureSettings(sample_rate=8000, mel_bands=24, frame_length=200, hop_length=80)
    features = log_mel_features(clips.astype(np.float32), settings)
    assert features.shape == (3, 24, 1 + (4000 - 200) // 80)
    assert settings.fft_length == 256
    np.testing.assert_allclose(features, log_mel_reference(clips, settings), atol=2e-3)


def test_mel_filterbank_matches_tensorflow() -> None:
    import tensorflow as tf

    settings = FeatureSettings(sample_rate=16000, mel_bands=40, frame_length=512, hop_length=256)
    expected = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, settings.lower_hz, 8000.0).numpy()
    np.testing.assert_allclose(mel_filterbank(settings), expected, atol=1e-5)


def test_mfcc_option_gives_the_requested_coefficients() -> None:
    clips = np.random.default_rng(1).standard_normal((2, 2000)).astype(np.float32)
    settings = FeatureSettings(sample_rate=8000, kind="mfcc", mfcc_count=13)
    assert log_mel_features(clips, settings).shape == (2, 13, 1 + (2000 - 256) // 128)


def test_feature_settings_refuse_impossible_values() -> None:
    with pytest.raises(wav.AudioError, match="hop"):
        FeatureSettings(hop_length=512, frame_length=256)
    with pytest.raises(wav.AudioError, match="feature kind"):
        FeatureSettings(kind="cqt")
    with pytest.raises(wav.AudioError, match="shorter than one"):
        FeatureSettings(frame_length=1024, hop_length=256).frames(512)


def test_synthetic_set_is_seeded_balanced_labelled_and_not_trivial() -> None:
    x_train, y_train, x_test, y_test = synthetic_sounds.synthetic_sounds(train_per_class=6, test_per_class=3, seed=3)
    again = synthetic_sounds.synthetic_sounds(train_per_class=6, test_per_class=3, seed=3)
    np.testing.assert_array_equal(x_train, again[0])
    assert len(synthetic_sounds.SYNTHETIC_CLASSES) >= 8
    assert x_train.shape == (6 * 8, 8000) and x_test.shape == (3 * 8, 8000)
    assert np.bincount(y_train).tolist() == [6] * 8 and np.bincount(y_test).tolist() == [3] * 8
    assert np.all(np.abs(x_train) <= 1.0) and np.all(np.isfinite(x_train))
    # Loudness varies within a class, so the level alone does not give the class away.
    tones = np.abs(x_train[y_train == 0]).max(axis=1)
    assert tones.max() / tones.min() > 1.5
    different_seed = synthetic_sounds.synthetic_sounds(train_per_class=6, test_per_class=3, seed=4)[0]
    assert not np.allclose(x_train, different_seed)
    assert "Not real recordings" in synthetic_sounds.SYNTHETIC_SOURCE


def test_wav_bytes_round_trips() -> None:
    data = wav.wav_bytes(RAMP, 8000)
    samples, rate = wav.read_wav(data)
    assert rate == 8000
    np.testing.assert_allclose(samples, RAMP, atol=1e-4)

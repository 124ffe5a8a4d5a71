from __future__ import annotations

import math

import numpy as np
import pytest

from models.voice.prosody import PROSODY_FIELDS, prosody

SR = 16000


def voice_like(f0: float, seconds: float = 2.0, syllables: float = 4.0) -> np.ndarray:
    """A harmonic tone at ``f0`` with a loudness envelope of ``syllables`` per second."""
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * syllables * t - np.pi / 2)
    return (0.2 * tone * envelope).astype(np.float32)


def test_pitch_and_rate_of_a_tone() -> None:
    p = prosody(voice_like(200.0))
    assert set(p) == set(PROSODY_FIELDS)
    assert p["pitch_mean"] == pytest.approx(200.0, rel=0.03)
    assert p["pitch_range"] < 1.0
    assert p["voiced"] > 0.5
    assert 3.0 <= p["rate"] <= 5.0
    assert -40 < p["loudness"] < 0
    assert p["jitter"] < 0.02


def test_higher_voice_higher_pitch() -> None:
    assert prosody(voice_like(300.0))["pitch_mean"] > prosody(voice_like(120.0))["pitch_mean"]


def test_silence_noise_and_tiny_inputs_give_nan_not_errors() -> None:
    for audio in (np.zeros(SR, np.float32), np.zeros(100, np.float32), np.zeros(0, np.float32)):
        p = prosody(audio)
        assert math.isnan(p["pitch_mean"])
    noise = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    p = prosody(noise)
    assert p["voiced"] < 0.2


def test_clipped_audio_is_measured() -> None:
    loud = np.clip(voice_like(150.0) * 20, -1, 1)
    p = prosody(loud)
    assert p["pitch_mean"] == pytest.approx(150.0, rel=0.05)
    assert p["loudness"] > -6


def test_pauses_are_counted() -> None:
    a = voice_like(180.0, 1.0)
    audio = np.concatenate([a, np.zeros(int(0.5 * SR), np.float32), a])
    p = prosody(audio)
    assert p["pauses"] == 1 and p["pause_share"] == pytest.approx(0.2, abs=0.05)

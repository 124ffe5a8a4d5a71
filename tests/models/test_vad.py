from __future__ import annotations

import numpy as np
import pytest

from models.voice.vad import (
    WINDOW,
    WINDOW_SECONDS,
    SpeechDetector,
    VadConfig,
    mean_probability,
    shape_segments,
    speech_runs,
)

CFG = VadConfig()


def track(*spans: tuple[float, float], total: float = 20.0) -> np.ndarray:
    """A probability track: 0.9 inside the spans, 0.05 outside."""
    t = (np.arange(int(total / WINDOW_SECONDS)) + 0.5) * WINDOW_SECONDS
    p = np.full(len(t), 0.05)
    for s, e in spans:
        p[(t >= s) & (t < e)] = 0.9
    return p


def test_runs_follow_the_track_with_padding() -> None:
    runs = speech_runs(track((1.0, 3.0), (6.0, 7.5)), CFG)
    assert len(runs) == 2
    assert runs[0][0] == pytest.approx(0.9, abs=0.05) and runs[0][1] == pytest.approx(3.1, abs=0.05)
    assert runs[1][0] == pytest.approx(5.9, abs=0.05)


def test_short_pauses_do_not_split_and_clicks_are_dropped() -> None:
    runs = speech_runs(track((1.0, 2.0), (2.2, 3.0), (10.0, 10.1)), CFG)
    assert len(runs) == 1 and runs[0][1] == pytest.approx(3.1, abs=0.05)


def test_segments_are_joined_and_split_to_sensible_lengths() -> None:
    spans = shape_segments([(0.0, 0.5), (0.9, 1.2), (5.0, 25.0), (26.0, 26.4)], CFG)
    assert spans[0] == (0.0, 1.2)  # short pieces joined across a short pause
    long_parts = [s for s in spans if s[0] >= 5.0 and s[1] <= 25.0]
    assert len(long_parts) == 3 and all(e - s <= 8.0 for s, e in long_parts)
    assert long_parts[0][0] == 5.0 and long_parts[-1][1] == 25.0
    assert spans[-1] == (26.0, 26.4)  # a lone short segment stays (nothing near to join)
    assert shape_segments([], CFG) == []


def test_nothing_in_silence() -> None:
    assert speech_runs(np.full(500, 0.01), CFG) == []
    assert speech_runs(np.zeros(0), CFG) == []


def test_mean_probability() -> None:
    p = track((1.0, 2.0))
    assert mean_probability(p, 1.0, 2.0) > 0.85
    assert mean_probability(p, 5.0, 6.0) < 0.1


class FakeSilero:
    """Scores each window by its loudness, like a VAD that hears anything loud as speech."""

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        frames = audio.reshape(-1, WINDOW)
        return (np.abs(frames).max(axis=1) > 0.1).astype(np.float32)[:, None]


def test_detector_streams_chunks_of_any_size() -> None:
    audio = np.zeros(16000 * 3, np.float32)
    audio[16000:32000] = 0.5
    detector = SpeechDetector(FakeSilero())
    whole = detector.probabilities([audio])
    pieces = detector.probabilities(np.array_split(audio, 7))
    assert np.array_equal(whole, pieces)
    assert len(whole) == int(np.ceil(len(audio) / WINDOW))
    assert detector.probabilities([]).shape == (0,)

"""Voice emotion model and analyzer around fakes: tiny weights and a fake encoder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.voice.analyzer import VoiceAnalyzer, _windows
from models.voice.emotion import (
    LABELS,
    PROSODY_FEATURES,
    VoiceEmotionModel,
    arousal_valence,
    segment_features,
)
from models.voice.vad import WINDOW, SpeechDetector
from multimodal.errors import ModelError, ModelNotFoundError
from multimodal.vocab import BASIC_EMOTIONS
from multimodal.voice import VOICE_VALUES

HIDDEN = 4


def tiny_model(path: Path, hidden: int = HIDDEN, labels: tuple[str, ...] = LABELS) -> Path:
    """Weights that say joy when the first encoder dimension is high, sadness when low."""
    d = 2 * hidden + len(PROSODY_FEATURES)
    coef = np.zeros((len(labels), d), np.float32)
    coef[LABELS.index("joy"), 0] = 3.0
    coef[LABELS.index("sadness"), 0] = -3.0
    meta = {"labels": list(labels), "hidden_size": hidden, "version": "test"}
    np.savez(
        path,
        mean=np.zeros(d, np.float32),
        scale=np.ones(d, np.float32),
        coef=coef,
        intercept=np.zeros(len(labels), np.float32),
        meta=np.array(json.dumps(meta)),
    )
    return path


def test_model_from_settings_path(tmp_path: Path) -> None:
    model = VoiceEmotionModel.from_settings(tiny_model(tmp_path / "v.npz"))
    high = segment_features(np.full((10, HIDDEN), 2.0), {"pitch_mean": 200.0})
    low = segment_features(np.full((10, HIDDEN), -2.0), {})
    p = model.predict(np.stack([high, low]))
    assert p.shape == (2, 7) and np.allclose(p.sum(1), 1)
    assert LABELS[p[0].argmax()] == "joy" and LABELS[p[1].argmax()] == "sadness"
    arousal, valence = arousal_valence(p)
    assert valence[0] > 0 > valence[1]
    with pytest.raises(ModelError, match="expects"):
        model.predict(np.zeros((1, 5)))


def test_bad_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        VoiceEmotionModel(tmp_path / "missing.npz")
    with pytest.raises(ModelError, match="labels"):
        VoiceEmotionModel(tiny_model(tmp_path / "l.npz", labels=tuple(reversed(LABELS))))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ModelError):
        VoiceEmotionModel(tmp_path / "junk.npz")


def test_windows_group_segments_into_30_seconds() -> None:
    spans = [(0.0, 5.0), (6.0, 12.0), (20.0, 29.0), (29.5, 36.0), (100.0, 101.0)]
    assert _windows(spans, 30.0) == [[0, 1, 2], [3], [4]]


class FakeWhisper:
    """Encoder states whose first dimension is the audio's loudness in each 20 ms frame."""

    info = {"name": "fake-whisper"}

    def encode_window(self, audio: np.ndarray) -> np.ndarray:
        frames = int(np.ceil(len(audio) / 320))
        padded = np.pad(audio, (0, frames * 320 - len(audio)))
        level = np.abs(padded.reshape(frames, 320)).mean(1) * 10
        return np.repeat(level[:, None], HIDDEN, axis=1).astype(np.float32)


class LoudIsSpeech:
    def __call__(self, audio: np.ndarray) -> np.ndarray:
        return (np.abs(audio.reshape(-1, WINDOW)).max(1) > 0.05).astype(np.float32)[:, None]


def test_analyzer_segments_and_describes_speech(tmp_path: Path) -> None:
    sr = 16000
    audio = np.zeros(sr * 40, np.float32)
    t = np.arange(sr * 3) / sr
    audio[sr * 2 : sr * 5] = 0.3 * np.sin(2 * np.pi * 180 * t)  # loud "speech": joy
    audio[sr * 20 : sr * 23] = 0.06 * np.sin(2 * np.pi * 120 * t)  # quiet "speech"
    analyzer = VoiceAnalyzer(
        SpeechDetector(LoudIsSpeech()), FakeWhisper(),  # type: ignore[arg-type]
        VoiceEmotionModel(tiny_model(tmp_path / "v.npz")),
    )  # fmt: skip
    calls = []
    result = analyzer.analyze(
        lambda: iter(np.array_split(audio, 13)), hook=lambda _step, **k: calls.append(k)
    )
    assert [round(s.span.start, 1) for s in result.segments] == [1.9, 19.9]
    assert all(2.9 < s.span.duration < 3.4 for s in result.segments)
    first, second = result.segments
    assert set(first.data) == set(VOICE_VALUES)
    assert first.label == "joy" and first.data["joy"] > second.data["joy"]
    assert first.data["pitch_mean"] == pytest.approx(180, rel=0.05)
    assert np.isclose(sum(first.data[e] for e in BASIC_EMOTIONS), 1.0)
    assert first.score > 0.8
    assert result.duration == pytest.approx(40.0, abs=0.1)
    assert len(result.vad) == int(np.ceil(len(audio) / WINDOW))
    assert calls[-1] == {"completed": 2, "total": 2}


def test_analyzer_on_silence_is_empty(tmp_path: Path) -> None:
    analyzer = VoiceAnalyzer(
        SpeechDetector(LoudIsSpeech()), FakeWhisper(),  # type: ignore[arg-type]
        VoiceEmotionModel(tiny_model(tmp_path / "v.npz")),
    )  # fmt: skip
    result = analyzer.analyze(lambda: iter([np.zeros(16000 * 5, np.float32)]))
    assert result.segments == () and result.duration == pytest.approx(5.0, abs=0.05)
    assert analyzer.analyze(lambda: iter([])).segments == ()


def test_long_audio_in_odd_chunks_keeps_segments_in_place(tmp_path: Path) -> None:
    """An hour of audio, speech bursts every 97 s, streamed in chunks of an odd size: every
    window starts where its speech starts (no drift, no negative offsets)."""
    sr, chunk = 16000, 160_003
    total = sr * 3600
    bursts = [(t, t + 2.5) for t in np.arange(5.0, 3590.0, 97.0)]

    def stream() -> Iterator[np.ndarray]:
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            t = (start + np.arange(n)) / sr
            loud = np.zeros(n, bool)
            for a, b in bursts:
                loud |= (t >= a) & (t < b)
            yield np.where(loud, 0.3 * np.sin(2 * np.pi * 150 * t), 0.0).astype(np.float32)

    analyzer = VoiceAnalyzer(
        SpeechDetector(LoudIsSpeech()), FakeWhisper(),  # type: ignore[arg-type]
        VoiceEmotionModel(tiny_model(tmp_path / "v.npz")),
    )  # fmt: skip
    result = analyzer.analyze(stream)
    assert len(result.segments) == len(bursts)
    for seg, (a, b) in zip(result.segments, bursts, strict=True):
        assert abs(seg.span.start - (a - 0.1)) < 0.05 and abs(seg.span.end - (b + 0.1)) < 0.05
        assert seg.data["pitch_mean"] == pytest.approx(150, rel=0.05)


def test_segment_starting_a_hair_before_its_window(tmp_path: Path) -> None:
    """309.37199999999996 s rounds to sample 4,949,952 = 309.372 s: the segment starts 4e-14 s
    before its window, which once made an empty slice of encoder frames."""
    from models.voice.analyzer import Speech, SpeechWindow

    analyzer = VoiceAnalyzer(
        SpeechDetector(LoudIsSpeech()), FakeWhisper(),  # type: ignore[arg-type]
        VoiceEmotionModel(tiny_model(tmp_path / "v.npz")),
    )  # fmt: skip
    start = 309.37199999999996
    speech = Speech(np.full(int(320 / 0.032), 0.9), [(start, start + 3.0)])
    audio = (0.3 * np.sin(np.arange(80000) / 16000 * 2 * np.pi * 150)).astype(np.float32)
    window = SpeechWindow(4_949_952 / 16000, audio, (0,))
    (segment,) = analyzer.describe(window, speech)
    assert segment.label in LABELS

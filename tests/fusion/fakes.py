"""Fake analyser outputs whose values are known functions of time, for exact fusion tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from multimodal.faces import FACE_COLUMNS, FaceCoding, FaceTrack
from multimodal.text import GOEMOTIONS_LABELS, TextAnalysis
from multimodal.timeline import FrameSeries, Segment, Span
from multimodal.transcripts import Utterance, Word
from multimodal.vocab import BASIC_EMOTIONS, EMOTIONS
from multimodal.voice import PROSODY_COLUMNS, VoiceAnalysis

Values = Mapping[str, float]


def probs8(**given: float) -> dict[str, float]:
    """A distribution over the eight emotions: the given ones, the rest shared equally."""
    rest = [e for e in EMOTIONS if e not in given]
    left = 1.0 - sum(given.values())
    return {**{e: left / len(rest) for e in rest}, **given} if rest else dict(given)


def probs7(**given: float) -> dict[str, float]:
    rest = [e for e in BASIC_EMOTIONS if e not in given]
    left = 1.0 - sum(given.values())
    return {**{e: left / len(rest) for e in rest}, **given} if rest else dict(given)


def face_row(probs: Values, valence: float = 0.0, arousal: float = 0.0, quality: float = 1.0,
             yaw: float = 0.0, pitch: float = 0.0, **aus: float) -> dict[str, float]:  # fmt: skip
    row = dict.fromkeys(FACE_COLUMNS, 0.0)
    row.update({"w": 100.0, "h": 100.0, "quality": quality, "yaw": yaw, "pitch": pitch,
                "valence": valence, "arousal": arousal})  # fmt: skip
    row.update(probs)
    row.update(aus)
    return row


def fake_faces(
    times: Sequence[float],
    tracks: Mapping[int, Callable[[float], dict[str, float] | None]],
) -> FaceCoding:
    """Faces seen at ``times``; each track's function gives its row at a time, or ``None``."""
    t = np.asarray(times, dtype=np.float64)
    out = []
    for face_id, fn in sorted(tracks.items()):
        rows = [fn(float(x)) for x in t]
        seen = [i for i, r in enumerate(rows) if r is not None]
        if not seen:
            continue  # never seen: no track
        lo, hi = seen[0], seen[-1] + 1
        series = FrameSeries.from_rows(t[lo:hi], rows[lo:hi], FACE_COLUMNS)
        out.append(FaceTrack(face_id, series))
    return FaceCoding(t, tuple(out), (640, 480))


def fake_voice(
    segments: Sequence[tuple[float, float, Values, float, float, float]],
    duration: float,
    vad_step: float = 0.032,
) -> VoiceAnalysis:
    """Speech segments ``(start, end, probs7, valence, arousal, speech_prob)``; the VAD track is
    the speech probability inside segments, 0 outside."""
    segs = []
    for start, end, probs, valence, arousal, prob in segments:
        data = dict.fromkeys(PROSODY_COLUMNS, 0.0)
        data.update({"pitch_mean": 200.0, "loudness": -20.0, "rate": 4.0})
        data.update(probs)
        data.update({"valence": valence, "arousal": arousal, "speech_prob": prob})
        label = max(BASIC_EMOTIONS, key=lambda e: probs[e])
        segs.append(Segment(Span(start, end), label, prob, data))
    times = np.arange(0.0, duration, vad_step)
    speech = np.zeros(len(times))
    for start, end, _, _, _, prob in segments:
        speech[(times >= start) & (times < end)] = prob
    vad = FrameSeries(times, speech[:, None], np.ones(len(times), bool), ("speech_prob",))
    return VoiceAnalysis(tuple(segs), vad, duration)


def fake_text(
    utterances: Sequence[tuple[float, float, str, Values, float]], word_prob: float = 1.0
) -> TextAnalysis:
    """Utterances ``(start, end, text, probs7, valence)``; words share the span equally."""
    us = []
    for start, end, text, _, _ in utterances:
        words = text.split()
        step = (end - start) / max(1, len(words))
        ws = tuple(
            Word(Span(start + k * step, start + (k + 1) * step), w, word_prob)
            for k, w in enumerate(words)
        )
        us.append(Utterance(Span(start, end), text, ws))
    basic = np.array([[u[3][e] for e in BASIC_EMOTIONS] for u in utterances]).reshape(-1, 7)
    valence = np.array([u[4] for u in utterances], dtype=np.float64)
    go = np.zeros((len(us), len(GOEMOTIONS_LABELS)))
    return TextAnalysis(tuple(us), basic, go, valence, "asr")

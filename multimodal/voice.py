"""Voice analysis results: speech segments with prosody and vocal emotion, and the VAD track."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from multimodal.timeline import FrameSeries, Segment
from multimodal.vocab import BASIC_EMOTIONS

PROSODY_COLUMNS: tuple[str, ...] = (
    "pitch_mean", "pitch_range", "loudness", "rate", "pauses", "pause_share", "jitter",
    "shimmer", "voiced",
)  # fmt: skip
"""Prosody per segment: Hz, semitones, dBFS, syllables/s, count, share, ratio, ratio, share."""

VOICE_VALUES: tuple[str, ...] = (
    ("speech_prob",) + PROSODY_COLUMNS + ("arousal", "valence") + BASIC_EMOTIONS
)
"""Names in each segment's ``data``: mean speech probability 0-1, prosody, arousal and valence
in [-1, 1], probabilities over the seven basic emotions (sum 1)."""


@dataclass(frozen=True)
class VoiceAnalysis:
    """The voice of one recording.

    Attributes:
        segments: speech segments in time order; ``label`` is the most probable emotion,
            ``score`` the mean speech probability, ``data`` the :data:`VOICE_VALUES`.
        vad: speech probability every 32 ms (column ``speech_prob``), over the whole audio.
        duration: seconds of audio analysed.
        models: what produced the result.
    """

    segments: tuple[Segment, ...]
    vad: FrameSeries
    duration: float
    models: tuple[Mapping[str, str], ...] = ()

    @property
    def speech_seconds(self) -> float:
        return sum(s.span.duration for s in self.segments)

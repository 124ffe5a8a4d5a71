"""Transcript and text emotion results: utterances with word times and their emotions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from multimodal.timeline import FloatArray
from multimodal.transcripts import Utterance

GOEMOTIONS_LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)  # fmt: skip
"""The 28 GoEmotions labels (27 emotions + neutral)."""


@dataclass(frozen=True)
class TextAnalysis:
    """What was said, and how it reads.

    Attributes:
        utterances: sentences (or ASR segments) in time order.
        basic: ``(n, 7)`` probabilities over the basic emotions per utterance (rows sum to 1).
        goemotions: ``(n, 28)`` independent probabilities of the GoEmotions labels.
        valence: ``(n,)`` in ``[-1, 1]``.
        source: where the words came from: ``asr``, ``srt``, ``vtt`` or ``text``.
        language: ISO code of the speech (``None`` when unknown).
        models: what produced the result.
    """

    utterances: tuple[Utterance, ...]
    basic: FloatArray
    goemotions: FloatArray
    valence: FloatArray
    source: str
    language: str | None = None
    models: tuple[Mapping[str, str], ...] = ()

    @classmethod
    def empty(cls, source: str, models: tuple[Mapping[str, str], ...] = ()) -> TextAnalysis:
        return cls((), np.zeros((0, 7)), np.zeros((0, len(GOEMOTIONS_LABELS))), np.zeros(0),
                   source, None, models)  # fmt: skip

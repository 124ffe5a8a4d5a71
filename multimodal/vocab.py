"""Names shared by every part of Affectline: action units and emotion labels."""

from __future__ import annotations

AU_CODES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
    "AU15", "AU17", "AU20", "AU23", "AU24", "AU25", "AU26", "AU28", "AU43", "AU45",
)  # fmt: skip
"""FACS action units coded from the face, in output order."""

AU_NAMES: dict[str, str] = {
    "AU01": "inner brow raiser",
    "AU02": "outer brow raiser",
    "AU04": "brow lowerer",
    "AU05": "upper lid raiser",
    "AU06": "cheek raiser",
    "AU07": "lid tightener",
    "AU09": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller",
    "AU14": "dimpler",
    "AU15": "lip corner depressor",
    "AU17": "chin raiser",
    "AU20": "lip stretcher",
    "AU23": "lip tightener",
    "AU24": "lip pressor",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "AU28": "lip suck",
    "AU43": "eyes closed",
    "AU45": "blink",
}

EMOTIONS: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "joy", "neutral", "sadness", "surprise",
)  # fmt: skip
"""Emotion labels reported by Affectline, in output order."""

BASIC_EMOTIONS: tuple[str, ...] = (
    "anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise",
)  # fmt: skip
"""The seven labels the trained face, voice and text classifiers share (no contempt)."""

FACS_MAX_INTENSITY = 5.0
"""Top of the FACS intensity scale: 0 absent, 1-5 = A (trace) to E (maximum)."""

CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "anger": (-0.6, 0.7),
    "contempt": (-0.5, 0.2),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.7),
    "joy": (0.8, 0.5),
    "neutral": (0.0, 0.0),
    "sadness": (-0.7, -0.4),
    "surprise": (0.2, 0.8),
}
"""(valence, arousal) of each label in ``[-1, 1]``, after Russell (1980) and Scherer's (2005)
placements. The face derives its valence and arousal from it, and fusion the arousal of words."""

"""Affectline's voice emotion model: pooled Whisper encoder states + prosody -> 7 emotions.

A multinomial logistic regression (numpy at run time) trained by
``models/training/train_voice.py`` on RAVDESS speech (card: ``models/cards/voice-emotion.md``).
Features per segment: the mean and standard deviation over time of Whisper tiny.en's last
encoder states (2 x 384), and the segment's prosody (:data:`PROSODY_FEATURES`, with missing
values set to the training mean). Everything is standardised with the training statistics
stored beside the weights.

Arousal and valence (-1..1) are the expectation of each label's place on Russell's circumplex
under the predicted probabilities: a derived estimate, like the face's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.resolve import sha256_of
from multimodal.errors import ModelError, ModelNotFoundError
from multimodal.vocab import BASIC_EMOTIONS

LABELS: tuple[str, ...] = BASIC_EMOTIONS
"""The model's classes, in output order."""

PROSODY_FEATURES: tuple[str, ...] = (
    "pitch_mean_st", "pitch_range", "loudness", "rate", "pause_share", "jitter", "shimmer",
    "voiced",
)  # fmt: skip
"""Prosody inputs (``pitch_mean_st`` is the mean pitch in semitones above 55 Hz)."""

CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "anger": (-0.6, 0.7),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.7),
    "joy": (0.8, 0.5),
    "neutral": (0.0, -0.1),
    "sadness": (-0.7, -0.4),
    "surprise": (0.2, 0.8),
}
"""(valence, arousal) per label, as for the face (neutral speech sits slightly below 0)."""

FloatArray = npt.NDArray[np.float64]


def prosody_vector(values: Mapping[str, float]) -> FloatArray:
    """The prosody part of the feature vector, NaN where unmeasured."""
    pitch = values.get("pitch_mean", np.nan)
    st = 12.0 * np.log2(pitch / 55.0) if pitch and np.isfinite(pitch) and pitch > 0 else np.nan
    row = [st] + [values.get(k, np.nan) for k in PROSODY_FEATURES[1:]]
    return np.asarray(row, dtype=np.float64)


def segment_features(states: npt.NDArray[np.floating], prosody: Mapping[str, float]) -> FloatArray:
    """Feature vector of one segment from its encoder states ``(frames, hidden)`` and prosody."""
    s = np.asarray(states, dtype=np.float64)
    if s.ndim != 2 or len(s) == 0:
        raise ValueError("a segment needs at least one encoder frame")
    return np.concatenate([s.mean(axis=0), s.std(axis=0), prosody_vector(prosody)])


def packaged_model_path() -> Path:
    return Path(str(resources.files("models").joinpath("weights/voice_emotion.npz")))


class VoiceEmotionModel:
    """Probabilities over :data:`LABELS` from segment feature vectors.

    Args:
        path: an ``.npz`` with ``mean``, ``scale``, ``coef``, ``intercept`` and ``meta`` (JSON
            with ``labels`` and ``hidden_size``), as written by the training script.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ModelNotFoundError(
                f"voice emotion model {path} not found; reinstall Affectline or set "
                "AFFECTLINE_VOICE_MODEL_PATH"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                self.mean = np.asarray(data["mean"], dtype=np.float64)
                self.scale = np.asarray(data["scale"], dtype=np.float64)
                self.coef = np.asarray(data["coef"], dtype=np.float64)
                self.intercept = np.asarray(data["intercept"], dtype=np.float64)
                meta = json.loads(str(data["meta"]))
        except (OSError, KeyError, ValueError) as e:
            raise ModelError(f"voice emotion model {path} is unreadable ({e})") from e
        if tuple(meta.get("labels", ())) != LABELS:
            raise ModelError(
                f"voice emotion model labels {meta.get('labels')} differ from {LABELS}"
            )
        if self.coef.shape != (len(LABELS), len(self.mean)) or self.scale.shape != self.mean.shape:
            raise ModelError("voice emotion model arrays have inconsistent shapes")
        self.hidden_size = int(meta["hidden_size"])
        self.meta = meta
        self.info = {"name": "affectline_voice_emotion", "version": str(meta.get("version", "1")),
                     "sha256": sha256_of(path), "origin": str(path)}  # fmt: skip

    @classmethod
    def from_settings(cls, path: Path | None) -> VoiceEmotionModel:
        model = cls(path or packaged_model_path())
        if path is None:
            model.info["origin"] = "package:affectline"
        return model

    def predict(self, features: FloatArray) -> FloatArray:
        """Probabilities ``(n, 7)`` for feature rows ``(n, d)``."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if x.shape[1] != len(self.mean):
            raise ModelError(
                f"voice features have {x.shape[1]} values, the model expects {len(self.mean)}; "
                "the Whisper model in use differs from the one the voice model was trained with"
            )
        x = np.where(np.isfinite(x), x, self.mean)
        z = (x - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p: FloatArray = np.exp(logits)
        out: FloatArray = p / p.sum(axis=1, keepdims=True)
        return out


def arousal_valence(probs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Arousal and valence in ``[-1, 1]`` per row of probabilities over :data:`LABELS`."""
    coords = np.array([CIRCUMPLEX[label] for label in LABELS])
    va = np.atleast_2d(probs) @ coords
    return np.clip(va[:, 1], -1, 1), np.clip(va[:, 0], -1, 1)

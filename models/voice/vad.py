"""Voice activity: Silero VAD (ONNX) speech probabilities and speech segments of 1-8 seconds.

The Silero VAD v6 model ships inside ``faster-whisper`` (``faster_whisper/assets``); its own
runner (``faster_whisper.vad.SileroVADModel``) scores 32 ms windows. Audio is scored in chunks as
it is decoded, so a long file never sits in memory; only the probability track (31 values per
second) is kept. Segments come from that track by hysteresis (speech starts above
``threshold``, ends after ``min_silence`` below ``threshold - 0.15``), then are merged across
short pauses and split so that each lasts about 1-8 s: long enough for prosody and emotion,
short enough to follow changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.resolve import sha256_of
from multimodal.errors import ModelNotFoundError
from multimodal.media import AUDIO_RATE

WINDOW = 512
"""Samples per VAD window (32 ms at 16 kHz)."""
WINDOW_SECONDS = WINDOW / AUDIO_RATE

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VadConfig:
    """Segmentation options (seconds unless stated).

    Attributes:
        threshold: speech probability that starts speech.
        min_silence: a pause at least this long ends a speech run.
        min_speech: shorter runs are dropped as clicks and breaths.
        pad: added before and after each run.
        merge_gap: neighbouring segments closer than this are joined while the result stays
            within ``max_length``.
        min_length: segments shorter than this are joined to a neighbour within ``max_gap``
            when possible.
        max_gap: the widest pause a short segment is joined across.
        max_length: longer segments are split into equal parts no longer than this.
    """

    threshold: float = 0.5
    min_silence: float = 0.3
    min_speech: float = 0.25
    pad: float = 0.1
    merge_gap: float = 0.4
    min_length: float = 1.0
    max_gap: float = 1.0
    max_length: float = 8.0


def silero_model_path() -> Path:
    try:
        from faster_whisper.vad import get_assets_path
    except ImportError as e:
        raise ModelNotFoundError(
            "voice activity detection needs the faster-whisper package (pip install "
            "faster-whisper), which ships Silero VAD"
        ) from e
    path = Path(get_assets_path()) / "silero_vad_v6.onnx"
    if not path.is_file():
        raise ModelNotFoundError(f"Silero VAD model not found at {path}; reinstall faster-whisper")
    return path


class SpeechDetector:
    """Silero VAD over a stream of 16 kHz mono chunks."""

    def __init__(self, model: Any | None = None) -> None:
        self.info = {"name": "silero_vad", "version": "v6 (faster-whisper assets)",
                     "origin": "injected", "sha256": ""}  # fmt: skip
        if model is None:
            from faster_whisper.vad import SileroVADModel

            path = silero_model_path()
            model = SileroVADModel(str(path))
            self.info.update(origin="package:faster_whisper", sha256=sha256_of(path))
        self._model = model

    def probabilities(self, chunks: Iterable[npt.NDArray[np.float32]]) -> FloatArray:
        """Speech probability of every 32 ms window, in order, over all ``chunks``."""
        out: list[FloatArray] = []
        carry = np.zeros(0, dtype=np.float32)
        for chunk in chunks:
            audio = np.concatenate([carry, np.asarray(chunk, dtype=np.float32)])
            usable = len(audio) - len(audio) % WINDOW
            carry = audio[usable:]
            if usable:
                out.append(self._score(audio[:usable]))
        if len(carry):
            out.append(self._score(np.pad(carry, (0, WINDOW - len(carry)))))
        return np.concatenate(out) if out else np.zeros(0)

    def _score(self, audio: npt.NDArray[np.float32]) -> FloatArray:
        probs = np.asarray(self._model(np.ascontiguousarray(audio)), dtype=np.float64)
        return probs.reshape(-1)


def speech_runs(probs: FloatArray, config: VadConfig) -> list[tuple[float, float]]:
    """Raw speech runs ``(start, end)`` in seconds from window probabilities, by hysteresis."""
    off = max(config.threshold - 0.15, 0.01)
    runs: list[tuple[float, float]] = []
    start: int | None = None
    last_speech = 0
    silence_windows = max(1, int(round(config.min_silence / WINDOW_SECONDS)))
    for i, p in enumerate(probs):
        if start is None:
            if p >= config.threshold:
                start, last_speech = i, i
        elif p >= off:
            last_speech = i
        elif i - last_speech >= silence_windows:
            runs.append((start * WINDOW_SECONDS, (last_speech + 1) * WINDOW_SECONDS))
            start = None
    if start is not None:
        runs.append((start * WINDOW_SECONDS, (last_speech + 1) * WINDOW_SECONDS))
    total = len(probs) * WINDOW_SECONDS
    padded = [
        (max(0.0, s - config.pad), min(total, e + config.pad))
        for s, e in runs
        if e - s >= config.min_speech
    ]
    merged: list[tuple[float, float]] = []
    for s, e in padded:  # padding can make neighbours overlap
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def shape_segments(runs: list[tuple[float, float]], config: VadConfig) -> list[tuple[float, float]]:
    """Join close and short runs, then split long ones, aiming at ``min_length``-``max_length``."""
    out: list[tuple[float, float]] = []
    for s, e in runs:
        if out:
            ps, pe = out[-1]
            gap = s - pe
            joined = e - ps
            short = (pe - ps) < config.min_length or (e - s) < config.min_length
            if joined <= config.max_length and (
                gap <= config.merge_gap or (short and gap <= config.max_gap)
            ):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    result: list[tuple[float, float]] = []
    for s, e in out:
        parts = int(np.ceil((e - s) / config.max_length - 1e-9))
        if parts <= 1:
            result.append((s, e))
            continue
        edges = np.linspace(s, e, parts + 1)
        result.extend((float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True))
    return result


def mean_probability(probs: FloatArray, start: float, end: float) -> float:
    """Mean speech probability of the windows inside ``[start, end)``."""
    a = int(start / WINDOW_SECONDS)
    b = max(a + 1, int(np.ceil(end / WINDOW_SECONDS)))
    window = probs[a:b]
    return float(window.mean()) if len(window) else 0.0

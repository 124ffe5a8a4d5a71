"""Each modality's output put on the shared grid, in one common shape.

A :class:`OnGrid` holds, per grid cell, one modality's probabilities over
:data:`~multimodal.vocab.EMOTIONS`, its valence and arousal, and its confidence in that cell.
A modality that has no label for an emotion (voice and text have no contempt) leaves that column
``NaN``: it abstains on it rather than saying 0.

Confidence per cell, in ``[0, 1]``:

* face: the face's quality (size, pose, sharpness, in-frame share), interpolated;
* voice: the segment's mean speech probability times the share of the cell with speech;
* text: the mean ASR word probability (1 for a supplied transcript) times the share of the cell
  inside an utterance.

``share`` scales voice and text confidence by how much of the voice is attributed to the person
being profiled (``fusion/people.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.grid import Grid, assign, interpolate
from multimodal.faces import FaceCoding, FaceTrack
from multimodal.text import TextAnalysis
from multimodal.timeline import BoolArray, FloatArray, Span
from multimodal.vocab import AU_CODES, BASIC_EMOTIONS, CIRCUMPLEX, EMOTIONS
from multimodal.voice import VoiceAnalysis

BASIC_INDEX = [EMOTIONS.index(e) for e in BASIC_EMOTIONS]
"""Columns of :data:`EMOTIONS` that the seven-label models fill."""

GAP_FRAMES = 2.5
"""Face observations further apart than this many analysis intervals are not bridged."""


@dataclass(frozen=True)
class OnGrid:
    """One modality on the grid.

    Attributes:
        name: ``face``, ``voice`` or ``text``.
        probs: ``(n, 8)`` probabilities over :data:`EMOTIONS` summing to 1 over the labels the
            modality has; ``NaN`` columns where it has no such label, ``NaN`` rows where absent.
        valence: ``(n,)`` in ``[-1, 1]``, ``NaN`` where absent.
        arousal: ``(n,)`` in ``[-1, 1]``, ``NaN`` where absent.
        confidence: ``(n,)`` in ``[0, 1]``, 0 where absent.
    """

    name: str
    probs: FloatArray
    valence: FloatArray
    arousal: FloatArray
    confidence: FloatArray

    @property
    def present(self) -> BoolArray:
        out: BoolArray = self.confidence > 0
        return out


@dataclass(frozen=True)
class FaceOnGrid:
    """A face track on the grid, with what engagement and key moments need besides emotions.

    Attributes:
        face_id: the track.
        modality: its emotions, valence, arousal and quality as an :class:`OnGrid`.
        present: ``(n,)`` true where the face was seen near the cell centre.
        yaw: ``(n,)`` degrees, ``NaN`` where absent.
        pitch: ``(n,)`` degrees, ``NaN`` where absent.
        aus: ``(n, 20)`` AU intensities 0-5 over :data:`AU_CODES`, ``NaN`` where absent.
    """

    face_id: int
    modality: OnGrid
    present: BoolArray
    yaw: FloatArray
    pitch: FloatArray
    aus: FloatArray


def analysis_interval(coding: FaceCoding) -> float:
    """Median seconds between analysed frames (0 for a single frame)."""
    times = coding.frame_times
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0


def face_on_grid(coding: FaceCoding, track: FaceTrack, grid: Grid) -> FaceOnGrid:
    """One face track interpolated at the grid's cell centres."""
    names = EMOTIONS + ("valence", "arousal", "quality", "yaw", "pitch") + AU_CODES
    s = track.series.select(names)
    max_gap = max(GAP_FRAMES * analysis_interval(coding), 1e-6)
    values, present = interpolate(s.times, s.values, s.mask, grid, max_gap)
    e = len(EMOTIONS)
    probs = values[:, :e]
    sums = probs.sum(axis=1, keepdims=True)
    probs = np.where(present[:, None], probs / np.where(sums > 0, sums, 1.0), np.nan)
    quality = np.where(present, np.clip(values[:, e + 2], 0.0, 1.0), 0.0)
    modality = OnGrid("face", probs, values[:, e], values[:, e + 1], quality)
    return FaceOnGrid(
        track.face_id, modality, present, values[:, e + 3], values[:, e + 4], values[:, e + 5 :]
    )


def _seven_to_eight(basic: FloatArray) -> FloatArray:
    out = np.full((basic.shape[0], len(EMOTIONS)), np.nan)
    out[:, BASIC_INDEX] = basic
    return out


def _share(share: FloatArray | None, n: int) -> FloatArray:
    return np.ones(n) if share is None else np.clip(np.nan_to_num(share), 0.0, 1.0)


def voice_on_grid(voice: VoiceAnalysis, grid: Grid, share: FloatArray | None = None) -> OnGrid:
    """Speech segments on the grid by overlap; ``share`` is the voice's attribution per cell."""
    names = BASIC_EMOTIONS + ("valence", "arousal", "speech_prob")
    spans = [seg.span for seg in voice.segments]
    rows = np.array([[seg.data[k] for k in names] for seg in voice.segments]).reshape(
        len(spans), len(names)
    )
    values, coverage = assign(spans, rows, grid)
    b = len(BASIC_EMOTIONS)
    has = coverage > 0
    confidence = np.where(has, np.nan_to_num(values[:, b + 2]) * coverage, 0.0)
    confidence = confidence * _share(share, len(grid))
    return OnGrid("voice", _seven_to_eight(values[:, :b]), values[:, b], values[:, b + 1],
                  np.clip(confidence, 0.0, 1.0))  # fmt: skip


def speech_coverage(voice: VoiceAnalysis, grid: Grid) -> FloatArray:
    """``(n,)`` share of each cell inside a speech segment."""
    _, coverage = assign([seg.span for seg in voice.segments], np.zeros((0, 0)), grid)
    return coverage


def text_arousal(basic: FloatArray) -> FloatArray:
    """Arousal of words: their emotion probabilities' expected place on the circumplex."""
    out: FloatArray = basic @ np.array([CIRCUMPLEX[e][1] for e in BASIC_EMOTIONS])
    return out


def text_on_grid(text: TextAnalysis, grid: Grid, share: FloatArray | None = None) -> OnGrid:
    """Utterances on the grid by overlap; ``share`` is the voice's attribution per cell."""
    spans = [u.span for u in text.utterances]
    word_prob = np.array(
        [np.mean([w.probability for w in u.words]) if u.words else 1.0 for u in text.utterances]
    )
    rows = np.column_stack([text.basic, text.valence, text_arousal(text.basic), word_prob]).reshape(
        len(spans), len(BASIC_EMOTIONS) + 3
    )
    values, coverage = assign(spans, rows, grid)
    b = len(BASIC_EMOTIONS)
    confidence = np.where(coverage > 0, np.nan_to_num(values[:, b + 2]) * coverage, 0.0)
    confidence = confidence * _share(share, len(grid))
    return OnGrid("text", _seven_to_eight(values[:, :b]), values[:, b], values[:, b + 1],
                  np.clip(confidence, 0.0, 1.0))  # fmt: skip


def words_on_grid(text: TextAnalysis, grid: Grid) -> list[str]:
    """The words said in each cell (by each word's middle), joined by spaces.

    An utterance without word times (an SRT cue) is put whole in the cell where it starts.
    """
    cells: list[list[str]] = [[] for _ in range(len(grid))]
    last = len(grid) - 1
    for u in text.utterances:
        items = [(w.span.middle, w.text) for w in u.words] or [(u.span.start, u.text)]
        for t, word in items:
            i = min(last, max(0, int(t // grid.step))) if grid.duration > 0 else 0
            cells[i].append(word.strip())
    return [" ".join(w for w in c if w) for c in cells]


def words_in(text: TextAnalysis | None, span: Span) -> tuple[str, tuple[str, ...]]:
    """Words said during ``span`` (by overlap) and the utterances they belong to."""
    if text is None:
        return "", ()
    words: list[str] = []
    utterances: list[str] = []
    for u in text.utterances:
        if u.span.overlap(span) <= 0 and not (u.span.duration == 0 and span.contains(u.span.start)):
            continue
        utterances.append(u.text)
        inside = [w.text.strip() for w in u.words if w.span.overlap(span) > 0]
        words.extend(inside if u.words else [u.text])
    return " ".join(w for w in words if w), tuple(utterances)

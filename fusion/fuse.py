"""Late fusion of modalities already on one grid.

Per grid cell ``i`` and modality ``m`` the weight is ``w[m, i] = reliability[m] * confidence[m, i]``
(``fusion/reliability.py``, ``fusion/sources.py``). A modality with weight 0 drops out of that
cell; a cell where every weight is 0 has *no evidence* and every fused value there is ``NaN``.

* **Emotions**: a weighted linear opinion pool. A modality without a label abstains on it: the
  fused contempt is the weighted mean of the modalities that have contempt (the face), and the
  remaining ``1 - contempt`` is shared out by the pooled seven-label distributions (each
  renormalised over the seven labels). The result sums to 1.
* **Valence, arousal**: weighted means.
* **Weights**: ``w[m, i] / sum_m w[m, i]``, each modality's share of the cell.
* **Agreement** in ``[0, 1]``: 1 minus the weighted mean, over pairs of modalities present, of a
  distance that is half the total-variation distance of their seven-label distributions and half
  their valence difference over 2. With one modality present it is 1.
* **Conflicts**: a pair of modalities, each with confidence at least
  :data:`CONFLICT_MIN_CONFIDENCE`, whose valences have opposite signs and differ by at least
  :data:`CONFLICT_GAP` (a smile over negative words), or whose arousals differ by at least
  :data:`CONFLICT_GAP` (calm words in an agitated voice).
* **Confidence** in ``[0, 1]``: evidence times ``(1 + agreement) / 2``, where evidence is
  ``sum_m w[m, i] / sum_m reliability[m]`` over the modalities that ran (how much of what the
  recording could have told was there).
* **Engagement** in ``[0, 1]``: the weighted mean of the components that exist for the
  recording: attention 0.4 (the face is present and turned to the camera:
  ``1 - hypot(yaw, pitch) / 60 deg``, 0 when absent; only when faces were analysed),
  expressiveness 0.2 (``1 - neutral``), voice activity 0.2 (share of the cell with speech; only
  when voice was analysed) and arousal 0.2 (``(arousal + 1) / 2``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fusion.grid import Grid
from fusion.sources import BASIC_INDEX, OnGrid
from multimodal.timeline import BoolArray, FloatArray
from multimodal.vocab import EMOTIONS

CONFLICT_GAP = 0.75
"""Difference in valence or arousal (on the 2-wide scale) that counts as a strong disagreement."""
CONFLICT_MIN_CONFIDENCE = 0.3
"""Both sides of a conflict need at least this confidence, so that noise is not flagged."""
FRONTAL_LIMIT_DEG = 60.0
"""Head turned this far (yaw and pitch combined) or more counts as not facing the camera."""
ENGAGEMENT_PARTS: Mapping[str, float] = {
    "attention": 0.4,
    "expressiveness": 0.2,
    "voice_activity": 0.2,
    "arousal": 0.2,
}
"""Weights of the engagement components (renormalised over the ones that exist)."""

CONTEMPT = EMOTIONS.index("contempt")
NEUTRAL = EMOTIONS.index("neutral")


@dataclass(frozen=True)
class Conflict:
    """Two modalities disagreeing strongly in one cell.

    Attributes:
        index: the grid cell.
        kind: ``valence`` or ``arousal``.
        modalities: the two modalities, in face, voice, text order.
        values: their valences (or arousals), in the same order.
    """

    index: int
    kind: str
    modalities: tuple[str, str]
    values: tuple[float, float]


@dataclass(frozen=True)
class FusedTimeline:
    """The fused profile of one person over the grid (``n`` cells).

    Attributes:
        grid: the cells.
        evidence: ``(n,)`` false where no modality had anything to say; every value is ``NaN``.
        emotions: ``(n, 8)`` probabilities over :data:`EMOTIONS`, rows sum to 1.
        valence: ``(n,)`` in ``[-1, 1]``.
        arousal: ``(n,)`` in ``[-1, 1]``.
        engagement: ``(n,)`` in ``[0, 1]``.
        confidence: ``(n,)`` in ``[0, 1]``.
        agreement: ``(n,)`` in ``[0, 1]``.
        weights: modality -> ``(n,)`` share of the cell's evidence (sum 1 over modalities).
        modalities: per modality that ran, what it said on the grid.
        conflicts: strong disagreements, in cell order.
        face_present: ``(n,)`` true where the profiled face was seen; ``None`` when faces were
            not analysed.
        speech: ``(n,)`` share of the cell with speech; ``None`` when voice was not analysed.
        aus: ``(n, 20)`` AU intensities 0-5 of the profiled face; ``None`` without a face.
        words: the words said in each cell.
    """

    grid: Grid
    evidence: BoolArray
    emotions: FloatArray
    valence: FloatArray
    arousal: FloatArray
    engagement: FloatArray
    confidence: FloatArray
    agreement: FloatArray
    weights: Mapping[str, FloatArray]
    modalities: Mapping[str, OnGrid]
    conflicts: tuple[Conflict, ...]
    face_present: BoolArray | None
    speech: FloatArray | None
    aus: FloatArray | None
    words: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.grid)


def _basic(probs: FloatArray) -> FloatArray:
    """Seven-label distributions renormalised (``NaN`` rows stay ``NaN``)."""
    seven = probs[:, BASIC_INDEX]
    total = seven.sum(axis=1, keepdims=True)
    out: FloatArray = seven / np.where(total > 0, total, 1.0)
    return out


def _wmean(values: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted mean over modalities (axis 0), ignoring ``NaN`` values; ``NaN`` with no weight."""
    ok = np.isfinite(values) & (w > 0)
    ww = np.where(ok, w, 0.0)
    total = ww.sum(axis=0)
    out: FloatArray = np.where(
        total > 0,
        (ww * np.where(ok, values, 0.0)).sum(axis=0) / np.where(total > 0, total, 1),
        np.nan,
    )
    return out


def fuse(
    modalities: Sequence[OnGrid],
    reliability: Mapping[str, float],
    grid: Grid,
    *,
    yaw: FloatArray | None = None,
    pitch: FloatArray | None = None,
    face_present: BoolArray | None = None,
    speech: FloatArray | None = None,
    aus: FloatArray | None = None,
    words: Sequence[str] | None = None,
) -> FusedTimeline:
    """Fuse modalities on ``grid`` into one timeline.

    Args:
        modalities: each modality that ran, on the grid (order: face, voice, text).
        reliability: weight per modality name, in ``[0, 1]``.
        grid: the grid all arrays are on.
        yaw, pitch: the profiled face's head pose per cell (degrees), for attention.
        face_present: where the profiled face was seen; ``None`` when faces were not analysed.
        speech: share of each cell with speech; ``None`` when voice was not analysed.
        aus: the profiled face's AU intensities per cell.
        words: the words said in each cell.
    """
    n = len(grid)
    names = [m.name for m in modalities]
    rel = np.array([reliability[name] for name in names]).reshape(-1, 1)
    conf = np.array([np.nan_to_num(m.confidence) for m in modalities]).reshape(len(names), n)
    w = rel * conf
    total = w.sum(axis=0)
    evidence = total > 1e-12

    probs = np.array([m.probs for m in modalities]).reshape(len(names), n, len(EMOTIONS))
    contempt = np.nan_to_num(_wmean(probs[:, :, CONTEMPT], w))
    basic = np.array([_basic(p) for p in probs]).reshape(len(names), n, len(BASIC_INDEX))
    pooled = np.stack([_wmean(basic[:, :, j], w) for j in range(len(BASIC_INDEX))], axis=1)
    emotions = np.full((n, len(EMOTIONS)), np.nan)
    emotions[:, BASIC_INDEX] = (1.0 - contempt)[:, None] * pooled
    emotions[:, CONTEMPT] = contempt
    emotions[~evidence] = np.nan

    valence = _wmean(np.array([m.valence for m in modalities]).reshape(len(names), n), w)
    arousal = _wmean(np.array([m.arousal for m in modalities]).reshape(len(names), n), w)
    shares = w / np.where(evidence, total, 1.0)
    weights = {name: np.where(evidence, shares[k], np.nan) for k, name in enumerate(names)}

    agreement, conflicts = _agreement(modalities, basic, w, conf)
    agreement = np.where(evidence, agreement, np.nan)
    possible = float(rel.sum())
    strength = np.clip(total / possible, 0.0, 1.0) if possible > 0 else np.zeros(n)
    confidence = np.where(evidence, strength * (1.0 + agreement) / 2.0, np.nan)

    parts: list[tuple[float, FloatArray]] = []
    if face_present is not None:
        turn = np.hypot(np.nan_to_num(yaw if yaw is not None else np.zeros(n)),
                        np.nan_to_num(pitch if pitch is not None else np.zeros(n)))  # fmt: skip
        frontal = np.clip(1.0 - turn / FRONTAL_LIMIT_DEG, 0.0, 1.0)
        parts.append((ENGAGEMENT_PARTS["attention"], np.where(face_present, frontal, 0.0)))
    parts.append((ENGAGEMENT_PARTS["expressiveness"], 1.0 - emotions[:, NEUTRAL]))
    if speech is not None:
        parts.append((ENGAGEMENT_PARTS["voice_activity"], np.clip(speech, 0.0, 1.0)))
    parts.append((ENGAGEMENT_PARTS["arousal"], (arousal + 1.0) / 2.0))
    part_w = sum(p for p, _ in parts)
    engagement = sum(p * v for p, v in parts) / part_w
    engagement = np.where(evidence, np.clip(engagement, 0.0, 1.0), np.nan)

    cells = list(words) if words is not None else [""] * n
    return FusedTimeline(
        grid=grid,
        evidence=evidence,
        emotions=emotions,
        valence=np.where(evidence, valence, np.nan),
        arousal=np.where(evidence, arousal, np.nan),
        engagement=engagement,
        confidence=confidence,
        agreement=agreement,
        weights=weights,
        modalities={m.name: m for m in modalities},
        conflicts=tuple(conflicts),
        face_present=face_present,
        speech=speech,
        aus=aus,
        words=tuple(cells),
    )


def _agreement(
    modalities: Sequence[OnGrid], basic: FloatArray, w: FloatArray, conf: FloatArray
) -> tuple[FloatArray, list[Conflict]]:
    n = basic.shape[1]
    num = np.zeros(n)
    den = np.zeros(n)
    conflicts: list[Conflict] = []
    for a in range(len(modalities)):
        for b in range(a + 1, len(modalities)):
            ma, mb = modalities[a], modalities[b]
            both = (w[a] > 0) & (w[b] > 0)
            tv = 0.5 * np.abs(basic[a] - basic[b]).sum(axis=1)
            dv = np.abs(ma.valence - mb.valence) / 2.0
            dist = 0.5 * np.nan_to_num(tv) + 0.5 * np.nan_to_num(dv)
            pair_w = np.where(both, w[a] * w[b], 0.0)
            num += pair_w * dist
            den += pair_w
            sure = (
                both & (conf[a] >= CONFLICT_MIN_CONFIDENCE) & (conf[b] >= CONFLICT_MIN_CONFIDENCE)
            )
            for kind, va, vb in (("valence", ma.valence, mb.valence),
                                 ("arousal", ma.arousal, mb.arousal)):  # fmt: skip
                gap = np.abs(va - vb) >= CONFLICT_GAP  # False where either is NaN
                if kind == "valence":
                    gap &= va * vb < 0
                for i in np.flatnonzero(sure & gap):
                    conflicts.append(Conflict(int(i), kind, (ma.name, mb.name),
                                              (float(va[i]), float(vb[i]))))  # fmt: skip
    agreement = np.where(den > 0, 1.0 - num / np.where(den > 0, den, 1.0), 1.0)
    conflicts.sort(key=lambda c: (c.index, c.kind, c.modalities))
    return np.clip(agreement, 0.0, 1.0), conflicts

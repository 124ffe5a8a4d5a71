"""Facial coding results: one frame series per face track over the recording's analysed frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from multimodal.timeline import FloatArray, FrameSeries
from multimodal.vocab import AU_CODES, BASIC_EMOTIONS, EMOTIONS

GEOMETRY_COLUMNS: tuple[str, ...] = ("x", "y", "w", "h", "quality", "yaw", "pitch", "roll")
"""Box (display pixels), quality in ``[0, 1]``, head pose in degrees."""

PRESENCE_COLUMNS: tuple[str, ...] = tuple(f"{au}_present" for au in AU_CODES)
"""1.0 where the AU is present (intensity at least 1), else 0.0."""

CLASSIFIER_LABELS: tuple[str, ...] = BASIC_EMOTIONS
"""Labels of the facial expression classifier (no contempt)."""

AU_EMOTION_COLUMNS: tuple[str, ...] = tuple(f"au_{e}" for e in EMOTIONS)
"""Emotion probabilities from the AU prototypes alone."""

CLASSIFIER_COLUMNS: tuple[str, ...] = tuple(f"cls_{e}" for e in CLASSIFIER_LABELS)
"""Emotion probabilities from the expression classifier alone (NaN when it did not run)."""

FACE_COLUMNS: tuple[str, ...] = (
    GEOMETRY_COLUMNS + AU_CODES + PRESENCE_COLUMNS + EMOTIONS + ("valence", "arousal")
    + AU_EMOTION_COLUMNS + CLASSIFIER_COLUMNS
)  # fmt: skip
"""Columns of a :class:`FaceTrack` series: geometry, AU intensities 0-5, presence, fused
emotions (sum 1), valence and arousal in [-1, 1], then each source's own probabilities."""


@dataclass(frozen=True)
class FaceTrack:
    """One person's face while it stays in view.

    Attributes:
        face_id: stable id within the recording, from 0 in order of appearance.
        series: values over the recording's analysed frames from the first to the last frame
            this face was seen in, columns :data:`FACE_COLUMNS`; ``mask`` is ``True`` where it
            was seen (``False`` rows are frames in between where it was not).
        baseline: per-AU evidence offset subtracted as this person's resting level, or ``None``
            when no baseline was applied (turned off, or the track was too short).
    """

    face_id: int
    series: FrameSeries
    baseline: Mapping[str, float] | None = None

    @property
    def frames_seen(self) -> int:
        return int(self.series.mask.sum())

    @property
    def first_seen(self) -> float:
        return float(self.series.times[self.series.mask][0])

    @property
    def last_seen(self) -> float:
        return float(self.series.times[self.series.mask][-1])


@dataclass(frozen=True)
class FaceCoding:
    """Facial coding of one recording.

    Attributes:
        frame_times: ``(n,)`` presentation times (s) of every analysed frame.
        tracks: one entry per face, ordered by ``face_id``.
        frame_size: ``(width, height)`` of the displayed video in pixels.
        models: what produced the result (name, version, sha256, ...).
        config: the coding options in force (baseline, blink length...).
    """

    frame_times: FloatArray
    tracks: tuple[FaceTrack, ...]
    frame_size: tuple[int, int]
    models: tuple[Mapping[str, str], ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)

    def frame_offset(self, track: FaceTrack) -> int:
        """Index in :attr:`frame_times` of the first row of ``track.series``."""
        return int(np.searchsorted(self.frame_times, track.series.times[0]))

    @property
    def faces_per_frame(self) -> FloatArray:
        """Number of faces seen in each analysed frame."""
        counts = np.zeros(len(self.frame_times))
        for track in self.tracks:
            start = self.frame_offset(track)
            counts[start : start + len(track.series)] += track.series.mask
        return counts

"""Keeping a stable ``face_id`` for each person while they stay in view.

A greedy tracker on face boxes: each new frame's faces are matched to the live tracks by box
overlap (IoU), falling back to centre distance relative to face size for fast movement between
sparse analysis frames. A track that finds no face for ``max_gap`` seconds ends; a face that
matches no live track starts a new one. Ids count up from 0 in order of first appearance and are
never reused within a recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]
"""``(x, y, w, h)`` in pixels."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0 for disjoint or empty boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = min(ax1, bx1) - max(a[0], b[0])
    ih = min(ay1, by1) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def similarity(a: Box, b: Box) -> float:
    """Match score in ``[0, 1]``: IoU, or for non-overlapping boxes of similar size, closeness of
    centres measured in face widths (at most 0.3, so that overlap always wins)."""
    overlap = iou(a, b)
    if overlap > 0:
        return overlap
    size_a, size_b = math.sqrt(a[2] * a[3]), math.sqrt(b[2] * b[3])
    if size_a <= 0 or size_b <= 0 or max(size_a, size_b) / min(size_a, size_b) > 1.5:
        return 0.0
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    dist = math.hypot(dx, dy) / ((size_a + size_b) / 2)
    return max(0.0, 0.3 * (1.0 - dist / 1.5))


@dataclass
class _Track:
    face_id: int
    box: Box
    last_time: float


@dataclass
class BoxTracker:
    """Assigns face ids frame by frame.

    Args:
        max_gap: seconds a track survives without a matching face.
        min_similarity: the lowest :func:`similarity` that counts as the same face.
    """

    max_gap: float = 1.0
    min_similarity: float = 0.05
    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 0

    def update(self, time: float, boxes: list[Box]) -> list[int]:
        """Face ids for ``boxes`` seen at ``time``, in the same order."""
        self._tracks = [t for t in self._tracks if time - t.last_time <= self.max_gap]
        pairs = sorted(
            (
                (similarity(track.box, box), ti, bi)
                for ti, track in enumerate(self._tracks)
                for bi, box in enumerate(boxes)
            ),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        used_tracks: set[int] = set()
        for score, ti, bi in pairs:
            if score < self.min_similarity:
                break
            if ti in used_tracks or ids[bi] is not None:
                continue
            used_tracks.add(ti)
            track = self._tracks[ti]
            track.box, track.last_time = boxes[bi], time
            ids[bi] = track.face_id
        for bi, box in enumerate(boxes):
            if ids[bi] is None:
                self._tracks.append(_Track(self._next_id, box, time))
                ids[bi] = self._next_id
                self._next_id += 1
        return [i for i in ids if i is not None]

"""The shared grid and the two ways a modality is put on it.

Every modality keeps its native rate until here. Fusion declares one grid of equal cells
(default 0.5 s; the last cell ends with the media) and resamples onto it:

* continuous scores sampled at frame times (faces) are interpolated at cell centres
  (:func:`interpolate`), as pyannote-core's ``SlidingWindowFeature.align`` does; a centre farther
  than ``max_gap / 2`` from any observation, or inside a gap longer than ``max_gap``, gets no
  value, so that a face that left the picture is not drawn across the gap;
* values that belong to spans (speech segments, utterances, words) are assigned by overlap
  (:func:`assign`), as whisperX's ``assign_word_speakers`` does: each cell gets the mean of the
  spans that overlap it, weighted by the overlap, and the share of the cell they cover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from multimodal.timeline import BoolArray, FloatArray, Span, seconds_to_samples


@dataclass(frozen=True)
class Grid:
    """Equal cells of ``step`` seconds from 0 to ``duration``; the last cell may be shorter.

    A recording of length 0 (a still picture) has one cell ``[0, 0)`` with its centre at 0.

    Attributes:
        step: cell length in seconds, > 0.
        duration: seconds of media covered, >= 0.
    """

    step: float
    duration: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.step) and self.step > 0):
            raise ValueError(f"grid step must be a positive number of seconds, got {self.step}")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"grid duration must be >= 0 seconds, got {self.duration}")

    def __len__(self) -> int:
        return max(1, seconds_to_samples(self.duration, 1.0 / self.step, "ceil"))

    @property
    def starts(self) -> FloatArray:
        """``(n,)`` cell starts in seconds."""
        out: FloatArray = np.minimum(np.arange(len(self)) * self.step, self.duration)
        return out

    @property
    def ends(self) -> FloatArray:
        """``(n,)`` cell ends in seconds (the last one is the duration)."""
        out: FloatArray = np.minimum((np.arange(len(self)) + 1) * self.step, self.duration)
        return out

    @property
    def centres(self) -> FloatArray:
        """``(n,)`` cell centres in seconds."""
        out: FloatArray = (self.starts + self.ends) / 2
        return out

    @property
    def lengths(self) -> FloatArray:
        """``(n,)`` cell lengths in seconds (all ``step`` but maybe the last; 0 for a still)."""
        out: FloatArray = self.ends - self.starts
        return out

    def cells_of(self, span: Span) -> range:
        """Indices of the cells that ``span`` overlaps (empty when it lies outside)."""
        if self.duration == 0:
            return range(1) if span.start <= 0 <= span.end else range(0)
        first = max(0, int(math.floor(span.start / self.step)))
        last = min(len(self), int(math.ceil(span.end / self.step)))
        return range(first, last)


def interpolate(
    times: FloatArray,
    values: FloatArray,
    mask: BoolArray,
    grid: Grid,
    max_gap: float,
) -> tuple[FloatArray, BoolArray]:
    """Values of a sampled series at the grid's cell centres.

    Args:
        times: ``(m,)`` increasing sample times in seconds.
        values: ``(m, k)`` values; rows where ``mask`` is false are ignored.
        mask: ``(m,)`` true where the sample has data.
        grid: where to resample.
        max_gap: longest stretch in seconds between two observations that is bridged by
            linear interpolation; a centre within ``max_gap / 2`` of one observation only
            takes that observation's value.

    Returns:
        ``(n, k)`` values (``NaN`` where none) and ``(n,)`` validity.
    """
    centres = grid.centres
    n, k = len(centres), values.shape[1]
    out = np.full((n, k), np.nan)
    valid = np.zeros(n, dtype=bool)
    t = times[mask]
    v = values[mask]
    if len(t) == 0:
        return out, valid
    right = np.searchsorted(t, centres, side="left")  # first observation at or after centre
    left = right - 1
    has_left = left >= 0
    has_right = right < len(t)
    li = np.clip(left, 0, len(t) - 1)
    ri = np.clip(right, 0, len(t) - 1)
    dl = np.where(has_left, centres - t[li], np.inf)
    dr = np.where(has_right, t[ri] - centres, np.inf)
    exact = dr == 0
    bridge = has_left & has_right & (dl + dr <= max_gap) & ~exact
    near_left = ~bridge & ~exact & (dl <= max_gap / 2) & (dl <= dr)
    near_right = ~bridge & ~exact & ~near_left & (dr <= max_gap / 2)
    span = np.where(bridge, dl + dr, 1.0)
    frac = np.where(bridge, dl / span, 0.0)[:, None]
    out[bridge] = ((1 - frac) * v[li] + frac * v[ri])[bridge]
    out[exact] = v[ri][exact]
    out[near_left] = v[li][near_left]
    out[near_right] = v[ri][near_right]
    valid = bridge | exact | near_left | near_right
    return out, valid


def assign(
    spans: Sequence[Span],
    values: FloatArray,
    grid: Grid,
) -> tuple[FloatArray, FloatArray]:
    """Span values on the grid by overlap.

    Args:
        spans: ``m`` spans (may overlap each other).
        values: ``(m, k)`` one row of values per span.
        grid: where to put them.

    Returns:
        ``(n, k)`` overlap-weighted mean per cell (``NaN`` where no span overlaps) and ``(n,)``
        the share of each cell that the spans cover, in ``[0, 1]`` (overlapping spans count once
        at most: the share is capped at 1).
    """
    n = len(grid)
    k = values.shape[1] if values.ndim == 2 else 0
    total = np.zeros((n, k))
    weight = np.zeros(n)
    covered = np.zeros(n)
    starts, ends, lengths = grid.starts, grid.ends, grid.lengths
    for j, span in enumerate(spans):
        idx = np.asarray(grid.cells_of(span), dtype=np.intp)
        if len(idx) == 0:
            continue
        if grid.duration == 0:
            share = np.ones(len(idx))  # a still: the one cell is the instant
        else:
            ov = np.minimum(ends[idx], span.end) - np.maximum(starts[idx], span.start)
            share = np.clip(ov, 0.0, None) / np.where(lengths[idx] > 0, lengths[idx], 1.0)
        keep = share > 0
        idx, share = idx[keep], share[keep]
        if k:
            total[idx] += share[:, None] * values[j]
        weight[idx] += share
        covered[idx] += share
    out = np.full((n, k), np.nan)
    has = weight > 0
    out[has] = total[has] / weight[has][:, None]
    return out, np.clip(covered, 0.0, 1.0)

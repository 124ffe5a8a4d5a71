"""Timeline types shared by every modality.

Time is float seconds relative to the start of the media, spans are half-open ``[start, end)``,
and rounding happens once, when a result is serialised. Each modality keeps its own native rate:
faces come as a :class:`FrameSeries` at the decoder's frame times, speech and words as
:class:`Segment` lists; fusion resamples them onto a shared grid later.

Absence is data: a frame in which nothing was measured keeps its row, with ``NaN`` values and
``mask == False``, rather than being dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Rounding = Literal["floor", "ceil", "round"]


def seconds_to_samples(seconds: float, rate: float, rounding: Rounding = "round") -> int:
    """Number of samples (or frames) covering ``seconds`` at ``rate`` per second.

    The one place where seconds become counts: the rounding is explicit so that two callers never
    disagree by one sample.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    exact = seconds * rate
    # Guard against 0.1 * 30 = 3.0000000000000004 style noise before floor/ceil.
    nearest = round(exact)
    if abs(exact - nearest) < 1e-9:
        return int(nearest)
    if rounding == "floor":
        return math.floor(exact)
    if rounding == "ceil":
        return math.ceil(exact)
    return int(round(exact))


def samples_to_seconds(samples: int, rate: float) -> float:
    """Seconds spanned by ``samples`` at ``rate`` per second."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    return samples / rate


@dataclass(frozen=True, order=True)
class Span:
    """A half-open time interval ``[start, end)`` in seconds from the media start."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"span bounds must be finite, got [{self.start}, {self.end})")
        if self.end < self.start:
            raise ValueError(f"span ends before it starts: [{self.start}, {self.end})")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    def overlap(self, other: Span) -> float:
        """Length in seconds of the intersection with ``other`` (0 when disjoint)."""
        return max(0.0, min(self.end, other.end) - max(self.start, other.start))

    def clip(self, bounds: Span) -> Span | None:
        """This span cut to ``bounds``, or ``None`` when they do not overlap."""
        start, end = max(self.start, bounds.start), min(self.end, bounds.end)
        return Span(start, end) if end > start else None


@dataclass(frozen=True)
class FrameSeries:
    """Values sampled at irregular frame times, with a mask for "no data".

    Attributes:
        times: shape ``(n,)``, seconds, strictly increasing presentation times of the frames.
        values: shape ``(n, k)``, one column per name in ``columns``; ``NaN`` where masked.
        mask: shape ``(n,)``, ``True`` where the frame has data.
        columns: the ``k`` column names, in order.
    """

    times: FloatArray
    values: FloatArray
    mask: BoolArray
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.times.shape[0]
        if self.times.ndim != 1:
            raise ValueError("times must be one-dimensional")
        if self.values.shape != (n, len(self.columns)):
            raise ValueError(
                f"values must have shape ({n}, {len(self.columns)}), got {self.values.shape}"
            )
        if self.mask.shape != (n,):
            raise ValueError(f"mask must have shape ({n},), got {self.mask.shape}")
        if n > 1 and not bool(np.all(np.diff(self.times) > 0)):
            raise ValueError("times must be strictly increasing")
        for array in (self.times, self.values, self.mask):
            array.setflags(write=False)

    @classmethod
    def from_rows(
        cls,
        times: Sequence[float],
        rows: Sequence[Mapping[str, float] | None],
        columns: Sequence[str],
    ) -> FrameSeries:
        """Build a series from one mapping per frame; ``None`` marks a frame without data."""
        cols = tuple(columns)
        values = np.full((len(times), len(cols)), np.nan)
        mask = np.zeros(len(times), dtype=bool)
        for i, row in enumerate(rows):
            if row is None:
                continue
            mask[i] = True
            values[i] = [row.get(c, np.nan) for c in cols]
        return cls(np.asarray(times, dtype=np.float64), values, mask, cols)

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def column(self, name: str) -> FloatArray:
        """One column's values, shape ``(n,)``."""
        return self.values[:, self.columns.index(name)]

    def select(self, names: Sequence[str]) -> FrameSeries:
        """A new series with only ``names``, in that order."""
        idx = [self.columns.index(n) for n in names]
        return FrameSeries(
            self.times.copy(), self.values[:, idx].copy(), self.mask.copy(), tuple(names)
        )


@dataclass(frozen=True, order=True)
class Segment:
    """A labelled span: a speech segment, an utterance, a key moment.

    Attributes:
        span: where it lies on the timeline.
        label: what it is (an emotion, "speech", a speaker id...).
        score: confidence in ``[0, 1]``.
        data: further named values, e.g. prosody measurements.
    """

    span: Span
    label: str
    score: float = 1.0
    data: Mapping[str, float] = field(default_factory=dict, compare=False)

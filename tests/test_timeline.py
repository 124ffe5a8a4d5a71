from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from multimodal.timeline import FrameSeries, Segment, Span, samples_to_seconds, seconds_to_samples


def test_span_basics() -> None:
    s = Span(1.0, 3.0)
    assert s.duration == 2.0 and s.middle == 2.0
    assert s.contains(1.0) and not s.contains(3.0)
    assert s.overlap(Span(2.5, 10)) == 0.5
    assert s.overlap(Span(3.0, 4.0)) == 0.0
    assert s.clip(Span(0, 2)) == Span(1.0, 2.0)
    assert s.clip(Span(5, 6)) is None
    with pytest.raises(ValueError):
        Span(2.0, 1.0)
    with pytest.raises(ValueError):
        Span(0.0, math.inf)


def test_seconds_to_samples_rounding() -> None:
    assert seconds_to_samples(0.1, 30, "floor") == 3  # not 3.0000000000000004 -> 3 by luck
    assert seconds_to_samples(1.01, 16000, "floor") == 16160
    assert seconds_to_samples(0.5, 3, "floor") == 1
    assert seconds_to_samples(0.5, 3, "ceil") == 2
    assert samples_to_seconds(16000, 16000) == 1.0
    with pytest.raises(ValueError):
        seconds_to_samples(1.0, 0)


@given(st.floats(0, 1e5), st.sampled_from([8000, 16000, 25, 29.97, 44100]))
def test_seconds_samples_round_trip(seconds: float, rate: float) -> None:
    n = seconds_to_samples(seconds, rate)
    assert abs(samples_to_seconds(n, rate) - seconds) <= 0.5 / rate + 1e-9
    assert seconds_to_samples(seconds, rate, "floor") <= seconds_to_samples(seconds, rate, "ceil")


@given(st.floats(-100, 100), st.floats(0, 50), st.floats(-100, 100), st.floats(0, 50))
def test_overlap_symmetric_and_bounded(a0: float, ad: float, b0: float, bd: float) -> None:
    a, b = Span(a0, a0 + ad), Span(b0, b0 + bd)
    assert a.overlap(b) == pytest.approx(b.overlap(a))
    assert 0.0 <= a.overlap(b) <= min(a.duration, b.duration) + 1e-9


def test_frame_series_mask_and_immutability() -> None:
    fs = FrameSeries.from_rows([0.0, 0.2, 0.4], [{"a": 1.0, "b": 2.0}, None, {"a": 3.0}],
                               ["a", "b"])  # fmt: skip
    assert fs.mask.tolist() == [True, False, True]
    assert np.isnan(fs.values[1]).all()
    assert np.isnan(fs.column("b")[2])
    assert fs.select(["b"]).columns == ("b",)
    with pytest.raises(ValueError):
        fs.values[0, 0] = 5.0
    with pytest.raises(ValueError):
        FrameSeries(np.array([0.0, 0.0]), np.zeros((2, 1)), np.ones(2, bool), ("a",))


def test_segment_orders_by_span() -> None:
    a = Segment(Span(2, 3), "speech")
    b = Segment(Span(0, 1), "speech", 0.5, {"pitch": 120.0})
    assert sorted([a, b])[0] is b

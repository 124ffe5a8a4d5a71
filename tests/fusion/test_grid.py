"""The shared grid: cell layout, interpolation at centres, assignment by overlap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fusion.grid import Grid, assign, interpolate
from multimodal.timeline import Span


def test_cells_cover_the_media_and_the_last_one_is_short() -> None:
    g = Grid(0.5, 1.2)
    assert len(g) == 3
    assert g.starts.tolist() == [0.0, 0.5, 1.0]
    assert g.ends.tolist() == [0.5, 1.0, 1.2]
    assert g.centres == pytest.approx([0.25, 0.75, 1.1])


def test_exact_multiple_has_no_empty_cell() -> None:
    assert len(Grid(0.1, 0.3)) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert len(Grid(0.5, 600.0)) == 1200


def test_still_picture_is_one_instant_cell() -> None:
    g = Grid(0.5, 0.0)
    assert len(g) == 1 and g.starts.tolist() == [0.0] and g.ends.tolist() == [0.0]


@pytest.mark.parametrize("step,duration", [(0.0, 1.0), (-1.0, 1.0), (0.5, -1.0),
                                           (float("nan"), 1.0)])  # fmt: skip
def test_bad_grid_is_refused(step: float, duration: float) -> None:
    with pytest.raises(ValueError, match="grid"):
        Grid(step, duration)


def test_interpolation_of_a_linear_function_is_exact() -> None:
    times = np.arange(0.0, 3.0, 0.2)
    values = np.column_stack([2 * times + 1, -times])
    g = Grid(0.5, 3.0)
    out, valid = interpolate(times, values, np.ones(len(times), bool), g, max_gap=0.5)
    assert valid.all()
    assert out[:, 0] == pytest.approx(2 * g.centres + 1)
    assert out[:, 1] == pytest.approx(-g.centres)


def test_interpolation_does_not_bridge_a_long_gap() -> None:
    times = np.arange(0.0, 4.0, 0.2)
    mask = (times < 1.0) | (times >= 3.0)  # the face is gone from 1.0 to 3.0
    values = np.ones((len(times), 1))
    g = Grid(0.5, 4.0)
    _, valid = interpolate(times, values, mask, g, max_gap=0.5)
    # centres 0.25 .. 3.75; 1.25 is 0.45 from the last frame before the gap (0.8): no value;
    # 2.75 is within max_gap / 2 of the first frame after it (3.0): that frame's value
    assert valid.tolist() == [True, True, False, False, False, True, True, True]


def test_assignment_is_overlap_weighted() -> None:
    g = Grid(1.0, 3.0)
    spans = [Span(0.0, 1.5), Span(1.5, 2.0)]
    values = np.array([[1.0], [3.0]])
    out, cover = assign(spans, values, g)
    assert out[0, 0] == pytest.approx(1.0)
    assert out[1, 0] == pytest.approx((0.5 * 1 + 0.5 * 3) / 1.0)
    assert np.isnan(out[2, 0])
    assert cover.tolist() == pytest.approx([1.0, 1.0, 0.0])


@given(
    duration=st.floats(0.0, 50.0),
    step=st.floats(0.05, 5.0),
    spans=st.lists(st.tuples(st.floats(-5, 60), st.floats(0, 10)), max_size=20),
)
def test_assignment_stays_on_the_grid_and_covers_at_most_all(
    duration: float, step: float, spans: list[tuple[float, float]]
) -> None:
    g = Grid(step, duration)
    assert g.starts[0] == 0.0 and g.ends[-1] == pytest.approx(duration)
    assert (g.ends >= g.starts).all() and (g.ends <= duration).all()
    ss = [Span(a, a + d) for a, d in spans]
    values = np.ones((len(ss), 1))
    out, cover = assign(ss, values, g)
    assert ((cover >= 0) & (cover <= 1)).all()
    assert np.all((out[:, 0] == 1.0) | np.isnan(out[:, 0]))

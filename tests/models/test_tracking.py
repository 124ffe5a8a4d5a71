from __future__ import annotations

import pytest

from models.face.tracking import BoxTracker, iou, similarity


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_similarity_prefers_overlap_and_allows_fast_moves() -> None:
    near = similarity((0, 0, 100, 100), (120, 0, 100, 100))
    assert 0 < near < 0.3
    assert similarity((0, 0, 100, 100), (500, 0, 100, 100)) == 0.0
    assert similarity((0, 0, 100, 100), (120, 0, 20, 20)) == 0.0  # very different size


def test_two_people_keep_their_ids() -> None:
    tracker = BoxTracker()
    left, right = (10.0, 50.0, 100.0, 120.0), (400.0, 60.0, 90.0, 110.0)
    assert tracker.update(0.0, [left, right]) == [0, 1]
    # Order of detections changes; ids follow the faces, which drift a little.
    assert tracker.update(0.2, [(405.0, 62.0, 90.0, 110.0), (14.0, 50.0, 100.0, 120.0)]) == [1, 0]
    # One face missing for a moment, then back.
    assert tracker.update(0.4, [(16.0, 51.0, 100.0, 120.0)]) == [0]
    assert tracker.update(0.6, [(16.0, 51.0, 100.0, 120.0), (410.0, 60.0, 90.0, 110.0)]) == [0, 1]


def test_track_ends_after_gap_and_ids_are_not_reused() -> None:
    tracker = BoxTracker(max_gap=1.0)
    assert tracker.update(0.0, [(0.0, 0.0, 50.0, 50.0)]) == [0]
    assert tracker.update(2.0, [(0.0, 0.0, 50.0, 50.0)]) == [1]
    assert tracker.update(2.2, [(300.0, 0.0, 50.0, 50.0), (1.0, 0.0, 50.0, 50.0)]) == [2, 1]

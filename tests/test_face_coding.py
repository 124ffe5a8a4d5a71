"""Facial coding with the real MediaPipe model on generated and real media."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.face.coder import FaceCoder, FaceCodingConfig
from models.face.landmarker import FaceLandmarkerModel
from multimodal.faces import FACE_COLUMNS
from multimodal.pipeline import Analyzer
from multimodal.settings import load_settings
from multimodal.vocab import AU_CODES, EMOTIONS
from tests.conftest import FER_NPZ, GRID_CLIP, needs

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_settings(), ["face"])


def _check_track_values(track) -> None:  # type: ignore[no-untyped-def]
    s = track.series
    rows = s.values[s.mask]
    assert not np.isnan(rows).any()
    assert np.isnan(s.values[~s.mask]).all()
    au = rows[:, [FACE_COLUMNS.index(a) for a in AU_CODES]]
    assert ((au == 0) | ((au >= 1) & (au <= 5))).all()
    emo = rows[:, [FACE_COLUMNS.index(e) for e in EMOTIONS]]
    assert np.allclose(emo.sum(axis=1), 1.0)
    q = rows[:, FACE_COLUMNS.index("quality")]
    assert ((q >= 0) & (q <= 1)).all()


def test_still_image(analyzer: Analyzer, face_image: Path) -> None:
    result = analyzer.analyze(face_image)
    faces = result.faces
    assert faces is not None
    assert len(faces.frame_times) == 1 and len(faces.tracks) == 1
    track = faces.tracks[0]
    _check_track_values(track)
    row = dict(zip(FACE_COLUMNS, track.series.values[0], strict=True))
    assert row["quality"] > 0.5
    assert abs(row["yaw"]) < 20 and abs(row["roll"]) < 20
    assert 100 < row["x"] + row["w"] / 2 < 400  # the face is in the middle of the portrait
    assert track.baseline is None  # one frame is too short for a baseline


def test_clip_keeps_one_stable_face(analyzer: Analyzer, face_clip: Path) -> None:
    faces = analyzer.analyze(face_clip).faces
    assert faces is not None
    assert len(faces.frame_times) == 15
    assert [t.face_id for t in faces.tracks] == [0]
    assert faces.tracks[0].series.mask.all()
    _check_track_values(faces.tracks[0])


def test_two_people_stay_two_people(analyzer: Analyzer, two_face_clip: Path) -> None:
    faces = analyzer.analyze(two_face_clip).faces
    assert faces is not None
    assert [t.face_id for t in faces.tracks] == [0, 1]
    for track in faces.tracks:
        assert track.series.mask.all()
        _check_track_values(track)
    xs = [np.nanmean(t.series.column("x")) for t in faces.tracks]
    # Each id stays on one side of the picture for the whole clip.
    for track, x in zip(faces.tracks, xs, strict=True):
        assert np.nanstd(track.series.column("x")) < 5
        assert (x < 320) != (max(xs) == x)


def test_no_faces_is_a_valid_empty_result(analyzer: Analyzer, bars_clip: Path) -> None:
    faces = analyzer.analyze(bars_clip).faces
    assert faces is not None
    assert len(faces.frame_times) == 10 and faces.tracks == ()
    assert faces.faces_per_frame.sum() == 0


def test_rotated_video_is_coded_upright(analyzer: Analyzer, rotated_clip: Path) -> None:
    faces = analyzer.analyze(rotated_clip).faces
    assert faces is not None and len(faces.tracks) == 1
    roll = faces.tracks[0].series.column("roll")
    assert np.nanmax(np.abs(roll)) < 20
    assert faces.frame_size == (256, 300)


def test_injected_coder_and_baseline_setting(face_clip: Path) -> None:
    settings = load_settings()
    coder = FaceCoder(
        FaceLandmarkerModel.from_settings(settings),
        config=FaceCodingConfig(baseline=True, baseline_min_seconds=1.0, baseline_min_frames=5),
    )
    result = Analyzer(settings, ["face"], face_coder=coder).analyze(face_clip)
    assert result.faces is not None
    baseline = result.faces.tracks[0].baseline
    assert baseline is not None and set(baseline) == set(AU_CODES)
    assert all(v >= 0 for v in baseline.values())
    # A still face has nothing above its own resting level.
    s = result.faces.tracks[0].series
    au = s.values[s.mask][:, [FACE_COLUMNS.index(a) for a in AU_CODES if a not in ("AU43", "AU45")]]
    assert (au == 0).mean() > 0.9


@needs(GRID_CLIP)
def test_real_talking_face(analyzer: Analyzer) -> None:
    faces = analyzer.analyze(GRID_CLIP).faces
    assert faces is not None
    assert len(faces.frame_times) == 15 and len(faces.tracks) == 1
    track = faces.tracks[0]
    assert track.series.mask.all()
    _check_track_values(track)
    # He is speaking: the lips part in some frames and not in all.
    lips = track.series.column("AU25_present")
    assert 0 < lips.mean() <= 1


@needs(FER_NPZ)
def test_smiles_read_as_joy_on_held_out_faces() -> None:
    """FER2013 validation faces (never used for calibration): joy is higher on happy faces."""
    from models.training.calibrate_au import fer_face_to_rgb

    data = np.load(FER_NPZ)
    images, labels = data["val_images"], data["val_labels"]
    names = [str(n) for n in data["label_names"]]
    coder = FaceCoder(FaceLandmarkerModel.from_settings(load_settings()))
    joy = {}
    with coder.landmarker.session(video=False) as session:
        for label in ("happy", "neutral"):
            idx = np.flatnonzero(labels == names.index(label))[:60]
            scores = []
            for i in idx:
                found = session.detect(fer_face_to_rgb(images[i]), 0.0)
                if found:
                    from models.face.facs import au_evidence, emotion_probabilities, unilateral

                    f = found[0]
                    inten, _ = coder.calibration.intensity(au_evidence(f.blendshapes, f.geometry))
                    p = emotion_probabilities(
                        inten, unilateral(f.blendshapes[None], coder.calibration)
                    )
                    scores.append(p[0, EMOTIONS.index("joy")])
            joy[label] = float(np.mean(scores))
    assert joy["happy"] > joy["neutral"] + 0.3


def test_face_that_comes_and_goes(analyzer: Analyzer, late_face_clip: Path) -> None:
    faces = analyzer.analyze(late_face_clip).faces
    assert faces is not None and len(faces.frame_times) == 20
    assert len(faces.tracks) == 1
    track = faces.tracks[0]
    assert track.first_seen == pytest.approx(1.6) and track.last_seen == pytest.approx(2.4)
    assert faces.frame_offset(track) == 8
    seen = faces.faces_per_frame
    assert seen.tolist() == [0] * 8 + [1] * 5 + [0] * 7

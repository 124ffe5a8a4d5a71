from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from models.face.facs import (
    AU_BLENDSHAPES,
    AUCalibration,
    au_evidence,
    emotion_probabilities,
    quality,
    split_eye_closure,
    track_baseline,
    unilateral,
)
from models.face.landmarker import BLENDSHAPES, GEOMETRY, head_pose, landmark_geometry
from multimodal.errors import ModelError
from multimodal.vocab import AU_CODES, EMOTIONS

CAL = AUCalibration.packaged()
B = {n: i for i, n in enumerate(BLENDSHAPES)}


def shapes(**scores: float) -> np.ndarray:
    row = np.zeros(len(BLENDSHAPES))
    for name, value in scores.items():
        row[B[name]] = value
    return row[None, :]


def geometry(mouth_open: float = 0.0) -> np.ndarray:
    g = np.zeros(len(GEOMETRY))
    g[GEOMETRY.index("iod_px")] = 60.0
    g[GEOMETRY.index("mouth_open")] = mouth_open
    return g[None, :]


def code(**scores: float) -> tuple[np.ndarray, np.ndarray]:
    ev = au_evidence(shapes(**scores), geometry())
    intensity, present = CAL.intensity(ev)
    return intensity[0], present[0]


def test_every_au_has_evidence_and_calibration() -> None:
    assert len(AU_CODES) == 20
    for au in AU_CODES:
        assert au in AU_BLENDSHAPES or au in ("AU25", "AU28")
    assert np.all(CAL.rest <= CAL.threshold) and np.all(CAL.threshold < CAL.full)
    assert CAL.sha256 and "FER2013" in CAL.source


def test_mapping_examples() -> None:
    intensity, present = code(mouthSmileLeft=1.0, mouthSmileRight=1.0)
    j = AU_CODES.index("AU12")
    assert present[j] and intensity[j] == pytest.approx(5.0)
    assert intensity.sum() == pytest.approx(5.0)  # nothing else fires
    intensity, present = code(browDownLeft=0.02, browDownRight=0.02)
    assert not present.any() and not intensity.any()
    ev = au_evidence(shapes(), geometry(mouth_open=0.6))
    assert ev[0, AU_CODES.index("AU25")] == 1.0


def test_intensity_is_on_the_facs_scale() -> None:
    ev = np.tile(np.linspace(0, 1, 11)[:, None], (1, len(AU_CODES)))
    intensity, present = CAL.intensity(ev)
    assert set(np.unique(intensity[~present])) == {0.0}
    assert np.all((intensity[present] >= 1.0) & (intensity[present] <= 5.0))
    # Monotonic in the evidence.
    assert np.all(np.diff(intensity, axis=0) >= 0)


def test_calibration_validation() -> None:
    data = {"aus": {au: {"rest": 0.0, "threshold": 0.1, "full": 0.5} for au in AU_CODES}}
    assert AUCalibration.from_mapping(data).threshold[0] == 0.1
    data["aus"]["AU01"] = {"rest": 0.0, "threshold": 0.5, "full": 0.4}
    with pytest.raises(ModelError):
        AUCalibration.from_mapping(data)
    with pytest.raises(ModelError):
        AUCalibration.from_mapping({"aus": {}})


def test_baseline_removes_a_persons_resting_level() -> None:
    j = AU_CODES.index("AU04")
    ev = np.zeros((50, len(AU_CODES)))
    ev[:, j] = 0.35  # brows that always sit low
    ev[40:, j] = 0.7  # then a real frown
    offset = track_baseline(ev, np.ones(50), CAL.rest)
    assert offset[j] == pytest.approx(0.35 - CAL.rest[j])
    corrected = np.clip(ev - offset, 0, 1)
    _, present = CAL.intensity(corrected)
    assert not present[:40, j].any() and present[40:, j].all()
    # Eye closure is never corrected.
    ev[:, AU_CODES.index("AU43")] = 0.9
    assert track_baseline(ev, np.ones(50), CAL.rest)[AU_CODES.index("AU43")] == 0.0


def test_blinks_and_eyes_closed() -> None:
    times = np.arange(20) * 0.2
    closed = np.zeros(20, bool)
    closed[3] = True  # one frame: a blink
    closed[8:14] = True  # 1.2 s: eyes closed
    blink, shut = split_eye_closure(closed, times, 0.2)
    assert blink.tolist() == [i == 3 for i in range(20)]
    assert shut[8:14].all() and shut.sum() == 6
    # A still image cannot show a blink.
    blink, shut = split_eye_closure(np.array([True]), np.array([0.0]), 0.0)
    assert not blink[0] and shut[0]
    # A gap in the track splits runs.
    t = np.array([0.0, 0.2, 2.0, 2.2])
    blink, shut = split_eye_closure(np.ones(4, bool), t, 0.2)
    assert blink.all()


def test_emotion_prototypes() -> None:
    def probs(**aus: float) -> dict[str, float]:
        intensity = np.zeros((1, len(AU_CODES)))
        for au, v in aus.items():
            intensity[0, AU_CODES.index(au)] = v
        p = emotion_probabilities(intensity, np.zeros(1))[0]
        return dict(zip(EMOTIONS, p, strict=True))

    assert max(probs().items(), key=lambda kv: kv[1])[0] == "neutral"
    assert probs()["neutral"] > 0.8
    assert probs(AU06=4, AU12=5)["joy"] > 0.9
    assert probs(AU01=4, AU04=3, AU15=4)["sadness"] > 0.5
    assert probs(AU01=4, AU02=4, AU05=3, AU26=4)["surprise"] > 0.5
    assert probs(AU09=5, AU10=4, AU17=2)["disgust"] > 0.5
    assert probs(AU04=5, AU07=4, AU23=3, AU24=3)["anger"] > 0.5
    fear = probs(AU01=4, AU02=3, AU04=4, AU05=4, AU07=2, AU20=4, AU26=3)
    assert fear["fear"] == max(fear.values())


def test_contempt_needs_a_one_sided_smile() -> None:
    j12 = AU_CODES.index("AU12")
    one_sided = unilateral(shapes(mouthSmileLeft=0.8, mouthSmileRight=0.0), CAL)
    both = unilateral(shapes(mouthSmileLeft=0.8, mouthSmileRight=0.8), CAL)
    assert one_sided[0] > 0.6 and both[0] == 0.0
    intensity = np.zeros((1, len(AU_CODES)))
    intensity[0, j12] = 2.0
    p = dict(zip(EMOTIONS, emotion_probabilities(intensity, one_sided)[0], strict=True))
    assert p["contempt"] == max(p.values())


@given(
    arrays(np.float64, (5, len(AU_CODES)), elements=st.floats(0, 5)),
    arrays(np.float64, (5,), elements=st.floats(0, 1)),
)
def test_probabilities_are_normalised(intensity: np.ndarray, one_sided: np.ndarray) -> None:
    p = emotion_probabilities(intensity, one_sided)
    assert p.shape == (5, len(EMOTIONS))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0)


def test_quality() -> None:
    big, frontal, sharp = np.array([60.0]), np.array([0.0]), np.array([500.0])
    assert quality(big, frontal, frontal, sharp)[0] == 1.0
    assert quality(np.array([5.0]), frontal, frontal, sharp)[0] == 0.0
    assert quality(big, np.array([70.0]), frontal, sharp)[0] == 0.0
    assert 0 < quality(big, np.array([45.0]), frontal, sharp)[0] < 1
    assert quality(big, frontal, frontal, np.array([3.0]))[0] == 0.0


def test_head_pose_conventions() -> None:
    def rot_y(deg: float) -> np.ndarray:
        r = np.radians(deg)
        return np.array([[np.cos(r), 0, np.sin(r)], [0, 1, 0], [-np.sin(r), 0, np.cos(r)]])

    def rot_z(deg: float) -> np.ndarray:
        r = np.radians(deg)
        return np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])

    yaw, pitch, roll = head_pose(rot_y(30))
    assert yaw == pytest.approx(30) and abs(pitch) < 1e-9 and abs(roll) < 1e-9
    yaw, pitch, roll = head_pose(rot_z(-15))
    assert roll == pytest.approx(-15) and abs(yaw) < 1e-9


def test_landmark_geometry_is_scale_free() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (478, 2))
    g1 = landmark_geometry(pts)
    g2 = landmark_geometry(pts * 3)
    assert g2[0] == pytest.approx(3 * g1[0])
    assert np.allclose(g1[1:], g2[1:])
    assert np.isnan(landmark_geometry(np.zeros((478, 2)))).all()

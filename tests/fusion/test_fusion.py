"""Fusion checked exactly against fake analysers whose outputs are known functions of time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fusion.fuse import CONFLICT_GAP
from fusion.profile import fuse_recording
from fusion.reliability import RELIABILITY, weights
from multimodal.vocab import BASIC_EMOTIONS, EMOTIONS
from tests.fusion.fakes import face_row, fake_faces, fake_text, fake_voice, probs7, probs8

R = weights()
FRAMES = np.arange(0.0, 4.0, 0.2)


def vec(d: dict[str, float], labels: tuple[str, ...] = EMOTIONS) -> np.ndarray:
    return np.array([d[e] for e in labels])


def test_reliability_is_chance_corrected_f1_times_transfer() -> None:
    face = RELIABILITY["face"]
    assert R["face"] == pytest.approx((0.616 - 1 / 7) / (1 - 1 / 7) * face.transfer)
    assert weights({"voice": 0.2})["voice"] == 0.2
    with pytest.raises(ValueError, match="within"):
        weights({"voice": 2.0})
    with pytest.raises(ValueError, match="unknown modality"):
        weights({"smell": 0.5})


def test_face_alone_passes_through_at_cell_centres() -> None:
    # joy rises linearly from 0.2 to 0.6 over 4 s; linear interpolation is exact
    def row(t: float) -> dict[str, float]:
        joy = 0.2 + 0.1 * t
        return face_row(probs8(joy=joy, contempt=0.1), valence=0.5 * joy, quality=0.8, AU12=t)

    f = fuse_recording(4.0, fake_faces(FRAMES, {0: row}))
    t = f.timeline
    centres = t.grid.centres
    assert len(t) == 8 and t.evidence.all()
    joy = 0.2 + 0.1 * centres
    assert t.emotions[:, EMOTIONS.index("joy")] == pytest.approx(joy)
    assert t.emotions[:, EMOTIONS.index("contempt")] == pytest.approx(0.1)
    assert t.emotions.sum(axis=1) == pytest.approx(1.0)
    assert t.valence == pytest.approx(0.5 * joy)
    assert t.weights["face"] == pytest.approx(1.0)
    assert t.agreement == pytest.approx(1.0)
    assert t.confidence == pytest.approx(0.8)  # all of the possible evidence times quality
    assert t.aus is not None and t.aus[:, 8] == pytest.approx(centres)  # AU12
    assert f.subject == 0 and f.people[0].seconds_visible == pytest.approx(4.0)


def test_face_and_voice_pool_by_reliability_times_confidence() -> None:
    pf = probs8(joy=0.5, contempt=0.2)
    pv = probs7(anger=0.6)
    faces = fake_faces(FRAMES, {0: lambda _t: face_row(pf, valence=0.4, arousal=0.1,
                                                       quality=0.9)})  # fmt: skip
    voice = fake_voice([(1.0, 2.25, pv, -0.5, 0.6, 0.8)], 4.0)
    t = fuse_recording(4.0, faces, voice).timeline
    # cells [1, 1.5) and [1.5, 2) are fully speech, [2, 2.5) half
    for i, cover in ((2, 1.0), (3, 1.0), (4, 0.5)):
        wf, wv = R["face"] * 0.9, R["voice"] * 0.8 * cover
        contempt = 0.2  # only the face has contempt
        face7 = vec(pf, BASIC_EMOTIONS) / (1 - 0.2)
        basic = (1 - contempt) * (wf * face7 + wv * vec(pv, BASIC_EMOTIONS)) / (wf + wv)
        assert t.emotions[i, EMOTIONS.index("contempt")] == pytest.approx(contempt)
        assert t.emotions[i, [EMOTIONS.index(e) for e in BASIC_EMOTIONS]] == pytest.approx(basic)
        assert t.valence[i] == pytest.approx((wf * 0.4 + wv * -0.5) / (wf + wv))
        assert t.arousal[i] == pytest.approx((wf * 0.1 + wv * 0.6) / (wf + wv))
        assert t.weights["voice"][i] == pytest.approx(wv / (wf + wv))
        assert t.confidence[i] == pytest.approx(
            (wf + wv) / (R["face"] + R["voice"]) * (1 + t.agreement[i]) / 2
        )
    assert t.weights["voice"][0] == 0.0 and t.weights["face"][0] == 1.0
    assert t.speech is not None and t.speech[:5].tolist() == [0, 0, 1, 1, 0.5]


def test_a_step_without_evidence_is_marked_not_guessed() -> None:
    faces = fake_faces(FRAMES, {0: lambda t: face_row(probs8(joy=0.5)) if t < 1.0 else None})
    voice = fake_voice([(3.0, 4.0, probs7(fear=0.7), -0.6, 0.7, 1.0)], 4.0)
    t = fuse_recording(4.0, faces, voice).timeline
    assert t.evidence.tolist() == [True, True, False, False, False, False, True, True]
    gap = ~t.evidence
    for arr in (t.valence, t.arousal, t.engagement, t.confidence, t.agreement):
        assert np.isnan(arr[gap]).all()
    assert np.isnan(t.emotions[gap]).all()
    assert t.face_present is not None and not t.face_present[gap].any()


def test_smile_over_negative_words_is_flagged() -> None:
    faces = fake_faces(FRAMES, {0: lambda _t: face_row(probs8(joy=0.8), valence=0.7)})
    text = fake_text([(1.0, 2.0, "this is awful", probs7(sadness=0.8), -0.6)])
    t = fuse_recording(4.0, faces, text=text).timeline
    flagged = {(c.index, c.kind, c.modalities) for c in t.conflicts}
    assert flagged == {(2, "valence", ("face", "text")), (3, "valence", ("face", "text"))}
    assert t.agreement[2] < t.agreement[0] == 1.0
    assert t.words[2] == "this" and t.words[3] == "is awful"  # by each word's middle


def test_calm_words_in_an_agitated_voice_is_flagged() -> None:
    voice = fake_voice([(0.0, 2.0, probs7(anger=0.7), -0.5, 0.9, 1.0)], 2.0)
    text = fake_text([(0.0, 2.0, "the meeting is at noon", probs7(neutral=0.9), 0.0)])
    t = fuse_recording(2.0, voice=voice, text=text).timeline
    circumplex_arousal = (0.7, 0.3, 0.7, 0.5, 0.0, -0.4, 0.8)
    calm = probs7(neutral=0.9)
    arousal_text = sum(calm[e] * a for e, a in zip(BASIC_EMOTIONS, circumplex_arousal, strict=True))
    assert 0.9 - arousal_text >= CONFLICT_GAP
    assert {c.kind for c in t.conflicts} == {"arousal"}
    assert t.face_present is None  # faces were not analysed: no attention component
    expected = (0.2 * (1 - t.emotions[:, EMOTIONS.index("neutral")]) + 0.2 * 1.0
                + 0.2 * (t.arousal + 1) / 2) / 0.6  # fmt: skip
    assert t.engagement == pytest.approx(expected)


def test_engagement_attention_counts_a_turned_head_less() -> None:
    def row(t: float) -> dict[str, float]:
        return face_row(probs8(neutral=1.0 - 7e-9), yaw=0.0 if t < 2 else 30.0)

    t = fuse_recording(4.0, fake_faces(FRAMES, {0: row})).timeline
    # attention 1 then 0.5; expressiveness ~0; arousal 0 -> 0.5
    assert t.engagement[0] == pytest.approx((0.4 * 1.0 + 0.2 * 0.5) / 0.8, abs=1e-6)
    assert t.engagement[-1] == pytest.approx((0.4 * 0.5 + 0.2 * 0.5) / 0.8, abs=1e-6)


def talking(amplitude: float, offset: float = 0.0, during: tuple[float, float] = (0, 99)):  # type: ignore[no-untyped-def]
    """A face whose mouth opens and closes every frame ``during`` (amplitude 0 = still)."""

    def row(t: float) -> dict[str, float]:
        k = round(t / 0.2) if during[0] <= t < during[1] else 0
        return face_row(probs8(joy=0.6), valence=0.5, AU25=offset + amplitude * (k % 2),
                        AU26=amplitude * (k % 2))  # fmt: skip

    return row


def test_voice_goes_to_the_face_whose_mouth_moves() -> None:
    faces = fake_faces(FRAMES, {0: talking(0.0, offset=1.0), 1: talking(2.0, during=(1, 3))})
    voice = fake_voice([(1.0, 3.0, probs7(anger=0.8), -0.6, 0.6, 1.0)], 4.0)
    f = fuse_recording(4.0, faces, voice)
    (a,) = f.attributions
    assert a.face_id == 1 and a.share == pytest.approx(1.0)
    assert a.method == "mouth movement during speech"
    # both faces are seen in every frame: the subject is the lower id, and gets none of the voice
    assert f.subject == 0
    assert f.timeline.weights["voice"] == pytest.approx(0.0)
    people = {p.face_id: p for p in f.people}
    assert people[1].speech_seconds == pytest.approx(2.0)
    assert people[0].speech_seconds == pytest.approx(0.0)
    assert people[1].mouth_speech_correlation > 0.5  # type: ignore[operator]
    assert people[0].mouth_speech_correlation is None  # a mouth that never moves
    chosen = fuse_recording(4.0, faces, voice, subject=1)
    assert chosen.subject == 1 and chosen.timeline.weights["voice"][2] > 0


def test_unknown_subject_is_refused() -> None:
    faces = fake_faces(FRAMES, {0: talking(0.0)})
    with pytest.raises(ValueError, match="face 3 is not in this recording"):
        fuse_recording(4.0, faces, subject=3)


def test_only_face_in_view_gets_the_voice_and_no_face_leaves_it_to_the_subject() -> None:
    faces = fake_faces(FRAMES, {0: lambda t: face_row(probs8(joy=0.5)) if t < 2 else None})
    voice = fake_voice([(0.5, 1.5, probs7(joy=0.5), 0.3, 0.2, 1.0),
                        (2.5, 3.5, probs7(joy=0.5), 0.3, 0.2, 1.0)], 4.0)  # fmt: skip
    f = fuse_recording(4.0, faces, voice)
    assert [(a.face_id, a.method) for a in f.attributions] == [
        (0, "only face in view"),
        (None, "no face in view"),
    ]
    assert f.people[0].speech_seconds == pytest.approx(2.0)
    assert f.timeline.weights["voice"][6] == pytest.approx(1.0)  # face gone, voice counts


def test_key_moments_find_the_peak_and_the_words_said_then() -> None:
    def row(t: float) -> dict[str, float]:
        joy = 0.9 if 2.0 <= t < 3.0 else 0.1
        return face_row(probs8(joy=joy), valence=0.8 * joy, AU06=2.5 * joy / 0.9,
                        AU12=3.0 * joy / 0.9)  # fmt: skip

    times = np.arange(0.0, 6.0, 0.1)
    text = fake_text([(2.0, 3.0, "that is great", probs7(joy=0.8), 0.7)])
    f = fuse_recording(6.0, fake_faces(times, {0: row}), text=text)
    peaks = [m for m in f.moments if m.kind == "peak"]
    assert [(m.measure, m.span.start, m.span.end) for m in peaks] == [("joy", 2.0, 3.0)]
    (peak,) = peaks
    assert peak.words == "that is great" and peak.utterances == ("that is great",)
    assert [au for au, _ in peak.aus] == ["AU12", "AU06"]
    assert "joy peaks at" in peak.description
    changes = [m for m in f.moments if m.kind == "change"]
    assert {m.measure for m in changes} <= {"valence", "arousal"}
    summary = f.summary
    assert summary.dominant[0][0] in EMOTIONS
    assert sum(summary.emotion_distribution.values()) == pytest.approx(1.0)
    assert summary.evidence_seconds == pytest.approx(6.0)


def test_still_picture_is_one_step() -> None:
    faces = fake_faces([0.0], {0: lambda _t: face_row(probs8(surprise=0.7), quality=0.5)})
    f = fuse_recording(0.0, faces)
    t = f.timeline
    assert len(t) == 1 and t.evidence.all()
    assert t.emotions[0, EMOTIONS.index("surprise")] == pytest.approx(0.7)
    assert f.summary.emotion_distribution["surprise"] == pytest.approx(0.7)
    assert f.people[0].presence == 1.0


def test_nothing_analysed_gives_an_empty_profile() -> None:
    f = fuse_recording(3.0, fake_faces([0.0, 0.2], {}))
    assert not f.timeline.evidence.any() and f.subject is None and f.moments == ()
    assert np.isnan(f.summary.valence.mean)


dist7 = st.lists(st.floats(0.01, 1.0), min_size=7, max_size=7).map(
    lambda v: dict(zip(BASIC_EMOTIONS, np.array(v) / sum(v), strict=True))
)


@st.composite
def recordings(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    duration = draw(st.floats(0.5, 20.0))
    step = draw(st.sampled_from([0.25, 0.5, 1.0, 2.0]))
    fps = draw(st.sampled_from([2.0, 5.0, 25.0]))
    times = np.arange(0.0, duration, 1.0 / fps)
    seen = draw(st.lists(st.booleans(), min_size=len(times), max_size=len(times)))
    p = draw(dist7)
    contempt = draw(st.floats(0.0, 0.5))
    face8 = {**{e: v * (1 - contempt) for e, v in p.items()}, "contempt": contempt}
    q = draw(st.floats(0.0, 1.0))

    def row(t: float) -> dict[str, float] | None:
        k = min(int(round(t * fps)), len(seen) - 1)
        return face_row(face8, valence=0.3, quality=q) if seen[k] else None

    faces = fake_faces(times, {0: row})
    segs = []
    for start, length in draw(st.lists(st.tuples(st.floats(0, 25), st.floats(0.1, 5)),
                                       max_size=4)):  # fmt: skip
        segs.append((start, start + length, draw(dist7), draw(st.floats(-1, 1)),
                     draw(st.floats(-1, 1)), draw(st.floats(0, 1))))  # fmt: skip
    segs.sort(key=lambda s: (s[0], s[1]))
    voice = fake_voice(segs, duration) if draw(st.booleans()) else None
    utts = [(s, e, "words here", draw(dist7), draw(st.floats(-1, 1))) for s, e, *_ in segs]
    text = fake_text(utts, word_prob=draw(st.floats(0, 1))) if draw(st.booleans()) else None
    return duration, step, faces, voice, text


@given(recordings())
def test_probabilities_stay_normalised_and_spans_inside_the_media(rec) -> None:  # type: ignore[no-untyped-def]
    duration, step, faces, voice, text = rec
    f = fuse_recording(duration, faces, voice, text, step=step)
    t = f.timeline
    ev = t.evidence
    assert np.allclose(t.emotions[ev].sum(axis=1), 1.0)
    assert (t.emotions[ev] >= -1e-12).all()
    assert np.isnan(t.emotions[~ev]).all()
    for arr, lo in ((t.valence, -1), (t.arousal, -1), (t.engagement, 0), (t.confidence, 0),
                    (t.agreement, 0)):  # fmt: skip
        assert ((arr[ev] >= lo - 1e-9) & (arr[ev] <= 1 + 1e-9)).all()
    if t.weights:
        total = sum(w[ev] for w in t.weights.values())
        assert np.allclose(total, 1.0)
    assert t.grid.starts[0] == 0 and t.grid.ends[-1] == pytest.approx(duration)
    for m in f.moments:
        assert 0 <= m.span.start <= m.span.end <= duration + 1e-9
    for c in t.conflicts:
        assert 0 <= c.index < len(t)
    for p in (f.summary, *(person.summary for person in f.people)):
        dist = [v for v in p.emotion_distribution.values() if np.isfinite(v)]
        assert not dist or sum(dist) == pytest.approx(1.0)

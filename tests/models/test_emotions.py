from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from models.face.emotions import combine, reliability, valence_arousal
from models.face.expression import LABELS
from multimodal.vocab import AU_CODES, EMOTIONS


def onehot(label: str, labels: tuple[str, ...]) -> np.ndarray:
    v = np.full((1, len(labels)), 1e-6)
    v[0, labels.index(label)] = 1.0
    return v / v.sum()


def test_contempt_comes_from_the_aus_alone() -> None:
    proto = onehot("contempt", EMOTIONS) * 0.6 + onehot("neutral", EMOTIONS) * 0.4
    cls = onehot("joy", LABELS)
    fused = combine(cls, proto, np.ones(1), LABELS)[0]
    assert fused[EMOTIONS.index("contempt")] == pytest.approx(0.6, abs=1e-3)
    # The rest is shared: mostly the classifier's joy, some of the prototypes' neutral.
    assert fused[EMOTIONS.index("joy")] > fused[EMOTIONS.index("neutral")] > 0


def test_classifier_and_aus_check_each_other() -> None:
    cls = 0.5 * onehot("surprise", LABELS) + 0.5 * onehot("fear", LABELS)
    proto = onehot("fear", EMOTIONS)
    fused = dict(zip(EMOTIONS, combine(cls, proto, np.ones(1), LABELS)[0], strict=True))
    assert fused["fear"] > fused["surprise"]


def test_without_classifier_the_prototypes_stand() -> None:
    proto = onehot("joy", EMOTIONS)
    assert np.allclose(combine(None, proto, np.ones(1), LABELS), proto)


def test_poor_faces_are_not_confident() -> None:
    proto = onehot("anger", EMOTIONS)
    cls = onehot("anger", LABELS)
    good, fair, bad = combine(
        np.repeat(cls, 3, 0), np.repeat(proto, 3, 0), np.array([0.9, 0.4, 0.05]), LABELS
    )
    assert good.max() > 0.95
    assert 1 / 8 < fair.max() < good.max()
    assert bad.max() < 0.2 and bad.argmax() == EMOTIONS.index("anger")
    assert np.allclose(reliability(np.array([0.0, 0.2, 0.4, 0.6, 1.0])), [0, 0, 0.5, 1, 1])


@given(
    arrays(np.float64, (4, 7), elements=st.floats(0.001, 1)),
    arrays(np.float64, (4, 8), elements=st.floats(0.001, 1)),
    arrays(np.float64, (4,), elements=st.floats(0, 1)),
)
def test_fused_probabilities_are_normalised(
    cls: np.ndarray, proto: np.ndarray, q: np.ndarray
) -> None:
    cls = cls / cls.sum(1, keepdims=True)
    proto = proto / proto.sum(1, keepdims=True)
    fused = combine(cls, proto, q, LABELS)
    assert np.all(fused >= 0) and np.allclose(fused.sum(1), 1)


def test_valence_and_arousal() -> None:
    zero = np.zeros((1, len(AU_CODES)))
    v, a = valence_arousal(onehot("joy", EMOTIONS), zero)
    assert v[0] > 0.7 and a[0] > 0.3
    v, a = valence_arousal(onehot("sadness", EMOTIONS), zero)
    assert v[0] < -0.5 and a[0] < 0
    v, a = valence_arousal(onehot("neutral", EMOTIONS), zero)
    assert abs(v[0]) < 0.01 and abs(a[0]) < 0.01
    eyes_closed = zero.copy()
    eyes_closed[0, AU_CODES.index("AU43")] = 5
    _, a2 = valence_arousal(onehot("neutral", EMOTIONS), eyes_closed)
    assert a2[0] < -0.3
    v, a = valence_arousal(np.full((3, 8), 1 / 8), np.full((3, len(AU_CODES)), 5.0))
    assert np.all(np.abs(v) <= 1) and np.all(np.abs(a) <= 1)


def test_au_share_grows_with_face_size() -> None:
    from models.face.emotions import AU_WEIGHT, au_share

    shares = au_share(np.array([10.0, 24.0, 42.0, 60.0, 200.0, np.nan]))
    assert shares.tolist() == pytest.approx([0, 0, AU_WEIGHT / 2, AU_WEIGHT, AU_WEIGHT, 0])
    cls = onehot("joy", LABELS)
    proto = onehot("anger", EMOTIONS)
    small, large = combine(np.repeat(cls, 2, 0), np.repeat(proto, 2, 0), np.ones(2), LABELS,
                           au_share(np.array([17.0, 100.0])))  # fmt: skip
    assert small[EMOTIONS.index("anger")] < 1e-3 < large[EMOTIONS.index("anger")]

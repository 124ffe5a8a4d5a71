"""One emotion estimate per face per frame from two kinds of evidence, plus valence and arousal.

* The expression classifier (``models/face/expression.py``) reads the whole aligned face and
  gives probabilities over seven labels (no contempt).
* The AU prototypes (``models/face/facs.py``) read measured muscle movements and give
  probabilities over eight labels.

They are combined as a weighted mixture over the seven shared labels; contempt comes from the
AUs alone and keeps the probability the prototypes give it. The share of the AU evidence grows
with the face's size (:func:`au_share`), because blendshapes measured on a few dozen pixels are
unreliable (``models/cards/face-expression.md`` has the measurements).
Faces of low quality (small, blurred, turned away, cut off by the frame edge) are shrunk towards
the uniform distribution in proportion to how poor they are (down to 5 % of the estimate), so
that they cannot report a confident emotion; the quality is reported beside them.

Valence and arousal are a derived estimate, not a measurement: the expectation of each label's
place on Russell's circumplex under the emotion probabilities, with arousal nudged by AUs that
mark activation (upper lid raiser, jaw drop) or its absence (eyes closed).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from multimodal.vocab import AU_CODES, CIRCUMPLEX, EMOTIONS, FACS_MAX_INTENSITY

FloatArray = npt.NDArray[np.float64]

AU_WEIGHT = 0.2
"""Largest share of the AU-prototype probabilities in the mixture (the classifier has the rest).
It is reached for faces with an inter-ocular distance of :data:`AU_FULL_IOD` pixels or more and
falls to 0 at :data:`AU_ZERO_IOD`: on small faces blendshapes are guesses (on FER2013's 48x48
faces the prototypes alone are right 33 % of the time and any share above 0 lowers accuracy)."""
AU_ZERO_IOD = 24.0
AU_FULL_IOD = 60.0


def au_share(iod_px: FloatArray) -> FloatArray:
    """Share of the AU prototypes per face, from its inter-ocular distance in pixels."""
    ramp = (np.nan_to_num(np.asarray(iod_px, dtype=np.float64)) - AU_ZERO_IOD) / (
        AU_FULL_IOD - AU_ZERO_IOD
    )
    out: FloatArray = AU_WEIGHT * np.clip(ramp, 0.0, 1.0)
    return out


QUALITY_FLOOR = 0.2
"""Below this quality a face's emotions are fully uninformative (uniform)."""
QUALITY_FULL = 0.6
"""From this quality on a face's emotions are reported as estimated."""
MIN_KEEP = 0.05
"""Share of the estimate kept even at the lowest quality, so that the most probable label still
says what the evidence pointed to, while the probabilities stay close to uniform."""

AROUSAL_AUS: dict[str, float] = {"AU05": 0.25, "AU26": 0.15, "AU43": -0.4}
"""Arousal added per AU at full intensity."""


def reliability(quality: FloatArray) -> FloatArray:
    """How much of an estimate to keep, from quality: 0 below the floor, 1 from full, linear."""
    return np.clip((quality - QUALITY_FLOOR) / (QUALITY_FULL - QUALITY_FLOOR), 0.0, 1.0)


def combine(
    classifier: FloatArray | None,
    prototypes: FloatArray,
    quality: FloatArray,
    classifier_labels: tuple[str, ...],
    au_weight: float | FloatArray = AU_WEIGHT,
) -> FloatArray:
    """Fused probabilities over :data:`EMOTIONS`, shape ``(n, 8)``.

    Args:
        classifier: ``(n, 7)`` classifier probabilities over ``classifier_labels``, or ``None``
            (then the prototypes alone are used).
        prototypes: ``(n, 8)`` AU-prototype probabilities over :data:`EMOTIONS`.
        quality: ``(n,)`` face quality in ``[0, 1]``.
        au_weight: share of the prototypes in the mixture of shared labels, one for all faces
            or one per face (see :func:`au_share`).
    """
    prototypes = np.atleast_2d(prototypes)
    n = prototypes.shape[0]
    contempt = EMOTIONS.index("contempt")
    if classifier is None:
        fused = prototypes.copy()
    else:
        shared = [EMOTIONS.index(label) for label in classifier_labels]
        rest = prototypes[:, shared]
        rest = rest / np.maximum(rest.sum(axis=1, keepdims=True), 1e-12)
        w = np.broadcast_to(np.asarray(au_weight, dtype=np.float64), (n,))[:, None]
        mixed = (1.0 - w) * np.atleast_2d(classifier) + w * rest
        fused = np.zeros((n, len(EMOTIONS)))
        fused[:, contempt] = prototypes[:, contempt]
        fused[:, shared] = (1.0 - prototypes[:, [contempt]]) * mixed
    keep = MIN_KEEP + (1.0 - MIN_KEEP) * reliability(np.asarray(quality, dtype=np.float64))[:, None]
    fused = keep * fused + (1.0 - keep) / len(EMOTIONS)
    out: FloatArray = fused / fused.sum(axis=1, keepdims=True)
    return out


def valence_arousal(probs: FloatArray, intensity: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Valence and arousal in ``[-1, 1]`` per frame from fused probabilities and AU intensities."""
    coords = np.array([CIRCUMPLEX[e] for e in EMOTIONS])
    va = np.atleast_2d(probs) @ coords
    arousal = va[:, 1].copy()
    intensity = np.atleast_2d(intensity)
    for au, gain in AROUSAL_AUS.items():
        arousal += gain * intensity[:, AU_CODES.index(au)] / FACS_MAX_INTENSITY
    return np.clip(va[:, 0], -1.0, 1.0), np.clip(arousal, -1.0, 1.0)

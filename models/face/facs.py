"""From MediaPipe blendshapes and landmark geometry to FACS action units and emotions.

The mapping (which blendshape or measurement feeds which AU), the calibration of intensities,
the per-person baseline, the blink rule and the emotion prototypes are documented in
``models/cards/facs-mapping.md``; the numbers the calibration uses live in
``models/weights/au_calibration.json``, written by ``models/training/calibrate_au.py``.

All functions here are pure numpy over arrays of frames, so that they can be tested on made-up
inputs and stay cheap per frame.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from models.face.landmarker import BLENDSHAPES, GEOMETRY
from multimodal.errors import ModelError
from multimodal.vocab import AU_CODES, EMOTIONS, FACS_MAX_INTENSITY

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_B = {name: i for i, name in enumerate(BLENDSHAPES)}
_G = {name: i for i, name in enumerate(GEOMETRY)}

MOUTH_OPEN_FULL = 0.6
"""Inner-lip gap, as a fraction of the inter-ocular distance, that counts as evidence 1 for AU25."""

# AU -> blendshapes averaged for its evidence (left/right pairs are averaged).
AU_BLENDSHAPES: dict[str, tuple[str, ...]] = {
    "AU01": ("browInnerUp",),
    "AU02": ("browOuterUpLeft", "browOuterUpRight"),
    "AU04": ("browDownLeft", "browDownRight"),
    "AU05": ("eyeWideLeft", "eyeWideRight"),
    "AU06": ("cheekSquintLeft", "cheekSquintRight"),
    "AU07": ("eyeSquintLeft", "eyeSquintRight"),
    "AU09": ("noseSneerLeft", "noseSneerRight"),
    "AU10": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "AU12": ("mouthSmileLeft", "mouthSmileRight"),
    "AU14": ("mouthDimpleLeft", "mouthDimpleRight"),
    "AU15": ("mouthFrownLeft", "mouthFrownRight"),
    "AU17": ("mouthShrugLower",),
    "AU20": ("mouthStretchLeft", "mouthStretchRight"),
    "AU23": ("mouthRollLower", "mouthRollUpper", "mouthPressLeft", "mouthPressRight"),
    "AU24": ("mouthPressLeft", "mouthPressRight"),
    "AU26": ("jawOpen",),
    "AU43": ("eyeBlinkLeft", "eyeBlinkRight"),
    "AU45": ("eyeBlinkLeft", "eyeBlinkRight"),
}
"""Blendshapes behind each AU; AU25 comes from geometry and AU28 is the lesser lip roll."""

BASELINE_EXEMPT = frozenset({"AU43", "AU45"})
"""AUs whose evidence is never baseline-corrected (eye closure has a fixed meaning)."""


def au_evidence(blendshapes: FloatArray, geometry: FloatArray) -> FloatArray:
    """Raw evidence in ``[0, 1]`` for each AU, shape ``(n, len(AU_CODES))``.

    Args:
        blendshapes: ``(n, 52)`` MediaPipe scores in :data:`BLENDSHAPES` order.
        geometry: ``(n, 6)`` landmark measurements in :data:`GEOMETRY` order.
    """
    bs = np.atleast_2d(np.asarray(blendshapes, dtype=np.float64))
    geo = np.atleast_2d(np.asarray(geometry, dtype=np.float64))
    out = np.zeros((bs.shape[0], len(AU_CODES)))
    for j, au in enumerate(AU_CODES):
        if au == "AU25":
            gap = np.nan_to_num(geo[:, _G["mouth_open"]], nan=0.0)
            out[:, j] = np.clip(gap / MOUTH_OPEN_FULL, 0.0, 1.0)
        elif au == "AU28":
            out[:, j] = np.minimum(bs[:, _B["mouthRollLower"]], bs[:, _B["mouthRollUpper"]])
        else:
            idx = [_B[name] for name in AU_BLENDSHAPES[au]]
            out[:, j] = bs[:, idx].mean(axis=1)
    return np.clip(out, 0.0, 1.0)


_SIDES = {
    "AU12": ("mouthSmileLeft", "mouthSmileRight"),
    "AU14": ("mouthDimpleLeft", "mouthDimpleRight"),
}


UNILATERAL_MIN_SPAN = 0.3
"""Smallest blendshape range that maps one side of AU12/AU14 from 0 to 1 for the contempt cue."""


def unilateral(blendshapes: FloatArray, calibration: AUCalibration) -> FloatArray:
    """One-sided lip corner pull or dimpling (R12/R14, the contempt cue), shape ``(n,)``.

    Each side of AU12 and AU14 is scaled to an activation in ``[0, 1]`` from the AU's
    threshold over its calibrated range, at least :data:`UNILATERAL_MIN_SPAN` wide (a narrow
    range would turn small natural asymmetries into contempt); the cue is the larger left-right
    difference of the two AUs.
    """
    bs = np.atleast_2d(np.asarray(blendshapes, dtype=np.float64))
    out = np.zeros(bs.shape[0])
    for au, (left, right) in _SIDES.items():
        j = AU_CODES.index(au)
        lo = calibration.threshold[j]
        span = max(calibration.full[j] - lo, UNILATERAL_MIN_SPAN)
        act_l = np.clip((bs[:, _B[left]] - lo) / span, 0.0, 1.0)
        act_r = np.clip((bs[:, _B[right]] - lo) / span, 0.0, 1.0)
        out = np.maximum(out, np.abs(act_l - act_r))
    return out


@dataclass(frozen=True)
class AUCalibration:
    """Per-AU calibration from evidence to FACS intensity.

    Attributes:
        rest: typical evidence of a neutral face (population median), shape ``(20,)``.
        threshold: evidence at which an AU counts as present (intensity 1, FACS A).
        full: evidence at which an AU reaches intensity 5 (FACS E).
        source: what the numbers were derived from.
        sha256: digest of the calibration file, ``""`` for the built-in defaults.
    """

    rest: FloatArray
    threshold: FloatArray
    full: FloatArray
    source: str
    sha256: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], sha256: str = "") -> AUCalibration:
        try:
            aus = data["aus"]
            rest = np.array([float(aus[a]["rest"]) for a in AU_CODES])
            threshold = np.array([float(aus[a]["threshold"]) for a in AU_CODES])
            full = np.array([float(aus[a]["full"]) for a in AU_CODES])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"AU calibration is incomplete or malformed ({e!r})") from e
        if np.any(full <= threshold) or np.any(threshold < rest):
            raise ModelError("AU calibration must have rest <= threshold < full for every AU")
        return cls(rest, threshold, full, str(data.get("source", "unknown")), sha256)

    @classmethod
    def packaged(cls) -> AUCalibration:
        """The calibration shipped in ``models/weights/au_calibration.json``."""
        import hashlib

        raw = resources.files("models").joinpath("weights/au_calibration.json").read_bytes()
        return cls.from_mapping(json.loads(raw), hashlib.sha256(raw).hexdigest())

    def intensity(self, evidence: FloatArray) -> tuple[FloatArray, BoolArray]:
        """FACS intensity ``0`` (absent) or ``1..5`` (A..E), and presence, per frame and AU."""
        present = evidence >= self.threshold
        scaled = np.clip((evidence - self.threshold) / (self.full - self.threshold), 0.0, 1.0)
        intensity = np.where(present, 1.0 + (FACS_MAX_INTENSITY - 1.0) * scaled, 0.0)
        return intensity, present


def track_baseline(
    evidence: FloatArray, weights: FloatArray, rest: FloatArray, percentile: float = 10.0
) -> FloatArray:
    """A person's resting offset per AU: how far their low-percentile evidence sits above the
    population's neutral level (never negative; 0 for :data:`BASELINE_EXEMPT` AUs).

    Args:
        evidence: ``(n, 20)`` evidence of one face track.
        weights: ``(n,)`` frame qualities; frames below 0.3 are left out when enough remain.
        rest: population neutral evidence per AU.
    """
    good = weights >= 0.3
    rows = evidence[good] if good.sum() >= 5 else evidence
    level = np.percentile(rows, percentile, axis=0)
    offset = np.maximum(level - rest, 0.0)
    for j, au in enumerate(AU_CODES):
        if au in BASELINE_EXEMPT:
            offset[j] = 0.0
    return offset


def split_eye_closure(
    closed: BoolArray, times: FloatArray, step: float, blink_max: float = 0.5
) -> tuple[BoolArray, BoolArray]:
    """Split eye-closure frames of one track into blinks (AU45) and eyes closed (AU43).

    A run of consecutive closed frames (no gap longer than 1.5 analysis steps) lasting less than
    ``blink_max`` seconds is a blink; a longer run is eyes closed. A single frame with no
    neighbours in time (a still image) counts as eyes closed: a blink needs time to be seen.

    Returns:
        ``(blink, eyes_closed)`` boolean arrays of the frames.
    """
    blink = np.zeros_like(closed)
    shut = np.zeros_like(closed)
    n = len(closed)
    i = 0
    while i < n:
        if not closed[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and closed[j + 1] and times[j + 1] - times[j] <= 1.5 * step:
            j += 1
        duration = times[j] - times[i] + step
        if step > 0 and duration < blink_max:
            blink[i : j + 1] = True
        else:
            shut[i : j + 1] = True
        i = j + 1
    return blink, shut


# Emotion prototypes after EMFACS (Friesen & Ekman 1983): AU weights sum to 1 per emotion.
PROTOTYPES: dict[str, dict[str, float]] = {
    "joy": {"AU06": 0.35, "AU12": 0.65},
    "sadness": {"AU01": 0.3, "AU04": 0.25, "AU15": 0.35, "AU17": 0.1},
    "surprise": {"AU01": 0.25, "AU02": 0.25, "AU05": 0.2, "AU26": 0.3},
    "fear": {"AU01": 0.15, "AU02": 0.1, "AU04": 0.15, "AU05": 0.2, "AU07": 0.1, "AU20": 0.2,
             "AU26": 0.1},
    "anger": {"AU04": 0.35, "AU05": 0.1, "AU07": 0.25, "AU23": 0.15, "AU24": 0.15},
    "disgust": {"AU09": 0.45, "AU10": 0.25, "AU15": 0.15, "AU17": 0.15},
}  # fmt: skip
SHARPNESS = 8.0
"""Softmax gain on prototype scores in ``[0, 1]``."""
NEUTRAL_SCORE = 0.45
"""The score neutral competes with: with no AU active, neutral takes about 0.84."""
CONTEMPT_GAIN = 1.5
CONTEMPT_FLOOR = 0.15
"""Contempt score = clip(gain * unilateral - floor, 0, 1), damped by a symmetric smile."""


def emotion_probabilities(intensity: FloatArray, one_sided: FloatArray) -> FloatArray:
    """Probabilities over :data:`EMOTIONS` per frame, shape ``(n, 8)``, rows summing to 1.

    Each emotion's score is the weighted mean of its prototype's AU intensities (as fractions of
    5); contempt's is the one-sided lip corner pull or dimpling (:func:`unilateral`), damped
    when the smile is symmetric; neutral competes with a fixed score. A softmax turns scores into
    probabilities.
    """
    a = np.atleast_2d(intensity) / FACS_MAX_INTENSITY
    col = {au: j for j, au in enumerate(AU_CODES)}
    scores = np.zeros((a.shape[0], len(EMOTIONS)))
    for k, emotion in enumerate(EMOTIONS):
        if emotion in PROTOTYPES:
            proto = PROTOTYPES[emotion]
            scores[:, k] = sum(w * a[:, col[au]] for au, w in proto.items())
        elif emotion == "contempt":
            symmetric_smile = a[:, col["AU12"]]
            scores[:, k] = np.clip(CONTEMPT_GAIN * one_sided - CONTEMPT_FLOOR, 0.0, 1.0) * (
                1.0 - 0.5 * symmetric_smile
            )
        else:  # neutral
            scores[:, k] = NEUTRAL_SCORE
    logits = SHARPNESS * scores
    logits -= logits.max(axis=1, keepdims=True)
    expd = np.exp(logits)
    probs: FloatArray = expd / expd.sum(axis=1, keepdims=True)
    return probs


def quality(
    iod_px: FloatArray,
    yaw: FloatArray,
    pitch: FloatArray,
    sharpness: FloatArray,
    in_frame: FloatArray | float = 1.0,
) -> FloatArray:
    """Detection quality in ``[0, 1]``: face size x frontal pose x sharpness x visibility.

    * size: 0 at an inter-ocular distance of 8 px, 1 from 28 px (a face about 70 px wide);
    * pose: 1 up to 25 degrees of yaw or pitch, 0 at 60 degrees;
    * sharpness: 0 for a Laplacian variance (64x64 face crop) of 10 or less, 1 from 100;
    * visibility: 1 when at least 95 % of the face's extent is inside the picture, 0 at 60 %.
    """
    size_q = np.clip((np.nan_to_num(iod_px) - 8.0) / 20.0, 0.0, 1.0)
    turn = np.maximum(np.abs(yaw), np.abs(pitch))
    pose_q = np.clip((60.0 - turn) / 35.0, 0.0, 1.0)
    sharp_q = np.clip(np.log10(np.maximum(sharpness, 1e-3)) - 1.0, 0.0, 1.0)
    visible_q = np.clip((np.asarray(in_frame, dtype=np.float64) - 0.6) / 0.35, 0.0, 1.0)
    q: FloatArray = size_q * pose_q * sharp_q * visible_q
    return q

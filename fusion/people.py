"""Who is who: the main subject, and which face the voice belongs to.

The *main subject* is the face seen in the most analysed frames (ties: the lower ``face_id``).

The voice is attributed per speech segment among the faces seen during it, by mouth movement:
a face that speaks opens and closes its mouth. For each face the mean frame-to-frame change of
mouth opening (AU25 lips part + AU26 jaw drop, intensity 0-5 each) inside the segment is its
*activity*; the shares are the activities over their sum (equal shares when no mouth moved).
With one face in view it gets the whole segment. With no face in view the segment is
*unattributed* and counts for the main subject, whose voice it most likely is in a one-person
recording; the result says so.

As a check over the whole recording, each face also gets the correlation between its mouth
movement and the speech probability at its frame times (``mouth_speech_correlation``): a face
that speaks correlates positively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.grid import Grid, assign
from multimodal.faces import FaceCoding, FaceTrack
from multimodal.timeline import FloatArray, Span
from multimodal.voice import VoiceAnalysis

MOUTH_AUS: tuple[str, ...] = ("AU25", "AU26")
"""AUs whose intensity measures how far the mouth is open."""
MIN_FRAMES = 2
"""Frames a face needs inside a segment to be a candidate speaker."""
STILL_MOUTH = 0.05
"""Mean change of mouth opening per frame (intensity units) below which no mouth moved."""


@dataclass(frozen=True)
class Attribution:
    """Which face one speech segment is attributed to.

    Attributes:
        span: the speech segment.
        face_id: the face with the largest share, or ``None`` when no face was in view.
        share: that face's share in ``[0, 1]`` (1 when it was the only face; 0 when none).
        candidates: ``(face_id, share)`` for each face in view during the segment.
        method: how it was decided, in words.
    """

    span: Span
    face_id: int | None
    share: float
    candidates: tuple[tuple[int, float], ...]
    method: str


def main_subject(coding: FaceCoding | None) -> int | None:
    """The face seen in the most frames, or ``None`` when there are no faces."""
    if coding is None or not coding.tracks:
        return None
    best = max(coding.tracks, key=lambda t: (t.frames_seen, -t.face_id))
    return best.face_id


def _mouth(track: FaceTrack) -> tuple[FloatArray, FloatArray]:
    """Times and mouth opening of the frames where the face was seen."""
    s = track.series
    opening = sum(s.column(au) for au in MOUTH_AUS)
    return s.times[s.mask], np.asarray(opening, dtype=np.float64)[s.mask]


def _movement(times: FloatArray, opening: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Change of opening between consecutive seen frames, at the later frame's time."""
    if len(times) < 2:
        return np.zeros(0), np.zeros(0)
    return times[1:], np.abs(np.diff(opening))


def attribute_voice(coding: FaceCoding | None, voice: VoiceAnalysis) -> tuple[Attribution, ...]:
    """One attribution per speech segment."""
    moves = {}
    if coding is not None:
        for track in coding.tracks:
            moves[track.face_id] = _movement(*_mouth(track))
    out = []
    for seg in voice.segments:
        span = seg.span
        activity: dict[int, float] = {}
        for face_id, (t, m) in moves.items():
            inside = (t >= span.start) & (t < span.end)
            if int(inside.sum()) >= MIN_FRAMES:
                activity[face_id] = float(m[inside].mean())
        if not activity:
            out.append(Attribution(span, None, 0.0, (), "no face in view"))
            continue
        if len(activity) == 1:
            (face_id,) = activity
            out.append(Attribution(span, face_id, 1.0, ((face_id, 1.0),), "only face in view"))
            continue
        total = sum(activity.values())
        if total < STILL_MOUTH * len(activity):
            shares = {k: 1.0 / len(activity) for k in activity}
            method = "no mouth moved: shared equally"
        else:
            shares = {k: v / total for k, v in activity.items()}
            method = "mouth movement during speech"
        best = max(shares, key=lambda k: (shares[k], -k))
        candidates = tuple(sorted(shares.items()))
        out.append(Attribution(span, best, shares[best], candidates, method))
    return tuple(out)


def attribution_share(
    attributions: tuple[Attribution, ...], face_id: int | None, subject: int | None, grid: Grid
) -> FloatArray:
    """``(n,)`` share of the voice in each cell attributed to ``face_id``.

    Cells without speech get 1 (the share only scales speech there is). Unattributed segments
    count for the main ``subject``.
    """
    values = []
    for a in attributions:
        if a.face_id is None:
            values.append(1.0 if face_id == subject else 0.0)
        else:
            values.append(dict(a.candidates).get(face_id, 0.0) if face_id is not None else 0.0)
    mean, _ = assign([a.span for a in attributions], np.array(values).reshape(-1, 1), grid)
    out: FloatArray = np.where(np.isfinite(mean[:, 0]), mean[:, 0], 1.0)
    return out


def mouth_speech_correlation(track: FaceTrack, voice: VoiceAnalysis) -> float | None:
    """Pearson correlation of mouth movement with speech probability at the face's frames."""
    times, move = _movement(*_mouth(track))
    vad = voice.vad
    if len(times) < 3 or len(vad) < 2:
        return None
    prob = np.interp(times, vad.times, vad.column("speech_prob"))
    if float(np.std(move)) < 1e-9 or float(np.std(prob)) < 1e-9:
        return None
    return float(np.corrcoef(move, prob)[0, 1])

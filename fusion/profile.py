"""One recording's emotional profile: every modality fused on one grid, per person.

:func:`fuse_recording` is the entry point. It puts each modality on the grid
(``fusion/sources.py``), attributes the voice to faces (``fusion/people.py``), fuses the profiled
person's face with the voice and words attributed to them (``fusion/fuse.py``), and summarises
(``fusion/summary.py``). The main subject gets the full timeline; every face gets a summary, and
any face can be chosen as the subject instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fusion.fuse import FusedTimeline, fuse
from fusion.grid import Grid
from fusion.people import (
    Attribution,
    attribute_voice,
    attribution_share,
    main_subject,
    mouth_speech_correlation,
)
from fusion.reliability import weights as reliability_weights
from fusion.sources import (
    FaceOnGrid,
    OnGrid,
    face_on_grid,
    speech_coverage,
    text_on_grid,
    voice_on_grid,
    words_on_grid,
)
from fusion.summary import KeyMoment, Summary, key_moments, summarize
from multimodal.faces import FaceCoding
from multimodal.text import TextAnalysis
from multimodal.voice import VoiceAnalysis

DEFAULT_STEP = 0.5
"""Seconds per grid cell."""


@dataclass(frozen=True)
class Person:
    """One face track's profile.

    Attributes:
        face_id: the track.
        seconds_visible: seconds of grid cells in which the face was seen.
        presence: ``seconds_visible`` over the media duration, 0-1.
        is_subject: whether the main timeline is this person's.
        speech_seconds: seconds of speech attributed to this face (shares summed).
        mouth_speech_correlation: correlation of mouth movement with speech probability, or
            ``None`` when it cannot be computed (no voice, too few frames, no variation).
        summary: this person's fused profile in numbers.
    """

    face_id: int
    seconds_visible: float
    presence: float
    is_subject: bool
    speech_seconds: float
    mouth_speech_correlation: float | None
    summary: Summary


@dataclass(frozen=True)
class Fusion:
    """The fused profile of a recording.

    Attributes:
        step: grid cell length in seconds.
        subject: ``face_id`` whose profile the timeline is, ``None`` without faces.
        reliability: the reliability weight used per modality.
        timeline: the subject's fused timeline (the recording's, without faces).
        summary: its summary.
        moments: its key moments.
        people: one profile per face track.
        attributions: which face each speech segment is attributed to.
    """

    step: float
    subject: int | None
    reliability: Mapping[str, float]
    timeline: FusedTimeline
    summary: Summary
    moments: tuple[KeyMoment, ...]
    people: tuple[Person, ...]
    attributions: tuple[Attribution, ...]


def fuse_recording(
    duration: float,
    faces: FaceCoding | None = None,
    voice: VoiceAnalysis | None = None,
    text: TextAnalysis | None = None,
    *,
    step: float = DEFAULT_STEP,
    subject: int | None = None,
    reliability: Mapping[str, float] | None = None,
) -> Fusion:
    """Fuse what each modality found into one profile on a grid of ``step`` seconds.

    Args:
        duration: seconds of media (0 for a still picture).
        faces: facial coding, or ``None`` when faces were not analysed.
        voice: voice analysis, or ``None``.
        text: transcript and text emotion, or ``None``.
        step: grid cell length in seconds.
        subject: the face to profile; default: the main subject (the face seen most).
        reliability: per-modality weights overriding the measured ones (``fusion/reliability.py``).

    Raises:
        ValueError: a ``subject`` that is not a face in the recording, a bad step or weight.
    """
    grid = Grid(step, duration)
    rel = reliability_weights(reliability)
    main = main_subject(faces)
    ids = [t.face_id for t in faces.tracks] if faces is not None else []
    if subject is not None and subject not in ids:
        seen = ", ".join(map(str, ids)) or "none"
        raise ValueError(f"face {subject} is not in this recording (faces seen: {seen})")
    chosen = main if subject is None else subject
    attributions = attribute_voice(faces, voice) if voice is not None else ()
    on_grid = (
        {t.face_id: face_on_grid(faces, t, grid) for t in faces.tracks}
        if faces is not None
        else {}
    )  # fmt: skip
    speech = speech_coverage(voice, grid) if voice is not None else None
    words = words_on_grid(text, grid) if text is not None else None

    def profile(face_id: int | None) -> FusedTimeline:
        share = attribution_share(attributions, face_id, main, grid) if voice else None
        parts: list[OnGrid] = []
        face: FaceOnGrid | None = on_grid.get(face_id) if face_id is not None else None
        if faces is not None:
            parts.append(face.modality if face is not None else _absent("face", len(grid)))
        if voice is not None:
            parts.append(voice_on_grid(voice, grid, share))
        if text is not None:
            parts.append(text_on_grid(text, grid, share))
        present = None
        if faces is not None:
            present = face.present if face is not None else np.zeros(len(grid), dtype=bool)
        return fuse(
            parts,
            rel,
            grid,
            yaw=face.yaw if face is not None else None,
            pitch=face.pitch if face is not None else None,
            face_present=present,
            speech=speech,
            aus=face.aus if face is not None else None,
            words=words,
        )

    timeline = profile(chosen)
    people = []
    for face_id in ids:
        person = timeline if face_id == chosen else profile(face_id)
        face = on_grid[face_id]
        visible = float(grid.lengths[face.present].sum())
        track = next(t for t in faces.tracks if t.face_id == face_id) if faces else None
        people.append(
            Person(
                face_id=face_id,
                seconds_visible=visible,
                presence=visible / duration if duration > 0 else float(face.present.any()),
                is_subject=face_id == chosen,
                speech_seconds=sum(
                    a.span.duration
                    * (
                        dict(a.candidates).get(face_id, 0.0)
                        if a.face_id is not None
                        else float(face_id == main)
                    )
                    for a in attributions
                ),  # fmt: skip
                mouth_speech_correlation=(
                    mouth_speech_correlation(track, voice)
                    if voice is not None and track is not None
                    else None
                ),
                summary=summarize(person, duration),
            )
        )
    return Fusion(
        step=step,
        subject=chosen,
        reliability={m: rel[m] for m in timeline.modalities},
        timeline=timeline,
        summary=summarize(timeline, duration),
        moments=key_moments(timeline, voice, text),
        people=tuple(people),
        attributions=attributions,
    )


def _absent(name: str, n: int) -> OnGrid:
    """A modality that ran but saw nothing of this person."""
    nan = np.full(n, np.nan)
    return OnGrid(name, np.full((n, 8), np.nan), nan, nan.copy(), np.zeros(n))

"""Writing results: the versioned JSON document and the per-frame ``faces.csv``.

Rounding happens here and only here: times to microseconds, boxes to 0.1 px, intensities and
probabilities to 4 decimals.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from fusion.fuse import FusedTimeline
from fusion.profile import Fusion
from fusion.reliability import RELIABILITY
from fusion.summary import Stats, Summary
from multimodal.faces import (
    CLASSIFIER_COLUMNS,
    CLASSIFIER_LABELS,
    GEOMETRY_COLUMNS,
    FaceCoding,
    FaceTrack,
)
from multimodal.files import atomic_write
from multimodal.pipeline import AnalysisResult
from multimodal.text import GOEMOTIONS_LABELS, TextAnalysis
from multimodal.vocab import AU_CODES, AU_NAMES, BASIC_EMOTIONS, EMOTIONS
from multimodal.voice import PROSODY_COLUMNS, VoiceAnalysis

SCHEMA_VERSION = "1.1"
"""Version of the JSON result layout; the major number changes when a field changes meaning."""

DISCLAIMER = (
    "Affectline reports indicators of expressed emotion measured from facial movement, tone of "
    "voice and the words spoken. They are "
    "supportive signals for research and UX work, not diagnoses of what a person feels, and "
    "they vary across individuals and cultures."
)

FACES_CSV_COLUMNS: tuple[str, ...] = (
    ("source", "time", "face_id") + GEOMETRY_COLUMNS + AU_CODES + EMOTIONS
)
"""Columns of ``faces.csv``: AU intensities 0-5, emotion probabilities 0-1."""

_DECIMALS = {"time": 6, "x": 1, "y": 1, "w": 1, "h": 1, "quality": 3, "yaw": 2, "pitch": 2,
             "roll": 2}  # fmt: skip


def _r(value: float | None, decimals: int = 4) -> float | None:
    if value is None:
        return None
    v = float(value)
    return round(v, decimals) if math.isfinite(v) else None


def affectline_version() -> str:
    try:
        return version("affectline")
    except PackageNotFoundError:
        return "unknown"


def _track_dict(track: FaceTrack) -> dict[str, Any]:
    s = track.series
    rows = s.values[s.mask]
    col = {c: i for i, c in enumerate(s.columns)}

    def column(name: str, decimals: int = 4) -> list[float | None]:
        return [_r(v, decimals) for v in rows[:, col[name]]]

    presence = {au: [bool(v) for v in rows[:, col[f"{au}_present"]]] for au in AU_CODES}
    intensity = {au: column(au, 3) for au in AU_CODES}
    emotions = {e: column(e) for e in EMOTIONS}
    return {
        "face_id": track.face_id,
        "first_seen": _r(track.first_seen, 6),
        "last_seen": _r(track.last_seen, 6),
        "frames_seen": track.frames_seen,
        "baseline": (
            {au: _r(v) for au, v in track.baseline.items()} if track.baseline is not None else None
        ),
        "summary": {
            "mean_quality": _r(float(np.mean(rows[:, col["quality"]]))),
            "au_presence_rate": {au: _r(float(np.mean(p))) for au, p in presence.items()},
            "au_mean_intensity": {au: _r(float(np.mean(rows[:, col[au]]))) for au in AU_CODES},
            "emotion_mean": {e: _r(float(np.mean(rows[:, col[e]]))) for e in EMOTIONS},
            "valence_mean": _r(float(np.mean(rows[:, col["valence"]]))),
            "arousal_mean": _r(float(np.mean(rows[:, col["arousal"]]))),
        },
        "times": [_r(t, 6) for t in s.times[s.mask]],
        "box": [[_r(v, 1) for v in r[[col[c] for c in ("x", "y", "w", "h")]]] for r in rows],
        "quality": column("quality", 3),
        "pose": {k: column(k, 2) for k in ("yaw", "pitch", "roll")},
        "au_intensity": intensity,
        "au_present": presence,
        "emotions": emotions,
        "valence": column("valence"),
        "arousal": column("arousal"),
        "emotion_sources": {
            "au_prototypes": {e: column(f"au_{e}") for e in EMOTIONS},
            "classifier": (
                {e: column(f"cls_{e}") for e in CLASSIFIER_LABELS}
                if not np.isnan(rows[:, col[CLASSIFIER_COLUMNS[0]]]).any()
                else None
            ),
        },
    }


def faces_dict(coding: FaceCoding) -> dict[str, Any]:
    return {
        "frame_times": [_r(t, 6) for t in coding.frame_times],
        "frames_analysed": len(coding.frame_times),
        "frames_with_faces": int(np.count_nonzero(coding.faces_per_frame)),
        "frame_size": list(coding.frame_size),
        "config": dict(coding.config),
        "tracks": [_track_dict(t) for t in coding.tracks],
    }


VOICE_CSV_COLUMNS: tuple[str, ...] = (
    "source", "start", "end", "speech_prob", "pitch_mean", "pitch_range", "loudness", "rate",
    "arousal", "valence",
) + BASIC_EMOTIONS  # fmt: skip
"""Columns of ``voice.csv``: one row per speech segment."""


def voice_dict(voice: VoiceAnalysis) -> dict[str, Any]:
    vad = voice.vad
    step = float(vad.times[1] - vad.times[0]) if len(vad) > 1 else None
    return {
        "duration": _r(voice.duration, 3),
        "speech_seconds": _r(voice.speech_seconds, 3),
        "segments": [
            {
                "start": _r(seg.span.start, 3),
                "end": _r(seg.span.end, 3),
                "speech_prob": _r(seg.data["speech_prob"], 3),
                "emotion": seg.label,
                "emotions": {e: _r(seg.data[e]) for e in BASIC_EMOTIONS},
                "arousal": _r(seg.data["arousal"]),
                "valence": _r(seg.data["valence"]),
                "prosody": {k: _r(seg.data[k]) for k in PROSODY_COLUMNS},
            }
            for seg in voice.segments
        ],
        "vad": {
            "step": _r(step, 6) if step is not None else None,
            "first_time": _r(float(vad.times[0]), 6) if len(vad) else None,
            "speech_prob": [_r(v, 3) for v in vad.column("speech_prob")],
        },
    }


def iter_voice_rows(result: AnalysisResult) -> Iterator[list[str]]:
    """``voice.csv`` rows: one per speech segment, in time order."""
    if result.voice is None:
        return
    for seg in result.voice.segments:
        values = [seg.data[c] for c in VOICE_CSV_COLUMNS[3:]]
        yield [result.source, f"{seg.span.start:.3f}", f"{seg.span.end:.3f}",
               *(_fmt(v, 4) for v in values)]  # fmt: skip


TRANSCRIPT_CSV_COLUMNS: tuple[str, ...] = (
    "source", "start", "end", "text", "valence",
) + BASIC_EMOTIONS  # fmt: skip
"""Columns of ``transcript.csv``: one row per utterance."""

TEXT_CSV_COLUMNS: tuple[str, ...] = ("text", "valence") + BASIC_EMOTIONS
"""Columns of ``affectline text`` output: one row per input line."""


def text_dict(text: TextAnalysis) -> dict[str, Any]:
    return {
        "source": text.source,
        "language": text.language,
        "utterances": [
            {
                "start": _r(u.span.start, 3),
                "end": _r(u.span.end, 3),
                "text": u.text,
                "valence": _r(text.valence[i]),
                "emotions": {e: _r(text.basic[i, j]) for j, e in enumerate(BASIC_EMOTIONS)},
                "goemotions": {
                    e: _r(text.goemotions[i, j]) for j, e in enumerate(GOEMOTIONS_LABELS)
                },
                "words": [
                    {
                        "start": _r(w.span.start, 3),
                        "end": _r(w.span.end, 3),
                        "word": w.text,
                        "probability": _r(w.probability, 3),
                    }
                    for w in u.words
                ],  # fmt: skip
            }
            for i, u in enumerate(text.utterances)
        ],
    }


def iter_transcript_rows(result: AnalysisResult) -> Iterator[list[str]]:
    """``transcript.csv`` rows: one per utterance, in time order."""
    text = result.text
    if text is None:
        return
    for i, u in enumerate(text.utterances):
        yield [result.source, f"{u.span.start:.3f}", f"{u.span.end:.3f}", u.text,
               _fmt(text.valence[i], 4), *(_fmt(v, 4) for v in text.basic[i])]  # fmt: skip


def text_rows(texts: list[str], basic: Any, valence: Any) -> Iterator[list[str]]:
    """Rows of ``affectline text``: an empty line gets empty values."""
    for i, t in enumerate(texts):
        if not t.strip():
            yield [t, ""] + [""] * len(BASIC_EMOTIONS)
        else:
            yield [t, _fmt(valence[i], 4), *(_fmt(v, 4) for v in basic[i])]


def _floats(values: Any, decimals: int = 4) -> list[float | None]:
    return [_r(v, decimals) for v in np.asarray(values, dtype=np.float64)]


def _stats_dict(stats: Stats) -> dict[str, float | None]:
    return {k: _r(getattr(stats, k)) for k in ("mean", "min", "max", "p10", "p90")}


def summary_dict(summary: Summary) -> dict[str, Any]:
    return {
        "duration": _r(summary.duration, 6),
        "evidence_seconds": _r(summary.evidence_seconds, 3),
        "emotion_distribution": {e: _r(p) for e, p in summary.emotion_distribution.items()},
        "dominant": [{"emotion": e, "share": _r(p)} for e, p in summary.dominant],
        "valence": _stats_dict(summary.valence),
        "arousal": _stats_dict(summary.arousal),
        "engagement": _stats_dict(summary.engagement),
        "modality_weights": {m: _r(w) for m, w in summary.modality_weights.items()},
        "agreement_mean": _r(summary.agreement_mean),
        "conflict_seconds": _r(summary.conflict_seconds, 3),
    }


def timeline_dict(t: FusedTimeline) -> dict[str, Any]:
    starts, ends = t.grid.starts, t.grid.ends
    return {
        "start": _floats(starts, 6),
        "end": _floats(ends, 6),
        "evidence": [bool(v) for v in t.evidence],
        "emotions": {e: _floats(t.emotions[:, i]) for i, e in enumerate(EMOTIONS)},
        "valence": _floats(t.valence),
        "arousal": _floats(t.arousal),
        "engagement": _floats(t.engagement),
        "confidence": _floats(t.confidence),
        "agreement": _floats(t.agreement),
        "weights": {m: _floats(w) for m, w in t.weights.items()},
        "face_present": ([bool(v) for v in t.face_present] if t.face_present is not None else None),
        "speech": _floats(t.speech, 3) if t.speech is not None else None,
        "aus": (
            {au: _floats(t.aus[:, i], 3) for i, au in enumerate(AU_CODES)}
            if t.aus is not None
            else None
        ),
        "words": list(t.words),
        "conflicts": [
            {
                "index": c.index,
                "start": _r(float(starts[c.index]), 6),
                "end": _r(float(ends[c.index]), 6),
                "kind": c.kind,
                "modalities": list(c.modalities),
                "values": [_r(v) for v in c.values],
            }
            for c in t.conflicts
        ],
    }


def fusion_dict(fusion: Fusion) -> dict[str, Any]:
    """The fused profile: timeline, summary, key moments, people and voice attribution."""
    return {
        "grid_step": fusion.step,
        "subject": fusion.subject,
        "reliability": {
            m: {**RELIABILITY[m].to_dict(), "weight": _r(w)} for m, w in fusion.reliability.items()
        },
        "timeline": timeline_dict(fusion.timeline),
        "summary": summary_dict(fusion.summary),
        "moments": [
            {
                "start": _r(m.span.start, 6),
                "end": _r(m.span.end, 6),
                "kind": m.kind,
                "measure": m.measure,
                "emotion": m.emotion,
                "value": _r(m.value),
                "salience": _r(m.salience),
                "description": m.description,
                "drivers": {
                    "modalities": {k: _r(v) for k, v in m.modalities.items()},
                    "aus": [
                        {"au": au, "name": AU_NAMES[au], "intensity": _r(v, 3)} for au, v in m.aus
                    ],
                    "prosody": (
                        {k: {"value": _r(v), "vs_median": _r(d)} for k, (v, d) in m.prosody.items()}
                        if m.prosody
                        else None
                    ),
                },
                "words": m.words,
                "utterances": list(m.utterances),
            }
            for m in fusion.moments
        ],
        "people": [
            {
                "face_id": p.face_id,
                "seconds_visible": _r(p.seconds_visible, 3),
                "presence": _r(p.presence),
                "is_subject": p.is_subject,
                "speech_seconds_attributed": _r(p.speech_seconds, 3),
                "mouth_speech_correlation": _r(p.mouth_speech_correlation),
                "summary": summary_dict(p.summary),
            }
            for p in fusion.people
        ],
        "voice_attribution": [
            {
                "start": _r(a.span.start, 3),
                "end": _r(a.span.end, 3),
                "face_id": a.face_id,
                "share": _r(a.share),
                "candidates": [{"face_id": f, "share": _r(v)} for f, v in a.candidates],
                "method": a.method,
            }
            for a in fusion.attributions
        ],
    }


TIMELINE_CSV_COLUMNS: tuple[str, ...] = (
    ("source", "start", "end", "evidence") + EMOTIONS
    + ("valence", "arousal", "engagement", "confidence", "agreement",
       "weight_face", "weight_voice", "weight_text", "face_present", "speech", "conflict")
    + AU_CODES + ("words",)
)  # fmt: skip
"""Columns of ``timeline.csv``: one row per grid step of the fused profile. Emotions 0-1,
valence and arousal -1..1, engagement/confidence/agreement/weights 0-1, ``face_present`` 1/0,
``speech`` share of the step with speech, ``conflict`` e.g. ``valence:face/text``, AU
intensities 0-5 of the subject's face; empty cells where there was no evidence or no modality."""


def iter_timeline_rows(result: AnalysisResult) -> Iterator[list[str]]:
    """``timeline.csv`` rows: one per grid step."""
    if result.fusion is None:
        return
    t = result.fusion.timeline
    conflicts: dict[int, list[str]] = {}
    for c in t.conflicts:
        conflicts.setdefault(c.index, []).append(f"{c.kind}:{'/'.join(c.modalities)}")
    nan = np.full(len(t), np.nan)
    weights = [t.weights.get(m, nan) for m in ("face", "voice", "text")]
    present = t.face_present
    for i, (start, end) in enumerate(zip(t.grid.starts, t.grid.ends, strict=True)):
        values = [*t.emotions[i], t.valence[i], t.arousal[i], t.engagement[i], t.confidence[i],
                  t.agreement[i], *(w[i] for w in weights)]  # fmt: skip
        aus = t.aus[i] if t.aus is not None else nan[: len(AU_CODES)]
        yield [
            result.source, f"{start:.3f}", f"{end:.3f}", "1" if t.evidence[i] else "0",
            *(_fmt(v, 4) for v in values),
            "" if present is None else ("1" if present[i] else "0"),
            "" if t.speech is None else _fmt(t.speech[i], 3),
            " ".join(conflicts.get(i, [])),
            *(_fmt(v, 3) for v in aus),
            t.words[i],
        ]  # fmt: skip


def result_dict(result: AnalysisResult) -> dict[str, Any]:
    """The JSON document for one analysed input (layout version :data:`SCHEMA_VERSION`)."""
    models: list[dict[str, str]] = []
    if result.faces is not None:
        models.extend(dict(m) for m in result.faces.models)
    if result.voice is not None:
        models.extend(dict(m) for m in result.voice.models)
    if result.text is not None:
        models.extend(dict(m) for m in result.text.models if dict(m) not in models)
    return {
        "schema_version": SCHEMA_VERSION,
        "affectline_version": affectline_version(),
        "source": result.source,
        "media": result.media.to_dict(),
        "modalities": list(result.modalities),
        "options": result.options,
        "models": models,
        "warnings": list(result.warnings),
        "vocabulary": {"action_units": AU_NAMES, "emotions": list(EMOTIONS)},
        "faces": faces_dict(result.faces) if result.faces is not None else None,
        "voice": voice_dict(result.voice) if result.voice is not None else None,
        "text": text_dict(result.text) if result.text is not None else None,
        "fusion": fusion_dict(result.fusion) if result.fusion is not None else None,
        "disclaimer": DISCLAIMER,
    }


def iter_face_rows(result: AnalysisResult) -> Iterator[list[str]]:
    """``faces.csv`` rows: one per face per analysed frame, in time then face order.

    A frame with no face keeps one row with an empty ``face_id`` and empty values, so that
    absence stays visible.
    """
    coding = result.faces
    if coding is None:
        return
    columns = GEOMETRY_COLUMNS + AU_CODES + EMOTIONS
    per_track = [
        (
            t.face_id,
            coding.frame_offset(t),
            t.series.mask,
            t.series.values[:, [t.series.columns.index(c) for c in columns]],
        )
        for t in coding.tracks
    ]
    for i, time in enumerate(coding.frame_times):
        stamp = f"{time:.6f}"
        seen = False
        for face_id, start, mask, values in per_track:
            k = i - start
            if not 0 <= k < len(mask) or not mask[k]:
                continue
            seen = True
            cells = [_fmt(v, _DECIMALS.get(c, 4)) for c, v in zip(columns, values[k], strict=True)]
            yield [result.source, stamp, str(face_id), *cells]
        if not seen:
            yield [result.source, stamp, ""] + [""] * len(columns)


def _fmt(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return ""
    text = f"{value:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[list[str]]) -> None:
    def write(f: Any) -> None:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)

    atomic_write(path, write)


def write_result(result: AnalysisResult, out_dir: Path, *, report: bool = True) -> dict[str, Path]:
    """Write ``result.json``, ``timeline.csv``, ``faces.csv`` / ``voice.csv`` /
    ``transcript.csv`` for the modalities that ran, and ``report.html`` unless ``report`` is
    false."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = result_dict(result)
    written = {"json": out_dir / "result.json"}
    atomic_write(written["json"], lambda f: json.dump(doc, f, indent=1, allow_nan=False))
    tables = (
        ("faces_csv", "faces.csv", result.faces, FACES_CSV_COLUMNS, iter_face_rows),
        ("voice_csv", "voice.csv", result.voice, VOICE_CSV_COLUMNS, iter_voice_rows),
        ("transcript_csv", "transcript.csv", result.text, TRANSCRIPT_CSV_COLUMNS,
         iter_transcript_rows),
        ("timeline_csv", "timeline.csv", result.fusion, TIMELINE_CSV_COLUMNS,
         iter_timeline_rows),
    )  # fmt: skip
    for key, name, part, header, rows in tables:
        if part is not None:
            written[key] = out_dir / name
            _write_csv(written[key], header, rows(result))
    if report:
        from multimodal.report import write_report

        written["report"] = out_dir / "report.html"
        write_report(doc, written["report"])
    return written

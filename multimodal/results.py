"""Writing results: the versioned JSON document and the per-frame ``faces.csv``.

Rounding happens here and only here: times to microseconds, boxes to 0.1 px, intensities and
probabilities to 4 decimals.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from multimodal.faces import GEOMETRY_COLUMNS, FaceCoding, FaceTrack
from multimodal.pipeline import AnalysisResult
from multimodal.vocab import AU_CODES, AU_NAMES, EMOTIONS

SCHEMA_VERSION = "1.0"
"""Version of the JSON result layout; the major number changes when a field changes meaning."""

DISCLAIMER = (
    "Affectline reports indicators of expressed emotion measured from facial movement. They are "
    "supportive signals for research and UX work, not diagnoses of what a person feels, and "
    "they vary across individuals and cultures."
)

FACES_CSV_COLUMNS: tuple[str, ...] = (
    ("source", "time", "face_id") + GEOMETRY_COLUMNS + AU_CODES + EMOTIONS
)
"""Columns of ``faces.csv``: AU intensities 0-5, emotion probabilities 0-1."""

_DECIMALS = {"time": 6, "x": 1, "y": 1, "w": 1, "h": 1, "quality": 3, "yaw": 2, "pitch": 2,
             "roll": 2}  # fmt: skip


def _r(value: float, decimals: int = 4) -> float | None:
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
        },
        "times": [_r(t, 6) for t in s.times[s.mask]],
        "box": [[_r(v, 1) for v in r[[col[c] for c in ("x", "y", "w", "h")]]] for r in rows],
        "quality": column("quality", 3),
        "pose": {k: column(k, 2) for k in ("yaw", "pitch", "roll")},
        "au_intensity": intensity,
        "au_present": presence,
        "emotions": emotions,
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


def result_dict(result: AnalysisResult) -> dict[str, Any]:
    """The JSON document for one analysed input (layout version :data:`SCHEMA_VERSION`)."""
    models: list[dict[str, str]] = []
    if result.faces is not None:
        models.extend(dict(m) for m in result.faces.models)
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


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
    """Write ``result.json`` (and ``faces.csv`` when faces were coded) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    doc = result_dict(result)
    json_path = out_dir / "result.json"
    _atomic_write(json_path, lambda f: json.dump(doc, f, indent=1, allow_nan=False))
    written["json"] = json_path
    if result.faces is not None:
        csv_path = out_dir / "faces.csv"

        def write_csv(f: Any) -> None:
            writer = csv.writer(f)
            writer.writerow(FACES_CSV_COLUMNS)
            writer.writerows(iter_face_rows(result))

        _atomic_write(csv_path, write_csv)
        written["faces_csv"] = csv_path
    return written

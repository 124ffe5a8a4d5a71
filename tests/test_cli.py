"""The affectline command, run as a user runs it: a subprocess with no standard input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from multimodal.results import FACES_CSV_COLUMNS
from multimodal.vocab import EMOTIONS

pytestmark = pytest.mark.model

EXPECTED_HEADER = (
    "source,time,face_id,x,y,w,h,quality,yaw,pitch,roll,AU01,AU02,AU04,AU05,AU06,AU07,AU09,"
    "AU10,AU12,AU14,AU15,AU17,AU20,AU23,AU24,AU25,AU26,AU28,AU43,AU45,anger,contempt,disgust,"
    "fear,joy,neutral,sadness,surprise"
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "multimodal.cli", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, cwd=cwd,
    )  # fmt: skip


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_header_matches_the_documented_columns() -> None:
    assert ",".join(FACES_CSV_COLUMNS) == EXPECTED_HEADER


def test_analyze_a_clip(face_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("analyze", str(face_clip), "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    folder = out / "face.mp4"
    doc = json.loads((folder / "result.json").read_text())
    assert doc["schema_version"] == "1.1"
    assert doc["source"] == str(face_clip)
    assert doc["media"]["video"]["display_width"] == 256
    assert doc["faces"]["frames_analysed"] == 15
    assert {m["name"] for m in doc["models"]} >= {"mediapipe_face_landmarker"}
    assert all(m.get("sha256") for m in doc["models"])
    assert "not diagnoses" in doc["disclaimer"]
    track = doc["faces"]["tracks"][0]
    assert len(track["times"]) == len(track["au_intensity"]["AU12"]) == 15
    header = (folder / "faces.csv").read_text().splitlines()[0]
    assert header == EXPECTED_HEADER
    rows = read_csv(folder / "faces.csv")
    assert len(rows) == 15
    assert {r["source"] for r in rows} == {str(face_clip)}
    assert {r["face_id"] for r in rows} == {"0"}
    assert all(0 <= float(r["AU12"]) <= 5 and 0 <= float(r["joy"]) <= 1 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 0
    # the fused timeline: 3 s at 0.5 s steps, the face is the subject
    fusion = doc["fusion"]
    assert fusion["subject"] == 0 and fusion["grid_step"] == 0.5
    steps = read_csv(folder / "timeline.csv")
    assert [r["start"] for r in steps] == ["0.000", "0.500", "1.000", "1.500", "2.000", "2.500"]
    assert all(r["evidence"] == "1" and r["face_present"] == "1" for r in steps)
    assert all(abs(sum(float(r[e]) for e in EMOTIONS) - 1) < 1e-3 for r in steps)
    assert (folder / "report.html").read_text().count("affectline-data") >= 1


def test_grid_step_subject_and_no_report(face_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(face_clip), "--grid-step", "1", "--no-report", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert len(read_csv(tmp_path / "face.mp4" / "timeline.csv")) == 3
    assert not (tmp_path / "face.mp4" / "report.html").exists()
    proc = run("analyze", str(face_clip), "--subject", "4", "-o", str(tmp_path / "x"))
    assert proc.returncode == 1
    assert "face 4 is not in this recording (faces seen: 0)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fps_option(face_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(face_clip), "--fps", "10", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert len(read_csv(tmp_path / "face.mp4" / "faces.csv")) == 30


def test_folder_with_a_bad_file(tmp_path: Path, face_clip: Path, face_image: Path) -> None:
    folder = tmp_path / "inputs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(face_clip, folder / "clip.mp4")
    shutil.copy(face_image, folder / "sub" / "portrait.jpg")
    (folder / "notes.txt").write_text("not a video\n" * 50)
    (folder / ".hidden.mp4").write_text("skipped")
    out = tmp_path / "out"
    proc = run("analyze", str(folder), "-o", str(out))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "notes.txt" in proc.stdout and "FAILED" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    status = {e["source"]: e["status"] for e in summary["inputs"]}
    assert status == {"clip.mp4": "ok", "notes.txt": "failed", "sub/portrait.jpg": "ok"}
    rows = read_csv(out / "sub__portrait.jpg" / "faces.csv")
    assert (
        len(rows) == 1 and rows[0]["source"] == "sub/portrait.jpg" and rows[0]["time"] == "0.000000"
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("text", "not media"),
        ("corrupt", "damaged"),
        ("playlist", "playlist"),
        ("audio", "no video"),
    ],
)
def test_bad_input_gets_one_clear_line(
    kind: str, message: str, bad_files: dict[str, Path], silence_wav: Path, tmp_path: Path
) -> None:
    path = {"missing": tmp_path / "nope.mp4", "audio": silence_wav}.get(kind) or bad_files[kind]
    proc = run("analyze", str(path), "--modalities", "face", "-o", str(tmp_path / "out"))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert message in errors[0].lower() or (kind == "text" and "not a media file" in errors[0])


def test_truncated_video_warns_and_keeps_what_decoded(truncated_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(truncated_clip), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr
    doc = json.loads((tmp_path / "truncated.ts" / "result.json").read_text())
    assert doc["warnings"] and 10 <= doc["faces"]["frames_analysed"] < 50


def test_no_faces_is_not_an_error(bars_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(bars_clip), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "bars.mp4" / "result.json").read_text())
    assert doc["faces"]["tracks"] == [] and doc["faces"]["frames_analysed"] == 10
    rows = read_csv(tmp_path / "bars.mp4" / "faces.csv")
    assert len(rows) == 10 and all(r["face_id"] == "" and r["AU12"] == "" for r in rows)


def test_unknown_modality(face_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(face_clip), "--modalities", "smell", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert "unknown modality smell" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_setting_from_environment(face_clip: Path, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "AFFECTLINE_ANALYSIS_FPS": "fast"}
    proc = subprocess.run([sys.executable, "-m", "multimodal.cli", "analyze", str(face_clip),
                           "-o", str(tmp_path)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert "analysis_fps" in proc.stderr and "Traceback" not in proc.stderr


def test_probe(face_clip: Path, tmp_path: Path) -> None:
    proc = run("probe", str(face_clip))
    assert proc.returncode == 0, proc.stderr
    assert "h264 256x300" in proc.stdout and "75 frames" in proc.stdout
    assert "44100 Hz" in proc.stdout
    facts = json.loads(run("probe", "--json", str(face_clip)).stdout)
    assert facts["video"]["nominal_fps"] == 25 and facts["audio"]["channels"] == 1
    missing = run("probe", str(tmp_path / "nope.mp4"))
    assert missing.returncode == 2 and missing.stderr.startswith("error:")


def test_rows_without_faces_around_a_track(late_face_clip: Path, tmp_path: Path) -> None:
    proc = run("analyze", str(late_face_clip), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "late_face.mp4" / "faces.csv")
    assert [r["face_id"] for r in rows] == [""] * 8 + ["0"] * 5 + [""] * 7
    assert [r["time"] for r in rows][:3] == ["0.000000", "0.200000", "0.400000"]


def test_unwritable_output_is_a_clear_error(face_clip: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should go")
    proc = run("analyze", str(face_clip), "-o", str(blocker))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "cannot write" in proc.stderr

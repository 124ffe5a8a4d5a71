"""Voice analysis with the real models: Silero VAD, Whisper tiny.en encoder, the trained head."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from multimodal.pipeline import Analyzer
from multimodal.results import VOICE_CSV_COLUMNS
from multimodal.settings import load_settings
from multimodal.vocab import BASIC_EMOTIONS
from tests.conftest import GRID_CLIP, needs

pytestmark = pytest.mark.model

VOICE_HEADER = (
    "source,start,end,speech_prob,pitch_mean,pitch_range,loudness,rate,arousal,valence,anger,"
    "disgust,fear,joy,neutral,sadness,surprise"
)


@pytest.fixture(scope="module")
def voice() -> Analyzer:
    return Analyzer(load_settings(), ["voice"])


def test_voice_header() -> None:
    assert ",".join(VOICE_CSV_COLUMNS) == VOICE_HEADER


def test_speech_is_segmented_and_described(voice: Analyzer, speech_wav: Path) -> None:
    result = voice.analyze(speech_wav)
    v = result.voice
    assert v is not None and result.faces is None
    assert 1 <= len(v.segments) <= 3
    assert v.segments[0].span.start < 0.8
    assert v.speech_seconds > 3.0
    for seg in v.segments:
        assert 0.5 <= seg.span.duration <= 8.0
        assert seg.data["speech_prob"] > 0.5
        assert 70 < seg.data["pitch_mean"] < 300
        assert np.isclose(sum(seg.data[e] for e in BASIC_EMOTIONS), 1.0)
        assert -1 <= seg.data["arousal"] <= 1 and -1 <= seg.data["valence"] <= 1
    assert {m["name"] for m in v.models} >= {"silero_vad", "whisper", "affectline_voice_emotion"}


def test_silence_and_music_have_no_speech(
    voice: Analyzer, silence_wav: Path, music_wav: Path
) -> None:
    assert voice.analyze(silence_wav).voice.segments == ()  # type: ignore[union-attr]
    music = voice.analyze(music_wav).voice
    assert music is not None and music.speech_seconds < 1.5


def test_video_without_sound_gives_an_empty_voice_result(voice: Analyzer, bars_clip: Path) -> None:
    result = voice.analyze(bars_clip)
    assert result.voice is not None and result.voice.segments == ()
    assert any("no audio" in w for w in result.warnings)


def test_very_short_and_clipped_audio(
    voice: Analyzer, make_media: Callable[..., Path], speech_wav: Path
) -> None:
    short = make_media("short.wav", "-f", "lavfi", "-i", "sine=frequency=200:duration=0.1")
    assert voice.analyze(short).voice is not None
    clipped = make_media("clipped.wav", "-i", str(speech_wav), "-af", "volume=30dB")
    result = voice.analyze(clipped).voice
    assert result is not None and len(result.segments) >= 1


@needs(GRID_CLIP)
def test_real_clip_speech(voice: Analyzer) -> None:
    v = voice.analyze(GRID_CLIP).voice
    assert v is not None and len(v.segments) == 1
    seg = v.segments[0]
    # "set white with p two soon": speech from about 0.5 s to 2.7 s (the .align file).
    assert 0.2 < seg.span.start < 0.9 and 2.3 < seg.span.end < 3.05


def test_cli_writes_voice_csv(talking_clip: Path, tmp_path: Path) -> None:
    proc = run_cli("analyze", str(talking_clip), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "talking.mp4"
    assert (folder / "faces.csv").is_file()
    lines = (folder / "voice.csv").read_text().splitlines()
    assert lines[0] == VOICE_HEADER and len(lines) >= 2
    rows = list(csv.DictReader(lines))
    assert all(float(r["end"]) > float(r["start"]) for r in rows)
    doc = json.loads((folder / "result.json").read_text())
    assert doc["modalities"] == ["face", "voice", "text"]
    assert doc["voice"]["segments"][0]["prosody"]["pitch_mean"] > 0
    assert len(doc["voice"]["vad"]["speech_prob"]) > 100


def test_cli_audio_only_input(speech_wav: Path, tmp_path: Path) -> None:
    proc = run_cli("analyze", str(speech_wav), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "speech.wav" / "voice.csv").is_file()
    assert not (tmp_path / "speech.wav" / "faces.csv").exists()


def test_transcript_and_text_emotion(talking_clip: Path, tmp_path: Path) -> None:
    proc = run_cli("analyze", str(talking_clip), "--modalities", "text", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "talking.mp4"
    lines = (folder / "transcript.csv").read_text().splitlines()
    assert (
        lines[0] == "source,start,end,text,valence,anger,disgust,fear,joy,neutral,sadness,surprise"
    )
    rows = list(csv.DictReader(lines))
    said = " ".join(r["text"] for r in rows).lower()
    assert "quick brown" in said and "lazy dog" in said and "results" in said
    doc = json.loads((folder / "result.json").read_text())
    utt = doc["text"]["utterances"][0]
    assert utt["words"] and len(utt["goemotions"]) == 28 and len(utt["emotions"]) == 7
    assert doc["text"]["source"] == "asr"
    assert not (folder / "faces.csv").exists() and not (folder / "voice.csv").exists()


def test_supplied_transcripts(talking_clip: Path, tmp_path: Path) -> None:
    srt = tmp_path / "t.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:02,900\nThe quick brown fox. It jumps!\n")
    txt = tmp_path / "t.txt"
    txt.write_text("The quick brown fox jumps over the lazy dog. I did not expect this.")
    for transcript, source in ((srt, "srt"), (txt, "text")):
        out = tmp_path / source
        proc = run_cli("analyze", str(talking_clip), "--modalities", "text",
                       "--transcript", str(transcript), "-o", str(out))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        doc = json.loads((out / "talking.mp4" / "result.json").read_text())
        utts = doc["text"]["utterances"]
        assert doc["text"]["source"] == source and len(utts) == 2
        if source == "text":
            # Aligned to the words Whisper heard: "fox" is early, "expect" late.
            assert utts[0]["start"] < 1.0 and utts[1]["end"] > 4.0
    bad = run_cli("analyze", str(talking_clip), "--transcript", str(tmp_path / "nope.srt"),
                  "-o", str(tmp_path / "x"))  # fmt: skip
    assert bad.returncode == 2 and "no such transcript" in bad.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "multimodal.cli", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)  # fmt: skip


@needs(GRID_CLIP)
def test_real_clip_transcript() -> None:
    result = Analyzer(load_settings(), ["text"]).analyze(GRID_CLIP)
    assert result.text is not None and result.text.language == "en"
    said = " ".join(u.text for u in result.text.utterances).lower()
    assert "white" in said and "soon" in said

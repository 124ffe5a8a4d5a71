"""Fusion inside the pipeline: fake analysers on real decoded media, the Python API, overlap."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from models.face.coder import FaceCodingConfig
from multimodal.faces import FaceCoding
from multimodal.media import VideoFrame
from multimodal.pipeline import AnalysisResult, Analyzer
from multimodal.results import result_dict, write_result
from multimodal.schema import validate_result
from multimodal.settings import load_settings
from multimodal.vocab import EMOTIONS
from tests.fusion.fakes import face_row, fake_faces, probs8


class FakeCoder:
    """A face coder whose one face has known values at each decoded frame's time."""

    def __init__(self, row: Callable[[float], dict[str, float] | None], delay: float = 0.0):
        self.row = row
        self.delay = delay
        self.config = FaceCodingConfig()
        self.frames_seen = 0

    def code(self, frames: Iterable[VideoFrame], *_: Any, hook: Any = None,
             **__: Any) -> FaceCoding:  # fmt: skip
        times = []
        for frame in frames:
            times.append(frame.time)
            self.frames_seen += 1
            if hook is not None:
                hook("face", completed=len(times), total=None)
            time.sleep(self.delay)
        return fake_faces(times, {0: self.row})


def linear_joy(t: float) -> dict[str, float]:
    joy = 0.2 + 0.1 * t
    return face_row(probs8(joy=joy), valence=joy, quality=1.0)


def test_fake_face_coder_on_real_frames_fuses_exactly(face_clip: Path, tmp_path: Path) -> None:
    analyzer = Analyzer(load_settings(), ["face"], face_coder=FakeCoder(linear_joy))  # type: ignore[arg-type]
    result = analyzer.analyze(face_clip)
    assert result.fusion is not None
    t = result.fusion.timeline
    assert t.grid.centres.tolist() == [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]
    assert t.emotions[:, EMOTIONS.index("joy")] == pytest.approx(0.2 + 0.1 * t.grid.centres)
    doc = result_dict(result)
    validate_result(doc)
    written = write_result(result, tmp_path)
    rows = written["timeline_csv"].read_text().splitlines()
    assert len(rows) == 1 + 6 and rows[1].split(",")[EMOTIONS.index("joy") + 4] == "0.2250"
    assert set(written) >= {"json", "faces_csv", "timeline_csv", "report"}


class FailingVoice:
    config = SimpleNamespace(vad=SimpleNamespace(threshold=0.5))

    def detect(self, _audio: Any) -> Any:
        time.sleep(0.3)
        raise RuntimeError("voice model broke")


def test_a_failing_speech_stage_stops_the_face_stage(talking_clip: Path) -> None:
    coder = FakeCoder(linear_joy, delay=0.05)
    analyzer = Analyzer(load_settings(), ["face", "voice"], face_coder=coder,  # type: ignore[arg-type]
                        voice_analyzer=FailingVoice())  # type: ignore[arg-type]  # fmt: skip
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="voice model broke"):
        analyzer.analyze(talking_clip)
    assert 0 < coder.frames_seen < 60  # stopped early: the clip has 120 frames at 10 fps
    assert threading.active_count() <= before


def close(a: Any, b: Any, path: str = "$") -> None:
    """Equal JSON values, numbers within 2e-3 (thread timing may change float sums)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert math.isclose(a, b, abs_tol=2e-3), f"{path}: {a} != {b}"
    else:
        assert a == b, path


@pytest.mark.slow
@pytest.mark.model
def test_python_api_returns_what_the_cli_writes(talking_clip: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from multimodal import analyze
    from multimodal.cli import app

    result = analyze(talking_clip)
    assert isinstance(result, AnalysisResult)
    assert result.modalities == ("face", "voice", "text")
    assert result.fusion is not None and result.fusion.subject == 0
    assert {"probe", "face", "speech", "fusion"} <= set(result.timings)
    proc = CliRunner().invoke(app, ["analyze", str(talking_clip), "-o", str(tmp_path)])
    assert proc.exit_code == 0, proc.output
    written = json.loads((tmp_path / "talking.mp4" / "result.json").read_text())
    mine = json.loads(json.dumps(result_dict(result)))
    close(mine["fusion"], written["fusion"])
    assert mine["text"]["utterances"][0]["text"] == written["text"]["utterances"][0]["text"]
    fusion = written["fusion"]
    # the voice is the only face's, and the words are on the timeline
    assert {a["face_id"] for a in fusion["voice_attribution"]} == {0}
    assert any("quick" in w.lower() for w in fusion["timeline"]["words"])
    ev = np.array(fusion["timeline"]["evidence"])
    assert ev.all()
    weights = fusion["timeline"]["weights"]
    assert max(weights["voice"]) > 0 and max(weights["text"]) > 0


def test_sequential_stages_give_the_same_fusion(face_clip: Path) -> None:
    results = []
    for overlap in (True, False):
        coder = FakeCoder(linear_joy)
        settings = load_settings(overlap_stages=overlap)
        voice = SimpleNamespace(config=SimpleNamespace(vad=SimpleNamespace()))
        analyzer = Analyzer(settings, ["face"], face_coder=coder, voice_analyzer=voice)  # type: ignore[arg-type]
        results.append(analyzer.analyze(face_clip))
    a, b = (r.fusion.timeline.emotions for r in results if r.fusion is not None)
    assert np.array_equal(a, b)


@pytest.mark.model
def test_python_api_takes_settings_and_overrides(face_clip: Path) -> None:
    from multimodal import analyze
    from multimodal.errors import SettingsError

    result = analyze(face_clip, modalities="face", settings=load_settings(), grid_step=1.0)
    assert result.modalities == ("face",)
    assert result.fusion is not None and len(result.fusion.timeline) == 3
    with pytest.raises(SettingsError, match="grid_step"):
        analyze(face_clip, grid_step=-1)

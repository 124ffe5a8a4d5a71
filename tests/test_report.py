"""The HTML report: self-contained, safe with hostile text, and drawn in a real browser."""

from __future__ import annotations

import copy
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from multimodal.report import render_report, write_report
from multimodal.results import DISCLAIMER
from multimodal.vocab import AU_CODES, AU_NAMES, BASIC_EMOTIONS, EMOTIONS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HOSTILE = "I said </script><script>document.title='pwned'</script> and <img src=x onerror=alert(1)>"


# ---------------------------------------------------------------- synthetic result documents


def _stats(xs: list[float | None]) -> dict[str, float | None]:
    v = sorted(x for x in xs if x is not None)
    if not v:
        return dict.fromkeys(("mean", "min", "max", "p10", "p90"))
    p10, p90 = v[len(v) // 10], v[(len(v) * 9) // 10]
    return {"mean": round(sum(v) / len(v), 4), "min": v[0], "max": v[-1], "p10": p10, "p90": p90}


def _summary(timeline: dict[str, Any], duration: float) -> dict[str, Any]:
    emotions = {e: [x for x in timeline["emotions"][e] if x is not None] for e in EMOTIONS}
    total = sum(sum(xs) for xs in emotions.values()) or 1.0
    dist = {e: round(sum(xs) / total, 4) for e, xs in emotions.items()}
    ranked = sorted(dist, key=lambda e: -dist[e])[:2]
    cells = zip(timeline["start"], timeline["end"], timeline["evidence"], strict=True)
    return {
        "duration": duration,
        "evidence_seconds": sum(b - a for a, b, seen in cells if seen),
        "emotion_distribution": dist,
        "dominant": [{"emotion": e, "share": dist[e]} for e in ranked],
        "valence": _stats(timeline["valence"]),
        "arousal": _stats(timeline["arousal"]),
        "engagement": _stats(timeline["engagement"]),
        "modality_weights": {
            m: round(1 / len(timeline["weights"]), 4) for m in timeline["weights"]
        },
        "agreement_mean": 0.71,
        "conflict_seconds": sum(c["end"] - c["start"] for c in timeline["conflicts"]),
    }


def _timeline(seconds: float, step: float, modalities: list[str]) -> dict[str, Any]:
    """Sine-wave emotions on the grid, with two runs of steps without evidence."""
    n = max(1, math.ceil(seconds / step))
    starts = [round(i * step, 6) for i in range(n)]
    ends = [round(min((i + 1) * step, seconds), 6) for i in range(n)]
    gaps = set(range(40, 46)) | set(range(90, 93))
    evidence = [i not in gaps for i in range(n)]

    def wave(f: Callable[[int], float], decimals: int = 4) -> list[float | None]:
        return [round(f(i), decimals) if evidence[i] else None for i in range(n)]

    emotions: dict[str, list[float | None]] = {}
    norm = [
        sum(math.exp(1.5 * math.sin(i / 9 + k)) for k in range(len(EMOTIONS))) for i in range(n)
    ]
    for k, e in enumerate(EMOTIONS):
        emotions[e] = wave(lambda i, k=k: math.exp(1.5 * math.sin(i / 9 + k)) / norm[i])
    share = 1 / len(modalities)
    spread = 0.1 if len(modalities) > 1 else 0.0
    conflicts = []
    if n > 70:
        conflicts = [
            {"index": 20, "start": starts[20], "end": ends[20], "kind": "valence",
             "modalities": ["face", "text"], "values": [0.7, -0.6]},
            {"index": 70, "start": starts[70], "end": ends[70], "kind": "arousal",
             "modalities": ["face", "voice"], "values": [0.1, 0.8]},
        ]  # fmt: skip
    return {
        "start": starts,
        "end": ends,
        "evidence": evidence,
        "emotions": emotions,
        "valence": wave(lambda i: 0.8 * math.sin(i / 11)),
        "arousal": wave(lambda i: 0.6 * math.cos(i / 7)),
        "engagement": wave(lambda i: 0.5 + 0.4 * math.sin(i / 5)),
        "confidence": wave(lambda i: 0.6 + 0.3 * math.cos(i / 13)),
        "agreement": wave(lambda i: 0.7 + 0.25 * math.sin(i / 4)),
        "weights": {
            m: wave(lambda i, j=j: share + spread * math.sin(i / 6 + 2 * math.pi * j / 3))
            for j, m in enumerate(modalities)
        },
        "face_present": evidence if "face" in modalities else None,
        "speech": (
            [1.0 if 4 <= i <= 11 or 60 <= i <= 66 else 0.0 for i in range(n)]
            if "voice" in modalities
            else None
        ),
        "aus": (
            {
                au: wave(lambda i, k=k: 2.5 + 2.5 * math.sin(i / 8 + k / 3), 3)
                for k, au in enumerate(AU_CODES)
            }
            if "face" in modalities
            else None
        ),
        "words": ["" for _ in range(n)],
        "conflicts": conflicts,
    }


UTTERANCES = [
    {"start": 2.0, "end": 5.5, "text": "This is honestly the best day I have had in ages.",
     "valence": 0.8, "emotions": {e: (0.7 if e == "joy" else 0.05) for e in BASIC_EMOTIONS},
     "goemotions": {"joy": 0.7, "excitement": 0.2},
     "words": [{"start": 2.0, "end": 2.3, "word": "This", "probability": 0.99}]},
    {"start": 30.0, "end": 33.0, "text": HOSTILE, "valence": -0.5,
     "emotions": {e: (0.6 if e == "anger" else 0.0667) for e in BASIC_EMOTIONS},
     "goemotions": {"anger": 0.6}, "words": []},
]  # fmt: skip

MOMENTS = [
    {"start": 3.0, "end": 5.0, "kind": "peak", "emotion": "joy", "value": 0.82,
     "description": "Joy peaks while the speaker smiles.",
     "drivers": {"modalities": {"face": 0.6, "voice": 0.4},
                 "aus": [{"au": "AU12", "name": "lip corner puller", "intensity": 2.3},
                         {"au": "AU06", "name": "cheek raiser", "intensity": 1.8}],
                 "prosody": {"pitch_mean": {"value": 210.0, "vs_median": 25.0}}},
     "words": "best day", "utterances": ["This is honestly the best day I have had in ages."]},
    {"start": 15.0, "end": 17.5, "kind": "change", "emotion": "sadness", "value": -0.4,
     "description": "Valence drops.",
     "drivers": {"modalities": {"face": 1.0}, "aus": [], "prosody": None},
     "words": "", "utterances": []},
    {"start": 31.0, "end": 32.0, "kind": "peak", "emotion": None, "value": 0.5,
     "description": "Arousal <b>rises</b>.", "drivers": None, "words": HOSTILE,
     "utterances": []},
]  # fmt: skip


def _media(seconds: float, face: bool, voice: bool) -> dict[str, Any]:
    video = {
        "codec": "h264", "width": 640, "height": 360, "display_width": 640,
        "display_height": 360, "rotation": 0, "nominal_fps": 25.0, "real_fps": 25.0,
        "frame_count": None, "duration": seconds, "is_still": False,
    }  # fmt: skip
    audio = {"codec": "aac", "sample_rate": 44100, "channels": 2, "duration": seconds}
    return {
        "path": "/home/someone/private/interview.mp4",
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": seconds,
        "size_bytes": 4_200_000,
        "video": video if face else None,
        "audio": audio if voice else None,
    }


def make_doc(
    seconds: float = 60.0,
    step: float = 0.5,
    *,
    face: bool = True,
    voice: bool = True,
    text: bool = True,
    fusion: bool = True,
) -> dict[str, Any]:
    """A result document shaped like ``result.json``: 120 steps, 2 conflicts, 3 moments,
    2 utterances and 2 people by default."""
    modalities = [m for m, on in (("face", face), ("voice", voice), ("text", text)) if on]
    timeline = _timeline(seconds, step, modalities)
    summary = _summary(timeline, seconds)
    people = [
        {"face_id": 0, "seconds_visible": 55.5, "presence": 0.925, "is_subject": True,
         "speech_seconds_attributed": 7.0, "mouth_speech_correlation": 0.62, "summary": summary},
        {"face_id": 1, "seconds_visible": 12.0, "presence": 0.2, "is_subject": False,
         "speech_seconds_attributed": 0.0, "mouth_speech_correlation": None, "summary": None},
    ]  # fmt: skip
    attribution = {"start": 2.0, "end": 5.5, "face_id": 0, "share": 1.0, "method": "mouth",
                   "candidates": [{"face_id": 0, "share": 1.0}]}  # fmt: skip
    fusion_doc = {
        "grid_step": step,
        "subject": 0 if face else None,
        "reliability": {m: {"weight": 0.5, "basis": "model card"} for m in modalities},
        "timeline": timeline,
        "summary": summary,
        "moments": copy.deepcopy(MOMENTS),
        "people": people if face else [],
        "voice_attribution": [attribution],
    }
    faces = {
        "frame_times": [i / 5 for i in range(int(seconds * 5))],
        "tracks": [{"face_id": 0, "au_intensity": {"AU01": [0.1] * 10}}],
    }
    segment = {"start": 2.0, "end": 5.5, "speech_prob": 0.9, "emotion": "joy",
               "emotions": dict.fromkeys(BASIC_EMOTIONS, 1 / 7), "arousal": 0.2,
               "valence": 0.3, "prosody": {"pitch_mean": 210.0}}  # fmt: skip
    return {
        "schema_version": "1.1",
        "affectline_version": "0.1.0",
        "source": "interview.mp4",
        "media": _media(seconds, face, voice),
        "modalities": modalities,
        "options": {"fps": 5},
        "models": [
            {"name": "face-expression", "version": "1", "sha256": "ab" * 32},
            {"name": "whisper-tiny.en", "version": "1", "sha256": "cd" * 32},
        ],
        "warnings": ["The audio track is shorter than the video."],
        "vocabulary": {"action_units": dict(AU_NAMES), "emotions": list(EMOTIONS)},
        "faces": faces if face else None,
        "voice": {"segments": [segment]} if voice else None,
        "text": (
            {"source": "whisper", "language": "en", "utterances": copy.deepcopy(UTTERANCES)}
            if text
            else None
        ),
        "disclaimer": DISCLAIMER,
        "fusion": fusion_doc if fusion else None,
    }


def audio_only_doc() -> dict[str, Any]:
    return make_doc(face=False)


def face_only_doc() -> dict[str, Any]:
    return make_doc(voice=False, text=False)


def still_image_doc() -> dict[str, Any]:
    doc = make_doc(seconds=0.0, voice=False, text=False)
    tl = doc["fusion"]["timeline"]
    assert len(tl["start"]) == 1 and tl["start"] == tl["end"] == [0.0]
    doc["media"]["video"]["is_still"] = True
    return doc


def no_fusion_doc() -> dict[str, Any]:
    return make_doc(fusion=False)


def embedded_data(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="affectline-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


# ---------------------------------------------------------------- unit tests


VARIANTS = {
    "full": make_doc,
    "audio_only": audio_only_doc,
    "face_only": face_only_doc,
    "still_image": still_image_doc,
    "no_fusion": no_fusion_doc,
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_report_is_one_offline_page(variant: str) -> None:
    doc = VARIANTS[variant]()
    page = render_report(doc)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page, re.I)
    assert "default-src 'none'" in page
    assert DISCLAIMER in page
    assert not re.search(r"\{\{[a-z_]+\}\}", page)  # every template field was filled
    data = embedded_data(page)
    assert data["disclaimer"] == DISCLAIMER
    assert (data["fusion"] is None) == (variant == "no_fusion")
    assert (data["utterances"] is None) == (variant in ("face_only", "still_image"))


def test_hostile_transcript_cannot_leave_its_script() -> None:
    doc = make_doc()
    page = render_report(doc)
    # One closing tag per script element (data, uPlot, ours): the transcript added none.
    assert page.lower().count("</script") == 3
    assert "<img src=x" not in page
    assert "\\u003c/script\\u003e" in page
    data = embedded_data(page)
    assert data["utterances"][1]["text"] == HOSTILE
    assert data["fusion"]["moments"][2]["words"] == HOSTILE


def test_title_is_escaped() -> None:
    doc = make_doc()
    doc["source"] = "/videos/<img src=x>talk & more.mp4"
    page = render_report(doc)
    assert "<title>&lt;img src=x&gt;talk &amp; more.mp4 - Affectline report</title>" in page
    assert "<img" not in page


def test_report_leaves_out_per_frame_data() -> None:
    page = render_report(make_doc())
    data = embedded_data(page)
    assert set(data) >= {"fusion", "utterances", "media", "models", "warnings", "disclaimer"}
    for key in ("faces", "voice", "text", "options"):
        assert key not in data
    for marker in (
        "frame_times",
        "au_intensity",
        "goemotions",
        "/home/someone",
        "voice_attribution",
    ):
        assert marker not in page
    assert "words" not in data["fusion"]["timeline"]
    assert set(data["utterances"][0]) == {"start", "end", "text", "emotions"}


def test_missing_and_non_finite_values_become_null() -> None:
    doc = make_doc()
    tl = doc["fusion"]["timeline"]
    tl["valence"][3] = float("nan")
    tl["arousal"] = tuple(tl["arousal"])  # tuples (and numpy arrays) become JSON lists
    doc["fusion"]["summary"]["valence"]["mean"] = float("inf")
    data = embedded_data(render_report(doc))
    assert data["fusion"]["timeline"]["valence"][3] is None
    assert isinstance(data["fusion"]["timeline"]["arousal"], list)
    assert data["fusion"]["summary"]["valence"]["mean"] is None
    # An almost empty document still renders.
    assert embedded_data(render_report({}))["fusion"] is None
    sparse = {"fusion": {"timeline": None, "summary": None, "moments": None}, "media": None}
    assert embedded_data(render_report(sparse))["fusion"]["timeline"] is None


def test_render_is_fast_for_ten_minutes() -> None:
    doc = make_doc(seconds=600.0)
    assert len(doc["fusion"]["timeline"]["start"]) == 1200
    render_report(doc)  # assets are read once, on the first call
    best = min(_timed(lambda: render_report(doc)) for _ in range(3))
    assert best < 0.5, f"rendering 1200 steps took {best:.3f} s"
    size = len(render_report(doc).encode("utf-8"))
    assert size < 500_000, f"the 1200-step report has {size} bytes"


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def test_write_report_replaces_atomically(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    doc = make_doc()
    write_report(doc, out)
    assert out.read_text(encoding="utf-8") == render_report(doc)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(FileNotFoundError):
        write_report(doc, tmp_path / "missing" / "report.html")


def test_render_does_not_mutate_the_document() -> None:
    doc = make_doc()
    before = copy.deepcopy(doc)
    render_report(doc)
    assert doc == before


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


CANVAS_PIXELS = """
() => Array.from(document.querySelectorAll('.chart')).map(holder => {
  const canvas = holder.querySelector('canvas');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    painted++;
    const hi = Math.max(data[i], data[i + 1], data[i + 2]);
    const lo = Math.min(data[i], data[i + 1], data[i + 2]);
    if (hi - lo > 40) coloured++;
  }
  return {chart: holder.dataset.chart, drawn: holder.dataset.drawn, painted, coloured};
})
"""

CHART_LEGEND_COLOURS = """
() => {
  const out = {};
  document.querySelectorAll('#emotions .u-legend .u-series').forEach(row => {
    const marker = row.querySelector('.u-marker');
    const label = row.querySelector('.u-label');
    if (marker && label && label.textContent !== 'time')
      out[label.textContent] = getComputedStyle(marker).borderTopColor;
  });
  return out;
}
"""

TRANSCRIPT_LEGEND_COLOURS = """
() => Object.fromEntries(Array.from(document.querySelectorAll('#transcript .legend-item')).map(
  item => [item.textContent, getComputedStyle(item.querySelector('.swatch')).backgroundColor]))
"""


def open_report(chromium: Any, path: Path) -> tuple[Any, dict[str, list[str]]]:
    """Open the written report with the network blocked; collect errors and requests."""
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    seen: dict[str, list[str]] = {"errors": [], "console": [], "network": []}
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)

    def block(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    # Every request is recorded (file: ones are the page itself); the route aborts the rest.
    page.on(
        "request",
        lambda r: seen["network"].append(r.url) if not r.url.startswith("file:") else None,
    )
    page.route("**/*", block)
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1'], body[data-error]", timeout=10_000)
    return page, seen


BROWSER_CASES = {
    # variant: (charts drawn, utterances, moments, people rows, sections "not analysed")
    "full": (4, 2, 3, 2, 0),
    "audio_only": (3, 2, 3, 0, 1),
    "face_only": (4, 0, 3, 2, 1),
    "still_image": (4, 0, 3, 2, 1),
    "no_fusion": (0, 2, 0, 0, 7),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(BROWSER_CASES))
def test_report_draws_in_chromium(chromium: Any, tmp_path: Path, variant: str) -> None:
    charts, n_utt, n_moments, n_people, n_absent = BROWSER_CASES[variant]
    doc = VARIANTS[variant]()
    out = tmp_path / "report.html"
    write_report(doc, out)
    page, seen = open_report(chromium, out)
    try:
        assert seen["errors"] == [] and seen["console"] == []
        assert seen["network"] == []
        body = page.locator("body")
        assert body.get_attribute("data-error") is None
        assert page.locator("#error").is_hidden()
        assert page.locator("#pending").is_hidden()
        assert body.get_attribute("data-charts") == str(charts)
        assert page.title() == "interview.mp4 - Affectline report"  # the transcript left it
        assert page.locator("img").count() == 0  # no markup from the data became elements
        assert DISCLAIMER in page.locator("#disclaimer").inner_text()
        assert page.locator("section.absent").count() == n_absent

        canvases = page.evaluate(CANVAS_PIXELS)
        assert len(canvases) == charts
        for c in canvases:
            assert c["drawn"] == "1", c
            assert c["painted"] > 500, c
            assert c["coloured"] > (100 if variant != "still_image" else 20), c
        if variant in ("full", "face_only"):
            assert {c["chart"] for c in canvases} == {"emotions", "affect", "weights", "aus"}
            assert page.locator(".heatmap").get_attribute("data-rows") == str(len(AU_CODES))
        if variant == "full":
            assert page.locator("#affect .chart").get_attribute("data-conflicts") == "2"

        utts = page.locator("#transcript .utt")
        assert utts.count() == n_utt
        if n_utt:
            assert [utts.nth(i).get_attribute("data-emotion") for i in range(n_utt)] == [
                "joy",
                "anger",
            ]
            assert HOSTILE in utts.nth(1).inner_text()
            # One colour per emotion: transcript legend, utterance and chart legend agree.
            key = page.evaluate(TRANSCRIPT_LEGEND_COLOURS)
            assert set(key) == set(EMOTIONS) and len(set(key.values())) == len(EMOTIONS)
            chart_key = page.evaluate(CHART_LEGEND_COLOURS)
            assert chart_key == ({} if charts == 0 else key), (chart_key, key)
            for i in range(n_utt):
                emotion = utts.nth(i).get_attribute("data-emotion")
                border = utts.nth(i).evaluate("e => getComputedStyle(e).borderLeftColor")
                assert border == key[emotion], (emotion, border, key)
        assert page.locator("#moments li.moment").count() == n_moments
        assert page.locator("#people tbody tr").count() == n_people
        if variant == "full":
            # Zooming to a moment keeps the page healthy (charts stay in sync, no errors).
            page.locator("#moments button.time").first.click()
            page.wait_for_timeout(100)
            assert seen["errors"] == [] and seen["console"] == []
    finally:
        page.close()


@pytest.mark.slow
def test_report_errors_show_in_the_page(chromium: Any, tmp_path: Path) -> None:
    doc = make_doc()
    doc["fusion"]["timeline"]["conflicts"] = 5  # not a list: the renderer copes
    doc["fusion"]["moments"] = [{"drivers": {"aus": [None]}}]  # a broken moment: it must show
    out = tmp_path / "report.html"
    write_report(doc, out)
    page, seen = open_report(chromium, out)
    try:
        assert seen["errors"] == []
        error = page.locator("body").get_attribute("data-error")
        assert error is not None and "key moments" in error
        assert page.locator("#error").is_visible()
        assert page.locator("body").get_attribute("data-charts") == "4"
    finally:
        page.close()

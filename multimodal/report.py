"""The HTML report: one self-contained page for one analysed recording.

The page works offline. Styles, scripts (uPlot, vendored in ``report_assets/``, and our
``report.js``) and the data are all inline, and a Content-Security-Policy with the scripts'
hashes stops the page from loading or sending anything. The data is a slim view of the result
document: the fused timeline, summary, moments and people, the transcript's utterances, media
facts, models, warnings and the disclaimer; never the per-frame face arrays.

The embedded JSON has ``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e`` and
``\\u0026``, so no text in the data (a transcript saying ``</script>``) can end its script
element. The page's own script inserts every piece of text with ``textContent``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePath
from typing import Any

from multimodal.files import atomic_write

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_TEMPLATE_FIELDS = frozenset(
    {"csp", "version", "title", "uplot_css", "report_css", "data", "uplot_js", "report_js"}
)
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})

_SERIES_DECIMALS = {
    "valence": 3, "arousal": 3, "engagement": 3, "confidence": 3, "agreement": 3, "speech": 3,
    "emotions": 3, "weights": 3, "aus": 2,
}  # fmt: skip
"""Display precision of the timeline series (far below a pixel); it keeps the page small."""

_TIMELINE_KEYS = (
    "start", "end", "evidence", "emotions", "valence", "arousal", "engagement", "confidence",
    "agreement", "weights", "face_present", "speech", "aus", "conflicts",
)  # fmt: skip
"""The timeline series the page draws; ``words`` (per-cell text) is left out."""

_MEDIA_KEYS = ("container", "duration", "size_bytes")
_VIDEO_KEYS = ("codec", "width", "height", "display_width", "display_height", "nominal_fps",
               "real_fps", "frame_count", "is_still")  # fmt: skip
_AUDIO_KEYS = ("codec", "sample_rate", "channels")


@dataclass(frozen=True)
class _Assets:
    """The report's files, read once. ``template`` alternates literal text and field names."""

    template: tuple[str, ...]
    uplot_js: str
    uplot_css: str
    report_js: str
    report_css: str
    csp: str


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.cache
def _assets() -> _Assets:
    folder = files("multimodal") / "report_assets"

    def read(name: str) -> str:
        return (folder / name).read_text(encoding="utf-8")

    template = read("report.html")
    parts = tuple(_PLACEHOLDER.split(template))
    fields = set(parts[1::2])
    if fields != _TEMPLATE_FIELDS:
        raise RuntimeError(
            f"report.html has fields {sorted(fields)}, expected {sorted(_TEMPLATE_FIELDS)}; "
            "reinstall Affectline"
        )
    # common.js is shared with the web page, which loads it as its own file
    own = read("common.js") + "\n" + read("report.js")
    scripts = {"uPlot.iife.min.js": read("uPlot.iife.min.js"), "report.js": own}
    styles = {"uPlot.min.css": read("uPlot.min.css"), "report.css": read("report.css")}
    for name, body, end in [(n, b, "</script") for n, b in scripts.items()] + [
        (n, b, "</style") for n, b in styles.items()
    ]:
        if end in body.lower():
            raise RuntimeError(f"report asset {name} contains {end!r} and cannot be inlined")
    # The inline scripts and styles run by hash; nothing else may load, connect or submit.
    csp = "; ".join(
        (
            "default-src 'none'",
            "script-src " + " ".join(_sha256_source(s) for s in scripts.values()),
            "style-src " + " ".join(_sha256_source(s) for s in styles.values()),
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
    return _Assets(
        template=parts,
        uplot_js=scripts["uPlot.iife.min.js"],
        uplot_css=styles["uPlot.min.css"],
        report_js=scripts["report.js"],
        report_css=styles["report.css"],
        csp=csp,
    )


def _clean(obj: Any) -> Any:
    """A JSON-ready copy: non-finite floats become null, tuples and arrays become lists."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return _clean(obj.tolist())
    if isinstance(obj, numbers.Real):
        return _clean(float(obj))
    return str(obj)


def _rounded(values: Any, decimals: int) -> Any:
    """A series (list, or mapping of name to list) rounded for display; anything else as is."""
    if isinstance(values, Mapping):
        return {k: _rounded(v, decimals) for k, v in values.items()}
    if not isinstance(values, list | tuple):
        return values
    return [round(v, decimals) if isinstance(v, float) and math.isfinite(v) else v for v in values]


def _timeline(fusion: Mapping[str, Any]) -> dict[str, Any] | None:
    timeline = _pick(_mapping(fusion.get("timeline")), _TIMELINE_KEYS)
    if timeline is None:
        return None
    for key, decimals in _SERIES_DECIMALS.items():
        if key in timeline:
            timeline[key] = _rounded(timeline[key], decimals)
    return timeline


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _pick(source: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if source is None:
        return None
    return {k: source[k] for k in keys if k in source}


def _utterances(doc: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Utterances with their times, text and emotion scores; None when text did not run."""
    text = _mapping(doc.get("text"))
    if text is None:
        return None
    utterances = text.get("utterances") or []
    return [
        {k: u.get(k) for k in ("start", "end", "text", "emotions")}
        for u in utterances
        if isinstance(u, Mapping)
    ]


def _fusion(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    fusion = _mapping(doc.get("fusion"))
    if fusion is None:
        return None
    reliability = _mapping(fusion.get("reliability")) or {}
    return {
        "grid_step": fusion.get("grid_step"),
        "subject": fusion.get("subject"),
        "reliability": {
            m: {"weight": r.get("weight")} for m, r in reliability.items() if isinstance(r, Mapping)
        },
        "timeline": _timeline(fusion),
        "summary": fusion.get("summary"),
        "moments": fusion.get("moments"),
        "people": fusion.get("people"),
    }


def _view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the page needs from the result document, and nothing else."""
    media = _mapping(doc.get("media"))
    picked_media = _pick(media, _MEDIA_KEYS) or {}
    if media is not None:
        picked_media["video"] = _pick(_mapping(media.get("video")), _VIDEO_KEYS)
        picked_media["audio"] = _pick(_mapping(media.get("audio")), _AUDIO_KEYS)
    vocabulary = _mapping(doc.get("vocabulary")) or {}
    models = doc.get("models") or []
    return {
        "schema_version": doc.get("schema_version"),
        "affectline_version": doc.get("affectline_version"),
        "source": doc.get("source"),
        "duration": media.get("duration") if media is not None else None,
        "media": picked_media,
        "modalities": doc.get("modalities") or [],
        "models": [
            {k: m.get(k) for k in ("name", "version", "sha256")}
            for m in models
            if isinstance(m, Mapping)
        ],
        "warnings": doc.get("warnings") or [],
        "disclaimer": doc.get("disclaimer"),
        "action_units": vocabulary.get("action_units") or {},
        "emotions": vocabulary.get("emotions") or [],
        "fusion": _fusion(doc),
        "utterances": _utterances(doc),
    }


def _script_json(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(_clean(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def render_report(doc: Mapping[str, Any]) -> str:
    """The report for one result document as a single, self-contained HTML page.

    Args:
        doc: the result document (the dict written as ``result.json``). Any part may be null
            or missing: sections without data say that they were not analysed.

    Returns:
        The page as text, to be written as UTF-8. It needs no network to display.
    """
    assets = _assets()
    source = doc.get("source")
    title = PurePath(str(source)).name if source else "Untitled recording"
    fields = {
        "csp": assets.csp,
        "version": html.escape(str(doc.get("affectline_version") or "unknown")),
        "title": html.escape(title),
        "uplot_css": assets.uplot_css,
        "report_css": assets.report_css,
        "data": _script_json(_view(doc)),
        "uplot_js": assets.uplot_js,
        "report_js": assets.report_js,
    }
    parts = assets.template
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        out.append(fields[parts[i]])
        out.append(parts[i + 1])
    return "".join(out)


def write_report(doc: Mapping[str, Any], path: Path) -> None:
    """Write the report for ``doc`` to ``path``, replacing it atomically.

    The page is written to a temporary file in the same folder and renamed over ``path``, so
    a reader never sees half a report. The folder must exist.
    """
    page = render_report(doc)
    atomic_write(path, lambda f: f.write(page))

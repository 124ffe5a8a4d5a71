"""Affectline: face, voice and words read together on one timeline.

The Python API::

    from multimodal import analyze

    result = analyze("interview.mp4")            # every modality the file has
    result.fusion.summary.dominant                # (("neutral", 0.61), ("joy", 0.2))
    write_result(result, Path("out"))             # result.json, CSVs, report.html

:func:`analyze` returns the same :class:`~multimodal.pipeline.AnalysisResult` that
``affectline analyze`` writes. It loads the models on each call; to analyse many files, make one
:class:`~multimodal.pipeline.Analyzer` and call its ``analyze`` per file.

Importing this package loads no model and starts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multimodal.pipeline import AnalysisResult, Analyzer, ProgressHook
    from multimodal.results import write_result
    from multimodal.settings import Settings

__all__ = ["AnalysisResult", "Analyzer", "analyze", "write_result"]


def analyze(
    path: str | Path,
    *,
    modalities: str | Sequence[str] | None = None,
    transcript: str | Path | None = None,
    subject: int | None = None,
    settings: Settings | None = None,
    hook: ProgressHook | None = None,
    **overrides: Any,
) -> AnalysisResult:
    """Analyse one recording or picture and fuse its modalities.

    Args:
        path: the media file.
        modalities: ``"face,voice,text"`` or a list; default every one the file has streams for.
        transcript: an SRT, WebVTT or plain-text transcript to use instead of speech recognition.
        subject: the face whose fused profile is the timeline (default: the face seen most).
        settings: settings to use; default: the environment's (``AFFECTLINE_*``).
        hook: progress callback ``hook(step, completed=, total=)``.
        **overrides: settings to change, e.g. ``analysis_fps=2``, ``grid_step=1.0``.

    Raises:
        multimodal.errors.AffectlineError: bad input or settings, with a message saying what to
            do.
    """
    from multimodal.pipeline import Analyzer, parse_modalities
    from multimodal.settings import load_settings

    if settings is not None and overrides:
        settings = load_settings(**{**settings.model_dump(), **overrides})
    elif settings is None:
        settings = load_settings(**overrides)
    chosen = None if modalities is None else parse_modalities(modalities)
    analyzer = Analyzer(settings, chosen)
    return analyzer.analyze(
        Path(path),
        hook=hook,
        transcript=Path(transcript) if transcript is not None else None,
        subject=subject,
    )


def __getattr__(name: str) -> Any:
    if name in ("AnalysisResult", "Analyzer"):
        from multimodal import pipeline

        return getattr(pipeline, name)
    if name == "write_result":
        from multimodal.results import write_result

        return write_result
    raise AttributeError(f"module 'multimodal' has no attribute {name!r}")

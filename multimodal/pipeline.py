"""The analysis pipeline: probe a file, decode it, run each requested modality.

Models are loaded once, when an :class:`Analyzer` is made, and reused for every file. Progress is
reported as ``hook(step, completed=, total=)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.face.coder import FaceCoder, FaceCodingConfig
from models.face.landmarker import FaceLandmarkerModel
from multimodal.errors import MissingStreamError, SettingsError
from multimodal.faces import FaceCoding
from multimodal.media import MediaInfo, open_frames, probe
from multimodal.settings import Settings

ProgressHook = Callable[..., None]

MODALITIES: tuple[str, ...] = ("face",)
"""Modalities this version can analyse."""


@dataclass(frozen=True)
class AnalysisResult:
    """Everything known about one analysed input.

    Attributes:
        source: the input's name as the user gave it.
        media: what probing found.
        modalities: the modalities that were run.
        faces: facial coding, when ``face`` was run.
        warnings: problems that did not stop the analysis (a truncated file...).
        options: the analysis options in force (fps, baseline...).
    """

    source: str
    media: MediaInfo
    modalities: tuple[str, ...]
    faces: FaceCoding | None
    warnings: tuple[str, ...]
    options: dict[str, Any]


def parse_modalities(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Validated modality names from ``"face,voice"`` or a list; ``None`` means all available.

    Raises:
        SettingsError: an unknown name.
    """
    if text is None:
        return MODALITIES
    names = text.split(",") if isinstance(text, str) else list(text)
    cleaned = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [n for n in cleaned if n not in MODALITIES]
    if unknown or not cleaned:
        raise SettingsError(
            f"unknown modality {', '.join(unknown) or '(none given)'}; "
            f"choose from: {', '.join(MODALITIES)}"
        )
    return cleaned


class Analyzer:
    """Loads the models for the requested modalities once and analyses files with them.

    Args:
        settings: settings in force.
        modalities: what to analyse.
        face_coder: a ready face coder (tests inject one); default: built from settings.
    """

    def __init__(
        self,
        settings: Settings,
        modalities: Sequence[str] = MODALITIES,
        *,
        face_coder: FaceCoder | None = None,
    ) -> None:
        self.settings = settings
        self.modalities = parse_modalities(list(modalities))
        self.face_coder = face_coder
        if "face" in self.modalities and self.face_coder is None:
            self.face_coder = FaceCoder(
                FaceLandmarkerModel.from_settings(settings),
                config=FaceCodingConfig(
                    baseline=settings.face_baseline,
                    baseline_min_seconds=settings.baseline_min_seconds,
                    workers=settings.face_workers,
                ),
            )

    def options(self) -> dict[str, Any]:
        coder = self.face_coder
        return {
            "analysis_fps": self.settings.analysis_fps,
            "max_side": self.settings.max_side,
            "max_faces": self.settings.max_faces,
            "face": dict(coder.config.__dict__) if coder is not None else None,
        }

    def analyze(
        self, path: Path, source: str | None = None, hook: ProgressHook | None = None
    ) -> AnalysisResult:
        """Analyse one file.

        Raises:
            InputError: the file is missing, empty, not media, unsafe, corrupt, or lacks the
                streams every requested modality needs.
        """
        info = probe(path, self.settings)
        warnings: list[str] = []
        faces = None
        if "face" in self.modalities:
            if info.video is None:
                raise MissingStreamError(
                    f"{path}: has no video or image, so there are no faces to code; "
                    "give a video or image file"
                )
            faces = self._code_faces(path, info, warnings, hook)
        return AnalysisResult(
            source=source if source is not None else str(path),
            media=info,
            modalities=self.modalities,
            faces=faces,
            warnings=tuple(warnings),
            options=self.options(),
        )

    def _code_faces(
        self, path: Path, info: MediaInfo, warnings: list[str], hook: ProgressHook | None
    ) -> FaceCoding:
        video = info.video
        assert video is not None and self.face_coder is not None
        fps = self.settings.analysis_fps
        total = None
        if video.is_still:
            total = 1
        elif video.duration:
            rate = fps if fps > 0 else (video.real_fps or video.nominal_fps or 25.0)
            if video.real_fps:
                rate = min(rate, video.real_fps)
            total = max(1, int(video.duration * rate))
        with open_frames(path, video, self.settings) as stream:
            coding = self.face_coder.code(
                stream,
                (video.display_width, video.display_height),
                step=_analysis_step(fps, video.real_fps or video.nominal_fps),
                total_frames=total,
                hook=hook,
            )
        warnings.extend(stream.warnings)
        return coding


def _analysis_step(fps: float, video_fps: float | None) -> float | None:
    """Seconds between analysed frames: the analysis interval, or the frame interval when the
    video has fewer frames than that; ``None`` (measure it) when analysing every frame."""
    if fps <= 0:
        return 1.0 / video_fps if video_fps else None
    return max(1.0 / fps, 1.0 / video_fps) if video_fps else 1.0 / fps

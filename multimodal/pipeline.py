"""The analysis pipeline: probe a file, decode it, run each requested modality.

Models are loaded once, when an :class:`Analyzer` is made, and reused for every file. Progress is
reported as ``hook(step, completed=, total=)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fusion.profile import Fusion, fuse_recording
from models.asr import AsrConfig, Transcriber
from models.face.coder import FaceCoder, FaceCodingConfig
from models.face.expression import ExpressionClassifier
from models.face.landmarker import FaceLandmarkerModel
from models.text.analyzer import TextAnalyzer
from models.text.emotion import TextEmotionModel
from models.voice.analyzer import VoiceAnalyzer, default_voice_analyzer, speech_windows
from models.whisper import Whisper, resolve_whisper
from multimodal.errors import InputError, MissingStreamError, SettingsError
from multimodal.faces import FaceCoding
from multimodal.media import MediaInfo, iter_audio, open_frames, probe
from multimodal.settings import Settings
from multimodal.text import TextAnalysis
from multimodal.timeline import FrameSeries, Span
from multimodal.transcripts import Utterance, read_transcript
from multimodal.voice import VoiceAnalysis

ProgressHook = Callable[..., None]

MODALITIES: tuple[str, ...] = ("face", "voice", "text")
"""Modalities this version can analyse."""


@dataclass(frozen=True)
class AnalysisResult:
    """Everything known about one analysed input.

    Attributes:
        source: the input's name as the user gave it.
        media: what probing found.
        modalities: the modalities that were run.
        faces: facial coding, when ``face`` was run.
        voice: voice analysis, when ``voice`` was run.
        text: transcript and text emotion, when ``text`` was run.
        warnings: problems that did not stop the analysis (a truncated file...).
        options: the analysis options in force (fps, baseline...).
        fusion: every modality fused on one grid, with summary, key moments and people.
        timings: seconds spent in each stage (``probe``, ``face``, ``speech``, ``fusion``).
    """

    source: str
    media: MediaInfo
    modalities: tuple[str, ...]
    faces: FaceCoding | None
    voice: VoiceAnalysis | None
    text: TextAnalysis | None
    warnings: tuple[str, ...]
    options: dict[str, Any]
    fusion: Fusion | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Seconds of media: as probed, else the furthest any modality reached (0 for a still)."""
        return media_duration(self.media, self.faces, self.voice, self.text)


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
        modalities: what to analyse; ``None``: every modality the input has streams for
            (faces in video and pictures, voice in sound). Named modalities are required: faces
            asked of an audio file are an error; voice asked of a silent video is an empty result
            with a warning.
        face_coder: a ready face coder (tests inject one); default: built from settings.
        voice_analyzer: a ready voice analyzer; default: built from settings.
        text_analyzer: a ready text analyzer; default: built from settings.
    """

    def __init__(
        self,
        settings: Settings,
        modalities: Sequence[str] | None = None,
        *,
        face_coder: FaceCoder | None = None,
        voice_analyzer: VoiceAnalyzer | None = None,
        text_analyzer: TextAnalyzer | None = None,
    ) -> None:
        self.settings = settings
        self.explicit = modalities is not None
        self.modalities = parse_modalities(None if modalities is None else list(modalities))
        self.face_coder = face_coder
        self.voice_analyzer = voice_analyzer
        self.text_analyzer = text_analyzer
        speech = "voice" in self.modalities or "text" in self.modalities
        need_text = "text" in self.modalities and self.text_analyzer is None
        if (speech and self.voice_analyzer is None) or need_text:
            whisper = Whisper(
                resolve_whisper(
                    settings.whisper_model, settings.model_dir, settings.allow_downloads
                ),
                threads=settings.whisper_threads,
            )
        if speech and self.voice_analyzer is None:
            self.voice_analyzer = default_voice_analyzer(whisper, settings.voice_model_path)
        if need_text:
            self.text_analyzer = TextAnalyzer(
                TextEmotionModel(settings.text_model_path, threads=settings.whisper_threads),
                (
                    Transcriber(whisper, AsrConfig(settings.asr_language, settings.asr_beam_size))
                    if settings.asr
                    else None
                ),
            )
        if "face" in self.modalities and self.face_coder is None:
            expression = None
            if settings.face_expression:
                expression = ExpressionClassifier.from_settings(settings.expression_model_path)
            self.face_coder = FaceCoder(
                FaceLandmarkerModel.from_settings(settings),
                expression=expression,
                config=FaceCodingConfig(
                    baseline=settings.face_baseline,
                    baseline_min_seconds=settings.baseline_min_seconds,
                    workers=settings.face_workers,
                ),
            )

    def models(self) -> list[dict[str, str]]:
        """Every model this analyser loaded: name, version, sha256 and where it came from."""
        out: list[dict[str, str]] = []
        if self.face_coder is not None:
            out.extend(self.face_coder.models())
        if self.voice_analyzer is not None:
            v = self.voice_analyzer
            out.extend(dict(m) for m in (v.detector.info, v.whisper.info, v.emotion.info))
        if self.text_analyzer is not None:
            info = dict(self.text_analyzer.model.info)
            if info not in out:
                out.append(info)
        return out

    def options(self) -> dict[str, Any]:
        coder = self.face_coder
        return {
            "analysis_fps": self.settings.analysis_fps,
            "max_side": self.settings.max_side,
            "max_faces": self.settings.max_faces,
            "face": dict(coder.config.__dict__) if coder is not None else None,
            "voice": (
                {"vad": dict(self.voice_analyzer.config.vad.__dict__)}
                if self.voice_analyzer is not None
                else None
            ),
            "text": (
                {"asr": self.text_analyzer.transcriber is not None}
                if self.text_analyzer is not None
                else None
            ),
            "grid_step": self.settings.grid_step,
            "overlap_stages": self.settings.overlap_stages,
        }

    def analyze(
        self,
        path: Path,
        source: str | None = None,
        hook: ProgressHook | None = None,
        transcript: Path | None = None,
        subject: int | None = None,
    ) -> AnalysisResult:
        """Analyse one file and fuse what each modality found.

        Args:
            path: the media file.
            source: its name in results (default: the path).
            hook: progress callback.
            transcript: an SRT, WebVTT or plain-text transcript to use instead of ASR.
            subject: the face whose fused profile is the timeline (default: the face seen most).

        Raises:
            InputError: the file is missing, empty, not media, unsafe, corrupt, or lacks the
                streams every requested modality needs.
            SettingsError: ``subject`` is not a face in the recording.
        """
        clock = time.perf_counter()
        timings: dict[str, float] = {}
        info = probe(path, self.settings)
        timings["probe"] = time.perf_counter() - clock
        warnings: list[str] = []
        run = [m for m in self.modalities if self.explicit or _has_stream(info, m)]
        if not run:
            raise MissingStreamError(f"{path}: has neither video nor audio to analyse")
        supplied = read_transcript(transcript) if transcript is not None else None
        if "face" in run and info.video is None:
            raise MissingStreamError(
                f"{path}: has no video or image, so there are no faces to code; "
                "give a video or image file, or use --modalities voice for sound"
            )
        speech = info.audio is not None and ("voice" in run or "text" in run)
        face_warnings: list[str] = []
        stop = threading.Event()

        def code_faces() -> FaceCoding:
            started = time.perf_counter()
            coded = self._code_faces(path, info, face_warnings, _stoppable(hook, stop))
            timings["face"] = time.perf_counter() - started
            return coded

        def analyse_speech() -> tuple[VoiceAnalysis | None, TextAnalysis | None]:
            started = time.perf_counter()
            out = self._analyse_speech(path, info, run, supplied, warnings, hook)
            if out != (None, None):
                timings["speech"] = time.perf_counter() - started
            return out

        faces = None
        if "face" in run and speech and self.settings.overlap_stages:
            # Faces decode video and speech decodes audio: run them side by side, so that one
            # stage's waits (decoding, Python) are filled by the other's work.
            with ThreadPoolExecutor(1, thread_name_prefix="affectline-faces") as pool:
                pending = pool.submit(code_faces)
                try:
                    voice, text = analyse_speech()
                except BaseException:
                    stop.set()  # the face thread stops at its next frame
                    raise
                faces = pending.result()
        else:
            if "face" in run:
                faces = code_faces()
            voice, text = analyse_speech()
        warnings[:0] = face_warnings
        clock = time.perf_counter()
        try:
            fusion = fuse_recording(
                media_duration(info, faces, voice, text),
                faces,
                voice,
                text,
                step=self.settings.grid_step,
                subject=subject,
                reliability=self.settings.fusion_reliability,
            )
        except ValueError as e:
            raise SettingsError(f"{path}: {e}; choose one of those faces, or leave it out") from e
        timings["fusion"] = time.perf_counter() - clock
        return AnalysisResult(
            source=source if source is not None else str(path),
            media=info,
            modalities=tuple(run),
            faces=faces,
            voice=voice,
            text=text,
            warnings=tuple(warnings),
            options=self.options(),
            fusion=fusion,
            timings=timings,
        )

    def _analyse_speech(
        self,
        path: Path,
        info: MediaInfo,
        run: list[str],
        supplied: tuple[str, list[Utterance] | str] | None,
        warnings: list[str],
        hook: ProgressHook | None,
    ) -> tuple[VoiceAnalysis | None, TextAnalysis | None]:
        """Voice and text share one pass of speech detection and one of speech windows."""
        want_voice, want_text = "voice" in run, "text" in run
        if not (want_voice or want_text):
            return None, None
        analyzer = self.voice_analyzer
        assert analyzer is not None
        text_analyzer = self.text_analyzer
        if info.audio is None:
            warnings.append(f"{path}: has no audio stream; there is no speech to analyse")
            voice = VoiceAnalysis((), _empty_vad(), 0.0, ()) if want_voice else None
            text = None
            if want_text and text_analyzer is not None:
                if supplied is not None and supplied[0] != "text":
                    text = text_analyzer.build([], [], supplied)
                else:
                    text = text_analyzer.score([], "asr")
            return voice, text
        settings = self.settings
        speech = analyzer.detect(iter_audio(path, settings, info=info))
        transcriber = None
        if want_text and text_analyzer is not None and text_analyzer.transcriber is not None:
            if supplied is None or supplied[0] == "text":
                base = text_analyzer.transcriber
                transcriber = Transcriber(base.whisper, base.config)  # fresh language state
        segments = []
        heard: list[Utterance] = []
        done = 0
        for window in speech_windows(iter_audio(path, settings, info=info), speech.spans):
            if want_voice:
                segments.extend(analyzer.describe(window, speech))
            if transcriber is not None:
                heard.extend(transcriber.transcribe(window.audio, window.start))
            done += len(window.segments)
            if hook is not None:
                hook("speech", completed=done, total=len(speech.spans))
        voice = analyzer.result(speech, segments) if want_voice else None
        text = None
        if want_text and text_analyzer is not None:
            spans = [Span(s, e) for s, e in speech.spans]
            try:
                scorer = TextAnalyzer(text_analyzer.model, transcriber)
                text = scorer.build(heard, spans, supplied)
            except InputError as e:
                warnings.append(f"{path}: {e}")
                text = text_analyzer.score([], supplied[0] if supplied else "asr")
        return voice, text

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
                still=video.is_still,
                hook=hook,
            )
        warnings.extend(stream.warnings)
        return coding


class _Stopped(Exception):
    """Raised inside a background stage to stop it after the other stage failed."""


def _stoppable(hook: ProgressHook | None, stop: threading.Event) -> ProgressHook:
    """A progress hook that stops the stage calling it once ``stop`` is set."""

    def call(step: str, completed: int, total: int | None = None) -> None:
        if stop.is_set():
            raise _Stopped(step)
        if hook is not None:
            hook(step, completed=completed, total=total)

    return call


def media_duration(
    info: MediaInfo,
    faces: FaceCoding | None,
    voice: VoiceAnalysis | None,
    text: TextAnalysis | None,
) -> float:
    """Seconds of media: as probed, else the furthest any modality reached."""
    if info.duration is not None:
        return max(0.0, info.duration)
    reached = [0.0]
    if faces is not None and len(faces.frame_times):
        reached.append(float(faces.frame_times[-1]))
    if voice is not None:
        reached.append(voice.duration)
    if text is not None and text.utterances:
        reached.append(text.utterances[-1].span.end)
    return max(reached)


def _analysis_step(fps: float, video_fps: float | None) -> float | None:
    """Seconds between analysed frames: the analysis interval, or the frame interval when the
    video has fewer frames than that; ``None`` (measure it) when analysing every frame."""
    if fps <= 0:
        return 1.0 / video_fps if video_fps else None
    return max(1.0 / fps, 1.0 / video_fps) if video_fps else 1.0 / fps


def _has_stream(info: MediaInfo, modality: str) -> bool:
    return info.video is not None if modality == "face" else info.audio is not None


def _empty_vad() -> FrameSeries:
    return FrameSeries(np.zeros(0), np.zeros((0, 1)), np.zeros(0, bool), ("speech_prob",))

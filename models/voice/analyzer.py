"""Voice analysis of a recording: speech segments, prosody, vocal emotion.

Two passes over the decoded audio, each streamed in chunks so that memory does not grow with the
file: the first scores voice activity, the second cuts each speech segment out of a rolling
buffer, computes its prosody and encodes it with Whisper (segments are grouped into windows of
at most 30 s, Whisper's input length, so one encoder call serves several segments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.voice.emotion import LABELS, VoiceEmotionModel, arousal_valence, segment_features
from models.voice.prosody import prosody
from models.voice.vad import (
    WINDOW_SECONDS,
    SpeechDetector,
    VadConfig,
    mean_probability,
    shape_segments,
    speech_runs,
)
from models.whisper import FRAMES_PER_SECOND, Whisper
from models.whisper import WINDOW_SECONDS as WHISPER_WINDOW
from multimodal.media import AUDIO_RATE
from multimodal.timeline import FrameSeries, Segment, Span, seconds_to_samples
from multimodal.voice import PROSODY_COLUMNS, VoiceAnalysis

ProgressHook = Callable[..., None]
AudioChunks = Callable[[], Iterator[npt.NDArray[np.float32]]]


@dataclass(frozen=True)
class VoiceConfig:
    """Options of voice analysis."""

    vad: VadConfig = field(default_factory=VadConfig)


class VoiceAnalyzer:
    """Speech segments with prosody and emotion, from models loaded once."""

    def __init__(
        self,
        detector: SpeechDetector,
        whisper: Whisper,
        emotion: VoiceEmotionModel,
        config: VoiceConfig | None = None,
    ) -> None:
        self.detector = detector
        self.whisper = whisper
        self.emotion = emotion
        self.config = config or VoiceConfig()

    def detect(self, chunks: Iterator[npt.NDArray[np.float32]]) -> Speech:
        """First pass: the voice activity track and the speech segments' spans."""
        probs = self.detector.probabilities(chunks)
        spans = shape_segments(speech_runs(probs, self.config.vad), self.config.vad)
        return Speech(probs, spans)

    def describe(self, window: SpeechWindow, speech: Speech) -> list[Segment]:
        """Prosody and emotion of the segments in one window."""
        states = self.whisper.encode_window(window.audio)
        out = []
        for i in window.segments:
            start, end = speech.spans[i]
            # Clamp to the encoded frames: the window starts on a whole sample, which can lie a
            # hair after a segment's float start, and the last segment can reach a few ms past
            # the decoded audio (the VAD scores whole 32 ms windows).
            first = int(np.floor((start - window.start) * FRAMES_PER_SECOND))
            a = min(max(first, 0), len(states) - 1)
            b = max(a + 1, int(np.ceil((end - window.start) * FRAMES_PER_SECOND)))
            values = prosody(window.cut(start, end))
            emo = self.emotion.predict(segment_features(states[a:b], values))[0]
            arousal, valence = arousal_valence(emo[None])
            data = {"speech_prob": mean_probability(speech.probs, start, end)}
            data.update({k: values[k] for k in PROSODY_COLUMNS})
            data.update(arousal=float(arousal[0]), valence=float(valence[0]))
            data.update({label: float(p) for label, p in zip(LABELS, emo, strict=True)})
            label = LABELS[int(np.argmax(emo))]
            out.append(Segment(Span(start, end), label, data["speech_prob"], data))
        return out

    def result(self, speech: Speech, segments: list[Segment]) -> VoiceAnalysis:
        return VoiceAnalysis(
            segments=tuple(segments),
            vad=speech.vad(),
            duration=speech.duration,
            models=(self.detector.info, self.whisper.info, self.emotion.info),
        )

    def analyze(self, audio: AudioChunks, hook: ProgressHook | None = None) -> VoiceAnalysis:
        """Analyse the audio that ``audio()`` streams (called twice: once per pass)."""
        speech = self.detect(audio())
        segments: list[Segment] = []
        for window in speech_windows(audio(), speech.spans):
            segments.extend(self.describe(window, speech))
            if hook is not None:
                hook("voice", completed=len(segments), total=len(speech.spans))
        return self.result(speech, segments)


@dataclass(frozen=True)
class Speech:
    """Where the speech is.

    Attributes:
        probs: speech probability of every 32 ms window of the audio.
        spans: speech segments ``(start, end)`` in seconds, 1-8 s each, in order.
    """

    probs: npt.NDArray[np.float64]
    spans: list[tuple[float, float]]

    @property
    def duration(self) -> float:
        end = self.spans[-1][1] if self.spans else 0.0
        return max(len(self.probs) * WINDOW_SECONDS, end)

    def vad(self) -> FrameSeries:
        times = (np.arange(len(self.probs), dtype=np.float64) + 0.5) * WINDOW_SECONDS
        return FrameSeries(times, self.probs[:, None].astype(np.float64),
                           np.ones(len(self.probs), bool), ("speech_prob",))  # fmt: skip


@dataclass(frozen=True)
class SpeechWindow:
    """Audio of consecutive speech segments that fit in one Whisper window (at most 30 s).

    Attributes:
        start: seconds of the window's first sample from the media start.
        audio: 16 kHz mono samples from the first segment's start to the last one's end.
        segments: indices into :attr:`Speech.spans`.
    """

    start: float
    audio: npt.NDArray[np.float32]
    segments: tuple[int, ...]

    def cut(self, start: float, end: float) -> npt.NDArray[np.float32]:
        a = seconds_to_samples(start - self.start, AUDIO_RATE, "floor")
        b = seconds_to_samples(end - self.start, AUDIO_RATE, "ceil")
        return self.audio[max(a, 0) : b]


def speech_windows(
    chunks: Iterator[npt.NDArray[np.float32]], spans: list[tuple[float, float]]
) -> Iterator[SpeechWindow]:
    """Second pass: cut the speech windows out of the streamed audio with a rolling buffer, so
    that no more than one window (plus one chunk) is held at a time."""
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]; integers, so no drift over hours
    exhausted = False
    for group in _windows(spans, WHISPER_WINDOW):
        first = seconds_to_samples(spans[group[0]][0], AUDIO_RATE, "floor")
        last = seconds_to_samples(spans[group[-1]][1], AUDIO_RATE, "ceil")
        drop = min(len(buffer), max(0, first - buffer_start))
        buffer = buffer[drop:]
        buffer_start += drop
        while not exhausted and buffer_start + len(buffer) < last:
            chunk = next(chunks, None)
            if chunk is None:
                exhausted = True
            else:
                buffer = np.concatenate([buffer, chunk])
        offset = max(0, first - buffer_start)
        window = buffer[offset : offset + (last - first)]
        if len(window):
            start = (buffer_start + offset) / AUDIO_RATE
            yield SpeechWindow(start, window, tuple(group))


def _windows(spans: list[tuple[float, float]], length: float) -> list[list[int]]:
    """Consecutive spans grouped so that each group fits in ``length`` seconds."""
    groups: list[list[int]] = []
    for i, (_, end) in enumerate(spans):
        if groups and end - spans[groups[-1][0]][0] <= length:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def default_voice_analyzer(
    whisper: Whisper, emotion_path: Path | None = None, config: VoiceConfig | None = None
) -> VoiceAnalyzer:
    return VoiceAnalyzer(
        SpeechDetector(), whisper, VoiceEmotionModel.from_settings(emotion_path), config
    )

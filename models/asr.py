"""Speech to text with word times, through faster-whisper, one speech window at a time.

The voice stage has already found the speech (Silero VAD) and grouped it into windows of at most
30 s; each window is transcribed on its own (``vad_filter`` off: the VAD already ran, and
``condition_on_previous_text`` off so that one misheard window cannot derail the next), and
word times are shifted back onto the recording's timeline. Memory holds one window at a time.

English-only models (``*.en``) transcribe English; multilingual models detect the language of
the first window with speech and keep it, unless a language is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.whisper import Whisper
from multimodal.timeline import Span
from multimodal.transcripts import Utterance, Word


@dataclass(frozen=True)
class AsrConfig:
    """Options of transcription.

    Attributes:
        language: ISO code to force, or ``None`` to detect (multilingual models only).
        beam_size: beam search width (1 = greedy, fastest).
    """

    language: str | None = None
    beam_size: int = 5


class Transcriber:
    """Transcribes speech windows with a loaded :class:`Whisper`."""

    def __init__(self, whisper: Whisper, config: AsrConfig | None = None) -> None:
        self.whisper = whisper
        self.config = config or AsrConfig()
        self.language: str | None = self.config.language
        self.language_probability: float | None = None

    @property
    def multilingual(self) -> bool:
        return bool(getattr(self.whisper.model.model, "is_multilingual", False))

    def transcribe(self, audio: npt.NDArray[np.float32], offset: float) -> list[Utterance]:
        """Utterances (Whisper's segments) in ``audio``, which starts at ``offset`` seconds."""
        if len(audio) == 0:
            return []
        language = self.language if self.multilingual else (self.language or "en")
        segments, info = self.whisper.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        out: list[Utterance] = []
        for seg in segments:
            words = tuple(
                Word(
                    Span(offset + float(w.start), offset + max(float(w.end), float(w.start))),
                    w.word.strip(),
                    float(w.probability),
                )
                for w in (seg.words or [])
                if w.word.strip()
            )
            text = seg.text.strip()
            if not text:
                continue
            start = words[0].span.start if words else offset + float(seg.start)
            end = words[-1].span.end if words else offset + float(seg.end)
            out.append(Utterance(Span(start, max(end, start)), text, words, "asr"))
        if self.language is None and out:
            self.language = info.language
            self.language_probability = float(info.language_probability)
        return out

"""Transcript and text emotion of a recording.

Words come from Whisper (speech window by speech window, see ``models/asr.py``) or from a
transcript the user supplies (SRT/WebVTT with times; plain text aligned to the words Whisper
heard, or spread over the speech segments when ASR is off). Utterances are sentences; each gets
GoEmotions and basic-emotion probabilities and a valence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.asr import Transcriber
from models.text.emotion import TextEmotionModel
from multimodal.text import TextAnalysis
from multimodal.timeline import Span
from multimodal.transcripts import Utterance, align_text, sentences_of, spread_text


class TextAnalyzer:
    """Text emotion for utterances, and the assembly of a transcript from its sources."""

    def __init__(self, model: TextEmotionModel, transcriber: Transcriber | None = None) -> None:
        self.model = model
        self.transcriber = transcriber

    def build(
        self,
        heard: Sequence[Utterance],
        speech: Sequence[Span],
        supplied: tuple[str, list[Utterance] | str] | None = None,
    ) -> TextAnalysis:
        """The scored transcript.

        Args:
            heard: what the ASR transcribed (empty when ASR did not run).
            speech: the speech segments' spans (for spreading plain text without ASR).
            supplied: a user transcript as :func:`multimodal.transcripts.read_transcript` gives.
        """
        if supplied is None:
            utterances, source = sentences_of(heard), "asr"
        elif supplied[0] in ("srt", "vtt"):
            cues = supplied[1]
            assert not isinstance(cues, str)
            utterances, source = sentences_of(cues), supplied[0]
        else:
            text = supplied[1]
            assert isinstance(text, str)
            words = [w for u in heard for w in u.words]
            utterances = align_text(text, words) if words else spread_text(text, speech)
            source = "text"
        language = None
        if self.transcriber is not None and source == "asr":
            language = self.transcriber.language
        return self.score(utterances, source, language)

    def score(
        self, utterances: Sequence[Utterance], source: str, language: str | None = None
    ) -> TextAnalysis:
        models = [self.model.info]
        if self.transcriber is not None and source in ("asr", "text"):
            models.insert(0, self.transcriber.whisper.info)
        if not utterances:
            return TextAnalysis.empty(source, tuple(models))
        go, basic, valence = self.model.predict([u.text for u in utterances])
        return TextAnalysis(
            utterances=tuple(utterances),
            basic=np.asarray(basic),
            goemotions=np.asarray(go),
            valence=np.asarray(valence),
            source=source,
            language=language,
            models=tuple(models),
        )

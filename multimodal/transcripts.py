"""Transcripts: words and utterances on the timeline, from ASR or from a file the user supplies.

A user may bring the transcript instead of letting Whisper write it:

* SRT or WebVTT: cues with their own times become utterances (split further into sentences,
  with times shared out by length);
* plain text: aligned to the audio by the words the ASR model heard (the longest common word
  sequence), or, where no ASR runs, spread over the speech segments in proportion to their
  length.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from multimodal.errors import InputError
from multimodal.timeline import Span


@dataclass(frozen=True)
class Word:
    """A word with its time.

    Attributes:
        span: when it was said.
        text: the word as written (with its punctuation).
        probability: the ASR model's confidence in ``[0, 1]`` (1 for supplied transcripts).
    """

    span: Span
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    """A sentence (or ASR segment) with its words.

    Attributes:
        span: from the first word's start to the last word's end.
        text: the sentence.
        words: its words in order (may be empty for cues without word times).
        source: ``asr``, ``srt``, ``vtt`` or ``text``.
    """

    span: Span
    text: str
    words: tuple[Word, ...] = ()
    source: str = "asr"


_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_CUE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")
_TAGS = re.compile(r"<[^>]+>|\{[^}]+\}")


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def parse_subtitles(text: str, kind: str) -> list[Utterance]:
    """Cues of an SRT or WebVTT document as utterances (``kind``: ``srt`` or ``vtt``).

    Raises:
        InputError: no cue with a valid time range was found.
    """
    cues: list[Utterance] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        m = _CUE.match(lines[i])
        if not m:
            i += 1
            continue
        g = m.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        i += 1
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(_TAGS.sub("", lines[i]).strip())
            i += 1
        words = " ".join(b for b in body if b)
        if words and end > start:
            cues.append(Utterance(Span(start, end), words, (), kind))
    if not cues:
        raise InputError(
            f"the {kind.upper()} transcript has no cue with a time range like "
            "'00:00:01,000 --> 00:00:02,500'; check the file"
        )
    return sorted(cues, key=lambda u: u.span)


def read_transcript(path: Path) -> tuple[str, list[Utterance] | str]:
    """A transcript file: ``("srt"|"vtt", utterances)`` or ``("text", plain text)``.

    Raises:
        InputError: missing, unreadable, empty, or a subtitle file without cues.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the transcript ({e.strerror})") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise InputError(f"{path}: the transcript is empty")
    head = text.lstrip()[:10]
    if head.startswith("WEBVTT") or path.suffix.lower() == ".vtt":
        return "vtt", parse_subtitles(text, "vtt")
    cue_line = any(_CUE.match(line) for line in text[:2000].splitlines())
    if path.suffix.lower() == ".srt" or cue_line:
        return "srt", parse_subtitles(text, "srt")
    return "text", text


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (ends at ``.``, ``!``, ``?``, ``…`` and line breaks)."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_END.split(line.strip()) if s.strip())
    return out


def _norm(word: str) -> str:
    return re.sub(r"[^\w']+", "", word.lower())


def align_text(text: str, heard: Sequence[Word]) -> list[Utterance]:
    """Plain text aligned to ASR words: matching words take the heard times, the others are
    placed between their matched neighbours. Sentences become utterances."""
    written = text.split()
    if not written:
        return []
    if not heard:
        raise InputError("no speech was heard to align the transcript to")
    a = [_norm(w) for w in written]
    b = [_norm(w.text) for w in heard]
    times: list[Span | None] = [None] * len(written)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            times[block.a + k] = heard[block.b + k].span
    spans = _fill_gaps(times, Span(heard[0].span.start, heard[-1].span.end))
    words = [Word(span, w) for span, w in zip(spans, written, strict=True)]
    return _sentences(words, "text")


def spread_text(text: str, segments: Sequence[Span]) -> list[Utterance]:
    """Plain text spread over speech segments in proportion to their length (no ASR)."""
    written = text.split()
    if not written:
        return []
    if not segments:
        raise InputError("no speech was found to place the transcript on")
    total = sum(s.duration for s in segments)
    weights = [len(w) + 1 for w in written]
    scale = total / sum(weights)
    words: list[Word] = []
    seg_index, used = 0, 0.0
    for w, weight in zip(written, weights, strict=True):
        length = weight * scale
        seg = segments[seg_index]
        if used + length > seg.duration + 1e-9 and seg_index + 1 < len(segments):
            seg_index, used = seg_index + 1, 0.0
            seg = segments[seg_index]
        start = min(seg.start + used, seg.end)
        end = min(start + length, seg.end)
        words.append(Word(Span(start, max(end, start)), w))
        used += length
    return _sentences(words, "text")


def _fill_gaps(times: list[Span | None], bounds: Span) -> list[Span]:
    """Spans for unmatched words, shared out between their matched neighbours."""
    out: list[Span] = []
    i = 0
    n = len(times)
    while i < n:
        current = times[i]
        if current is not None:
            out.append(current)
            i += 1
            continue
        j = i
        while j < n and times[j] is None:
            j += 1
        left = out[-1].end if out else bounds.start
        nxt = times[j] if j < n else None
        right = nxt.start if nxt is not None else bounds.end
        right = max(right, left)
        step = (right - left) / (j - i)
        out.extend(Span(left + k * step, left + (k + 1) * step) for k in range(j - i))
        i = j
    return out


def _sentences(words: list[Word], source: str) -> list[Utterance]:
    out: list[Utterance] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if re.search(r"[.!?…][\"')\]]*$", word.text):
            out.append(_utterance(current, source))
            current = []
    if current:
        out.append(_utterance(current, source))
    return out


def _utterance(words: list[Word], source: str) -> Utterance:
    span = Span(words[0].span.start, max(words[-1].span.end, words[0].span.start))
    return Utterance(span, " ".join(w.text for w in words), tuple(words), source)


def sentences_of(utterances: Sequence[Utterance]) -> list[Utterance]:
    """ASR segments or subtitle cues re-cut into sentences.

    ASR words keep their times and may run across segments; a subtitle cue (no word times) is
    cut on its own, its duration shared out over its words by their length.
    """
    out: list[Utterance] = []
    pending: list[Word] = []
    for utt in utterances:
        if utt.words:
            pending.extend(utt.words)
            continue
        if pending:
            out.extend(_sentences(pending, "asr"))
            pending = []
        written = utt.text.split()
        total = sum(len(w) + 1 for w in written) or 1
        t = utt.span.start
        words = []
        for w in written:
            step = utt.span.duration * (len(w) + 1) / total
            words.append(Word(Span(t, t + step), w))
            t += step
        out.extend(_sentences(words, utt.source))
    if pending:
        out.extend(_sentences(pending, "asr"))
    return out

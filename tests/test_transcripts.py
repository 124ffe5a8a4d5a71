from __future__ import annotations

from pathlib import Path

import pytest

from multimodal.errors import InputError
from multimodal.timeline import Span
from multimodal.transcripts import (
    Word,
    align_text,
    parse_subtitles,
    read_transcript,
    split_sentences,
    spread_text,
)

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello there.

2
00:00:03,000 --> 00:00:05,250
<i>How are you</i>
doing today?
"""

VTT = """WEBVTT

00:01.000 --> 00:02.500
Hello there.

NOTE a comment

1:00:03.000 --> 1:00:05.250 align:start
Fine, thanks!
"""


def test_srt_and_vtt(tmp_path: Path) -> None:
    cues = parse_subtitles(SRT, "srt")
    assert [(c.span.start, c.span.end, c.text) for c in cues] == [
        (1.0, 2.5, "Hello there."),
        (3.0, 5.25, "How are you doing today?"),
    ]
    vtt = parse_subtitles(VTT, "vtt")
    assert vtt[1].span == Span(3603.0, 3605.25) and vtt[1].text == "Fine, thanks!"
    (tmp_path / "a.srt").write_text(SRT)
    (tmp_path / "b.vtt").write_text(VTT)
    (tmp_path / "c.txt").write_text("Just words. More words!")
    assert read_transcript(tmp_path / "a.srt")[0] == "srt"
    assert read_transcript(tmp_path / "b.vtt")[0] == "vtt"
    assert read_transcript(tmp_path / "c.txt") == ("text", "Just words. More words!")


def test_bad_transcripts(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(InputError, match="empty"):
        read_transcript(tmp_path / "empty.txt")
    (tmp_path / "bad.srt").write_text("1\nnot a time\nhello\n")
    with pytest.raises(InputError, match="no cue"):
        read_transcript(tmp_path / "bad.srt")
    with pytest.raises(InputError, match="cannot read"):
        read_transcript(tmp_path / "missing.srt")


def test_sentences() -> None:
    assert split_sentences("One. Two! Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    assert split_sentences("") == []


def test_alignment_to_heard_words() -> None:
    heard = [Word(Span(0.5 + i, 1.0 + i), w) for i, w in enumerate(
        ["set", "white", "with", "p", "two", "soon"])]  # fmt: skip
    utts = align_text("Set white with P2 soon. Thanks", heard)
    assert [u.text for u in utts] == ["Set white with P2 soon.", "Thanks"]
    words = utts[0].words
    assert words[0].span == Span(0.5, 1.0) and words[-1].span == Span(5.5, 6.0)
    # "P2" was not heard as such: it sits between "with" and "soon".
    assert 3.0 <= words[3].span.start and words[3].span.end <= 5.5
    assert utts[1].words[0].span.start >= 6.0 - 1e-9
    with pytest.raises(InputError):
        align_text("words", [])


def test_spread_over_segments() -> None:
    segs = [Span(1.0, 3.0), Span(10.0, 12.0)]
    utts = spread_text("aaaa bbbb. cccc dddd", segs)
    spans = [w.span for u in utts for w in u.words]
    assert spans[0].start == 1.0 and spans[-1].end <= 12.0
    assert all(segs[0].start <= s.start <= segs[0].end or segs[1].start <= s.start <= segs[1].end
               for s in spans)  # fmt: skip
    assert utts[0].text == "aaaa bbbb."


def test_sentences_of_asr_and_cues() -> None:
    from multimodal.transcripts import Utterance, sentences_of

    w = [Word(Span(i, i + 0.5), t) for i, t in enumerate(["Hi", "there.", "How", "are", "you?"])]
    asr = [Utterance(Span(0, 2.5), "Hi there. How", tuple(w[:3])),
           Utterance(Span(3, 4.5), "are you?", tuple(w[3:]))]  # fmt: skip
    sentences = sentences_of(asr)
    assert [s.text for s in sentences] == ["Hi there.", "How are you?"]
    assert sentences[1].span == Span(2, 4.5)
    cues = parse_subtitles(SRT, "srt")
    split = sentences_of(cues)
    assert [s.text for s in split] == ["Hello there.", "How are you doing today?"]
    assert split[1].span.start == 3.0 and split[1].span.end == pytest.approx(5.25)
    assert split[1].source == "srt"


def test_subtitles_are_recognised_by_content_whatever_the_name(tmp_path: Path) -> None:
    srt = tmp_path / "upload.txt"
    srt.write_text("1\n00:00:00,500 --> 00:00:03,000\nHello there.\n")
    kind, cues = read_transcript(srt)
    assert kind == "srt" and cues[0].text == "Hello there."  # type: ignore[union-attr]

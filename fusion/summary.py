"""What a fused timeline comes to: a summary and the key moments.

Every average is weighted by cell duration and taken over cells with evidence only.

Key moments are of two kinds:

* **peak**: a run of cells where one emotion other than neutral is the most probable and at least
  :data:`PEAK_MIN`; its value is the highest probability in the run;
* **change**: a run of consecutive cells where valence or arousal moves by at least
  :data:`CHANGE_MIN` from one cell to the next; its value is the signed change over the run.

Each is ranked by salience (peak: value times mean confidence; change: size of the change times
mean confidence); the :data:`MAX_MOMENTS` most salient that do not overlap a more salient one are
kept, in time order, with what drove them: each modality's share, the face's strongest AUs, the
voice's prosody against the recording's median, and the words said then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fusion.fuse import FusedTimeline
from fusion.sources import words_in
from multimodal.text import TextAnalysis
from multimodal.timeline import FloatArray, Span
from multimodal.vocab import AU_CODES, EMOTIONS
from multimodal.voice import VoiceAnalysis

DOMINANT_MIN = 0.1
"""Share of the emotion distribution an emotion needs to be listed as dominant (top 3 at most)."""
PEAK_MIN = 0.35
"""Fused probability an emotion needs to make a peak."""
CHANGE_MIN = 0.4
"""Change of valence or arousal between consecutive cells that makes a sharp change."""
MAX_MOMENTS = 10
"""Most key moments reported."""
DRIVER_AU_MIN = 1.0
"""Mean AU intensity (A = trace) from which an AU is named as a driver."""
PROSODY_DRIVERS: tuple[str, ...] = ("pitch_mean", "loudness", "rate")


@dataclass(frozen=True)
class Stats:
    """Distribution of one value over time (``NaN`` when there was no evidence)."""

    mean: float
    min: float
    max: float
    p10: float
    p90: float


@dataclass(frozen=True)
class Summary:
    """A fused timeline in a few numbers.

    Attributes:
        duration: seconds of media.
        evidence_seconds: seconds of cells with evidence.
        emotion_distribution: duration-weighted mean probability per emotion (sum 1, or all
            ``NaN`` without evidence).
        dominant: ``(emotion, share)`` of the most present emotions, largest first.
        valence, arousal, engagement: their distributions over time.
        modality_weights: each modality's duration-weighted mean share of the evidence.
        agreement_mean: mean cross-modal agreement.
        conflict_seconds: seconds of cells with a strong disagreement.
    """

    duration: float
    evidence_seconds: float
    emotion_distribution: Mapping[str, float]
    dominant: tuple[tuple[str, float], ...]
    valence: Stats
    arousal: Stats
    engagement: Stats
    modality_weights: Mapping[str, float]
    agreement_mean: float
    conflict_seconds: float


@dataclass(frozen=True)
class KeyMoment:
    """A peak or a sharp change, with what drove it.

    Attributes:
        span: where it lies (whole grid cells).
        kind: ``peak`` or ``change``.
        measure: what peaked or changed: an emotion name, ``valence`` or ``arousal``.
        emotion: the most probable emotion at the moment's strongest cell.
        value: peak probability, or signed change.
        salience: how much it stands out (used for ranking), 0-2.
        description: one sentence in words.
        modalities: mean share of each modality over the moment.
        aus: ``(AU, mean intensity)`` of the face's strongest AUs over the moment.
        prosody: for pitch, loudness and rate: ``(value, difference from the recording's
            median)`` over the speech in the moment.
        words: words said during the moment.
        utterances: the sentences those words belong to.
    """

    span: Span
    kind: str
    measure: str
    emotion: str | None
    value: float
    salience: float
    description: str
    modalities: Mapping[str, float] = field(default_factory=dict)
    aus: tuple[tuple[str, float], ...] = ()
    prosody: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    words: str = ""
    utterances: tuple[str, ...] = ()


def _durations(timeline: FusedTimeline) -> FloatArray:
    lengths = timeline.grid.lengths
    out: FloatArray = lengths if float(lengths.sum()) > 0 else np.ones(len(lengths))
    return out


def _stats(values: FloatArray, w: FloatArray) -> Stats:
    ok = np.isfinite(values) & (w > 0)
    if not ok.any():
        return Stats(*(float("nan"),) * 5)
    v, ww = values[ok], w[ok]
    order = np.argsort(v)
    cum = np.cumsum(ww[order]) / ww.sum()

    def quantile(q: float) -> float:
        return float(v[order][min(int(np.searchsorted(cum, q)), len(v) - 1)])

    return Stats(float(np.average(v, weights=ww)), float(v.min()), float(v.max()),
                 quantile(0.1), quantile(0.9))  # fmt: skip


def summarize(timeline: FusedTimeline, duration: float) -> Summary:
    """Duration-weighted summary over the cells with evidence."""
    d = _durations(timeline)
    w = np.where(timeline.evidence, d, 0.0)
    has = float(w.sum()) > 0
    dist = {
        e: float(np.average(timeline.emotions[timeline.evidence, i],
                            weights=w[timeline.evidence])) if has else float("nan")
        for i, e in enumerate(EMOTIONS)
    }  # fmt: skip
    ranked = sorted(((e, p) for e, p in dist.items() if np.isfinite(p)), key=lambda x: -x[1])
    dominant = tuple((e, p) for k, (e, p) in enumerate(ranked) if k == 0 or p >= DOMINANT_MIN)[:3]
    weights = {
        m: float(np.average(np.nan_to_num(s[timeline.evidence]), weights=w[timeline.evidence]))
        if has else float("nan")
        for m, s in timeline.weights.items()
    }  # fmt: skip
    conflict_cells = sorted({c.index for c in timeline.conflicts})
    return Summary(
        duration=duration,
        evidence_seconds=float(timeline.grid.lengths[timeline.evidence].sum()),
        emotion_distribution=dist,
        dominant=dominant,
        valence=_stats(timeline.valence, w),
        arousal=_stats(timeline.arousal, w),
        engagement=_stats(timeline.engagement, w),
        modality_weights=weights,
        agreement_mean=_stats(timeline.agreement, w).mean,
        conflict_seconds=float(timeline.grid.lengths[conflict_cells].sum()),
    )


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index ranges where ``flags`` is true."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _candidates(t: FusedTimeline) -> list[tuple[float, int, int, str, str, float, int]]:
    """(salience, first, end, kind, measure, value, strongest cell) for each candidate."""
    out = []
    conf = np.nan_to_num(t.confidence)
    top = np.where(t.evidence, np.argmax(np.nan_to_num(t.emotions, nan=-1.0), axis=1), -1)
    for j, e in enumerate(EMOTIONS):
        if e == "neutral":
            continue
        p = np.nan_to_num(t.emotions[:, j])
        for a, b in _runs((top == j) & (p >= PEAK_MIN)):
            best = a + int(np.argmax(p[a:b]))
            out.append((float(p[best] * conf[a:b].mean()), a, b, "peak", e, float(p[best]), best))
    for measure, values in (("valence", t.valence), ("arousal", t.arousal)):
        step = np.full(len(values), np.nan)
        step[1:] = np.diff(values)
        sharp = np.abs(np.nan_to_num(step)) >= CHANGE_MIN
        for a, b in _runs(sharp):
            first = a - 1  # the change starts in the cell before the first jump
            change = float(values[b - 1] - values[first])
            if abs(change) < CHANGE_MIN:
                continue  # jumps that cancel out
            salience = abs(change) * float(conf[first:b].mean())
            out.append((salience, first, b, "change", measure, change, b - 1))
    return out


def key_moments(
    timeline: FusedTimeline,
    voice: VoiceAnalysis | None = None,
    text: TextAnalysis | None = None,
    limit: int = MAX_MOMENTS,
) -> tuple[KeyMoment, ...]:
    """The most salient peaks and sharp changes, in time order, with their drivers."""
    chosen: list[tuple[float, int, int, str, str, float, int]] = []
    for cand in sorted(_candidates(timeline), key=lambda c: (-c[0], c[1], c[4])):
        if len(chosen) >= limit:
            break
        if any(cand[1] < c[2] and c[1] < cand[2] for c in chosen):
            continue
        chosen.append(cand)
    starts, ends = timeline.grid.starts, timeline.grid.ends
    medians = _prosody_medians(voice)
    out = []
    for salience, a, b, kind, measure, value, best in sorted(chosen, key=lambda c: c[1]):
        span = Span(float(starts[a]), float(ends[b - 1]))
        emotion = _top_emotion(timeline, best)
        shares = {
            m: float(np.nanmean(s[a:b])) for m, s in timeline.weights.items()
            if np.isfinite(s[a:b]).any()
        }  # fmt: skip
        words, utterances = words_in(text, span)
        out.append(
            KeyMoment(
                span=span,
                kind=kind,
                measure=measure,
                emotion=emotion,
                value=value,
                salience=salience,
                description=_describe(kind, measure, value, timeline, a, b, shares),
                modalities=shares,
                aus=_driver_aus(timeline, a, b),
                prosody=_prosody(voice, span, medians),
                words=words,
                utterances=utterances,
            )
        )
    return tuple(out)


def _top_emotion(t: FusedTimeline, i: int) -> str | None:
    if not t.evidence[i]:
        return None
    return EMOTIONS[int(np.argmax(t.emotions[i]))]


def _describe(
    kind: str, measure: str, value: float, t: FusedTimeline, a: int, b: int,
    shares: Mapping[str, float],
) -> str:  # fmt: skip
    shown = sorted(((m, s) for m, s in shares.items() if s >= 0.005), key=lambda x: -x[1])
    lead = ", ".join(f"{m} {round(100 * s)} %" for m, s in shown)
    if kind == "peak":
        text = f"{measure} peaks at {value:.2f}"
    else:
        series = t.valence if measure == "valence" else t.arousal
        verb = "rises" if value > 0 else "falls"
        text = f"{measure} {verb} from {series[a - 1 if a > 0 else a]:.2f} to {series[b - 1]:.2f}"
        if a == 0:
            text = f"{measure} {verb} by {abs(value):.2f}"
    return f"{text} ({lead})" if lead else text


def _driver_aus(t: FusedTimeline, a: int, b: int) -> tuple[tuple[str, float], ...]:
    if t.aus is None or not np.isfinite(t.aus[a:b]).any():
        return ()
    means = np.nanmean(t.aus[a:b], axis=0)
    strong = [(AU_CODES[k], float(v)) for k, v in enumerate(means) if v >= DRIVER_AU_MIN]
    ranked = sorted(strong, key=lambda x: -x[1])
    return tuple(ranked[:4])


def _prosody_medians(voice: VoiceAnalysis | None) -> dict[str, float]:
    if voice is None or not voice.segments:
        return {}
    out = {}
    for k in PROSODY_DRIVERS:
        values = [s.data.get(k, np.nan) for s in voice.segments]
        finite = [v for v in values if np.isfinite(v)]
        if finite:
            out[k] = float(np.median(finite))
    return out


def _prosody(
    voice: VoiceAnalysis | None, span: Span, medians: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    if voice is None:
        return {}
    overlapping = [(s, s.span.overlap(span)) for s in voice.segments if s.span.overlap(span) > 0]
    out = {}
    for k, median in medians.items():
        pairs = [(s.data.get(k, np.nan), w) for s, w in overlapping]
        pairs = [(v, w) for v, w in pairs if np.isfinite(v)]
        if pairs:
            value = float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))
            out[k] = (value, value - median)
    return out

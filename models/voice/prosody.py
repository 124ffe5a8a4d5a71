"""Prosody of a speech segment: pitch, loudness, speaking rate, pauses, jitter and shimmer.

Pitch comes from librosa's YIN (fast; pYIN costs about a second per second of audio here). YIN
gives a pitch for every frame, so voicing is decided separately: a frame is voiced when its
normalised autocorrelation at the YIN period is at least 0.5 and it is no more than 35 dB below
the segment's loudest frame (and above -60 dBFS). Frames are 64 ms long, every 10 ms.

* ``pitch_mean``: mean voiced pitch in Hz (averaged in semitones, reported in Hz);
* ``pitch_range``: semitones between the 10th and 90th percentiles of voiced pitch;
* ``loudness``: mean level of the voiced frames, dB relative to full scale;
* ``rate``: syllable nuclei per second of segment: peaks of the voiced loudness contour at least
  2 dB above the dips around them and 100 ms apart (after de Jong & Wempe, 2009);
* ``pauses``: silent stretches of at least 200 ms inside the segment, and their share of time;
* ``jitter``, ``shimmer``: mean relative change of the pitch period and of the peak amplitude
  between consecutive voiced frames (frame-level stand-ins for the cycle-level measures);
* ``voiced``: share of voiced frames.

Every value is ``NaN`` when it cannot be measured (no voiced frame).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt

from multimodal.media import AUDIO_RATE

PROSODY_FIELDS: tuple[str, ...] = (
    "pitch_mean", "pitch_range", "loudness", "rate", "pauses", "pause_share", "jitter",
    "shimmer", "voiced",
)  # fmt: skip
"""Names of the values :func:`prosody` returns, in order."""

FRAME = 1024
HOP = 160
FMIN, FMAX = 65.0, 500.0

FloatArray = npt.NDArray[np.float64]


def _db(x: FloatArray) -> FloatArray:
    return 20.0 * np.log10(np.maximum(x, 1e-10))


def prosody(audio: npt.NDArray[np.float32]) -> dict[str, float]:
    """Prosodic measurements of one segment of 16 kHz mono audio (see the module docstring)."""
    import librosa

    y = np.asarray(audio, dtype=np.float32)
    nan = dict.fromkeys(PROSODY_FIELDS, math.nan)
    if len(y) < FRAME or not np.isfinite(y).all() or float(np.abs(y).max()) == 0.0:
        return nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=AUDIO_RATE, frame_length=FRAME,
                         hop_length=HOP, center=False)  # fmt: skip
    frames = librosa.util.frame(y, frame_length=FRAME, hop_length=HOP).T.astype(np.float64)
    n = min(len(frames), len(f0))
    frames, f0 = frames[:n], np.asarray(f0[:n], dtype=np.float64)
    rms = np.sqrt((frames**2).mean(axis=1))
    level = _db(rms)
    period = np.clip(np.round(AUDIO_RATE / f0).astype(int), 1, FRAME // 2)
    # Normalised autocorrelation of each frame at its own YIN period.
    idx = np.arange(FRAME // 2)
    a = frames[:, idx]
    b = np.take_along_axis(frames, idx[None, :] + period[:, None], axis=1)
    denom = np.sqrt((a**2).sum(1) * (b**2).sum(1))
    nacf = np.where(denom > 0, (a * b).sum(1) / np.maximum(denom, 1e-12), 0.0)
    voiced = (nacf >= 0.5) & (level >= level.max() - 35.0) & (level > -60.0)
    out = dict(nan)
    out["voiced"] = float(voiced.mean())
    duration = len(y) / AUDIO_RATE
    silent = level < max(level.max() - 35.0, -60.0)
    pauses = _runs(silent, min_len=int(0.2 * AUDIO_RATE / HOP))
    out["pauses"] = float(len(pauses))
    out["pause_share"] = float(sum(e - s for s, e in pauses) * HOP / AUDIO_RATE / duration)
    if voiced.sum() < 3:
        return out
    semitones = 12.0 * np.log2(f0[voiced] / 55.0)
    out["pitch_mean"] = float(55.0 * 2 ** (semitones.mean() / 12.0))
    p10, p90 = np.percentile(semitones, [10, 90])
    out["pitch_range"] = float(p90 - p10)
    out["loudness"] = float(_db(np.array([np.sqrt((rms[voiced] ** 2).mean())]))[0])
    out["rate"] = _syllable_rate(np.where(voiced, level, np.nan), duration)
    pairs = voiced[1:] & voiced[:-1]
    if pairs.any():
        periods = 1.0 / f0
        out["jitter"] = float(np.mean(np.abs(np.diff(periods))[pairs]) / np.mean(periods[voiced]))
        peaks = np.abs(frames).max(axis=1)
        out["shimmer"] = float(np.mean(np.abs(np.diff(peaks))[pairs]) / np.mean(peaks[voiced]))
    return out


def _runs(mask: npt.NDArray[np.bool_], min_len: int) -> list[tuple[int, int]]:
    """``(start, end)`` of runs of True at least ``min_len`` long, not touching the ends."""
    runs = []
    i, n = 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j < n and mask[j]:
                j += 1
            if j - i >= min_len and i > 0 and j < n:
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _syllable_rate(voiced_level: FloatArray, duration: float) -> float:
    """Syllable nuclei per second: prominent peaks of the voiced loudness contour."""
    from scipy.signal import find_peaks

    contour = np.nan_to_num(voiced_level, nan=np.nanmin(voiced_level) - 10.0)
    kernel = np.ones(3) / 3
    smooth = np.convolve(contour, kernel, mode="same")
    peaks, _ = find_peaks(smooth, prominence=2.0, distance=int(0.1 * AUDIO_RATE / HOP))
    peaks = peaks[np.isfinite(voiced_level[peaks])]
    return float(len(peaks) / duration) if duration > 0 else math.nan

"""Voice emotion accuracy on a folder of labelled speech clips.

Usage::

    python bench/voice_accuracy.py --audio DIR [--limit N]

``DIR`` holds RAVDESS-named files (``03-01-EE-II-SS-RR-AA.wav|flac``, any depth; calm counts as
neutral) or ``DIR/<emotion>/*.wav|flac|mp3|ogg`` folders (angry, happy, sad, fear, disgust,
surprise, neutral, calm... as for the face bench). Each clip goes through the product's voice
path (Silero VAD, segments, prosody, Whisper encoder, emotion model); a clip's prediction is the
duration-weighted mean of its segments' probabilities, and a clip without speech counts as a
miss. Prints one JSON line: accuracy, macro-F1, per-class F1, the confusion matrix (last column:
no speech found), the correlation of predicted arousal with the labels' arousal, and the seconds
of compute per second of audio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np  # noqa: E402

from models.training.metrics import f1_per_class  # noqa: E402
from models.voice.emotion import CIRCUMPLEX, LABELS  # noqa: E402
from multimodal.pipeline import Analyzer  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402

RAVDESS = {"01": "neutral", "02": "neutral", "03": "joy", "04": "sadness", "05": "anger",
           "06": "fear", "07": "disgust", "08": "surprise"}  # fmt: skip
FOLDERS = {
    "angry": "anger", "anger": "anger", "happy": "joy", "happiness": "joy", "joy": "joy",
    "sad": "sadness", "sadness": "sadness", "fear": "fear", "fearful": "fear",
    "disgust": "disgust", "disgusted": "disgust", "surprise": "surprise",
    "surprised": "surprise", "ps": "surprise", "neutral": "neutral", "calm": "neutral",
}  # fmt: skip
SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}


def label_of(path: Path, root: Path) -> str | None:
    parts = path.stem.split("-")
    if len(parts) == 7 and parts[0] == "03" and parts[2] in RAVDESS:
        return RAVDESS[parts[2]]
    rel = path.relative_to(root).parts
    return FOLDERS.get(rel[0].lower()) if len(rel) > 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="at most N clips per class")
    args = parser.parse_args()

    items: list[tuple[Path, str]] = []
    per_class: dict[str, int] = {}
    for path in sorted(p for p in args.audio.rglob("*") if p.suffix.lower() in SUFFIXES):
        label = label_of(path, args.audio)
        if label is None or (args.limit and per_class.get(label, 0) >= args.limit):
            continue
        per_class[label] = per_class.get(label, 0) + 1
        items.append((path, label))
    if not items:
        raise SystemExit(f"no labelled clips under {args.audio}")

    analyzer = Analyzer(load_settings(), ["voice"])
    k = len(LABELS)
    confusion = np.zeros((k, k + 1), int)
    pred_arousal, true_arousal = [], []
    compute = audio_seconds = 0.0
    for path, truth in items:
        started = time.perf_counter()
        voice = analyzer.analyze(path).voice
        compute += time.perf_counter() - started
        assert voice is not None
        audio_seconds += voice.duration
        row = LABELS.index(truth)
        if not voice.segments:
            confusion[row, k] += 1
            continue
        weights = np.array([s.span.duration for s in voice.segments])
        probs = np.array([[s.data[label] for label in LABELS] for s in voice.segments])
        mean = weights @ probs / weights.sum()
        confusion[row, int(mean.argmax())] += 1
        pred_arousal.append(float(weights @ [s.data["arousal"] for s in voice.segments]
                                  / weights.sum()))  # fmt: skip
        true_arousal.append(CIRCUMPLEX[truth][1])
    n = int(confusion.sum())
    f1 = f1_per_class(confusion)
    present = [c for c in range(k) if confusion[c].sum() > 0]
    corr = (
        float(np.corrcoef(pred_arousal, true_arousal)[0, 1]) if len(set(true_arousal)) > 1 else None
    )
    print(
        json.dumps(
            {
                "bench": "voice_accuracy",
                "audio": str(args.audio),
                "n": n,
                "accuracy": round(float(np.trace(confusion[:, :k]) / max(n, 1)), 4),
                "macro_f1": round(float(np.mean([f1[c] for c in present])), 4),
                "per_class_f1": {LABELS[c]: round(f1[c], 4) for c in present},
                "confusion": confusion.tolist(),
                "confusion_columns": list(LABELS) + ["no_speech"],
                "arousal_correlation": round(corr, 4) if corr is not None else None,
                "chance_accuracy": round(max(confusion.sum(1)) / max(n, 1), 4),
                "seconds_per_audio_second": round(compute / max(audio_seconds, 1e-9), 4),
            }
        )
    )
    print(f"{n} clips", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Train Affectline's voice emotion model on RAVDESS, evaluated on speakers left out.

1. Features (``--features`` cache): each clip is decoded to 16 kHz mono, its speech span found by
   the same Silero VAD the product uses, and the span described as at run time: Whisper tiny.en
   encoder states pooled (mean, std) and prosody (``models/voice/prosody.py``).
2. Evaluation: 6 folds of 3 actors each (both sexes in every fold); for each regularisation
   strength the model is trained on 15 actors and scored on the 3 left out. The strength with the
   best mean accuracy is kept, and its pooled out-of-fold predictions give the reported accuracy,
   macro-F1, confusion matrix and arousal correlation (speakers never seen in training).
3. The final model is trained on all 18 actors and saved as ``models/weights/voice_emotion.npz``.

Labels: RAVDESS emotion codes 01 neutral and 02 calm both count as neutral; 03 happy -> joy,
04 sad -> sadness, 05 angry -> anger, 06 fearful -> fear, 07 disgust, 08 surprised -> surprise.

Usage::

    python -m models.training.train_voice --data ../shared/data/ravdess16k \
        --features /tmp/affectline-train/ravdess_features.npz --out models/weights/voice_emotion.npz
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.training.metrics import confusion_matrix, report
from models.voice.emotion import LABELS, arousal_valence, segment_features
from models.voice.prosody import prosody
from models.voice.vad import SpeechDetector, VadConfig, speech_runs
from models.whisper import FRAMES_PER_SECOND, Whisper, resolve_whisper
from multimodal.media import AUDIO_RATE, load_audio
from multimodal.settings import load_settings

RAVDESS_CODES = {
    "01": "neutral", "02": "neutral", "03": "joy", "04": "sadness", "05": "anger",
    "06": "fear", "07": "disgust", "08": "surprise",
}  # fmt: skip
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)


def ravdess_label(path: Path) -> tuple[str, int, int] | None:
    """(label, actor, intensity) from a RAVDESS name ``03-01-EE-II-SS-RR-AA``."""
    parts = path.stem.split("-")
    if len(parts) != 7 or parts[2] not in RAVDESS_CODES:
        return None
    return RAVDESS_CODES[parts[2]], int(parts[6]), int(parts[3])


def clip_features(
    path: Path, detector: SpeechDetector, whisper: Whisper, settings: Any
) -> np.ndarray:
    """The run-time feature vector of a clip's speech span (the whole clip if no speech)."""
    audio = load_audio(path, settings)
    probs = detector.probabilities([audio])
    runs = speech_runs(probs, VadConfig())
    start, end = (runs[0][0], runs[-1][1]) if runs else (0.0, len(audio) / AUDIO_RATE)
    a, b = int(start * AUDIO_RATE), int(np.ceil(end * AUDIO_RATE))
    segment = audio[a:b]
    states = whisper.encode_window(segment)
    frames = max(1, int(np.ceil(len(segment) / AUDIO_RATE * FRAMES_PER_SECOND)))
    return segment_features(states[:frames], prosody(segment))


def extract(data: Path, out: Path) -> None:
    settings = load_settings()
    whisper = Whisper(resolve_whisper(None, settings.model_dir, False), threads=1)
    detector = SpeechDetector()
    rows, labels, actors, intensities, names = [], [], [], [], []
    files = sorted(data.rglob("*.flac")) + sorted(data.rglob("*.wav"))
    started = time.time()
    for i, path in enumerate(files):
        meta = ravdess_label(path)
        if meta is None:
            continue
        rows.append(clip_features(path, detector, whisper, settings))
        labels.append(LABELS.index(meta[0]))
        actors.append(meta[1])
        intensities.append(meta[2])
        names.append(path.name)
        if i % 100 == 0:
            print(f"{i}/{len(files)} clips, {time.time() - started:.0f} s", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, x=np.array(rows), y=np.array(labels), actor=np.array(actors),
             intensity=np.array(intensities), name=np.array(names),
             whisper=json.dumps(whisper.info))  # fmt: skip


def fit(x: np.ndarray, y: np.ndarray, c: float) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    mean = np.nanmean(x, axis=0)
    x = np.where(np.isfinite(x), x, mean)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    z = (x - mean) / scale
    clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    clf.fit(z, y)
    return {"mean": mean, "scale": scale, "coef": clf.coef_, "intercept": clf.intercept_}


def predict(model: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    x = np.where(np.isfinite(x), x, model["mean"])
    logits = ((x - model["mean"]) / model["scale"]) @ model["coef"].T + model["intercept"]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    out: np.ndarray = p / p.sum(axis=1, keepdims=True)
    return out


def folds(actors: np.ndarray) -> list[np.ndarray]:
    """Six folds of three actors, mixing odd (male) and even (female) ids."""
    ids = sorted(set(actors.tolist()))
    groups = [ids[i::6] for i in range(6)]
    return [np.isin(actors, g) for g in groups]


def scores(probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    out = report(confusion_matrix(y, probs.argmax(1), len(LABELS)), LABELS)
    arousal, _ = arousal_valence(probs)
    truth = np.zeros((len(y), len(LABELS)))
    truth[np.arange(len(y)), y] = 1
    true_arousal, _ = arousal_valence(truth)
    out["arousal_correlation"] = round(float(np.corrcoef(arousal, true_arousal)[0, 1]), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True, help="feature cache (.npz)")
    parser.add_argument("--out", type=Path, default=Path("models/weights/voice_emotion.npz"))
    parser.add_argument("--metrics", type=Path, default=None)
    args = parser.parse_args(argv)

    if not args.features.is_file():
        extract(args.data, args.features)
    cache = np.load(args.features)
    x, y, actors = cache["x"], cache["y"], cache["actor"]
    whisper_info = json.loads(str(cache["whisper"]))
    results = {}
    oof_by_c = {}
    for c in C_GRID:
        oof = np.zeros((len(y), len(LABELS)))
        for test in folds(actors):
            oof[test] = predict(fit(x[~test], y[~test], c), x[test])
        oof_by_c[c] = oof
        results[c] = float((oof.argmax(1) == y).mean())
        print(f"C={c}: leave-actors-out accuracy {results[c]:.4f}", file=sys.stderr)
    best = max(results, key=lambda c: results[c])
    report = scores(oof_by_c[best], y)
    model = fit(x, y, best)
    hidden = (x.shape[1] - 8) // 2
    meta = {
        "labels": list(LABELS),
        "hidden_size": hidden,
        "version": "1",
        "C": best,
        "whisper": whisper_info,
        "trained_on": "RAVDESS speech, actors 1-18 (CC BY-NC-SA 4.0)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {k: v.astype(np.float32) for k, v in model.items()}
    payload["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(args.out, **payload)
    metrics = {"protocol": "6 folds x 3 actors left out, out-of-fold predictions pooled",
               "accuracy_by_C": results, "chosen_C": best, "leave_actors_out": report}  # fmt: skip
    if args.metrics:
        args.metrics.write_text(json.dumps(metrics, indent=1) + "\n")
    print(
        json.dumps(
            {
                "chosen_C": best,
                **{k: report[k] for k in ("accuracy", "macro_f1", "arousal_correlation")},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

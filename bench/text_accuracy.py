"""Text emotion accuracy on a GoEmotions-format TSV, on the seven basic labels.

Usage::

    python bench/text_accuracy.py --tsv FILE [--labels ekman|original]

``FILE``: ``text<TAB>label ids<TAB>id`` lines. With ``--labels ekman`` (default) the ids are
GoEmotions' Ekman grouping (0 anger, 1 disgust, 2 fear, 3 joy, 4 neutral, 5 sadness,
6 surprise); with ``original`` they are the 28 GoEmotions ids, mapped to the basic labels by the
dataset's Ekman grouping. Accuracy and F1 are computed on the comments with one basic label
(``any_label_accuracy`` also counts a prediction right when it is one of several labels).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from models.text.emotion import BASIC_LABELS, GOEMOTIONS_LABELS, TextEmotionModel
from models.training.metrics import confusion_matrix, report
from multimodal.settings import load_settings

EKMAN_OF = {
    "anger": ["anger", "annoyance", "disapproval"],
    "disgust": ["disgust"],
    "fear": ["fear", "nervousness"],
    "joy": ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring"],
    "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
    "surprise": ["surprise", "realization", "confusion", "curiosity"],
    "neutral": ["neutral"],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tsv", type=Path, required=True)
    parser.add_argument("--labels", choices=["ekman", "original"], default="ekman")
    args = parser.parse_args()
    to_basic = {GOEMOTIONS_LABELS.index(g): BASIC_LABELS.index(e)
                for e, gs in EKMAN_OF.items() for g in gs}  # fmt: skip
    texts, gold = [], []
    for line in args.tsv.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            continue
        ids = {int(x) for x in parts[1].split(",")}
        if args.labels == "original":
            ids = {to_basic[i] for i in ids}
        texts.append(parts[0])
        gold.append(ids)
    model = TextEmotionModel(load_settings().text_model_path, threads=2)
    started = time.perf_counter()
    _, basic, _ = model.predict(texts)
    seconds = time.perf_counter() - started
    pred = basic.argmax(1)
    single = np.array([len(g) == 1 for g in gold])
    truth = np.array([next(iter(g)) if len(g) == 1 else -1 for g in gold])
    figures = report(confusion_matrix(truth[single], pred[single], len(BASIC_LABELS)),
                     BASIC_LABELS)  # fmt: skip
    any_label = float(np.mean([p in g for p, g in zip(pred, gold, strict=True)]))
    print(
        json.dumps(
            {
                "bench": "text_accuracy",
                "tsv": str(args.tsv),
                "n": len(texts),
                "single_label_n": figures["n"],
                **{key: figures[key] for key in ("accuracy", "macro_f1", "per_class_f1")},
                "any_label_accuracy": round(any_label, 4),
                "confusion": figures["confusion"],
                "ms_per_text": round(1000 * seconds / max(len(texts), 1), 2),
            }
        )
    )


if __name__ == "__main__":
    main()

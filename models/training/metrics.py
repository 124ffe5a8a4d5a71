"""Classification figures shared by the training scripts and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, rows true class, columns predicted class."""
    out = np.zeros((k, k), int)
    np.add.at(out, (np.asarray(truth, int), np.asarray(pred, int)), 1)
    return out


def f1_per_class(confusion: np.ndarray) -> list[float]:
    """F1 of each class from a confusion matrix (extra columns, e.g. misses, count as wrong)."""
    k = confusion.shape[0]
    out = []
    for c in range(k):
        tp = confusion[c, c]
        precision = tp / max(int(confusion[:, c].sum()), 1)
        recall = tp / max(int(confusion[c].sum()), 1)
        total = precision + recall
        out.append(0.0 if total == 0 else float(2 * precision * recall / total))
    return out


def report(confusion: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the classes that occur, per-class F1 and the matrix."""
    k = len(labels)
    f1 = f1_per_class(confusion)
    present = [c for c in range(k) if confusion[c].sum() > 0] or list(range(k))
    n = int(confusion.sum())
    return {
        "n": n,
        "accuracy": round(float(np.trace(confusion[:, :k]) / max(n, 1)), 4),
        "macro_f1": round(float(np.mean([f1[c] for c in present])), 4),
        "per_class_f1": {labels[c]: round(f1[c], 4) for c in present},
        "confusion": confusion.tolist(),
    }

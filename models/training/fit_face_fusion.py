"""Choose the weight of AU-prototype evidence against the expression classifier.

On FER2013 ``val`` faces prepared by ``models.training.fer_data`` (crops, blendshapes and
landmark geometry), computes the classifier's probabilities and the AU prototypes'
probabilities, then scores the mixture ``(1 - w) * classifier + w * prototypes`` for
``w`` in 0, 0.05, ..., 0.6 on the even-index half (selection) and reports the chosen weight on
the odd-index half (never used for choosing anything). Contempt is left out of the scoring:
FER2013 has no contempt label.

Usage::

    python -m models.training.fit_face_fusion --data /tmp/affectline-train/fer_aligned.npz \
        [--model models/weights/face_expression.onnx]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models.face.emotions import combine
from models.face.expression import LABELS, ExpressionClassifier, packaged_model_path
from models.face.facs import AUCalibration, au_evidence, emotion_probabilities, unilateral


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(1) == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)

    data = np.load(args.data)
    found = data["val_found"]
    crops = data["val_crops"][found]
    labels = data["val_labels"][found]
    shapes = data["val_blendshapes"][found]
    geometry = data["val_geometry"][found]
    index = np.flatnonzero(found)
    select = index % 2 == 0

    classifier = ExpressionClassifier(args.model or packaged_model_path())
    cls = classifier.predict(crops)
    calibration = AUCalibration.packaged()
    intensity, _ = calibration.intensity(au_evidence(shapes, geometry))
    proto = emotion_probabilities(intensity, unilateral(shapes, calibration))

    from multimodal.vocab import EMOTIONS

    shared = [EMOTIONS.index(label) for label in LABELS]

    def fused(weight: float) -> np.ndarray:
        return combine(cls, proto, np.ones(len(cls)), LABELS, au_weight=weight)[:, shared]

    weights = [round(w, 2) for w in np.arange(0.0, 0.61, 0.05)]
    table = {w: accuracy(fused(w)[select], labels[select]) for w in weights}
    best = max(table, key=lambda w: (round(table[w], 4), -w))
    report = ~select
    print(
        json.dumps(
            {
                "selection_accuracy_by_weight": {str(w): round(a, 4) for w, a in table.items()},
                "chosen_au_weight": best,
                "report_n": int(report.sum()),
                "report_classifier_alone": round(accuracy(cls[report], labels[report]), 4),
                "report_prototypes_alone": round(
                    accuracy(proto[report][:, shared], labels[report]), 4
                ),
                "report_fused": round(accuracy(fused(best)[report], labels[report]), 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

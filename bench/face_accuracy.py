"""Facial emotion accuracy on a folder of labelled face pictures.

Usage::

    python bench/face_accuracy.py --images DIR [--limit N] [--labels auto|all]

``DIR/<emotion>/*.jpg|jpeg|png|bmp|pgm|tif``: folder names such as angry/anger, happy/joy,
sad/sadness, surprise, fear, disgust, neutral, contempt are mapped to Affectline's labels.
Each picture goes through the product's still-picture path (upscaled when small, landmarked,
aligned, classified, AUs coded, evidence fused); a picture in which no face is found counts as
a miss. With ``--labels auto`` (default) the prediction is the most probable of the labels that
occur in ``DIR`` (the usual protocol for 6- or 7-class sets); ``all`` uses all eight.

Prints one JSON line: accuracy, macro-F1, per-class F1, the confusion matrix (rows: truth,
columns: prediction; the last column counts misses), the same accuracy for each evidence source
alone (classifier, AU prototypes), the share of faces found, milliseconds per face for the
whole still-picture path, and for the landmarker and the classifier alone (one thread each;
run under ``taskset -c 0`` to pin everything to one core).
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

from models.face.coder import FaceCoder, FaceCodingConfig  # noqa: E402
from models.face.expression import ExpressionClassifier, ExpressionConfig  # noqa: E402
from models.face.landmarker import FaceLandmarkerModel  # noqa: E402
from models.training.metrics import f1_per_class  # noqa: E402
from multimodal.faces import FACE_COLUMNS  # noqa: E402
from multimodal.media import VideoFrame  # noqa: E402
from multimodal.settings import load_settings  # noqa: E402
from multimodal.vocab import EMOTIONS  # noqa: E402

FOLDER_LABELS = {
    "angry": "anger", "anger": "anger", "an": "anger", "mad": "anger",
    "happy": "joy", "happiness": "joy", "joy": "joy", "ha": "joy",
    "sad": "sadness", "sadness": "sadness", "sa": "sadness",
    "surprise": "surprise", "surprised": "surprise", "su": "surprise",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "fe": "fear",
    "disgust": "disgust", "disgusted": "disgust", "di": "disgust",
    "neutral": "neutral", "ne": "neutral",
    "contempt": "contempt", "co": "contempt",
}  # fmt: skip
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}


def read_rgb(path: Path) -> np.ndarray | None:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        return None
    return np.ascontiguousarray(img[..., ::-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="at most N pictures per class")
    parser.add_argument("--labels", choices=["auto", "all"], default="auto")
    args = parser.parse_args()

    items: list[tuple[Path, str]] = []
    skipped = []
    for folder in sorted(p for p in args.images.iterdir() if p.is_dir()):
        label = FOLDER_LABELS.get(folder.name.lower())
        if label is None:
            skipped.append(folder.name)
            continue
        files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in SUFFIXES)
        items += [(f, label) for f in (files[: args.limit] if args.limit else files)]
    if not items:
        raise SystemExit(f"no labelled pictures under {args.images} (folders: angry, happy, ...)")
    present = [e for e in EMOTIONS if any(lbl == e for _, lbl in items)]
    labels = present if args.labels == "auto" else list(EMOTIONS)

    settings = load_settings()
    coder = FaceCoder(
        FaceLandmarkerModel.from_settings(settings),
        config=FaceCodingConfig(workers=1),
        expression=ExpressionClassifier.from_settings(
            settings.expression_model_path, ExpressionConfig(threads=1)
        ),
    )
    sources = {
        "fused": list(labels),
        "classifier": [f"cls_{e}" if e != "contempt" else "" for e in labels],
        "au_prototypes": [f"au_{e}" for e in labels],
    }
    k = len(labels)
    confusion = {name: np.zeros((k, k + 1), int) for name in sources}
    found = 0
    seconds = 0.0
    unreadable = 0
    with coder.still_session() as session:
        for path, truth in items:
            img = read_rgb(path)
            if img is None:
                unreadable += 1
                continue
            started = time.perf_counter()
            coding = coder.code(
                [VideoFrame(0, 0.0, img)], (img.shape[1], img.shape[0]), still=True,
                session=session,
            )  # fmt: skip
            seconds += time.perf_counter() - started
            row = labels.index(truth)
            if not coding.tracks:
                for c in confusion.values():
                    c[row, k] += 1
                continue
            found += 1
            # The largest face is the subject.
            track = max(
                coding.tracks, key=lambda t: t.series.column("w")[0] * t.series.column("h")[0]
            )
            values = dict(zip(FACE_COLUMNS, track.series.values[0], strict=True))
            for name, columns in sources.items():
                scores = [values.get(c, -np.inf) if c else -np.inf for c in columns]
                scores = [-np.inf if np.isnan(s) else s for s in scores]
                confusion[name][row, int(np.argmax(scores))] += 1

    # Speed of the two models alone, one thread each, on up to 200 of the pictures.
    sample = [img for img in (read_rgb(p) for p, _ in items[:: max(1, len(items) // 200)])
              if img is not None][:200]  # fmt: skip
    landmark_s = classify_s = 0.0
    crops = []
    with coder.still_session() as session:
        for img in sample:
            started = time.perf_counter()
            faces = session.detect_still(img, crop_size=48)
            landmark_s += time.perf_counter() - started
            if faces and faces[0].crop is not None:
                crops.append(faces[0].crop)
    assert coder.expression is not None
    for crop in crops:
        started = time.perf_counter()
        coder.expression.predict(crop)
        classify_s += time.perf_counter() - started

    n = sum(int(c.sum()) for c in [confusion["fused"]])
    f1 = f1_per_class(confusion["fused"])
    result = {
        "bench": "face_accuracy",
        "images": str(args.images),
        "n": n,
        "labels": labels,
        "faces_found": round(found / max(n, 1), 4),
        "accuracy": round(float(np.trace(confusion["fused"][:, :k]) / max(n, 1)), 4),
        "macro_f1": round(float(np.mean(f1)), 4),
        "per_class_f1": {lbl: round(v, 4) for lbl, v in zip(labels, f1, strict=True)},
        "confusion": confusion["fused"].tolist(),
        "confusion_columns": labels + ["no_face"],
        "accuracy_by_source": {
            name: round(float(np.trace(c[:, :k]) / max(n, 1)), 4) for name, c in confusion.items()
        },
        "ms_per_face": round(1000 * seconds / max(found, 1), 2),
        "ms_per_picture": round(1000 * seconds / max(n, 1), 2),
        "ms_landmarks_per_face": round(1000 * landmark_s / max(len(crops), 1), 2),
        "ms_classifier_per_face": round(1000 * classify_s / max(len(crops), 1), 2),
        "skipped_folders": skipped,
        "unreadable": unreadable,
    }
    print(json.dumps(result))
    print(f"{n} pictures, accuracy {result['accuracy']}", file=sys.stderr)


if __name__ == "__main__":
    main()

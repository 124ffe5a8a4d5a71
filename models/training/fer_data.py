"""Prepare FER2013 for training: the aligned crops the classifier sees at run time.

Every face of the ``train`` and ``val`` splits goes through the same path as a still picture in
Affectline (``LandmarkerSession.detect_still``: upscaled, landmarked, aligned to the template in
``models/face/align.py``). Where no face is found, the original 48x48 picture is kept (FER2013
faces are already framed like the template) and flagged, so that training can use it while
evaluation can count it as a miss. Blendshapes and landmark geometry are kept for the faces
found, for the evidence fusion.

Usage::

    python -m models.training.fer_data --data ../shared/data/fer2013/fer2013_train_val.npz \
        --out /tmp/affectline-train/fer_aligned.npz [--jobs 2]

Writes an ``.npz`` with, per split (``train``, ``val``): ``<split>_crops`` (n, 48, 48) uint8,
``<split>_labels`` (n,) in :data:`models.face.expression.LABELS` order, ``<split>_found`` (n,)
bool, ``<split>_blendshapes`` (n, 52) and ``<split>_geometry`` (n, 6) (NaN where not found).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

FER_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_TO_LABEL = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy", "sad": "sadness",
    "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip


def _work(args: tuple[np.ndarray, int]) -> dict[str, np.ndarray]:
    images, crop_size = args
    os.environ.setdefault("GLOG_minloglevel", "2")
    from models.face.landmarker import STILL_MIN_CONFIDENCE, FaceLandmarkerModel
    from multimodal.settings import load_settings

    model = FaceLandmarkerModel.from_settings(load_settings())
    n = len(images)
    crops = np.zeros((n, crop_size, crop_size), np.uint8)
    found = np.zeros(n, bool)
    shapes = np.full((n, 52), np.nan)
    geometry = np.full((n, 6), np.nan)
    with model.session(video=False, min_confidence=STILL_MIN_CONFIDENCE) as session:
        for i, img in enumerate(images):
            rgb = np.ascontiguousarray(np.stack([img] * 3, axis=-1))
            faces = session.detect_still(rgb, crop_size=crop_size)
            if faces and faces[0].crop is not None:
                found[i] = True
                crops[i] = faces[0].crop
                shapes[i] = faces[0].blendshapes
                geometry[i] = faces[0].geometry
            else:
                crops[i] = img if img.shape == (crop_size, crop_size) else 0
    return {"crops": crops, "found": found, "blendshapes": shapes, "geometry": geometry}


def prepare_split(images: np.ndarray, jobs: int, crop_size: int = 48) -> dict[str, np.ndarray]:
    chunks = np.array_split(np.arange(len(images)), max(1, jobs * 8))
    parts: list[dict[str, np.ndarray]] = []
    with ProcessPoolExecutor(jobs) as pool:
        for part in pool.map(_work, [(images[c], crop_size) for c in chunks]):
            parts.append(part)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def main(argv: list[str] | None = None) -> int:
    from models.face.expression import LABELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    data = np.load(args.data)
    names = [str(n) for n in data["label_names"]]
    if tuple(names) != FER_NAMES:
        raise SystemExit(f"unexpected FER2013 label names {names}")
    to_ours = np.array([LABELS.index(FER_TO_LABEL[n]) for n in names])
    out: dict[str, np.ndarray] = {}
    for split in ("train", "val"):
        started = time.time()
        prepared = prepare_split(data[f"{split}_images"], args.jobs)
        for key, value in prepared.items():
            out[f"{split}_{key}"] = value
        out[f"{split}_labels"] = to_ours[data[f"{split}_labels"]]
        print(
            f"{split}: {prepared['found'].sum()}/{len(prepared['found'])} faces found "
            f"in {time.time() - started:.0f} s",
            file=sys.stderr,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = dict(out)
    np.savez_compressed(args.out, **payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

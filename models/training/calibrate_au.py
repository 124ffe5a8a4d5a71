"""Calibrate blendshape evidence to FACS intensities on FER2013 faces.

Runs MediaPipe's face landmarker on a class-balanced sample of the FER2013 ``train`` split
(48x48 grey faces, upscaled to 160 px and padded with 48 px of black so that the detector sees a
whole face), computes each action unit's evidence (``models.face.facs.au_evidence``) and derives,
per AU:

* ``rest``: the median evidence over faces labelled neutral (the population's resting level);
* ``threshold`` (intensity 1, FACS A): the 90th percentile over neutral faces, at least
  ``rest + 0.05``: a neutral face shows the AU in at most one frame in ten;
* ``full`` (intensity 5, FACS E): the 95th percentile over the faces of the emotions whose
  prototype contains the AU, at least ``threshold + 0.15``.

Eye closure (AU43, AU45) is the exception: FER2013 has too few closed eyes, and its neutral
faces looking down raise ``eyeBlink`` without closing the eyes, so closure uses fixed levels,
``threshold`` at least 0.45 and ``full`` 0.85 (MediaPipe scores fully closed eyes 0.6-0.9).

Usage::

    python -m models.training.calibrate_au --data ../shared/data/fer2013/fer2013_train_val.npz \
        --out models/weights/au_calibration.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from models.face.facs import PROTOTYPES, au_evidence
from models.face.landmarker import FaceLandmarkerModel
from multimodal.settings import load_settings
from multimodal.vocab import AU_CODES

FER_TO_OURS = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy", "sad": "sadness",
    "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip
# AUs outside every prototype still need a "full" level: take them from the classes where they
# are expected to appear in FER2013's posed and spontaneous faces.
EXTRA_CLASSES = {
    "AU14": ("joy", "anger"),
    "AU25": ("joy", "surprise", "fear"),
    "AU28": ("anger", "sadness"),
    "AU43": ("sadness", "joy", "neutral", "anger", "disgust", "fear", "surprise"),
    "AU45": ("sadness", "joy", "neutral", "anger", "disgust", "fear", "surprise"),
}
EYE_CLOSURE = ("AU43", "AU45")


def fer_face_to_rgb(gray48: np.ndarray, size: int = 160, pad: int = 48) -> np.ndarray:
    """A FER2013 face as an RGB image the landmarker finds faces in (upscaled, black border)."""
    img = np.asarray(Image.fromarray(gray48).resize((size, size), Image.Resampling.BICUBIC))
    img = np.pad(img, pad, mode="constant")
    return np.ascontiguousarray(np.stack([img] * 3, axis=-1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="fer2013_train_val.npz")
    parser.add_argument("--out", type=Path, default=Path("models/weights/au_calibration.json"))
    parser.add_argument("--per-class", type=int, default=800, help="faces sampled per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = np.load(args.data)
    images, labels = data["train_images"], data["train_labels"]
    names = [FER_TO_OURS[str(n)] for n in data["label_names"]]
    rng = np.random.default_rng(args.seed)
    model = FaceLandmarkerModel.from_settings(load_settings())

    evidence: dict[str, list[np.ndarray]] = {n: [] for n in names}
    found = dict.fromkeys(names, 0)
    tried = dict.fromkeys(names, 0)
    start = time.time()
    with model.session(video=False) as session:
        for k, name in enumerate(names):
            idx = np.flatnonzero(labels == k)
            idx = rng.choice(idx, size=min(args.per_class, len(idx)), replace=False)
            for i in idx:
                tried[name] += 1
                faces = session.detect(fer_face_to_rgb(images[i]), 0.0)
                if faces:
                    found[name] += 1
                    face = faces[0]
                    evidence[name].append(au_evidence(face.blendshapes, face.geometry)[0])
            print(f"{name}: {found[name]}/{tried[name]} faces found", file=sys.stderr)

    ev = {n: np.array(v) for n, v in evidence.items()}
    neutral = ev["neutral"]
    aus = {}
    for j, au in enumerate(AU_CODES):
        classes = [e for e, proto in PROTOTYPES.items() if au in proto]
        classes += list(EXTRA_CLASSES.get(au, ()))
        expressive = np.concatenate([ev[c][:, j] for c in dict.fromkeys(classes)])
        rest = float(np.median(neutral[:, j]))
        threshold = max(float(np.percentile(neutral[:, j], 90)), rest + 0.05)
        full = min(max(float(np.percentile(expressive, 95)), threshold + 0.15), 1.0)
        threshold = min(threshold, full - 0.15)
        if au in EYE_CLOSURE:
            threshold, full = max(threshold, 0.45), 0.85
        aus[au] = {
            "rest": round(rest, 4),
            "threshold": round(threshold, 4),
            "full": round(full, 4),
            "from_classes": sorted(set(classes)),
        }
    out = {
        "source": "FER2013 train split (research use), class-balanced sample of "
        f"{args.per_class} faces per class, seed {args.seed}",
        "method": "rest = median over neutral faces; threshold = max(P90 neutral, rest + 0.05); "
        "full = max(P95 over faces of the AU's emotions, threshold + 0.15)",
        "faces_found": {n: f"{found[n]}/{tried[n]}" for n in names},
        "seconds": round(time.time() - start, 1),
        "aus": aus,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"out": str(args.out), "faces_found": out["faces_found"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

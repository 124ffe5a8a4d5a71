"""Train Affectline's facial expression classifier on FER2013 and export it to ONNX.

Input: the aligned crops made by ``models.training.fer_data`` (the same path faces take at run
time). The FER2013 ``val`` split (PublicTest) is cut in two halves by index parity: the even half
selects the epoch, the odd half is only scored at the end (``report`` in the metrics), so the
reported figure is on faces used neither for training nor for selection.

Network: a VGG-style CNN (3x3 convolutions with batch norm, max pooling, global average pooling,
dropout, one linear layer) on the centre 44x44 of a 48x48 grey crop. Training: SGD with Nesterov
momentum and a one-cycle learning rate, label smoothing, class weights (inverse square root of
frequency, for the rare disgust class), and augmentation on the fly (rotation, scale, shift,
mirror, brightness and contrast, random erasing). Evaluation averages each face with its mirror.

Usage::

    python -m models.training.train_expression --data /tmp/affectline-train/fer_aligned.npz \
        --epochs 30 --out models/weights/face_expression.onnx --metrics /tmp/expr_metrics.json

torch is needed for training only (``pip install torch==2.13.0 onnx``); inference uses
onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

from models.face.expression import CROP_SIZE, INPUT_SIZE, LABELS
from models.training.metrics import confusion_matrix, report


class ExpressionNet(nn.Module):
    """VGG-style CNN for 44x44 grey faces in ``[0, 1]``; returns logits over the 7 labels."""

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 64, 128, 256),
        convs: tuple[int, ...] = (1, 2, 2, 2),
        dropout: float = 0.4,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        inputs = 1
        for width, count in zip(channels, convs, strict=True):
            for k in range(count):
                layers += [
                    nn.Conv2d(inputs if k == 0 else width, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
            layers.append(nn.MaxPool2d(2))
            inputs = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(inputs, len(LABELS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 0.5) / 0.25
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        out: torch.Tensor = self.head(x)
        return out


def augment(batch: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random affine (rotation +-12 deg, scale 0.9-1.1, shift +-3 px), mirror, brightness and
    contrast, random erasing; returns the centre 44x44 of each 48x48 face."""
    n = batch.shape[0]
    angle = (torch.rand(n, generator=rng) * 2 - 1) * math.radians(12)
    scale = 1 + (torch.rand(n, generator=rng) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=rng) * 2 - 1) * (3 / (CROP_SIZE / 2))
    flip = torch.where(torch.rand(n, generator=rng) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1),
         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )  # fmt: skip
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=rng) * 2 - 1) * 0.3
    bright = (torch.rand(n, 1, 1, 1, generator=rng) * 2 - 1) * 0.1
    mean = out.mean(dim=(2, 3), keepdim=True)
    out = ((out - mean) * contrast + mean + bright).clamp(0, 1)
    # Random erasing: a rectangle of noise on half of the faces.
    erase = torch.rand(n, generator=rng) < 0.5
    for i in torch.nonzero(erase).flatten().tolist():
        h = int(torch.randint(6, 18, (1,), generator=rng))
        w = int(torch.randint(6, 18, (1,), generator=rng))
        y = int(torch.randint(0, CROP_SIZE - h, (1,), generator=rng))
        x = int(torch.randint(0, CROP_SIZE - w, (1,), generator=rng))
        out[i, :, y : y + h, x : x + w] = torch.rand(1, h, w, generator=rng)
    m = (CROP_SIZE - INPUT_SIZE) // 2
    return out[:, :, m : m + INPUT_SIZE, m : m + INPUT_SIZE].contiguous()


def centre(batch: torch.Tensor) -> torch.Tensor:
    m = (CROP_SIZE - INPUT_SIZE) // 2
    return batch[:, :, m : m + INPUT_SIZE, m : m + INPUT_SIZE].contiguous()


@torch.no_grad()
def predict(model: nn.Module, crops: np.ndarray, batch: int = 512) -> np.ndarray:
    """Probabilities with mirror averaging, shape (n, 7)."""
    model.eval()
    out = []
    for start in range(0, len(crops), batch):
        x = torch.from_numpy(crops[start : start + batch]).float().div(255).unsqueeze(1)
        x = centre(x)
        p = F.softmax(model(x), 1) + F.softmax(model(torch.flip(x, dims=[3])), 1)
        out.append((p / 2).numpy())
    return np.concatenate(out)


def scores(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    return report(confusion_matrix(labels, probs.argmax(1), len(LABELS)), LABELS)


def export_onnx(model: nn.Module, out: Path, metadata: dict[str, str]) -> None:
    import onnx

    model.eval()
    dummy = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(
        model, (dummy,), str(tmp), input_names=["faces"], output_names=["logits"],
        dynamic_axes={"faces": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
        dynamo=False,
    )  # fmt: skip
    proto = onnx.load(str(tmp))
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(out))
    tmp.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("models/weights/face_expression.onnx"))
    parser.add_argument("--metrics", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--channels", default="32,64,128,256")
    parser.add_argument("--convs", default="1,2,2,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = torch.Generator().manual_seed(args.seed)
    data = np.load(args.data)
    x_train, y_train = data["train_crops"], data["train_labels"].astype(np.int64)
    val_x, val_y, val_found = data["val_crops"], data["val_labels"], data["val_found"]
    select = np.arange(len(val_y)) % 2 == 0
    report = ~select

    channels = tuple(int(c) for c in args.channels.split(","))
    convs = tuple(int(c) for c in args.convs.split(","))
    model = ExpressionNet(channels, convs)
    counts = np.bincount(y_train, minlength=len(LABELS))
    weights = torch.tensor((counts.max() / counts) ** 0.5, dtype=torch.float32)
    weights = weights / weights.mean()
    steps = args.epochs * math.ceil(len(y_train) / args.batch)
    optimiser = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=steps, pct_start=0.2
    )
    train_tensor = torch.from_numpy(x_train).float().div(255).unsqueeze(1)
    labels_tensor = torch.from_numpy(y_train)
    best: dict[str, Any] = {"accuracy": -1.0}
    best_state: dict[str, torch.Tensor] = {}
    history = []
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_train), generator=rng)
        total, correct, seen = 0.0, 0, 0
        for start in range(0, len(order), args.batch):
            idx = order[start : start + args.batch]
            xb = augment(train_tensor[idx], rng)
            yb = labels_tensor[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, weight=weights, label_smoothing=0.1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        sel = scores(predict(model, val_x[select]), val_y[select])
        history.append(
            {
                "epoch": epoch + 1,
                "loss": round(total / seen, 4),
                "train_accuracy": round(correct / seen, 4),
                "select_accuracy": sel["accuracy"],
                "seconds": round(time.time() - started),
            }
        )
        print(json.dumps(history[-1]), file=sys.stderr, flush=True)
        if sel["accuracy"] > best["accuracy"]:
            best = {**sel, "epoch": epoch + 1}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model.load_state_dict(best_state)
    probs = predict(model, val_x)
    found_report = report & val_found
    metrics = {
        "data": "FER2013 (research use): train split for training; val (PublicTest) even "
        "indices for epoch selection, odd indices for this report",
        "architecture": {
            "channels": channels,
            "convs": convs,
            "input": [1, INPUT_SIZE, INPUT_SIZE],
            "parameters": sum(p.numel() for p in model.parameters()),
        },  # fmt: skip
        "epochs": args.epochs,
        "selected_epoch": best["epoch"],
        "select": {k: best[k] for k in ("n", "accuracy", "macro_f1")},
        "report_all": scores(probs[report], val_y[report]),
        "report_faces_found": scores(probs[found_report], val_y[found_report]),
        "report_found_rate": round(float(val_found[report].mean()), 4),
        "train_seconds": round(time.time() - started),
        "history": history,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, args.out, {"labels": json.dumps(list(LABELS)),
                                  "trained_on": "FER2013 train split",
                                  "script": "models/training/train_expression.py"})  # fmt: skip
    text = json.dumps(metrics, indent=1)
    if args.metrics:
        args.metrics.write_text(text + "\n")
    print(json.dumps({k: metrics[k] for k in ("selected_epoch", "select", "report_found_rate")}))
    report_all = metrics["report_all"]["accuracy"]
    report_found = metrics["report_faces_found"]["accuracy"]
    print(json.dumps({"report_all": report_all, "report_faces_found": report_found}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

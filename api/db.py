"""The job store's tables (storage shapes; the public shapes are in ``api/schemas.py``).

SQLite by default, PostgreSQL by URL; the schema is created and upgraded by Alembic
(``api/migrations``), never by ``create_all`` outside tests of the migrations themselves.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
"""Job states; the last three are final."""
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """32 random hex characters."""
    return secrets.token_hex(16)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the job store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (the interface passes it)
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class ApiKey(Base):
    """A client of the API. The key itself is never stored, only its SHA-256.

    Attributes:
        id: 32 hex.
        name: what the owner called it.
        prefix: the key's first characters, to recognise it in lists.
        key_hash: SHA-256 hex of the key (keys are 256 random bits, so no slow hash is needed).
        webhook_secret: signs this key's webhooks (HMAC-SHA256); kept to be able to sign.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Job(Base):
    """One uploaded recording and its analysis.

    Attributes:
        status: one of :data:`STATUSES`.
        progress: ``{"stage": str | None, "percent": float, "stages": {stage: percent}}``.
        options: the analysis options (modalities, fps, grid_step, keep_media, transcript).
        meta: the client's own metadata (JSON object).
        media: what probing found: duration, video, audio, still.
        media_path: the upload on disk, ``None`` once deleted.
        result_dir: where the results are, once the job succeeded.
        heartbeat_at: last sign of life from the worker running it (for recovery).
        attempts: how many times a worker has started it.
        cancel_requested: set by ``POST .../cancel`` while running; the worker stops.
    """

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("key_id", "idempotency_key", name="uq_jobs_idempotency"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    filename: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    media: Mapped[dict[str, Any]] = mapped_column(default=dict)
    media_path: Mapped[str | None] = mapped_column(Text, default=None)
    transcript_path: Mapped[str | None] = mapped_column(Text, default=None)
    result_dir: Mapped[str | None] = mapped_column(Text, default=None)
    callback_url: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    error_type: Mapped[str | None] = mapped_column(String(100), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        order_by="WebhookDelivery.attempt",
        lazy="selectin",
    )


class WebhookDelivery(Base):
    """One attempt to deliver a job's webhook.

    Attributes:
        attempt: 1, 2, ... per job.
        status_code: the receiver's HTTP status, ``None`` when it could not be reached.
        error: why it failed, ``None`` on success.
        next_attempt_at: when the next attempt is due, ``None`` when none will follow.
        duration_ms: how long the attempt took.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[float | None] = mapped_column(Float, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    job: Mapped[Job] = relationship(back_populates="deliveries")

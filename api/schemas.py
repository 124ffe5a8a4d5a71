"""Public shapes of the API (the storage shapes are in ``api/db.py``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from api.db import Job

RESULT_FILES: tuple[str, ...] = (
    "timeline.csv", "faces.csv", "voice.csv", "transcript.csv", "report.html",
)  # fmt: skip
"""Files of a result that can be downloaded one by one (besides the JSON)."""


class ErrorBody(BaseModel):
    type: str = Field(description="Kind of error, e.g. not_found, too_large, InputError.")
    message: str = Field(description="What is wrong and what to do.")


class ErrorResponse(BaseModel):
    error: ErrorBody


class Progress(BaseModel):
    stage: str | None = Field(description="The stage working now (face, speech, fusion, write).")
    percent: float = Field(description="Overall progress 0-100; it only grows.")
    stages: dict[str, float] = Field(description="Progress 0-100 of each stage.")


class MediaFacts(BaseModel):
    container: str | None = Field(default=None, description="ffmpeg's demuxer for the upload.")
    duration: float | None = Field(description="Seconds of media (0 for a picture).")
    video: bool
    audio: bool
    still: bool


class Delivery(BaseModel):
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None = Field(description="The receiver's answer, null if unreachable.")
    error: str | None
    next_attempt_at: datetime | None = Field(description="When it will be tried again.")


class Webhook(BaseModel):
    url: str
    deliveries: list[Delivery]


class Links(BaseModel):
    self: str
    result: str | None = Field(description="The result JSON, once the job succeeded.")
    files: dict[str, str] = Field(description="Each result file the job produced.")
    media: str | None = Field(description="The kept upload; null once deleted.")


class JobPublic(BaseModel):
    id: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    filename: str
    size_bytes: int
    media: MediaFacts | None
    options: dict[str, Any]
    metadata: dict[str, Any]
    progress: Progress
    error: ErrorBody | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the results will be deleted.")
    media_kept: bool
    webhook: Webhook | None
    links: Links


class JobPage(BaseModel):
    jobs: list[JobPublic]
    next_cursor: str | None = Field(description="Give as ?cursor= for the next page.")


class MediaLink(BaseModel):
    url: str
    expires_at: datetime


class Health(BaseModel):
    status: str
    database: str
    queue: dict[str, int]


def result_files(job: Job) -> list[str]:
    if job.status != "succeeded" or not job.result_dir:
        return []
    folder = Path(job.result_dir)
    return [name for name in RESULT_FILES if (folder / name).is_file()]


def public_job(job: Job) -> JobPublic:
    base = f"/v1/jobs/{job.id}"
    progress = dict(job.progress or {})
    succeeded = job.status == "succeeded"
    return JobPublic(
        id=job.id,
        status=job.status,
        filename=job.filename,
        size_bytes=job.size_bytes,
        media=MediaFacts(**job.media) if job.media else None,
        options=dict(job.options or {}),
        metadata=dict(job.meta or {}),
        progress=Progress(
            stage=progress.get("stage"),
            percent=float(progress.get("percent", 100.0 if succeeded else 0.0)),
            stages=dict(progress.get("stages", {})),
        ),
        error=(
            ErrorBody(type=job.error_type or "error", message=job.error_message or "")
            if job.error_type or job.error_message
            else None
        ),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        media_kept=job.media_path is not None,
        webhook=(
            Webhook(
                url=job.callback_url,
                deliveries=[
                    Delivery(
                        attempt=d.attempt,
                        at=d.at,
                        ok=d.ok,
                        status_code=d.status_code,
                        error=d.error,
                        next_attempt_at=d.next_attempt_at,
                    )  # fmt: skip
                    for d in job.deliveries
                ],
            )
            if job.callback_url
            else None
        ),
        links=Links(
            self=base,
            result=f"{base}/result" if succeeded else None,
            files={name: f"{base}/result/{name}" for name in result_files(job)},
            media=f"{base}/media" if job.media_path is not None else None,
        ),
    )

"""The job store: keys, jobs and their life cycle, shared by the API and every worker.

The database is the source of truth and the queue's ledger. A worker *claims* a job with one
conditional update (``queued -> running``), so two workers, or a Celery task delivered twice,
can never run the same job at once; it *finishes* it with another conditional update that only
succeeds while the job is still ``running`` under that worker, so a job that was cancelled, or
taken over after its worker went silent, never gets a second result. A running job's worker
writes a heartbeat; a job whose heartbeat is older than the lease is put back in the queue
(:func:`requeue_abandoned`), which is how jobs survive a server or worker that died.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from api.db import FINAL, ApiKey, Job, WebhookDelivery, utcnow

KEY_PREFIX = "afl_"
MAX_ATTEMPTS = 3
"""A job whose worker died this many times is failed rather than run again."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new API key; the plain key is returned once and never stored."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=plain[:10], key_hash=hash_key(plain),
                 webhook_secret="whsec_" + secrets.token_urlsafe(32))  # fmt: skip
    session.add(key)
    session.commit()
    return key, plain


def find_key(session: Session, plain: str) -> ApiKey | None:
    """The active key with this value, or ``None``."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    return key if key is not None and key.revoked_at is None else None


def revoke_key(session: Session, key_id: str) -> bool:
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    session.commit()
    return True


def get_job(session: Session, key_id: str, job_id: str) -> Job | None:
    """The key's job, or ``None`` (another key's job is not found either)."""
    job = session.get(Job, job_id)
    return job if job is not None and job.key_id == key_id else None


def find_idempotent(session: Session, key_id: str, idempotency_key: str) -> Job | None:
    return session.scalar(
        select(Job).where(Job.key_id == key_id, Job.idempotency_key == idempotency_key)
    )


def count_waiting(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Job.status == "queued")) or 0)


def queue_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    counts = {status: int(n) for status, n in rows}
    return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    next_cursor: str | None


def _encode_cursor(job: Job) -> str:
    raw = json.dumps([job.created_at.isoformat(), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        return datetime.fromisoformat(created), str(job_id)
    except (ValueError, TypeError) as e:
        raise ValueError("the cursor is not one this API gave; start without a cursor") from e


def list_jobs(
    session: Session, key_id: str, status: str | None, limit: int, cursor: str | None
) -> Page:
    """The key's jobs, newest first, ``limit`` at a time."""
    query = select(Job).where(Job.key_id == key_id)
    if status is not None:
        query = query.where(Job.status == status)
    if cursor:
        created, job_id = _decode_cursor(cursor)
        query = query.where(
            or_(Job.created_at < created, and_(Job.created_at == created, Job.id < job_id))
        )
    jobs = list(session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc())
                                .limit(limit + 1)))  # fmt: skip
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return Page(jobs, _encode_cursor(jobs[-1]) if more and jobs else None)


def claim(session: Session, job_id: str, worker: str) -> bool:
    """Take a queued job for ``worker``; false when someone else has it or it is gone."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(
            status="running",
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            attempts=Job.attempts + 1,
        )  # fmt: skip
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def claim_next(session: Session, worker: str) -> str | None:
    """The oldest queued job, claimed for ``worker``, or ``None``."""
    for _ in range(5):
        job_id = session.scalar(
            select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(1)
        )
        if job_id is None:
            return None
        if claim(session, job_id, worker):
            return job_id
    return None


def report(session: Session, job_id: str, worker: str, progress: dict[str, Any]) -> bool:
    """Record progress and a heartbeat; false when the job should stop (cancelled, taken over,
    deleted)."""
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.worker == worker)
        .values(progress=progress, heartbeat_at=utcnow())
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def finish(
    session: Session,
    job_id: str,
    worker: str,
    status: str,
    *,
    result_dir: str | None = None,
    error: tuple[str, str] | None = None,
    media_path: str | None = None,
    media: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
    retention: timedelta,
) -> bool:
    """End a running job; false (and nothing written) when it is no longer this worker's."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "expires_at": now + retention,
        "result_dir": result_dir,
        "media_path": media_path,
        "error_type": error[0] if error else None,
        "error_message": error[1] if error else None,
    }
    if media is not None:
        values["media"] = media
    if progress is not None:
        values["progress"] = progress
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.worker == worker)
        .values(**values)
    )
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def cancel(session: Session, job: Job, retention: timedelta) -> bool:
    """Cancel a queued or running job; false when it had already ended."""
    if job.status in FINAL:
        return False
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(("queued", "running")))
        .values(
            status="cancelled", cancel_requested=True, finished_at=now, expires_at=now + retention
        )  # fmt: skip
    )
    session.commit()
    session.refresh(job)
    return bool(done.rowcount)  # type: ignore[attr-defined]


def requeue_abandoned(session: Session, lease: timedelta) -> list[str]:
    """Put running jobs whose worker went silent back in the queue (or fail them after
    :data:`MAX_ATTEMPTS`). Returns the ids put back."""
    cutoff = utcnow() - lease
    stale = list(session.scalars(
        select(Job).where(Job.status == "running", Job.heartbeat_at < cutoff)
    ))  # fmt: skip
    again = []
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            values: dict[str, Any] = {
                "status": "failed", "finished_at": utcnow(), "error_type": "WorkerLost",
                "error_message": f"the worker running this job stopped {job.attempts} times; "
                "the recording may crash the analysis: check it, or upload it again",
            }  # fmt: skip
        else:
            values = {"status": "queued", "worker": None, "heartbeat_at": None}
            again.append(job.id)
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "running", Job.heartbeat_at == job.heartbeat_at)
            .values(**values)  # fmt: skip
        )
    session.commit()
    return again


def requeue_dead_local(session: Session, host: str) -> list[str]:
    """Put back at once the running jobs of worker processes on this host that no longer exist
    (the server was restarted): no need to wait for their lease to run out."""
    import os

    dead = []
    for job in session.scalars(select(Job).where(Job.status == "running")):
        name, _, pid = (job.worker or "").rpartition(":")
        if name != host or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(job)
        except PermissionError:
            continue  # alive, another user's
    for job in dead:
        session.execute(update(Job).where(Job.id == job.id, Job.status == "running",
                                          Job.worker == job.worker)
                        .values(status="queued", worker=None, heartbeat_at=None))  # fmt: skip
    session.commit()
    return [job.id for job in dead]


def expired(session: Session, now: datetime | None = None) -> list[Job]:
    """Ended jobs past their retention."""
    return list(session.scalars(
        select(Job).where(Job.status.in_(tuple(FINAL)), Job.expires_at < (now or utcnow()))
    ))  # fmt: skip


def record_delivery(session: Session, delivery: WebhookDelivery) -> None:
    """Add a webhook attempt; an earlier attempt's pending retry is no longer pending."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.job_id == delivery.job_id)
        .values(next_attempt_at=None)
    )
    session.add(delivery)
    session.commit()


def due_deliveries(session: Session, now: datetime | None = None) -> list[WebhookDelivery]:
    """Failed webhook attempts whose retry is due."""
    return list(session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.next_attempt_at <= (now or utcnow()))
    ))  # fmt: skip

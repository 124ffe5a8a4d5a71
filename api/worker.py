"""Running jobs: the task code, the in-process worker pool, and the housekeeping loop.

:func:`run_job` is the one task. The server's own worker processes (default) and Celery workers
(``affectline worker``, when ``AFFECTLINE_BROKER_URL`` is set) both call it. It claims the job in
the database, analyses the upload with the models its process loaded once, writes the results
to a temporary folder and renames it into place, and only then marks the job succeeded, in a
conditional update that fails if the job was cancelled or taken over meanwhile (the folder is
then removed again). The upload is deleted afterwards unless the job keeps it.

:class:`Housekeeper` runs in the server: it puts abandoned jobs back in the queue, deletes
expired results, and retries webhooks that are due.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import jobs as store
from api import storage, webhooks
from api.database import make_engine, session_factory
from api.db import ApiKey, Job, WebhookDelivery, new_id, utcnow
from api.schemas import public_job
from multimodal.errors import AffectlineError
from multimodal.settings import Settings

log = logging.getLogger("affectline.worker")

STAGE_WEIGHTS: dict[str, float] = {"face": 45.0, "speech": 45.0, "fusion": 2.0, "write": 8.0}
"""Share of the overall percentage per stage (faces and speech run side by side)."""
HEARTBEAT_SECONDS = 5.0


class JobStopped(Exception):
    """The job was cancelled, deleted or taken over while running."""


@dataclass
class Context:
    """What one worker process holds: settings, the database, and models loaded once."""

    settings: Settings
    sessions: sessionmaker[Session]
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _analyzer: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(settings, session_factory(make_engine(settings.database)))

    def analyzer_for(self, options: dict[str, Any]) -> Any:
        """An analyser with this job's options, sharing the models loaded once."""
        from multimodal.pipeline import Analyzer, parse_modalities
        from multimodal.settings import load_settings

        if self._analyzer is None:
            self._analyzer = Analyzer(self.settings)
        base = self._analyzer
        overrides = {"analysis_fps": options.get("fps"), "grid_step": options.get("grid_step")}
        settings = load_settings(
            **{**self.settings.model_dump(), **{k: v for k, v in overrides.items() if v}}
        )
        modalities = options.get("modalities")
        return Analyzer(
            settings,
            parse_modalities(modalities) if modalities else None,
            face_coder=base.face_coder,
            voice_analyzer=base.voice_analyzer,
            text_analyzer=base.text_analyzer,
        )


class _Progress:
    """Maps pipeline hooks onto a monotonic percentage and reports it, with a heartbeat."""

    def __init__(self, ctx: Context, job_id: str) -> None:
        self.ctx, self.job_id = ctx, job_id
        self.stages = {"queued": 100.0, "face": 0.0, "speech": 0.0, "fusion": 0.0, "write": 0.0}
        self.stage: str | None = None
        self.percent = 0.0
        self.last = 0.0
        self.lock = threading.Lock()
        self.stopped = False

    def snapshot(self) -> dict[str, Any]:
        return {"stage": self.stage, "percent": round(self.percent, 1),
                "stages": {k: round(v, 1) for k, v in self.stages.items()}}  # fmt: skip

    def set(self, stage: str, percent: float, force: bool = False) -> None:
        with self.lock:
            self.stage = stage
            self.stages[stage] = max(self.stages.get(stage, 0.0), min(100.0, percent))
            overall = sum(self.stages.get(s, 0.0) * w / 100 for s, w in STAGE_WEIGHTS.items())
            self.percent = max(self.percent, overall)
            now = time.monotonic()
            if not force and now - self.last < 1.0:
                if self.stopped:
                    raise JobStopped(self.job_id)
                return
            self.last = now
            self.beat()

    def complete(self) -> None:
        """Every stage done (stages a recording did not need count as done)."""
        with self.lock:
            self.stages = dict.fromkeys(self.stages, 100.0)
            self.stage, self.percent = "write", 100.0
            self.beat()

    def beat(self) -> None:
        with self.ctx.sessions() as session:
            if not store.report(session, self.job_id, self.ctx.name, self.snapshot()):
                self.stopped = True
        if self.stopped:
            raise JobStopped(self.job_id)

    def hook(self, step: str, completed: int, total: int | None = None) -> None:
        if total:
            self.set(step, 100.0 * completed / total)
        elif self.stopped:
            raise JobStopped(self.job_id)


def _heartbeat(progress: _Progress, done: threading.Event) -> None:
    """Beat while a stage runs without reporting (a long speech window, say)."""
    while not done.wait(HEARTBEAT_SECONDS):
        try:
            with progress.lock:
                progress.beat()
        except JobStopped:
            return
        except Exception:  # the database hiccuped: try again next beat
            log.exception("heartbeat failed")


def run_job(ctx: Context, job_id: str) -> str | None:
    """Claim and run one job; the status it ended in, or ``None`` if it was not ours to run."""
    with ctx.sessions() as session:
        if not store.claim(session, job_id, ctx.name):
            return None
    return run_claimed(ctx, job_id)


def run_claimed(ctx: Context, job_id: str) -> str | None:
    """Run a job this worker has claimed; the status it ended in, or ``None`` when it was
    stopped (cancelled, deleted, taken over)."""
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        assert job is not None
        options, media_path, filename = dict(job.options), job.media_path, job.filename
        transcript = job.transcript_path
    folder = storage.job_dir(ctx.settings.data_dir, job_id)
    retention = timedelta(days=ctx.settings.retention_days)
    progress = _Progress(ctx, job_id)
    done = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(progress, done), daemon=True)
    beat.start()
    staging = folder / f"results.{new_id()[:8]}.tmp"
    status, error, result_dir, facts = "failed", None, None, None
    try:
        from multimodal.results import write_result

        if media_path is None or not Path(media_path).is_file():
            raise FileNotFoundError("the upload is gone from storage; upload the file again")
        analyzer = ctx.analyzer_for(options)
        result = analyzer.analyze(Path(media_path), filename, hook=progress.hook,
                                  transcript=Path(transcript) if transcript else None)  # fmt: skip
        # the result names the upload as the client did, never by its path on the server
        result = replace(result, media=replace(result.media, path=Path(filename)))
        facts = media_facts(result.media)
        progress.set("fusion", 100.0, force=True)
        write_result(result, staging, report=ctx.settings.report)
        final = folder / "results"
        storage.remove(final)
        staging.rename(final)
        progress.complete()
        status, result_dir = "succeeded", str(final)
    except JobStopped:
        storage.remove(staging)
        done.set()
        return None
    except AffectlineError as e:
        error = (type(e).__name__, str(e))
    except FileNotFoundError as e:
        error = ("StorageError", str(e))
    except Exception as e:  # a bug: the job fails with the message, the worker goes on
        log.exception("job %s failed", job_id)
        error = ("InternalError", f"{type(e).__name__}: {e}; please report it")
    finally:
        done.set()
    keep = bool(options.get("keep_media"))
    with ctx.sessions() as session:
        ok = store.finish(session, job_id, ctx.name, status, result_dir=result_dir, error=error,
                          media_path=media_path if keep else None, media=facts,
                          progress=progress.snapshot() if status == "succeeded" else None,
                          retention=retention)  # fmt: skip
    if not ok:  # cancelled or taken over while finishing: leave no second result behind
        if result_dir is not None:
            storage.remove(result_dir)
        return None
    if not keep:
        storage.remove(media_path)
        storage.remove(transcript)
    send_webhook(ctx, job_id)
    return status


def media_facts(info: Any) -> dict[str, Any]:
    return {
        "container": info.container,
        "duration": info.duration,
        "video": info.video is not None,
        "audio": info.audio is not None,
        "still": bool(info.video is not None and info.video.is_still),
    }


def send_webhook(ctx: Context, job_id: str, client: httpx.Client | None = None) -> None:
    """Deliver (or retry) the webhook of an ended job, and record the attempt."""
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or not job.callback_url or job.status not in ("succeeded", "failed",
                                                                      "cancelled"):  # fmt: skip
            return
        key = session.get(ApiKey, job.key_id)
        secret = key.webhook_secret if key is not None else ""
        attempt = len(job.deliveries) + 1
        if job.deliveries and job.deliveries[-1].ok:
            return
        event = f"job.{job.status}"
        body = webhooks.body_of(event, public_job(job).model_dump(mode="json"))
        url = job.callback_url
    own = client is None
    client = client or httpx.Client()
    try:
        outcome = webhooks.post(client, url, body, secret=secret, event=event,
                                delivery_id=f"{job_id}-{attempt}",
                                timeout=ctx.settings.webhook_timeout)  # fmt: skip
    finally:
        if own:
            client.close()
    delay = None if outcome.ok else webhooks.next_delay(attempt)
    with ctx.sessions() as session:
        store.record_delivery(session, WebhookDelivery(
            job_id=job_id, event=event, attempt=attempt, ok=outcome.ok,
            status_code=outcome.status_code, error=outcome.error,
            duration_ms=round(outcome.duration_ms, 1),
            next_attempt_at=utcnow() + timedelta(seconds=delay) if delay else None,
        ))  # fmt: skip


class Housekeeper:
    """The server's background loop: abandoned jobs, expired results, due webhooks.

    Args:
        ctx: the server's context.
        dispatch: called with the ids of jobs put back in the queue (Celery mode re-sends them).
        interval: seconds between rounds.
    """

    def __init__(
        self,
        ctx: Context,
        dispatch: Callable[[str], None] | None = None,
        interval: float = 5.0,
    ) -> None:
        self.ctx, self.dispatch, self.interval = ctx, dispatch, interval
        self._sent: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> None:
        settings = self.ctx.settings
        with self.ctx.sessions() as session:
            again = store.requeue_dead_local(session, socket.gethostname())
            again += store.requeue_abandoned(session, timedelta(seconds=settings.job_lease_seconds))
            for job in store.expired(session):
                storage.remove(storage.job_dir(settings.data_dir, job.id))
                session.delete(job)
            session.commit()
            due = [d.job_id for d in store.due_deliveries(session)]
        for job_id in again:
            log.warning("job %s was abandoned by its worker; queued again", job_id)
        if self.dispatch is not None:
            self._redispatch(again)
        for job_id in due:
            send_webhook(self.ctx, job_id)

    def _redispatch(self, again: list[str]) -> None:
        """Send requeued jobs, and jobs waiting longer than the lease (a message lost with a
        broker that was down), to the workers again; a job sent twice runs once."""
        lease = self.ctx.settings.job_lease_seconds
        now = time.monotonic()
        cutoff = utcnow() - timedelta(seconds=lease)
        with self.ctx.sessions() as session:
            waiting = session.scalars(
                select(Job.id).where(Job.status == "queued", Job.created_at < cutoff)
            ).all()
        for job_id in dict.fromkeys([*again, *waiting]):
            if job_id not in again and now - self._sent.get(job_id, 0.0) < lease:
                continue
            try:
                assert self.dispatch is not None
                self.dispatch(job_id)
                self._sent[job_id] = now
            except Exception:
                log.exception("could not send job %s to the workers", job_id)
        self._sent = {k: v for k, v in self._sent.items() if now - v < 10 * lease}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception:
                log.exception("housekeeping round failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="affectline-housekeeper",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _worker_main(settings_json: str, stop: Any, poll: float) -> None:
    """A pool process: load models lazily, run queued jobs until told to stop, or until the
    server that started it is gone."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    parent = os.getppid()
    settings = Settings.model_validate_json(settings_json)
    ctx = Context.from_settings(settings)
    while not stop.value and os.getppid() == parent:
        with ctx.sessions() as session:
            job_id = store.claim_next(session, ctx.name)
        if job_id is None:
            time.sleep(poll)
            continue
        try:
            run_claimed(ctx, job_id)
        except Exception:
            log.exception("worker failed on job %s", job_id)


class WorkerPool:
    """``n`` worker processes (one job each at a time) that take jobs from the database."""

    def __init__(self, settings: Settings, n: int, poll: float = 0.5) -> None:
        self.settings, self.n, self.poll = settings, n, poll
        self._mp = mp.get_context("spawn")
        # A lock-free flag: an Event's condition variable hangs set() when a waiter was killed.
        self._stop = self._mp.RawValue("b", 0)
        self.processes: list[Any] = []

    def start(self) -> None:
        payload = self.settings.model_dump_json()
        for i in range(self.n):
            p = self._mp.Process(target=_worker_main, args=(payload, self._stop, self.poll),
                                 name=f"affectline-worker-{i}", daemon=True)  # fmt: skip
            p.start()
            self.processes.append(p)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the workers to stop after their current job; kill them after ``timeout``. A job
        they were running is picked up again after the lease, by this or another server."""
        self._stop.value = 1
        deadline = time.monotonic() + timeout
        for p in self.processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(2)

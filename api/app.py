"""The FastAPI application: job API under ``/v1``, the web page at ``/``.

:func:`create_app` builds it from settings. Its lifespan brings the database schema up to date,
starts the in-process worker pool (unless Celery runs the jobs) and the housekeeping loop, and
stops them again. Errors are JSON ``{"error": {"type", "message"}}`` from one set of handlers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import jobs as store
from api import storage, webhooks
from api.database import make_engine, session_factory, upgrade
from api.db import STATUSES, ApiKey, Job, new_id
from api.schemas import (
    RESULT_FILES,
    ErrorResponse,
    Health,
    JobPage,
    JobPublic,
    MediaLink,
    public_job,
)
from api.worker import Context, Housekeeper, WorkerPool
from multimodal.errors import AffectlineError
from multimodal.settings import Settings, load_settings

log = logging.getLogger("affectline.api")

MEDIA_LINK_SECONDS = 600
METADATA_LIMIT = 16 * 1024


class ApiError(Exception):
    """An error answered as JSON with ``status``."""

    def __init__(self, status: int, kind: str, message: str,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )


_KINDS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large",
          415: "unsupported_media", 422: "invalid", 503: "busy"}  # fmt: skip


def create_app(
    settings: Settings | None = None,
    *,
    start_workers: bool = True,
    dispatch: Callable[[str], None] | None = None,
) -> FastAPI:
    """The application.

    Args:
        settings: settings in force (default: from the environment).
        start_workers: start the in-process worker pool and housekeeping (tests of the API
            alone turn it off).
        dispatch: sends a new job to the workers; default: Celery when ``broker_url`` is set,
            else nothing (the in-process pool takes jobs from the database).
    """
    settings = settings or load_settings()
    engine = make_engine(settings.database)
    sessions = session_factory(engine)
    ctx = Context(settings, sessions)
    if dispatch is None and settings.broker_url:
        from api.tasks import celery_dispatch

        dispatch = celery_dispatch(settings)
    link_key = _link_secret(settings.data_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        upgrade(engine)
        pool = None
        keeper = Housekeeper(ctx, dispatch)
        if start_workers:
            keeper.round()  # jobs left running by a previous server go back in the queue
            keeper.start()
            if not settings.broker_url and settings.workers > 0:
                pool = WorkerPool(settings, settings.workers)
                pool.start()
        try:
            yield
        finally:
            keeper.stop()
            if pool is not None:
                await asyncio.to_thread(pool.stop)
            engine.dispose()

    app = FastAPI(
        title="Affectline",
        version="1",
        description="Multimodal emotion analysis of recordings: face, voice and words on one "
        "timeline. Results are indicators, not diagnoses.",
        lifespan=lifespan,
        responses={k: {"model": ErrorResponse} for k in (401, 404, 409, 413, 415, 422, 503)},
    )
    app.state.settings = settings
    app.state.sessions = sessions

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.endswith("/media"):
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response

    @app.exception_handler(ApiError)
    async def _api_error(_r: Request, e: ApiError) -> Any:
        return _error(e.status, e.kind, e.message, e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_r: Request, e: StarletteHTTPException) -> Any:
        message = e.detail if isinstance(e.detail, str) else json.dumps(e.detail)
        if e.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API"
        return _error(e.status_code, _KINDS.get(e.status_code, "error"), message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, e: RequestValidationError) -> Any:
        parts = [
            f"{'.'.join(str(x) for x in err['loc'][1:]) or 'request'}: {err['msg']}"
            for err in e.errors()
        ]
        return _error(422, "invalid", "; ".join(parts))

    @app.exception_handler(Exception)
    async def _internal(_r: Request, e: Exception) -> Any:
        log.exception("unhandled error")
        return _error(500, "internal", f"unexpected failure ({type(e).__name__}); see the log")

    def owned(session: Session, key: ApiKey, job_id: str) -> Job:
        job = store.get_job(session, key.id, job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id} for this API key")
        return job

    @app.get("/healthz", response_model=Health, tags=["service"])
    def health(session: Db) -> Health:
        session.execute(text("SELECT 1"))
        return Health(status="ok", database="ok", queue=store.queue_counts(session))

    @app.post("/v1/jobs", status_code=201, response_model=JobPublic, tags=["jobs"])
    async def create_job(
        request: Request,
        key: Key,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Any:
        with sessions() as session:
            if idempotency_key:
                earlier = store.find_idempotent(session, key.id, idempotency_key)
                if earlier is not None:
                    return JSONResponse(public_job(earlier).model_dump(mode="json"), 200)
            if store.count_waiting(session) >= settings.max_queue:
                raise ApiError(503, "busy", f"{settings.max_queue} jobs are waiting already; "
                               "try again in a minute", {"Retry-After": "60"})  # fmt: skip
        limit = int(settings.max_upload_mb * 1024 * 1024)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + storage.FIELD_LIMIT:
            raise ApiError(413, "too_large", storage.too_large_message(limit))
        job_id = new_id()
        folder = storage.job_dir(settings.data_dir, job_id)
        storage.ensure_private(folder)
        try:
            upload = await storage.receive_upload(
                request.headers.get("content-type", ""), request.stream(), folder / "upload",
                limit,
            )  # fmt: skip
            options, meta, callback = _options(upload.fields, settings)
            media = await asyncio.to_thread(
                _probe, upload.files["file"], upload.filenames["file"], settings
            )
        except storage.UploadError as e:
            storage.remove(folder)
            raise ApiError(e.status, e.kind, str(e)) from None
        except ApiError:
            storage.remove(folder)
            raise
        options["transcript"] = "transcript" in upload.files
        job = Job(
            id=job_id, key_id=key.id, filename=upload.filenames["file"],
            size_bytes=upload.sizes["file"], options=options, meta=meta, media=media,
            media_path=str(upload.files["file"]),
            transcript_path=str(upload.files["transcript"]) if options["transcript"] else None,
            callback_url=callback, idempotency_key=idempotency_key,
            progress={"stage": "queued", "percent": 0.0, "stages": {"queued": 100.0}},
        )  # fmt: skip
        with sessions() as session:
            session.add(job)
            try:
                session.commit()
            except Exception:
                session.rollback()
                storage.remove(folder)
                if idempotency_key:  # a twin request won the race
                    earlier = store.find_idempotent(session, key.id, idempotency_key)
                    if earlier is not None:
                        return JSONResponse(public_job(earlier).model_dump(mode="json"), 200)
                raise
            out = public_job(job)
        if dispatch is not None:
            try:
                dispatch(job_id)
            except Exception:  # the broker is down: the housekeeper sends it again later
                log.exception("could not send job %s to the workers yet", job_id)
        return out

    @app.get("/v1/jobs", response_model=JobPage, tags=["jobs"])
    def list_jobs(
        session: Db,
        key: Key,
        status: Annotated[str | None, Query(description="Only jobs in this state.")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ) -> JobPage:
        if status is not None and status not in STATUSES:
            raise ApiError(422, "invalid", f"status must be one of {', '.join(STATUSES)}")
        try:
            page = store.list_jobs(session, key.id, status, limit, cursor)
        except ValueError as e:
            raise ApiError(422, "invalid", str(e)) from None
        return JobPage(jobs=[public_job(j) for j in page.jobs], next_cursor=page.next_cursor)

    @app.get("/v1/jobs/{job_id}", response_model=JobPublic, tags=["jobs"])
    def get_job(session: Db, key: Key, job_id: str) -> JobPublic:
        return public_job(owned(session, key, job_id))

    def _result_path(job: Job, name: str) -> Path:
        if job.status != "succeeded" or not job.result_dir:
            raise ApiError(409, "conflict", f"job {job.id} is {job.status}; results exist "
                           "once it has succeeded")  # fmt: skip
        path = Path(job.result_dir) / name
        if not path.is_file():
            raise ApiError(404, "not_found", f"job {job.id} has no {name} (its modality did "
                           "not run, or the results expired)")  # fmt: skip
        return path

    @app.get("/v1/jobs/{job_id}/result", tags=["results"])
    def get_result(session: Db, key: Key, job_id: str) -> FileResponse:
        path = _result_path(owned(session, key, job_id), "result.json")
        return FileResponse(path, media_type="application/json")

    @app.get("/v1/jobs/{job_id}/result/{name}", tags=["results"])
    def get_result_file(session: Db, key: Key, job_id: str, name: str) -> FileResponse:
        if name not in RESULT_FILES and name != "result.json":
            raise ApiError(404, "not_found", f"no result file {name!r}; choose one of "
                           f"result.json, {', '.join(RESULT_FILES)}")  # fmt: skip
        job = owned(session, key, job_id)
        path = _result_path(job, name)
        kind = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8",
                "json": "application/json"}[name.rsplit(".", 1)[1]]  # fmt: skip
        stem = Path(job.filename).stem or job.id
        return FileResponse(path, media_type=kind, filename=f"{stem}-{name}")

    def _link_token(job_id: str, expires: int) -> str:
        mac = hmac.new(link_key, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{expires}.{mac[:32]}"

    @app.post("/v1/jobs/{job_id}/media-link", response_model=MediaLink, tags=["jobs"])
    def media_link(session: Db, key: Key, job_id: str) -> MediaLink:
        job = owned(session, key, job_id)
        if job.media_path is None:
            raise ApiError(404, "not_found", "the recording was deleted after analysis; "
                           "upload with keep_media=true to play it here")  # fmt: skip
        expires = int(time.time()) + MEDIA_LINK_SECONDS
        return MediaLink(url=f"/v1/jobs/{job_id}/media?token={_link_token(job_id, expires)}",
                         expires_at=datetime.fromtimestamp(expires, UTC))  # fmt: skip

    @app.get("/v1/jobs/{job_id}/media", tags=["jobs"])
    def get_media(
        request: Request, session: Db, job_id: str, token: str | None = None
    ) -> FileResponse:
        if token:
            expires, _, _mac = token.partition(".")
            if not (
                expires.isdigit()
                and int(expires) >= time.time()
                and hmac.compare_digest(token, _link_token(job_id, int(expires)))
            ):
                raise ApiError(403, "forbidden", "this media link is invalid or has expired; "
                               "ask for a new one")  # fmt: skip
            job = session.get(Job, job_id)
            if job is None:
                raise ApiError(404, "not_found", f"no job {job_id}")
        else:
            key = auth(session, request.headers.get("authorization"))
            job = owned(session, key, job_id)
        if job.media_path is None or not Path(job.media_path).is_file():
            raise ApiError(404, "not_found", "the recording is no longer stored")
        return FileResponse(job.media_path, media_type=_media_type(job),
                            headers={"Cache-Control": "private, max-age=600"})  # fmt: skip

    @app.post("/v1/jobs/{job_id}/cancel", response_model=JobPublic, tags=["jobs"])
    def cancel_job(session: Db, key: Key, job_id: str) -> JobPublic:
        job = owned(session, key, job_id)
        if not store.cancel(session, job, timedelta(days=settings.retention_days)):
            raise ApiError(409, "conflict", f"job {job_id} has already ended ({job.status})")
        if job.media_path and not job.options.get("keep_media"):
            storage.remove(job.media_path)
            job.media_path = None
            session.commit()
        return public_job(job)

    @app.delete("/v1/jobs/{job_id}", status_code=204, tags=["jobs"])
    def delete_job(session: Db, key: Key, job_id: str) -> Response:
        job = owned(session, key, job_id)
        if job.status in ("queued", "running"):
            store.cancel(session, job, timedelta(days=settings.retention_days))
        storage.remove(storage.job_dir(settings.data_dir, job.id))
        session.delete(job)
        session.commit()
        return Response(status_code=204)

    web = files("api") / "web"
    report_assets = files("multimodal") / "report_assets"

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((web / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return _asset(web, name)

    @app.get("/static/report/{name}", include_in_schema=False)
    def static_report(name: str) -> Response:
        return _asset(report_assets, name)

    return app


def db(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(db)]


def auth(session: Db, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    """The API key in the ``Authorization`` header, or 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthorized",
                       "send your API key as 'Authorization: Bearer KEY' "
                       "(create one with: affectline keys create --name NAME)",
                       {"WWW-Authenticate": "Bearer"})  # fmt: skip
    key = store.find_key(session, authorization[7:].strip())
    if key is None:
        raise ApiError(401, "unauthorized", "this API key is unknown or revoked",
                       {"WWW-Authenticate": "Bearer"})  # fmt: skip
    return key


Key = Annotated[ApiKey, Depends(auth)]


def _link_secret(data_dir: Path) -> bytes:
    """The key that signs media links: random, made once per data folder (so that every server
    sharing the folder accepts the same links), readable by the owner only."""
    path = data_dir / "media-link.key"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".media-link.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # whole, and only if no other server made it first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def _asset(folder: Any, name: str) -> Response:
    if "/" in name or "\\" in name or name.startswith("."):
        raise ApiError(404, "not_found", f"no file {name}")
    item = folder / name
    if not item.is_file():
        raise ApiError(404, "not_found", f"no file {name}")
    kinds = {"js": "text/javascript", "css": "text/css", "html": "text/html",
             "svg": "image/svg+xml", "png": "image/png"}  # fmt: skip
    kind = kinds.get(name.rsplit(".", 1)[-1], "application/octet-stream")
    return Response(item.read_bytes(), media_type=kind,
                    headers={"Cache-Control": "no-cache"})  # fmt: skip


_CONTAINER_TYPES = (
    ("mp4", "video/mp4", "audio/mp4"), ("webm", "video/webm", "audio/webm"),
    ("matroska", "video/x-matroska", "audio/x-matroska"), ("ogg", "video/ogg", "audio/ogg"),
    ("wav", "audio/wav", "audio/wav"), ("mp3", "audio/mpeg", "audio/mpeg"),
    ("flac", "audio/flac", "audio/flac"), ("avi", "video/x-msvideo", "video/x-msvideo"),
    ("mpeg", "video/mpeg", "audio/mpeg"), ("png", "image/png", "image/png"),
    ("jpeg", "image/jpeg", "image/jpeg"), ("mjpeg", "image/jpeg", "image/jpeg"),
)  # fmt: skip
"""(word in ffmpeg's demuxer name, type with video, type without) for the kept media."""


def _media_type(job: Job) -> str:
    """The upload's type, from the demuxer ffmpeg chose when probing its content."""
    media = job.media or {}
    container = str(media.get("container", ""))
    for word, video, audio in _CONTAINER_TYPES:
        if word in container.replace(",", " ").replace("_", " ").split():
            return video if media.get("video") else audio
    return "application/octet-stream"


def _options(fields: dict[str, str], settings: Settings) -> tuple[dict[str, Any], dict[str, Any],
                                                                  str | None]:  # fmt: skip
    """Validated analysis options, metadata and callback URL from the form fields."""
    from multimodal.pipeline import parse_modalities

    known = {"modalities", "fps", "grid_step", "callback_url", "metadata", "keep_media"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(422, "invalid", f"unknown form field(s) {', '.join(unknown)}; "
                       f"known: file, transcript, {', '.join(sorted(known))}")  # fmt: skip
    options: dict[str, Any] = {"modalities": None, "fps": settings.analysis_fps,
                               "grid_step": settings.grid_step,
                               "keep_media": settings.keep_media}  # fmt: skip
    try:
        if fields.get("modalities", "").strip():
            options["modalities"] = list(parse_modalities(fields["modalities"]))
        for name, low, high in (("fps", 0.0, 240.0), ("grid_step", 0.04, 60.0)):
            if fields.get(name, "").strip():
                try:
                    value = float(fields[name])
                except ValueError:
                    raise ValueError(f"{name} must be a number, got {fields[name]!r}") from None
                if not (math.isfinite(value) and low <= value <= high):
                    raise ValueError(f"{name} must be between {low:g} and {high:g}")
                options[name] = value
        if "keep_media" in fields:
            flag = fields["keep_media"].strip().lower()
            if flag not in ("true", "false", "1", "0", "yes", "no", "on", "off", ""):
                raise ValueError("keep_media must be true or false")
            options["keep_media"] = flag in ("true", "1", "yes", "on")
        meta: dict[str, Any] = {}
        if fields.get("metadata", "").strip():
            if len(fields["metadata"]) > METADATA_LIMIT:
                raise ValueError("metadata is larger than 16 KB")
            meta = json.loads(fields["metadata"])
            if not isinstance(meta, dict):
                raise ValueError("metadata must be a JSON object")
        callback = None
        if fields.get("callback_url", "").strip():
            callback = webhooks.check_url(fields["callback_url"])
    except (ValueError, AffectlineError) as e:
        raise ApiError(422, "invalid", str(e)) from None
    return options, meta, callback


def _probe(path: Path, filename: str, settings: Settings) -> dict[str, Any]:
    """What the upload is, found from its content (never from its name)."""
    from api.worker import media_facts
    from multimodal.media import probe

    try:
        info = probe(path, settings, count_frames=False)
    except AffectlineError as e:
        reason = str(e).replace(str(path), filename)
        raise ApiError(415, "unsupported_media", f"the upload is not a recording or picture "
                       f"Affectline can read ({reason})") from None  # fmt: skip
    if info.video is None and info.audio is None:
        raise ApiError(415, "unsupported_media", "the upload has neither video nor audio")
    return media_facts(info)

"""Scaling out: the API on PostgreSQL sending jobs through Redis to Celery workers, all real
servers (started by tests/services.py), including a worker that dies mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.database import make_engine, session_factory, upgrade
from api.jobs import create_key
from multimodal.settings import load_settings
from tests.api.test_server import BIN

pytestmark = [pytest.mark.slow, pytest.mark.model]


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen([str(BIN), "worker", "--concurrency", "1"], env=self.env,
                                     stdout=out, stderr=out, start_new_session=True)  # fmt: skip

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@pytest.fixture
def scaled(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Any, Worker]]:
    env = {**os.environ, "AFFECTLINE_DATA_DIR": str(tmp_path / "data"),
           "AFFECTLINE_DATABASE_URL": postgres_url, "AFFECTLINE_BROKER_URL": redis_url,
           "AFFECTLINE_JOB_LEASE_SECONDS": "10"}  # fmt: skip
    settings = load_settings(data_dir=tmp_path / "data", database_url=postgres_url,
                             broker_url=redis_url, job_lease_seconds=10)  # fmt: skip
    engine = make_engine(postgres_url)
    upgrade(engine)
    with session_factory(engine)() as s:
        _, key = create_key(s, "celery test")
    engine.dispose()
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    app = create_app(settings)  # Celery mode: no in-process pool, housekeeping on
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client, worker
    worker.kill(signal.SIGTERM)


def wait(client: Any, job_id: str, states: set[str], worker: Worker, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in states:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job stayed {job['status']}; worker log:\n"
                         + worker.log.read_text(errors="replace")[-3000:])  # fmt: skip


def test_celery_worker_runs_jobs_and_a_dead_worker_is_replaced(
    scaled: tuple[Any, Worker], talking_clip: Path
) -> None:
    client, worker = scaled
    with talking_clip.open("rb") as f:
        first = client.post("/v1/jobs", files={"file": ("talking.mp4", f)}).json()
    job = wait(client, first["id"], {"succeeded", "failed"}, worker)
    assert job["status"] == "succeeded", job["error"]
    assert client.get(job["links"]["result"]).json()["fusion"]["subject"] == 0

    with talking_clip.open("rb") as f:
        second = client.post("/v1/jobs", files={"file": ("talking.mp4", f)}).json()
    wait(client, second["id"], {"running"}, worker)
    worker.kill()  # the worker and its child die mid-job
    worker.start()  # a new worker comes up; the housekeeper hands the job back
    job = wait(client, second["id"], {"succeeded", "failed"}, worker)
    assert job["status"] == "succeeded", job["error"]
    health = client.get("/healthz").json()
    assert health["queue"] == {"queued": 0, "running": 0}

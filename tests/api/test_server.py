"""The service as users run it: `affectline serve` over a real socket, its worker processes,
a restart in the middle of a job, and memory that does not grow with the upload."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN = Path(sys.executable).parent / "affectline"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data: Path, **env: str) -> None:
        self.data, self.port = data, free_port()
        self.env = {**os.environ, "AFFECTLINE_DATA_DIR": str(data), "AFFECTLINE_WORKERS": "1",
                    "AFFECTLINE_PORT": str(self.port), **env}  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.data / "server.log").open("ab")
        self.proc = subprocess.Popen([str(BIN), "serve"], env=self.env, stdout=log, stderr=log,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError("server did not start:\n" + self.log()[-3000:])

    def log(self) -> str:
        return (self.data / "server.log").read_text(errors="replace")

    def kill(self) -> None:
        """Kill the server and its worker processes at once (a crash, not a shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def key(self) -> str:
        out = subprocess.run([str(BIN), "keys", "create", "--name", "t"], env=self.env,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return next(line.split()[-1] for line in out.splitlines() if line.startswith("key:"))

    def rss_peak_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    srv.data.mkdir()
    srv.start()
    yield srv
    srv.stop()


def upload(srv: Server, key: str, path: Path, **fields: str) -> Any:
    with path.open("rb") as f:
        r = httpx.post(f"{srv.url}/v1/jobs", files={"file": (path.name, f)}, data=fields,
                       headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip
    return r


def wait_for(srv: Server, key: str, job_id: str, states: set[str], timeout: float = 180) -> Any:
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{srv.url}/v1/jobs/{job_id}",
                        headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
        seen.append(job["progress"]["percent"])
        if job["status"] in states:
            job["_seen"] = seen
            return job
        time.sleep(0.3)
    raise AssertionError(f"job stayed {job['status']}:\n" + srv.log()[-3000:])


@pytest.mark.slow
@pytest.mark.model
def test_serve_runs_a_job_end_to_end(server: Server, talking_clip: Path) -> None:
    key = server.key()
    r = upload(server, key, talking_clip, grid_step="1")
    assert r.status_code == 201, r.text
    job = wait_for(server, key, r.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["error"]
    assert job["_seen"] == sorted(job["_seen"])  # progress only grows
    result = httpx.get(f"{server.url}{job['links']['result']}",
                       headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    assert result["fusion"]["grid_step"] == 1.0 and result["modalities"] == ["face", "voice",
                                                                            "text"]  # fmt: skip
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and "<html" in page.text.lower()


@pytest.mark.slow
@pytest.mark.model
def test_a_job_survives_a_crash_of_the_server(tmp_path: Path, talking_clip: Path) -> None:
    srv = Server(tmp_path / "data")
    srv.data.mkdir()
    srv.start()
    try:
        key = srv.key()
        job_id = upload(srv, key, talking_clip).json()["id"]
        wait_for(srv, key, job_id, {"running", "succeeded"})
        srv.kill()  # the server and its worker die mid-job
        srv.start()
        job = wait_for(srv, key, job_id, {"succeeded", "failed"})
        assert job["status"] == "succeeded", job["error"]
        folder = srv.data / "jobs" / job_id
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith("results")) == [
            "results"]  # fmt: skip
    finally:
        srv.stop()


@pytest.mark.slow
def test_server_memory_does_not_grow_with_the_upload(server: Server, tmp_path: Path) -> None:
    key = server.key()
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(300):
            f.write(block)
    before = server.rss_peak_kb()
    r = upload(server, key, big)
    assert r.status_code == 415  # random bytes are no recording
    grew_mb = (server.rss_peak_kb() - before) / 1024
    assert grew_mb < 60, f"server grew {grew_mb:.0f} MB for a 300 MB upload"
    assert not list((server.data / "jobs").iterdir())

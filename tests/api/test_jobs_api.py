"""The job API in-process (TestClient) with the real pipeline run by the worker's task code."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from api import jobs as store
from api import webhooks
from api.db import Job, utcnow
from api.worker import Housekeeper, run_job, send_webhook
from tests.api.conftest import Service, make_service


@pytest.fixture(scope="module")
def shared_analyzer() -> Any:
    """Models loaded once for the module (a worker process loads them once too)."""
    from multimodal.pipeline import Analyzer
    from multimodal.settings import load_settings

    return Analyzer(load_settings())


def run(service: Service, job_id: str, analyzer: Any) -> str | None:
    service.ctx._analyzer = analyzer
    return run_job(service.ctx, job_id)


def test_every_endpoint_needs_a_key(service: Service) -> None:
    for method, path in (("get", "/v1/jobs"), ("post", "/v1/jobs"), ("get", "/v1/jobs/x"),
                         ("delete", "/v1/jobs/x"), ("post", "/v1/jobs/x/cancel"),
                         ("get", "/v1/jobs/x/result"), ("get", "/v1/jobs/x/media")):  # fmt: skip
        r = service.client.request(method, path)
        assert r.status_code == 401, path
        assert r.json()["error"]["type"] == "unauthorized"
        assert "Bearer" in r.json()["error"]["message"]
    r = service.client.get("/v1/jobs", headers=service.headers("afl_wrong"))
    assert r.status_code == 401 and "unknown or revoked" in r.json()["error"]["message"]
    assert service.client.get("/healthz").json()["status"] == "ok"


def test_upload_is_checked_by_content(service: Service, tmp_path: Path, face_clip: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is not a video at all\n" * 100)
    r = service.upload(fake)
    assert r.status_code == 415 and r.json()["error"]["type"] == "unsupported_media"
    assert "holiday.mp4" in r.json()["error"]["message"]
    assert str(service.settings.data_dir) not in r.text  # no server paths in errors
    r = service.client.post("/v1/jobs", content=b"raw", headers=service.headers())
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]["message"]
    r = service.upload(face_clip, fps="fast")
    assert r.status_code == 422 and "fps" in r.json()["error"]["message"]
    r = service.upload(face_clip, colour="blue")
    assert r.status_code == 422 and "unknown form field(s) colour" in r.json()["error"]["message"]
    r = service.upload(face_clip, callback_url="ftp://example.org/x")
    assert r.status_code == 422 and "callback_url" in r.json()["error"]["message"]
    r = service.upload(face_clip, metadata="[1, 2]")
    assert r.status_code == 422 and "JSON object" in r.json()["error"]["message"]
    assert not list((service.settings.data_dir / "jobs").iterdir())  # nothing left behind


def test_too_large_upload_gets_413(tmp_path: Path, face_clip: Path) -> None:
    for svc in make_service(tmp_path, max_upload_mb=0.01):
        r = svc.upload(face_clip)
        assert r.status_code == 413 and r.json()["error"]["type"] == "too_large"
        assert "AFFECTLINE_MAX_UPLOAD_MB" in r.json()["error"]["message"]
        assert not list((svc.settings.data_dir / "jobs").iterdir())


def test_create_list_cancel_delete(service: Service, face_clip: Path) -> None:
    r = service.upload(face_clip, modalities="face", fps="2", metadata='{"respondent": "p7"}',
                       headers={"Idempotency-Key": "abc"})  # fmt: skip
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "queued" and job["filename"] == "face.mp4"
    assert job["options"]["modalities"] == ["face"] and job["options"]["fps"] == 2.0
    assert job["metadata"] == {"respondent": "p7"}
    assert job["media"] == {"container": "mov,mp4,m4a,3gp,3g2,mj2", "video": True,
                            "duration": pytest.approx(3.0, abs=0.1), "audio": True,
                            "still": False}  # fmt: skip
    assert job["media_kept"] and job["links"]["media"]
    again = service.upload(face_clip, headers={"Idempotency-Key": "abc"})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    ids = [service.upload(face_clip).json()["id"] for _ in range(3)]
    page = service.client.get("/v1/jobs?limit=2", headers=service.headers()).json()
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2] and page["next_cursor"]
    rest = service.client.get(f"/v1/jobs?limit=2&cursor={page['next_cursor']}",
                              headers=service.headers()).json()  # fmt: skip
    assert [j["id"] for j in rest["jobs"]] == [ids[0], job["id"]] and rest["next_cursor"] is None
    bad = service.client.get("/v1/jobs?cursor=nonsense", headers=service.headers())
    assert bad.status_code == 422
    # another key sees none of it
    assert service.client.get("/v1/jobs", headers=service.headers(service.other_key)).json()[
        "jobs"] == []  # fmt: skip
    r = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers(service.other_key))
    assert r.status_code == 404
    r = service.client.post(f"/v1/jobs/{job['id']}/cancel", headers=service.headers())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["links"]["media"] is None  # the upload went with the cancel
    r = service.client.post(f"/v1/jobs/{job['id']}/cancel", headers=service.headers())
    assert r.status_code == 409
    queued = service.client.get("/v1/jobs?status=queued", headers=service.headers()).json()
    assert {j["id"] for j in queued["jobs"]} == set(ids)
    r = service.client.get(f"/v1/jobs/{job['id']}/result", headers=service.headers())
    assert r.status_code == 409 and "cancelled" in r.json()["error"]["message"]
    r = service.client.delete(f"/v1/jobs/{ids[0]}", headers=service.headers())
    assert r.status_code == 204
    assert service.client.get(f"/v1/jobs/{ids[0]}", headers=service.headers()).status_code == 404
    assert not (service.settings.data_dir / "jobs" / ids[0]).exists()


def test_full_queue_answers_503(tmp_path: Path, face_clip: Path) -> None:
    for svc in make_service(tmp_path, max_queue=1):
        assert svc.upload(face_clip).status_code == 201
        r = svc.upload(face_clip)
        assert r.status_code == 503 and r.headers["Retry-After"] == "60"


class Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(Receiver.answers.pop(0) if Receiver.answers else 200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.answers, Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.mark.slow
@pytest.mark.model
def test_a_job_runs_and_its_results_and_webhook_arrive(
    service: Service, talking_clip: Path, receiver: str, shared_analyzer: Any
) -> None:
    Receiver.answers = [500]  # the first delivery fails, the retry succeeds
    job = service.upload(talking_clip, callback_url=receiver, grid_step="1").json()
    assert run(service, job["id"], shared_analyzer) == "succeeded"
    assert run(service, job["id"], shared_analyzer) is None  # a second delivery is a no-op
    done = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers()).json()
    assert done["status"] == "succeeded" and done["progress"]["percent"] == 100.0
    assert done["media"]["video"] and done["expires_at"] and done["links"]["media"] is None
    assert set(done["links"]["files"]) == {"timeline.csv", "faces.csv", "voice.csv",
                                           "transcript.csv", "report.html"}  # fmt: skip
    assert not list((service.settings.data_dir / "jobs" / job["id"] / "upload").glob("*"))
    result = service.client.get(done["links"]["result"], headers=service.headers()).json()
    assert result["fusion"]["grid_step"] == 1.0 and result["source"] == "talking.mp4"
    csv = service.client.get(done["links"]["files"]["timeline.csv"], headers=service.headers())
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("source,start,end,evidence")
    # webhook: first attempt got 500 and a retry is scheduled
    ((headers, body),) = Receiver.received
    assert webhooks.verify(service.secret, body, headers["Affectline-Signature"])
    assert json.loads(body)["event"] == "job.succeeded"
    deliveries = done["webhook"]["deliveries"]
    assert deliveries[0]["status_code"] == 500 and deliveries[0]["next_attempt_at"]
    with service.ctx.sessions() as s:  # make the retry due now
        s.get(Job, job["id"]).deliveries[0].next_attempt_at = utcnow()  # type: ignore[union-attr]
        s.commit()
    Housekeeper(service.ctx).round()
    done = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers()).json()
    attempts = [(d["attempt"], d["ok"]) for d in done["webhook"]["deliveries"]]
    assert attempts == [(1, False), (2, True)]
    assert done["webhook"]["deliveries"][0]["next_attempt_at"] is None
    send_webhook(service.ctx, job["id"])  # delivered already: nothing more is sent
    assert len(Receiver.received) == 2


@pytest.mark.slow
@pytest.mark.model
def test_kept_media_plays_through_a_link(
    service: Service, face_clip: Path, shared_analyzer: Any
) -> None:
    job = service.upload(face_clip, keep_media="true", modalities="face").json()
    assert run(service, job["id"], shared_analyzer) == "succeeded"
    done = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers()).json()
    assert done["media_kept"] and done["links"]["media"]
    link = service.client.post(f"/v1/jobs/{job['id']}/media-link",
                               headers=service.headers()).json()  # fmt: skip
    part = service.client.get(link["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-type"] == "video/mp4"
    result = service.client.get(done["links"]["result"], headers=service.headers()).json()
    assert result["media"]["path"] == "face.mp4"  # no server path in results
    assert service.client.get(link["url"] + "x").status_code == 403
    other = service.client.post(f"/v1/jobs/{job['id']}/media-link",
                                headers=service.headers(service.other_key))  # fmt: skip
    assert other.status_code == 404


@pytest.mark.model
def test_a_failing_analysis_fails_the_job_with_its_reason(
    service: Service, speech_wav: Path, shared_analyzer: Any
) -> None:
    job = service.upload(speech_wav, modalities="face").json()
    assert run(service, job["id"], shared_analyzer) == "failed"
    done = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers()).json()
    assert done["error"]["type"] == "MissingStreamError"
    assert "no video" in done["error"]["message"]
    assert done["links"]["result"] is None


def test_abandoned_jobs_go_back_to_the_queue_and_a_stale_worker_writes_nothing(
    service: Service, face_clip: Path
) -> None:
    job_id = service.upload(face_clip).json()["id"]
    with service.ctx.sessions() as s:
        assert store.claim(s, job_id, "old-host:1")
        s.get(Job, job_id).heartbeat_at = utcnow() - timedelta(minutes=5)  # type: ignore[union-attr]
        s.commit()
    Housekeeper(service.ctx).round()
    with service.ctx.sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == "queued" and job.worker is None
        assert store.claim(s, job_id, "new-host:2")
        # the old worker comes back and tries to finish: refused, nothing written
        assert not store.finish(s, job_id, "old-host:1", "succeeded", result_dir="/x",
                                retention=timedelta(days=1))  # fmt: skip
        assert store.finish(s, job_id, "new-host:2", "failed", error=("E", "m"),
                            retention=timedelta(days=1))  # fmt: skip


def test_a_dead_local_worker_gives_its_job_back_at_once(service: Service, face_clip: Path) -> None:
    import socket
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    job_id = service.upload(face_clip).json()["id"]
    with service.ctx.sessions() as s:
        assert store.claim(s, job_id, f"{socket.gethostname()}:{dead.pid}")
    Housekeeper(service.ctx).round()
    with service.ctx.sessions() as s:
        assert s.get(Job, job_id).status == "queued"  # type: ignore[union-attr]


def test_expired_results_are_deleted(service: Service, face_clip: Path) -> None:
    job_id = service.upload(face_clip).json()["id"]
    service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers())
    with service.ctx.sessions() as s:
        s.get(Job, job_id).expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
        s.commit()
    Housekeeper(service.ctx).round()
    assert service.client.get(f"/v1/jobs/{job_id}", headers=service.headers()).status_code == 404
    assert not (service.settings.data_dir / "jobs" / job_id).exists()


@pytest.mark.slow
@pytest.mark.model
def test_cancelling_a_running_job_stops_it_and_leaves_no_result(
    service: Service, talking_clip: Path, shared_analyzer: Any
) -> None:
    job_id = service.upload(talking_clip).json()["id"]
    outcome: list[str | None] = []
    worker = threading.Thread(target=lambda: outcome.append(run(service, job_id,
                                                               shared_analyzer)))  # fmt: skip
    worker.start()
    deadline = time.monotonic() + 60
    while service.client.get(f"/v1/jobs/{job_id}", headers=service.headers()).json()[
            "progress"]["percent"] <= 0 and time.monotonic() < deadline:  # fmt: skip
        time.sleep(0.05)
    r = service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    worker.join(60)
    assert outcome == [None]  # the worker noticed and stopped
    job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers()).json()
    assert job["status"] == "cancelled" and job["links"]["result"] is None
    folder = service.settings.data_dir / "jobs" / job_id
    assert not [p for p in folder.iterdir() if p.name.startswith("results")]


@pytest.mark.slow
@pytest.mark.model
def test_a_supplied_transcript_replaces_speech_recognition(
    service: Service, speech_wav: Path, tmp_path: Path, shared_analyzer: Any
) -> None:
    srt = tmp_path / "words.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:03,000\nWhat a wonderful surprise.\n")
    with speech_wav.open("rb") as f, srt.open("rb") as t:
        parts = {"file": ("speech.wav", f), "transcript": ("words.srt", t)}
        r = service.client.post("/v1/jobs", headers=service.headers(), files=parts)
    job = r.json()
    assert r.status_code == 201 and job["options"]["transcript"] is True
    assert run(service, job["id"], shared_analyzer) == "succeeded"
    result = service.client.get(f"/v1/jobs/{job['id']}/result", headers=service.headers()).json()
    assert result["text"]["source"] == "srt"
    assert result["text"]["utterances"][0]["text"] == "What a wonderful surprise."


def test_jobs_whose_message_was_lost_are_sent_again(service: Service, face_clip: Path) -> None:
    job_id = service.upload(face_clip).json()["id"]
    sent: list[str] = []
    keeper = Housekeeper(service.ctx, sent.append)
    keeper.round()
    assert sent == []  # just queued: its message is still on its way
    with service.ctx.sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.created_at = utcnow() - timedelta(minutes=5)
        s.commit()
    keeper.round()
    keeper.round()
    assert sent == [job_id]  # once per lease, not every round


def test_media_links_are_signed_with_a_random_secret(service: Service) -> None:
    key = service.settings.data_dir / "media-link.key"
    assert len(key.read_bytes()) == 32 and oct(key.stat().st_mode & 0o777) == "0o600"

"""Load on the HTTP API: N recordings uploaded at once, each analysed to the end.

Usage::

    python bench/api_load.py [FILE ...] [-n 8] [--big-mb 500] [--url URL --key KEY]

Without ``--url`` it starts ``affectline serve`` on a free port with a fresh data folder (SQLite,
in-process workers, one per core) and creates a key. Each of the ``-n`` uploads sends one of the
FILEs (default: the GRID clip beside the project) in its own thread; the bench then waits for
every job to end. ``--big-mb`` also uploads that many megabytes of random bytes (refused as not
media, after being streamed to disk) to show that the server's memory does not follow the
upload's size.

Prints one JSON line: uploads, upload latency and job latency percentiles (seconds), throughput
(jobs per minute, upload MB/s), how many jobs succeeded, the server process's peak resident
memory before and after the uploads, and the same around the big upload.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT.parent / "shared/data/media/grid_s2_swwp2s.mpg"
BIN = Path(sys.executable).parent / "affectline"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[min(len(v) - 1, int(round(p * (len(v) - 1))))], 3)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(v[-1], 3)}


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    env = {**os.environ, "AFFECTLINE_DATA_DIR": str(folder), "AFFECTLINE_PORT": str(port),
           "GLOG_minloglevel": "2"}  # fmt: skip
    out = subprocess.run([str(BIN), "keys", "create", "--name", "load"], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("key:"))
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=log, stderr=log,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url, key
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("the server did not start; see " + str(folder / "server.log"))


def upload(url: str, key: str, path: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(f"{url}/v1/jobs", files={"file": (path.name, f)},
                       headers={"Authorization": f"Bearer {key}"}, timeout=600)  # fmt: skip
    return time.perf_counter() - started, r.json() | {"_status": r.status_code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="*", help="Recordings to upload.")
    parser.add_argument("-n", type=int, default=8, help="Uploads at once.")
    parser.add_argument("--big-mb", type=int, default=0, help="Also upload this many MB of noise.")
    parser.add_argument("--url", help="A running server (default: start one).")
    parser.add_argument("--key", help="API key for --url.")
    args = parser.parse_args()
    files = args.files or [GRID]
    for f in files:
        if not f.is_file():
            raise SystemExit(f"{f}: no such file; give recordings to upload")

    with tempfile.TemporaryDirectory() as tmp:
        proc = None
        if args.url:
            url, key = args.url.rstrip("/"), args.key or ""
        else:
            proc, url, key = start_server(Path(tmp))
        try:
            rss_before = peak_rss_mb(proc.pid) if proc else float("nan")
            results: list[tuple[float, dict[str, Any], float]] = []
            lock = threading.Lock()

            def one(i: int) -> None:
                sent = time.perf_counter()
                latency, job = upload(url, key, files[i % len(files)])
                with lock:
                    results.append((latency, job, sent))

            started = time.perf_counter()
            threads = [threading.Thread(target=one, args=(i,)) for i in range(args.n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            uploaded = time.perf_counter()
            ended: dict[str, tuple[str, float]] = {}
            pending = {job["id"]: sent for _, job, sent in results if "id" in job}
            while pending and time.perf_counter() - started < 3600:
                for job_id, sent in list(pending.items()):
                    job = httpx.get(f"{url}/v1/jobs/{job_id}",
                                    headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
                    if job["status"] in ("succeeded", "failed", "cancelled"):
                        ended[job_id] = (job["status"], time.perf_counter() - sent)
                        del pending[job_id]
                time.sleep(0.5)
            finished = time.perf_counter()
            rss_after = peak_rss_mb(proc.pid) if proc else float("nan")
            big: dict[str, Any] = {}
            if args.big_mb:
                noise = Path(tmp) / "noise.bin"
                with noise.open("wb") as f:
                    block = os.urandom(1 << 20)
                    for _ in range(args.big_mb):
                        f.write(block)
                before = peak_rss_mb(proc.pid) if proc else float("nan")
                latency, answer = upload(url, key, noise)
                big = {"mb": args.big_mb, "status": answer["_status"],
                       "seconds": round(latency, 2),
                       "server_peak_rss_mb_before": round(before),
                       "server_peak_rss_mb_after": round(peak_rss_mb(proc.pid)) if proc
                       else None}  # fmt: skip
        finally:
            if proc is not None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)

    sizes = sum(files[i % len(files)].stat().st_size for i in range(args.n))
    print(json.dumps({
        "uploads": args.n,
        "files": [str(f) for f in files],
        "upload_seconds": percentiles([lat for lat, _, _ in results]),
        "upload_mb_per_s": round(sizes / 1e6 / (uploaded - started), 2),
        "job_seconds": percentiles([s for _, s in ended.values()]),
        "succeeded": sum(1 for st, _ in ended.values() if st == "succeeded"),
        "refused": sum(1 for _, job, _ in results if "id" not in job),
        "jobs_per_minute": round(len(ended) / (finished - started) * 60, 2),
        "wall_seconds": round(finished - started, 1),
        "server_peak_rss_mb": {"before": round(rss_before), "after": round(rss_after)},
        "big_upload": big or None,
    }))  # fmt: skip


if __name__ == "__main__":
    main()

"""The web page end to end: ``affectline serve`` on a real socket, Chromium, a real recording.

The server runs as a subprocess on a fresh data folder (SQLite store, uploads, results) with one
in-process worker, so the job goes through the real pipeline. The browser may reach the server
only: every other request is aborted and recorded, and the tests fail if there was one, or any
console error or uncaught page error. Screenshots go to /tmp/web-*.png for a look by eye.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (Debian: "
                       "apt-get install chromium)"),
]  # fmt: skip
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
READY_TIMEOUT = 90.0
JOB_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOTS = Path("/tmp")

# The page records what it shows while a job is followed: upload progress values, and each job
# row's statuses and progress stages, in the order they appeared.
RECORDER = """() => {
  window.__seen = {upload: [], status: {}, stages: []};
  const note = (node) => {
    if (!(node instanceof Element)) return;
    const rows = node.matches('[data-testid=job-row]') ? [node]
      : Array.from(node.querySelectorAll('[data-testid=job-row]'));
    for (const row of rows) {
      const list = window.__seen.status[row.dataset.jobId] ||= [];
      if (list[list.length - 1] !== row.dataset.status) list.push(row.dataset.status);
    }
    const bars = node.matches('[data-testid=job-progress]') ? [node]
      : Array.from(node.querySelectorAll('[data-testid=job-progress]'));
    for (const bar of bars) window.__seen.stages.push([bar.dataset.stage, Number(bar.value)]);
    if (node.matches('[data-testid=upload-progress]')) {
      window.__seen.upload.push(Number(node.value));
    }
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target.closest('[data-testid=job-row]') || r.target);
      for (const n of r.addedNodes || []) note(n);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['data-status', 'value']});
}"""

DROP = """([name, type, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type}));
  const zone = document.querySelector('[data-testid=drop-zone]');
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(kind, {dataTransfer: data, bubbles: true, cancelable: true}));
  }
}"""

# Pixels a chart's canvases have painted (not transparent, not white), and how many colours.
CANVAS_INK = """(holder) => {
  let painted = 0;
  const colours = new Set();
  for (const canvas of holder.querySelectorAll('canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) {
        painted += 1;
        colours.add((data[i] >> 4) + ',' + (data[i + 1] >> 4) + ',' + (data[i + 2] >> 4));
      }
    }
  }
  return {painted, colours: colours.size};
}"""


# ---------------------------------------------------------------- the server


@dataclass
class Server:
    url: str
    key: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30)


def _affectline() -> str:
    exe = Path(sys.executable).with_name("affectline")
    if exe.exists():
        return str(exe)
    found = shutil.which("affectline")
    if found is None:
        pytest.skip("the affectline command is not installed (pip install -e .)")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down and stops its workers), then SIGKILL the whole group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # worker processes left behind, if any
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(STOP_TIMEOUT)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    exe = _affectline()
    data = tmp_path_factory.mktemp("affectline-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTLINE_")}
    env.update(AFFECTLINE_DATA_DIR=str(data), AFFECTLINE_WORKERS="1", PYTHONUNBUFFERED="1")
    made = subprocess.run([exe, "keys", "create", "--name", "e2e"], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert made.returncode == 0, made.stderr
    found = re.search(r"^key:\s+(\S+)\s*$", made.stdout, re.M)
    assert found, f"no key in the output of 'affectline keys create':\n{made.stdout}"

    port = _free_port()
    log = data / "server.log"
    command = [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    setpriv = shutil.which("setpriv")
    if setpriv:  # the server dies with the test process, even when that is killed
        command = [setpriv, "--pdeathsig", "TERM", *command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"affectline serve ended with {process.returncode}:\n"
                            f"{log.read_text(errors='replace')[-4000:]}")  # fmt: skip
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"affectline serve did not answer /healthz in {READY_TIMEOUT:g} s:\n"
                            f"{log.read_text(errors='replace')[-4000:]}")  # fmt: skip
            time.sleep(0.25)
        yield Server(url, found.group(1), process, log)
    finally:
        _stop(process)


# ---------------------------------------------------------------- the browser


@dataclass
class Watch:
    """What the page did that it should not: console errors, page errors, foreign requests."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def check(self, allowed_console: str | None = None) -> None:
        console = [
            m for m in self.console if not (allowed_console and re.search(allowed_console, m))
        ]
        assert not self.foreign, f"requests beyond the server: {self.foreign}"
        assert not self.errors, f"uncaught errors in the page: {self.errors}"
        assert not console, f"console errors: {console}"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("blob", "data") or parts.hostname in LOCAL_HOSTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    watch = Watch()
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True, service_workers="block")  # fmt: skip

    def refuse(route: Any) -> None:
        watch.foreign.append(route.request.url)
        route.abort()

    context.route(lambda url: not _is_local(url), refuse)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.on("console", lambda m: watch.console.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    pg.on("request", lambda r: None if _is_local(r.url) else watch.foreign.append(r.url))
    pg.on("dialog", lambda d: d.accept())
    try:
        yield pg, watch
    finally:
        context.close()


def _enter_key(pg: Any, key: str) -> None:
    pg.wait_for_selector("[data-testid=key-form]", state="visible")
    pg.get_by_label("API key").fill(key)
    pg.get_by_role("button", name="Use this key").click()


def _screenshot(pg: Any, name: str) -> None:
    """A full-page picture to look at (from the top, so the sticky player sits in place)."""
    pg.evaluate("window.scrollTo(0, 0)")
    pg.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _seek_and_check(pg: Any, target: Any, expected: float, kind: str = "video") -> None:
    """Click ``target`` and see the player move to ``expected`` seconds."""
    player = pg.locator(f"{kind}[data-testid=player]")
    pg.wait_for_function("p => p.readyState >= 1", arg=player.element_handle())
    player.evaluate("p => { p.pause(); p.currentTime = 0.05; }")
    target.click()
    pg.wait_for_function(
        "([p, t]) => Math.abs(p.currentTime - t) < 0.3", arg=[player.element_handle(), expected]
    )


# ---------------------------------------------------------------- tests


def test_a_wrong_key_shows_the_key_form_with_an_error(server: Server, page: Any) -> None:
    pg, watch = page
    pg.goto(server.url + "/")
    _enter_key(pg, "afl_not_a_real_key")
    error = pg.get_by_test_id("key-error")
    error.wait_for(state="visible")
    assert "did not accept" in error.inner_text()
    assert "unknown or revoked" in error.inner_text()  # the server's own message
    assert pg.get_by_test_id("key-form").is_visible()
    assert not pg.get_by_test_id("drop-zone").is_visible()
    assert pg.evaluate("localStorage.getItem('affectline.apiKey')") is None
    _screenshot(pg, "web-key-error.png")

    # The right key is kept across reloads until "Forget key".
    _enter_key(pg, server.key)
    pg.get_by_test_id("drop-zone").wait_for(state="visible")
    assert not error.is_visible()
    pg.reload()
    pg.get_by_test_id("drop-zone").wait_for(state="visible")
    assert pg.evaluate("localStorage.getItem('affectline.apiKey')") == server.key
    pg.get_by_test_id("forget-key").click()
    pg.get_by_test_id("key-form").wait_for(state="visible")
    assert pg.evaluate("localStorage.getItem('affectline.apiKey')") is None
    # Chromium logs the 401 answer itself; nothing else may show up.
    watch.check(allowed_console=r"status of 401 \(Unauthorized\)")


@pytest.mark.model
def test_upload_follow_open_play_download_delete(
    server: Server, page: Any, talking_clip: Path
) -> None:
    pg, watch = page
    pg.goto(server.url + "/")
    _enter_key(pg, server.key)
    pg.get_by_test_id("drop-zone").wait_for(state="visible")
    pg.get_by_test_id("jobs-empty").wait_for(state="visible")
    assert "deleted after analysis unless you keep it" in pg.locator("main").inner_text()

    # A file that is not media is refused with the API's own message.
    pg.evaluate(DROP, ["notes.mp4", "video/mp4", "these are not the frames you are looking for"])
    refused = pg.get_by_test_id("upload-error")
    refused.wait_for(state="visible")
    assert "HTTP 415" in refused.inner_text()
    assert "notes.mp4" in refused.inner_text()

    # Upload the recording (kept, so that the player streams it from the server).
    pg.evaluate(RECORDER)
    keep = pg.get_by_label("Keep the recording on the server")
    assert not keep.is_checked()  # privacy default
    keep.check()
    pg.get_by_test_id("file-input").set_input_files(str(talking_clip))
    item = pg.locator("[data-testid=upload-item][data-state=done]")
    item.wait_for(state="visible")
    assert item.get_by_test_id("upload-progress").evaluate("p => p.value") == 100

    row = pg.locator("[data-testid=job-row]", has_text=talking_clip.name)
    row.wait_for(state="visible")
    job_id = row.get_attribute("data-job-id")
    assert job_id and re.fullmatch(r"[0-9a-f]{32}", job_id)
    pg.wait_for_selector(
        f"[data-testid=job-row][data-job-id='{job_id}'][data-status=running]",
        timeout=JOB_TIMEOUT * 1000,
    )
    _screenshot(pg, "web-running.png")
    pg.wait_for_selector(
        f"[data-testid=job-row][data-job-id='{job_id}'][data-status=succeeded]",
        timeout=JOB_TIMEOUT * 1000,
    )
    seen = pg.evaluate("window.__seen")
    assert seen["upload"] and max(seen["upload"]) == 100
    statuses = seen["status"][job_id]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", statuses
    assert "running" in statuses, statuses
    stages = {stage for stage, _ in seen["stages"]}
    assert stages & {"face", "speech", "fusion", "write"}, f"no stage shown while running: {seen}"
    assert not pg.get_by_test_id("job-progress").count()  # nothing active: no bars
    _screenshot(pg, "web-jobs.png")

    # Polling stops once nothing is queued or running.
    calls: list[str] = []
    pg.on("request", lambda r: calls.append(r.url) if "/v1/jobs" in r.url else None)
    pg.wait_for_timeout(3500)
    assert not calls, f"the page still polls with no active job: {calls}"

    # The result, by its bookmarkable route.
    row.get_by_test_id("job-open").click()
    pg.wait_for_url(f"**/#/jobs/{job_id}")
    view = pg.get_by_test_id("result-view")
    view.wait_for(state="visible")
    _check_result(pg, job_id, server.api("GET", f"/v1/jobs/{job_id}/result").json())
    _screenshot(pg, "web-result.png")

    # Downloads carry the key (fetch, blob, object URL).
    with pg.expect_download() as download:
        pg.get_by_test_id("download-timeline.csv").click()
    assert download.value.suggested_filename.endswith("timeline.csv")
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header.startswith("source,start,end,evidence")
    with pg.expect_download() as download:
        pg.get_by_test_id("download-result.json").click()
    doc = json.loads(Path(download.value.path()).read_text())
    assert doc["fusion"]["timeline"]["start"]

    # Reloading the route shows the same result again.
    pg.reload()
    pg.get_by_test_id("chart-emotions").and_(pg.locator("[data-drawn='1']")).wait_for()
    assert pg.get_by_test_id("result-title").inner_text() == talking_clip.name
    pg.locator("video[data-testid=player][data-origin=server]").wait_for()

    # Back to the list, delete the job (with the confirmation), and it is gone everywhere.
    pg.get_by_role("link", name="All jobs").click()
    row.wait_for(state="visible")
    row.get_by_test_id("job-delete").click()
    row.wait_for(state="detached")
    pg.get_by_test_id("jobs-empty").wait_for(state="visible")
    assert server.api("GET", f"/v1/jobs/{job_id}").status_code == 404
    # Chromium logs the refused upload's 415 answer itself; nothing else may show up.
    watch.check(allowed_console=r"status of 415 \(Unsupported Media Type\)")


@pytest.mark.model
def test_a_deleted_recording_plays_from_this_computer(
    server: Server, page: Any, speech_wav: Path
) -> None:
    """Privacy default: the upload is deleted after analysis; the page plays a local copy."""
    pg, watch = page
    pg.goto(server.url + "/")
    _enter_key(pg, server.key)
    pg.get_by_test_id("file-input").set_input_files(str(speech_wav))
    row = pg.locator("[data-testid=job-row]", has_text=speech_wav.name)
    row.wait_for(state="visible")
    job_id = row.get_attribute("data-job-id")
    pg.wait_for_selector(
        f"[data-testid=job-row][data-job-id='{job_id}'][data-status=succeeded]",
        timeout=JOB_TIMEOUT * 1000,
    )
    job = server.api("GET", f"/v1/jobs/{job_id}").json()
    assert job["links"].get("media") is None and not job["media_kept"]
    assert server.api("POST", f"/v1/jobs/{job_id}/media-link").status_code == 404

    # In the browser session that uploaded it, the page plays the file it sent.
    row.get_by_test_id("job-open").click()
    audio = pg.locator("audio[data-testid=player]")
    audio.wait_for()
    assert audio.get_attribute("data-origin") == "session"
    assert audio.evaluate("a => a.src").startswith("blob:")
    pg.wait_for_selector("[data-testid=chart-emotions][data-drawn='1']")
    item = pg.get_by_test_id("transcript-item").last
    _seek_and_check(pg, item, float(item.get_attribute("data-start") or "nan"), "audio")
    moments = pg.get_by_test_id("moment")
    assert moments.count(), "the analysis of the sad second sentence found no key moment"
    moment = moments.first
    at = float(moment.get_attribute("data-start") or "nan")
    _seek_and_check(pg, moment.get_by_test_id("moment-seek"), at, "audio")
    assert moment.locator(".description").inner_text()

    # After a reload the page no longer has the file: it asks for it, and never uploads it.
    pg.reload()
    deleted = pg.get_by_test_id("media-deleted")
    deleted.wait_for(state="visible")
    assert "The recording was deleted after analysis (privacy default)" in deleted.inner_text()
    uploads: list[str] = []
    pg.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    pg.get_by_test_id("local-media-input").set_input_files(str(speech_wav))
    audio.wait_for()
    assert audio.get_attribute("data-origin") == "local"
    item = pg.get_by_test_id("transcript-item").first
    _seek_and_check(pg, item, float(item.get_attribute("data-start") or "nan"), "audio")
    assert not uploads
    _screenshot(pg, "web-result-audio.png")

    pg.get_by_role("link", name="All jobs").click()
    row.get_by_test_id("job-delete").click()
    row.wait_for(state="detached")
    watch.check()


def _check_result(pg: Any, job_id: str, doc: dict[str, Any]) -> None:
    # Indicators, not diagnoses: the disclaimer is on screen.
    disclaimer = pg.get_by_test_id("disclaimer")
    disclaimer.wait_for(state="visible")
    assert "not diagnoses" in disclaimer.inner_text()

    summary = pg.get_by_test_id("summary")
    assert summary.locator(".emotion-tag").count() >= 1
    assert re.search(r"valence\s*[+\u2212-]?\d", summary.inner_text())

    # Both charts are drawn, with ink on their canvases.
    for name in ("chart-emotions", "chart-affect"):
        chart = pg.get_by_test_id(name)
        pg.wait_for_selector(f"[data-testid={name}][data-drawn='1']")
        ink = chart.evaluate(CANVAS_INK)
        assert ink["painted"] > 500 and ink["colours"] >= 3, (name, ink)

    # The player streams the kept upload through a tokenised link, with range requests.
    video = pg.locator("video[data-testid=player]")
    video.wait_for()
    assert video.get_attribute("data-origin") == "server"
    assert re.search(rf"/v1/jobs/{job_id}/media\?token=", video.evaluate("v => v.src"))
    pg.wait_for_function("v => v.readyState >= 1 && v.duration > 5", arg=video.element_handle())

    # Transcript: utterances in order; choosing one seeks the player and highlights it.
    items = pg.get_by_test_id("transcript-item")
    assert items.count() >= 1
    last = items.nth(items.count() - 1)
    start = float(last.get_attribute("data-start") or "nan")
    assert start > 0
    _seek_and_check(pg, last, start)
    assert last.get_attribute("aria-current") == "true"

    # Key moments, when the recording has any, seek as well.
    moments = pg.get_by_test_id("moment")
    if moments.count():
        first = moments.first
        at = float(first.get_attribute("data-start") or "nan")
        _seek_and_check(pg, first.get_by_test_id("moment-seek"), at)

    # A click on a chart seeks to the time under the pointer; the playhead follows.
    cells = doc["fusion"]["timeline"]
    first_x = (cells["start"][0] + cells["end"][0]) / 2
    last_x = (cells["start"][-1] + cells["end"][-1]) / 2
    expected = first_x + 0.75 * (last_x - first_x)
    over = pg.locator("[data-testid=chart-emotions] .u-over")
    box = over.bounding_box()
    assert box
    video.evaluate("v => { v.pause(); v.currentTime = 0.5; }")
    over.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    pg.wait_for_function(
        "([v, t]) => Math.abs(v.currentTime - t) < 0.1", arg=[video.element_handle(), expected]
    )
    playhead = pg.locator("[data-testid=chart-emotions] .playhead")
    assert playhead.is_visible()
    assert abs(playhead.evaluate("p => parseFloat(p.style.left)") - box["width"] * 0.75) < 3

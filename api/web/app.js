/* Affectline web page: upload recordings, follow their jobs, read a result beside its player.
 *
 * Plain ES2020, no build step, nothing loaded from other sites. It talks only to the API of
 * the server that served it (docs/api.md) with the API key kept in local storage. Text from
 * the server or a result is inserted with textContent only, never as HTML.
 *
 * Routes (location hash): "#/" the upload form and job list, "#/jobs/<id>" one job's result.
 * Test hooks: data-testid on the key elements; job rows carry data-status; each chart gets
 * data-drawn="1" once uPlot has drawn it.
 */
(() => {
  "use strict";

  const KEY_STORAGE = "affectline.apiKey";
  const ACTIVE = new Set(["queued", "running"]);
  const POLL_MS = 1500;
  const PAGE_SIZE = 25;
  const MAX_SINGLE_POLLS = 10;

  /* Colours and time formats shared with the offline report (report_assets/common.js). */
  const { EMOTION_COLORS, OTHER_COLOR, MODALITY_COLORS, AFFECT_COLORS, NO_EVIDENCE_FILL } =
    window.AffectlineCommon;
  const { isNum, fmtTime, fmtClock, fmtSpan } = window.AffectlineCommon;
  const STAGE_LABELS = {
    queued: "waiting in the queue",
    starting: "starting",
    face: "faces",
    speech: "speech",
    fusion: "fusion",
    write: "writing results",
  };

  const $ = (id) => document.getElementById(id);

  const state = {
    key: readKey(),
    jobs: [],
    nextCursor: null,
    filter: "",
    pollTimer: null,
    polling: false,
    sessionFiles: new Map(), // job id -> the File uploaded from this page (for playback)
    uploadQueue: Promise.resolve(),
    view: null, // the open result view, see showResult()
  };

  /* ---------------------------------------------------------------- small helpers */

  function readKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch (e) {
      return "";
    }
  }

  function writeKey(key) {
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* Storage can be off (private windows): the key then lasts for this page only. */
    }
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function fmtNum(v, digits = 2) {
    return isNum(v) ? v.toFixed(digits) : "\u2013";
  }

  function fmtSigned(v, digits = 2) {
    return isNum(v) ? (v > 0 ? "+" : v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(digits) : "\u2013";
  }

  function fmtPct(v) {
    return isNum(v) ? Math.round(v * 100) + "%" : "\u2013";
  }

  function fmtBytes(n) {
    if (!isNum(n)) return "";
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(0) + " KB";
    if (n < 1073741824) return (n / 1048576).toFixed(1) + " MB";
    return (n / 1073741824).toFixed(2) + " GB";
  }

  function fmtDate(iso) {
    if (!iso) return "\u2013";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function emotionColor(name) {
    return EMOTION_COLORS[name] || OTHER_COLOR;
  }

  function swatch(color) {
    const s = el("span", { className: "swatch", "aria-hidden": "true" });
    s.style.backgroundColor = color;
    return s;
  }

  function emotionTag(name) {
    return el("span", { className: "tag emotion-tag", dataset: { emotion: name } }, [
      swatch(emotionColor(name)),
      name,
    ]);
  }

  function argmax(scores) {
    let best = null;
    let bestValue = -Infinity;
    for (const [k, v] of Object.entries(scores || {})) {
      if (isNum(v) && v > bestValue) {
        best = k;
        bestValue = v;
      }
    }
    return best;
  }

  /* Links from the server are used only when they are paths on this server. */
  function localPath(link) {
    return typeof link === "string" && /^\/(?!\/)/.test(link) ? link : null;
  }

  function stem(filename) {
    const name = String(filename || "recording").split(/[\\/]/).pop();
    const dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name).replace(/[^\w.-]+/g, "_") || "recording";
  }

  function announce(message) {
    const live = $("announce");
    live.textContent = "";
    /* A fresh text node makes screen readers read the same message twice in a row. */
    window.setTimeout(() => {
      live.textContent = message;
    }, 50);
  }

  function showNotice(message) {
    const box = $("notice");
    box.textContent = message;
    show(box, Boolean(message));
  }

  /* ---------------------------------------------------------------- the API */

  class ApiError extends Error {
    constructor(status, type, message, retryAfter) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.type = type;
      this.retryAfter = retryAfter;
    }
  }

  /* The API's error body is {"error": {"type", "message"}}; anything else gets a plain message. */
  function errorFromBody(status, statusText, bodyText, retryAfter) {
    let type = "http_" + status;
    let message = "";
    try {
      const body = JSON.parse(bodyText);
      if (body && body.error) {
        type = String(body.error.type || type);
        message = String(body.error.message || "");
      } else if (body && body.detail) {
        message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      }
    } catch (e) {
      /* not JSON */
    }
    if (!message) {
      message =
        status === 0
          ? "The server could not be reached. Is it running?"
          : "The server answered " + status + (statusText ? " " + statusText : "") + ".";
    }
    return new ApiError(status, type, message, retryAfter);
  }

  function describeError(e) {
    if (!(e instanceof ApiError)) return String((e && e.message) || e);
    let text = e.message;
    if (e.status) text += " (HTTP " + e.status + ")";
    if (e.status === 503 && e.retryAfter) text += " Retry in " + e.retryAfter + " s.";
    return text;
  }

  function authHeaders(extra) {
    return Object.assign({ Authorization: "Bearer " + state.key }, extra || {});
  }

  async function request(path, options) {
    const opts = options || {};
    let res;
    try {
      res = await fetch(path, {
        method: opts.method || "GET",
        headers: authHeaders(opts.headers),
        body: opts.body,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      throw errorFromBody(0, "", "", null);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      const error = errorFromBody(res.status, res.statusText, text, res.headers.get("Retry-After"));
      if (res.status === 401) unauthorized(error.message);
      throw error;
    }
    return res;
  }

  async function api(path, options) {
    const res = await request(path, options);
    if (res.status === 204) return null;
    return res.json();
  }

  /* ---------------------------------------------------------------- the key */

  function unauthorized(message) {
    state.key = "";
    writeKey("");
    stopPolling();
    showKeyForm(
      "The server did not accept this API key: " +
        (message || "unauthorized") +
        " Enter a valid key (make one with \u201caffectline keys create\u201d)."
    );
  }

  function showKeyForm(error) {
    teardownResult();
    show($("home-view"), false);
    show($("result-view"), false);
    show($("forget-key"), false);
    show($("key-view"), true);
    const box = $("key-error");
    box.textContent = error || "";
    show(box, Boolean(error));
    $("key-input").value = "";
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    state.key = key;
    writeKey(key);
    $("key-input").value = "";
    show($("key-error"), false);
    route();
  });

  $("forget-key").addEventListener("click", () => {
    state.key = "";
    writeKey("");
    stopPolling();
    state.jobs = [];
    state.nextCursor = null;
    clear($("jobs-body"));
    showKeyForm("");
  });

  /* ---------------------------------------------------------------- routing */

  function route() {
    showNotice("");
    if (!state.key) {
      showKeyForm("");
      return;
    }
    show($("key-view"), false);
    show($("forget-key"), true);
    const match = /^#\/jobs\/([A-Za-z0-9_-]{1,64})\/?$/.exec(location.hash);
    if (match) showResult(match[1]);
    else showHome();
  }

  window.addEventListener("hashchange", route);

  /* ---------------------------------------------------------------- uploads */

  function uploadOptions(count) {
    const modalities = Array.from(document.querySelectorAll('input[name="modality"]'))
      .filter((box) => box.checked)
      .map((box) => box.value);
    if (!modalities.length) throw new Error("Choose at least one modality (face, voice or text).");
    const fps = $("opt-fps").value.trim();
    const grid = $("opt-grid").value.trim();
    if (fps && !(Number(fps) >= 0)) throw new Error("Frames per second must be a number, 0 or more.");
    if (grid && !(Number(grid) > 0)) throw new Error("The timeline step must be a number above 0.");
    const transcript = $("opt-transcript").files[0] || null;
    if (transcript && count > 1) {
      throw new Error(
        "A transcript belongs to one recording: upload one file at a time when you add a transcript."
      );
    }
    const callback = $("opt-callback").value.trim();
    if (callback && !/^https?:\/\//i.test(callback)) {
      throw new Error("The callback URL must start with http:// or https://.");
    }
    return {
      modalities: modalities.length === 3 ? null : modalities.join(","),
      fps,
      grid,
      transcript,
      callback,
      keep: $("opt-keep").checked,
    };
  }

  function startUploads(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    let opts;
    try {
      opts = uploadOptions(files.length);
    } catch (e) {
      const item = el("li", { className: "upload failed", dataset: { testid: "upload-item" } }, [
        el("span", { className: "upload-status error-text", text: e.message, dataset: { testid: "upload-error" } }),
      ]);
      $("uploads").prepend(item);
      return;
    }
    for (const file of files) {
      const item = uploadItem(file);
      state.uploadQueue = state.uploadQueue.then(() => uploadOne(file, opts, item));
    }
  }

  function uploadItem(file) {
    const bar = el("progress", {
      max: "100",
      value: "0",
      "aria-label": "Upload of " + file.name,
      dataset: { testid: "upload-progress" },
    });
    const status = el("span", { className: "upload-status", text: "Waiting to upload\u2026", dataset: { testid: "upload-status" } });
    const stop = el("button", { type: "button", className: "quiet small", text: "Stop" });
    const item = el("li", { className: "upload", dataset: { testid: "upload-item", state: "waiting" } }, [
      el("span", { className: "upload-name", text: file.name }),
      el("span", { className: "upload-size", text: fmtBytes(file.size) }),
      bar,
      el("span", { className: "upload-msg" }, [status]),
      stop,
    ]);
    item.affectline = { bar, status, stop, xhr: null, stopped: false };
    stop.addEventListener("click", () => {
      item.affectline.stopped = true;
      if (item.affectline.xhr) item.affectline.xhr.abort();
      else finishItem(item, "stopped", "Stopped before upload.");
    });
    $("uploads").prepend(item);
    return item;
  }

  function finishItem(item, outcome, message, job) {
    const parts = item.affectline;
    item.dataset.state = outcome;
    item.classList.add(outcome);
    parts.status.textContent = message;
    if (outcome === "failed") parts.status.dataset.testid = "upload-error";
    const dismiss = el("button", { type: "button", className: "quiet small", text: "Dismiss" });
    dismiss.setAttribute("aria-label", "Dismiss " + (item.querySelector(".upload-name") || {}).textContent);
    dismiss.addEventListener("click", () => item.remove());
    parts.stop.replaceWith(dismiss);
    if (job) {
      const open = el("a", { href: "#/jobs/" + encodeURIComponent(job.id), className: "small-link", text: "open" });
      open.setAttribute("aria-label", "Open the job of " + job.filename);
      parts.status.after(" ", open);
    }
  }

  function uploadOne(file, opts, item) {
    if (item.affectline.stopped) return Promise.resolve();
    if (!state.key) {
      finishItem(item, "failed", "Not sent: enter your API key first.");
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const form = new FormData();
      form.append("file", file, file.name);
      if (opts.modalities) form.append("modalities", opts.modalities);
      if (opts.fps) form.append("fps", opts.fps);
      if (opts.grid) form.append("grid_step", opts.grid);
      if (opts.transcript) form.append("transcript", opts.transcript, opts.transcript.name);
      if (opts.callback) form.append("callback_url", opts.callback);
      form.append("keep_media", opts.keep ? "true" : "false");

      const xhr = new XMLHttpRequest();
      const parts = item.affectline;
      parts.xhr = xhr;
      item.dataset.state = "uploading";
      parts.status.textContent = "Uploading\u2026";
      xhr.open("POST", "/v1/jobs");
      xhr.setRequestHeader("Authorization", "Bearer " + state.key);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const pct = (event.loaded / event.total) * 100;
        parts.bar.value = pct;
        parts.status.textContent =
          "Uploading " + Math.floor(pct) + "% of " + fmtBytes(event.total);
      });
      xhr.addEventListener("load", () => {
        parts.xhr = null;
        if (xhr.status === 200 || xhr.status === 201) {
          let job = null;
          try {
            job = JSON.parse(xhr.responseText);
          } catch (e) {
            finishItem(item, "failed", "The server's answer was not JSON.");
            resolve();
            return;
          }
          parts.bar.value = 100;
          state.sessionFiles.set(job.id, file);
          finishItem(
            item,
            "done",
            (xhr.status === 200 ? "Already uploaded (same request)" : "Uploaded") +
              "; the analysis is " + job.status + ". Follow it in the job list.",
            job
          );
          addJob(job);
          announce(file.name + " uploaded; analysis " + job.status + ".");
        } else {
          const error = errorFromBody(
            xhr.status,
            xhr.statusText,
            xhr.responseText,
            xhr.getResponseHeader("Retry-After")
          );
          finishItem(item, "failed", "Not uploaded: " + describeError(error));
          if (xhr.status === 401) unauthorized(error.message);
        }
        resolve();
      });
      xhr.addEventListener("error", () => {
        parts.xhr = null;
        finishItem(item, "failed", "Not uploaded: the connection failed. Is the server running?");
        resolve();
      });
      xhr.addEventListener("abort", () => {
        parts.xhr = null;
        finishItem(item, "stopped", "Upload stopped.");
        resolve();
      });
      xhr.send(form);
    });
  }

  const zone = $("drop-zone");
  let dragDepth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    dragDepth += 1;
    zone.classList.add("over");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) zone.classList.remove("over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    zone.classList.remove("over");
    if (event.dataTransfer) startUploads(event.dataTransfer.files);
  });
  /* A file dropped beside the zone must not make the browser leave the page to open it. */
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  $("file-input").addEventListener("change", (event) => {
    startUploads(event.target.files);
    event.target.value = "";
  });

  /* ---------------------------------------------------------------- the job list */

  function showHome() {
    teardownResult();
    show($("result-view"), false);
    show($("home-view"), true);
    document.title = "Affectline";
    loadJobs(true);
  }

  function jobsError(e) {
    const box = $("jobs-error");
    box.textContent = e ? describeError(e) : "";
    show(box, Boolean(e));
  }

  async function loadJobs(reset) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.filter) params.set("status", state.filter);
    if (!reset && state.nextCursor) params.set("cursor", state.nextCursor);
    let page;
    try {
      page = await api("/v1/jobs?" + params.toString());
    } catch (e) {
      if (e.status !== 401) jobsError(e);
      return;
    }
    jobsError(null);
    const jobs = Array.isArray(page.jobs) ? page.jobs : [];
    if (reset) {
      state.jobs = jobs;
    } else {
      const known = new Set(state.jobs.map((j) => j.id));
      state.jobs = state.jobs.concat(jobs.filter((j) => !known.has(j.id)));
    }
    state.nextCursor = page.next_cursor || null;
    renderJobs();
    schedulePoll();
  }

  function addJob(job) {
    if (state.filter && job.status !== state.filter) {
      schedulePoll();
      return;
    }
    const i = state.jobs.findIndex((j) => j.id === job.id);
    if (i >= 0) state.jobs[i] = job;
    else state.jobs.unshift(job);
    renderJobs();
    schedulePoll();
  }

  function replaceJob(job) {
    const i = state.jobs.findIndex((j) => j.id === job.id);
    if (i >= 0) state.jobs[i] = job;
  }

  function removeJob(id) {
    state.jobs = state.jobs.filter((j) => j.id !== id);
    state.sessionFiles.delete(id);
  }

  function stopPolling() {
    if (state.pollTimer) window.clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  function schedulePoll() {
    if (state.pollTimer || state.polling || !state.key || $("home-view").hidden) return;
    if (!state.jobs.some((j) => ACTIVE.has(j.status))) return;
    state.pollTimer = window.setTimeout(poll, POLL_MS);
  }

  /* Refresh the first page (new jobs appear, active ones move on), and the active jobs
     further down the list one by one. Stops when no job is queued or running. */
  async function poll() {
    state.pollTimer = null;
    if (!state.key || $("home-view").hidden) return;
    state.polling = true;
    try {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (state.filter) params.set("status", state.filter);
      const page = await api("/v1/jobs?" + params.toString());
      const fresh = Array.isArray(page.jobs) ? page.jobs : [];
      const seen = new Set(fresh.map((j) => j.id));
      const before = new Map(state.jobs.map((j) => [j.id, j.status]));
      if (!page.next_cursor) {
        /* The first page is the whole list: it replaces ours, and jobs gone elsewhere go. */
        const keep = state.jobs.filter(
          (j) => !seen.has(j.id) && ACTIVE.has(j.status) && state.filter
        );
        state.jobs = fresh.concat(keep);
        state.nextCursor = null;
      } else {
        state.jobs = fresh.concat(state.jobs.filter((j) => !seen.has(j.id)));
      }
      const stale = state.jobs
        .filter((j) => ACTIVE.has(j.status) && !seen.has(j.id))
        .slice(0, MAX_SINGLE_POLLS);
      for (const job of stale) {
        try {
          replaceJob(await api("/v1/jobs/" + encodeURIComponent(job.id)));
        } catch (e) {
          if (e.status === 401) return;
          if (e.status === 404) removeJob(job.id);
        }
      }
      for (const job of state.jobs) {
        const was = before.get(job.id);
        if (was && was !== job.status && !ACTIVE.has(job.status)) {
          announce(job.filename + ": " + job.status + ".");
        }
      }
      jobsError(null);
      renderJobs();
    } catch (e) {
      if (e.status === 401) return;
      jobsError(e);
    } finally {
      state.polling = false;
    }
    schedulePoll();
  }

  function statusCell(job) {
    const cell = el("td", { className: "status-cell" }, [
      el("span", { className: "badge status-" + job.status, text: job.status, dataset: { testid: "job-status" } }),
    ]);
    if (ACTIVE.has(job.status)) {
      const p = job.progress || {};
      const pct = isNum(p.percent) ? Math.max(0, Math.min(100, p.percent)) : 0;
      const stage =
        job.status === "queued" ? "queued" : p.stage && p.stage !== "queued" ? p.stage : "starting";
      const stages = p.stages && typeof p.stages === "object" ? p.stages : {};
      const detail = Object.entries(stages)
        .map(([name, v]) => name + " " + (isNum(v) ? Math.round(v) + "%" : "\u2013"))
        .join(", ");
      const bar = el("progress", {
        max: "100",
        value: String(pct),
        "aria-label": "Progress of " + job.filename,
        title: detail || null,
        dataset: { testid: "job-progress", stage },
      });
      cell.append(
        el("div", { className: "job-progress" }, [
          bar,
          el("span", {
            className: "stage",
            text: (STAGE_LABELS[stage] || stage) + (job.status === "running" ? " \u00b7 " + Math.floor(pct) + "%" : ""),
          }),
        ])
      );
    }
    if (job.status === "failed" && job.error) {
      cell.append(
        el("p", {
          className: "job-error",
          text: (job.error.type ? job.error.type + ": " : "") + (job.error.message || ""),
          dataset: { testid: "job-error" },
        })
      );
    }
    return cell;
  }

  function actionsCell(job) {
    const cell = el("td", { className: "actions" });
    if (job.status === "succeeded") {
      cell.append(
        el("a", {
          className: "button primary small",
          href: "#/jobs/" + encodeURIComponent(job.id),
          text: "Open result",
          "aria-label": "Open the result of " + job.filename,
          dataset: { testid: "job-open" },
        })
      );
    }
    if (ACTIVE.has(job.status)) {
      const cancel = el("button", {
        type: "button",
        className: "small",
        text: "Cancel",
        "aria-label": "Cancel the analysis of " + job.filename,
        dataset: { testid: "job-cancel" },
      });
      cancel.addEventListener("click", () => cancelJob(job.id, cancel));
      cell.append(cancel);
    }
    const del = el("button", {
      type: "button",
      className: "small danger",
      text: "Delete",
      "aria-label": "Delete " + job.filename + " and its results",
      dataset: { testid: "job-delete" },
    });
    del.addEventListener("click", () => deleteJob(job.id, del));
    cell.append(del);
    return cell;
  }

  function jobRow(job) {
    const created = el("td", { className: "created", title: job.created_at || null, text: fmtDate(job.created_at) });
    const duration = el("td", {
      className: "num",
      text: job.media && isNum(job.media.duration) ? fmtTime(job.media.duration) : "\u2013",
    });
    const facts = [fmtBytes(job.size_bytes)];
    if (job.media_kept) facts.push("recording kept");
    if (job.options && job.options.transcript) facts.push("own transcript");
    const name = el("td", { className: "name" }, [
      el("span", { className: "filename", text: job.filename || job.id }),
      el("span", { className: "sub", text: facts.filter(Boolean).join(" \u00b7 ") }),
    ]);
    return [name, statusCell(job), created, duration, actionsCell(job)];
  }

  /* Rows are kept per job and updated in place, so that focus stays on a button while the
     list refreshes; the actions are rebuilt only when the status changes. */
  function renderJobs() {
    const body = $("jobs-body");
    const rows = new Map(Array.from(body.children).map((tr) => [tr.dataset.jobId, tr]));
    const wanted = new Set();
    state.jobs.forEach((job, index) => {
      wanted.add(job.id);
      let row = rows.get(job.id);
      const cells = jobRow(job);
      if (!row) {
        row = el("tr", { dataset: { testid: "job-row", jobId: job.id } }, cells);
      } else {
        const statusChanged = row.dataset.status !== job.status;
        for (let i = 0; i < cells.length; i++) {
          if (i === 4 && !statusChanged) continue;
          row.replaceChild(cells[i], row.children[i]);
        }
      }
      row.dataset.status = job.status;
      row.dataset.filename = job.filename || "";
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    });
    for (const [id, row] of rows) if (!wanted.has(id)) row.remove();
    show($("jobs-empty"), state.jobs.length === 0);
    show($("jobs-more"), Boolean(state.nextCursor));
  }

  async function cancelJob(id, button) {
    button.disabled = true;
    try {
      replaceJob(await api("/v1/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST" }));
      jobsError(null);
    } catch (e) {
      if (e.status === 401) return;
      jobsError(e);
      try {
        replaceJob(await api("/v1/jobs/" + encodeURIComponent(id)));
      } catch (e2) {
        /* the error above is shown */
      }
    }
    button.disabled = false;
    renderJobs();
    schedulePoll();
  }

  async function deleteJob(id, button) {
    const job = state.jobs.find((j) => j.id === id);
    const name = job ? job.filename : id;
    if (!window.confirm("Delete \u201c" + name + "\u201d, its upload and its results? This cannot be undone.")) return;
    button.disabled = true;
    try {
      await api("/v1/jobs/" + encodeURIComponent(id), { method: "DELETE" });
      removeJob(id);
      jobsError(null);
      announce(name + " deleted.");
    } catch (e) {
      if (e.status === 401) return;
      if (e.status === 404) removeJob(id);
      else jobsError(e);
      button.disabled = false;
    }
    renderJobs();
  }

  $("status-filter").addEventListener("change", (event) => {
    state.filter = event.target.value;
    stopPolling();
    loadJobs(true);
  });
  $("refresh-jobs").addEventListener("click", () => {
    stopPolling();
    loadJobs(true);
  });
  $("jobs-more").addEventListener("click", () => loadJobs(false));

  /* ---------------------------------------------------------------- the result view */

  function teardownResult() {
    const v = state.view;
    state.view = null;
    if (!v) return;
    v.closed = true;
    if (v.pollTimer) window.clearTimeout(v.pollTimer);
    if (v.frame) window.cancelAnimationFrame(v.frame);
    for (const plot of v.plots) plot.destroy();
    if (v.media) {
      v.media.pause();
      v.media.removeAttribute("src");
      v.media.load();
    }
    for (const url of v.objectUrls) URL.revokeObjectURL(url);
    window.removeEventListener("resize", v.onResize);
    for (const id of ["player-box", "downloads", "summary", "chart-emotions", "chart-affect", "transcript", "moments", "result-warnings", "result-facts"]) {
      clear($(id));
    }
    for (const id of ["chart-emotions", "chart-affect"]) delete $(id).dataset.drawn;
    $("player-time").textContent = "";
    show($("download-error"), false);
  }

  function resultStatus(message) {
    const box = $("result-status");
    box.textContent = message || "";
    show(box, Boolean(message));
  }

  async function showResult(id) {
    teardownResult();
    stopPolling();
    show($("home-view"), false);
    show($("result-view"), true);
    show($("result-body"), false);
    $("result-title").textContent = "Result";
    resultStatus("Loading\u2026");
    const v = {
      id,
      closed: false,
      plots: [],
      media: null,
      objectUrls: [],
      pollTimer: null,
      frame: null,
      utterances: [],
      utteranceNodes: [],
      current: -1,
      doc: null,
      onResize: null,
    };
    state.view = v;
    window.scrollTo(0, 0);

    let job;
    try {
      job = await api("/v1/jobs/" + encodeURIComponent(id));
    } catch (e) {
      if (v.closed || e.status === 401) return;
      resultStatus(e.status === 404 ? "There is no job " + id + " for this API key." : describeError(e));
      return;
    }
    if (v.closed) return;
    v.job = job;
    $("result-title").textContent = job.filename || id;
    document.title = (job.filename || id) + " \u2013 Affectline";
    if (ACTIVE.has(job.status)) {
      const p = job.progress || {};
      resultStatus(
        "Still " + job.status +
          (job.status === "running" && p.stage && p.stage !== "queued"
            ? ": " + (STAGE_LABELS[p.stage] || p.stage) + " " + Math.floor(p.percent || 0) + "%"
            : "") +
          ". The result opens here when the analysis ends."
      );
      v.pollTimer = window.setTimeout(() => {
        if (!v.closed) showResult(id);
      }, POLL_MS);
      return;
    }
    if (job.status !== "succeeded") {
      const why = job.error ? " " + (job.error.type ? job.error.type + ": " : "") + (job.error.message || "") : "";
      resultStatus("This job " + job.status + "; it has no result." + why);
      return;
    }

    let doc;
    try {
      doc = await api(localPath(job.links && job.links.result) || "/v1/jobs/" + encodeURIComponent(id) + "/result");
    } catch (e) {
      if (v.closed || e.status === 401) return;
      resultStatus("The result could not be loaded: " + describeError(e));
      return;
    }
    if (v.closed) return;
    v.doc = doc;
    resultStatus("");
    show($("result-body"), true);
    renderResult(v, job, doc);
    $("result-title").setAttribute("tabindex", "-1");
    $("result-title").focus({ preventScroll: true });
  }

  function renderResult(v, job, doc) {
    const parts = [
      ["facts", () => facts(job, doc)],
      ["disclaimer", () => disclaimer(doc)],
      ["summary", () => summary(doc)],
      ["downloads", () => downloads(job)],
      ["charts", () => charts(v, doc)],
      ["transcript", () => transcript(v, doc)],
      ["moments", () => moments(v, doc)],
      ["player", () => player(v, job)],
    ];
    for (const [name, fn] of parts) {
      try {
        const out = fn();
        if (out && typeof out.catch === "function") {
          out.catch((e) => showNotice("The " + name + " could not be shown: " + describeError(e)));
        }
      } catch (e) {
        console.error(name, e);
        showNotice("The " + name + " could not be shown: " + (e && e.message ? e.message : e));
      }
    }
  }

  function facts(job, doc) {
    const box = $("result-facts");
    const fusion = doc.fusion || {};
    const duration = (fusion.summary && fusion.summary.duration) || (doc.media && doc.media.duration);
    const items = ["Duration " + fmtTime(duration), "Analysed " + fmtDate(job.finished_at || job.created_at)];
    const mods = Array.isArray(doc.modalities) ? doc.modalities : [];
    const chips = el("span", { className: "fact" }, ["Modalities"]);
    for (const m of mods.length ? mods : ["none"]) {
      const chip = el("span", { className: "chip", text: m });
      if (MODALITY_COLORS[m]) chip.style.borderColor = MODALITY_COLORS[m];
      chips.append(chip);
    }
    for (const text of items) box.append(el("span", { className: "fact", text }));
    box.append(chips);
    if (job.expires_at) box.append(el("span", { className: "fact", text: "Results kept until " + fmtDate(job.expires_at) }));
  }

  function disclaimer(doc) {
    $("disclaimer-text").textContent =
      doc.disclaimer || "These are indicators of expressed emotion, not diagnoses of what a person feels.";
    const list = $("result-warnings");
    for (const w of Array.isArray(doc.warnings) ? doc.warnings : []) list.append(el("li", { text: String(w) }));
    show(list, list.children.length > 0);
  }

  function summary(doc) {
    const box = $("summary");
    const S = doc.fusion && doc.fusion.summary;
    if (!S) {
      box.append(el("p", { className: "note", text: "No fused timeline in this result, so there is no summary." }));
      return;
    }
    const cards = el("div", { className: "cards" });
    box.append(cards);

    const dom = el("div", { className: "card", dataset: { testid: "summary-dominant" } }, [el("h3", { text: "Dominant emotions" })]);
    const dominant = Array.isArray(S.dominant) ? S.dominant : [];
    if (dominant.length) {
      dom.append(
        el(
          "ol",
          { className: "dominant" },
          dominant.map((d) => el("li", null, [emotionTag(d.emotion), el("span", { className: "share", text: fmtPct(d.share) })]))
        )
      );
    } else {
      dom.append(el("p", { className: "note", text: "No emotion stood out (no evidence)." }));
    }
    cards.append(dom);

    const affect = el("div", { className: "card", dataset: { testid: "summary-affect" } }, [el("h3", { text: "Averages" })]);
    const dl = el("dl", { className: "numbers" });
    for (const [name, signed] of [["valence", true], ["arousal", true], ["engagement", false]]) {
      const stats = S[name] || {};
      const mean = signed ? fmtSigned(stats.mean) : fmtNum(stats.mean);
      const fmt = signed ? fmtSigned : fmtNum;
      const range = isNum(stats.min) && isNum(stats.max) ? fmt(stats.min) + " to " + fmt(stats.max) : "";
      dl.append(
        el("dt", null, [swatch(AFFECT_COLORS[name]), name]),
        el("dd", { dataset: { measure: name } }, [
          el("span", { className: "big", text: mean }),
          range ? el("span", { className: "sub", text: "range " + range }) : null,
        ])
      );
    }
    affect.append(dl);
    cards.append(affect);

    const cover = el("div", { className: "card" }, [el("h3", { text: "Evidence" })]);
    const coverage = isNum(S.evidence_seconds) && isNum(S.duration) && S.duration > 0 ? S.evidence_seconds / S.duration : null;
    const weights = S.modality_weights || {};
    cover.append(
      el("dl", { className: "numbers" }, [
        el("dt", { text: "coverage" }),
        el("dd", { text: fmtTime(S.evidence_seconds) + " of " + fmtTime(S.duration) + (coverage === null ? "" : " (" + fmtPct(coverage) + ")") }),
        el("dt", { text: "agreement" }),
        el("dd", { text: fmtPct(S.agreement_mean) }),
        el("dt", { text: "weights" }),
        el("dd", {
          text:
            Object.keys(weights)
              .filter((m) => isNum(weights[m]))
              .map((m) => m + " " + fmtPct(weights[m]))
              .join(", ") || "\u2013",
        }),
      ])
    );
    cards.append(cover);
  }

  /* Downloads carry the API key, so they go through fetch and a temporary object URL. */
  function downloads(job) {
    const list = $("downloads");
    const links = job.links || {};
    const files = [["result.json", localPath(links.result) || "/v1/jobs/" + encodeURIComponent(job.id) + "/result"]];
    for (const [name, path] of Object.entries(links.files || {})) {
      if (localPath(path)) files.push([name, path]);
    }
    for (const [name, path] of files) {
      const button = el("button", {
        type: "button",
        className: "download",
        "aria-label": "Download " + name,
        dataset: { testid: "download-" + name, name },
      }, [el("span", { className: "dl-name", text: name })]);
      button.addEventListener("click", () => download(button, path, stem(job.filename) + "-" + name));
      list.append(el("li", null, [button]));
    }
  }

  async function download(button, path, filename) {
    const box = $("download-error");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const res = await request(path);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 30000);
      show(box, false);
    } catch (e) {
      if (e.status !== 401) {
        box.textContent = filename + " could not be downloaded: " + describeError(e);
        show(box, true);
      }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /* ---------------------------------------------------------------- player and seeking */

  async function player(v, job) {
    const box = $("player-box");
    const media = job.media || {};
    const wantVideo = Boolean(media.video) && !media.still;
    if (media.still) {
      box.append(el("p", { className: "note", text: "A still picture: there is nothing to play." }));
      return;
    }
    const mediaPath = localPath(job.links && job.links.media);
    if (mediaPath) {
      try {
        const link = await api("/v1/jobs/" + encodeURIComponent(job.id) + "/media-link", { method: "POST" });
        if (v.closed) return;
        if (localPath(link.url)) {
          attachMedia(v, wantVideo, link.url, "server");
          box.append(el("p", { className: "hint", text: "Playing the recording kept on the server." }));
          return;
        }
      } catch (e) {
        if (v.closed || e.status === 401) return;
        box.append(el("p", { className: "note", text: "The kept recording could not be opened: " + describeError(e) }));
      }
    }
    const file = state.sessionFiles.get(job.id);
    if (file) {
      const url = URL.createObjectURL(file);
      v.objectUrls.push(url);
      attachMedia(v, fileIsVideo(file, wantVideo), url, "session");
      box.append(
        el("p", {
          className: "hint",
          text: "The recording was deleted after analysis (privacy default); this plays the copy you uploaded from this browser.",
        })
      );
      return;
    }
    const input = el("input", {
      id: "local-media",
      type: "file",
      accept: "video/*,audio/*",
      className: "visually-hidden",
      dataset: { testid: "local-media-input" },
    });
    const pick = el("div", { className: "local-pick", dataset: { testid: "media-deleted" } }, [
      el("p", {
        text: "The recording was deleted after analysis (privacy default). Open it from your computer to play it alongside:",
      }),
      el("label", { for: "local-media", className: "file-button", text: "Open the recording" }),
      input,
      el("p", { className: "hint", text: "The file stays on your computer; nothing is uploaded." }),
    ]);
    input.addEventListener("change", () => {
      const chosen = input.files[0];
      if (!chosen) return;
      const url = URL.createObjectURL(chosen);
      v.objectUrls.push(url);
      pick.remove();
      attachMedia(v, fileIsVideo(chosen, wantVideo), url, "local");
    });
    box.append(pick);
  }

  function fileIsVideo(file, fallback) {
    if (file.type.startsWith("audio/")) return false;
    if (file.type.startsWith("video/")) return true;
    return fallback;
  }

  function attachMedia(v, video, url, origin) {
    const media = el(video ? "video" : "audio", {
      controls: true,
      preload: "auto",
      playsinline: true,
      className: "player",
      "aria-label": "Recording",
      dataset: { testid: "player", origin },
    });
    v.media = media;
    v.mediaRetries = 0;
    media.src = url;
    media.addEventListener("timeupdate", () => followTime(v));
    media.addEventListener("seeked", () => followTime(v));
    media.addEventListener("play", () => tick(v));
    media.addEventListener("error", () => {
      /* A server link lasts 10 minutes: fetch a new one and go on from the same place. */
      if (origin !== "server" || v.closed || v.mediaRetries >= 2) {
        $("player-time").textContent = "The recording could not be played in this browser.";
        return;
      }
      v.mediaRetries += 1;
      const at = media.currentTime;
      api("/v1/jobs/" + encodeURIComponent(v.id) + "/media-link", { method: "POST" })
        .then((link) => {
          if (v.closed || !localPath(link.url)) return;
          media.src = link.url;
          media.addEventListener("loadedmetadata", () => {
            media.currentTime = at;
          }, { once: true });
        })
        .catch(() => {});
    });
    $("player-box").prepend(media);
    followTime(v);
  }

  function tick(v) {
    if (v.closed || !v.media || v.media.paused) return;
    followTime(v);
    v.frame = window.requestAnimationFrame(() => tick(v));
  }

  function seekTo(t) {
    const v = state.view;
    if (!v || !isNum(t)) return;
    const time = Math.max(0, t);
    if (v.media) {
      v.media.currentTime = time;
    } else {
      v.pending = time;
    }
    followTime(v, time);
  }

  function currentTime(v) {
    if (v.media) return v.media.currentTime;
    return isNum(v.pending) ? v.pending : 0;
  }

  /* Move the charts' playhead, highlight the current utterance, say what the timeline says. */
  function followTime(v, at) {
    if (v.closed) return;
    const t = isNum(at) ? at : currentTime(v);
    for (const plot of v.plots) placePlayhead(plot, t);
    let index = -1;
    for (let i = 0; i < v.utterances.length; i++) {
      const u = v.utterances[i];
      if (isNum(u.start) && isNum(u.end) && t >= u.start && t < u.end) {
        index = i;
        break;
      }
    }
    if (index !== v.current) {
      if (v.current >= 0 && v.utteranceNodes[v.current]) {
        v.utteranceNodes[v.current].classList.remove("current");
        v.utteranceNodes[v.current].removeAttribute("aria-current");
      }
      if (index >= 0 && v.utteranceNodes[index]) {
        const node = v.utteranceNodes[index];
        node.classList.add("current");
        node.setAttribute("aria-current", "true");
        keepInView(node);
      }
      v.current = index;
    }
    $("player-time").textContent = readout(v, t);
  }

  /* Scroll the transcript box (not the page) so the current utterance is visible. */
  function keepInView(node) {
    const box = node.closest(".utterances");
    if (!box || box.scrollHeight <= box.clientHeight) return;
    const top = node.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top + node.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  function readout(v, t) {
    const T = v.doc && v.doc.fusion && v.doc.fusion.timeline;
    if (!T || !Array.isArray(T.start) || !T.start.length) return "";
    let i = 0;
    while (i + 1 < T.start.length && T.start[i + 1] <= t) i++;
    if (Array.isArray(T.evidence) && T.evidence[i] === false) return "At " + fmtTime(t) + ": no evidence.";
    const scores = {};
    for (const [e, values] of Object.entries(T.emotions || {})) scores[e] = Array.isArray(values) ? values[i] : null;
    const top = argmax(scores);
    const parts = [];
    if (top) parts.push(top + " " + fmtPct(scores[top]));
    if (Array.isArray(T.valence)) parts.push("valence " + fmtSigned(T.valence[i]));
    if (Array.isArray(T.arousal)) parts.push("arousal " + fmtSigned(T.arousal[i]));
    return "At " + fmtTime(t) + ": " + parts.join(", ");
  }

  /* ---------------------------------------------------------------- charts */

  function gridX(T, step) {
    const n = Array.isArray(T.start) ? T.start.length : 0;
    const ends = Array.isArray(T.end) && T.end.length === n ? T.end : T.start;
    const x = [];
    for (let i = 0; i < n; i++) {
      const a = isNum(T.start[i]) ? T.start[i] : i * step;
      const b = isNum(ends[i]) ? ends[i] : a;
      x.push((a + b) / 2);
    }
    return x;
  }

  function noEvidenceSpans(T) {
    const spans = [];
    if (!Array.isArray(T.evidence)) return spans;
    const n = T.evidence.length;
    let runStart = -1;
    for (let i = 0; i <= n; i++) {
      const missing = i < n && T.evidence[i] === false;
      if (missing && runStart < 0) runStart = i;
      if (!missing && runStart >= 0) {
        spans.push([T.start[runStart], (T.end || T.start)[i - 1]]);
        runStart = -1;
      }
    }
    return spans;
  }

  function seriesOrNulls(values, n) {
    if (Array.isArray(values) && values.length === n) return values.map((v) => (isNum(v) ? v : null));
    return new Array(n).fill(null);
  }

  function chartWidth(holder) {
    return Math.max(300, Math.floor(holder.clientWidth || holder.parentNode.clientWidth || 700));
  }

  function placePlayhead(plot, t) {
    const line = plot.affectlinePlayhead;
    if (!line) return;
    const { min, max } = plot.scales.x;
    if (!isNum(min) || !isNum(max) || t < min || t > max) {
      line.hidden = true;
      return;
    }
    line.hidden = false;
    line.style.left = Math.round(plot.valToPos(t, "x")) + "px";
  }

  function drawChart(v, holder, height, yRange, yLabel, x, series, step, spans) {
    const n = x.length;
    const half = step / 2;
    const opts = {
      width: chartWidth(holder),
      height,
      cursor: { sync: { key: "affectline-web" }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: {
        x: {
          time: false,
          range: (u, min, max) => {
            if (n === 1) return [x[0] - half, x[0] + half];
            if (!isNum(min) || !isNum(max)) return [0, 1];
            return max - min < 1e-9 ? [min - half, max + half] : [min, max];
          },
        },
        y: { range: yRange },
      },
      axes: [
        { values: (u, splits) => splits.map(fmtClock), label: "time (min:s)", labelSize: 22 },
        {
          label: yLabel,
          labelSize: 22,
          size: 56,
          values: (u, splits) => splits.map((s) => String(Math.round(s * 100) / 100)),
        },
      ],
      series: [{ label: "time", value: (u, val) => fmtTime(val) }].concat(
        series.map((s) =>
          Object.assign(
            {
              label: s.label,
              stroke: s.color,
              width: 1.75,
              spanGaps: false,
              points: { show: n <= 40, size: n === 1 ? 10 : 6, fill: s.color },
              value: (u, val) => (isNum(val) ? val.toFixed(2) : "\u2013"),
            },
            s.extra || {}
          )
        )
      ),
      hooks: {
        drawClear: [
          (u) => {
            if (!spans.length) return;
            const ctx = u.ctx;
            const { left, top, width, height: h } = u.bbox;
            ctx.save();
            ctx.fillStyle = NO_EVIDENCE_FILL;
            for (const [a, b] of spans) {
              const x0 = Math.max(left, u.valToPos(a, "x", true));
              const x1 = Math.min(left + width, u.valToPos(b, "x", true));
              if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, h);
            }
            ctx.restore();
          },
        ],
        draw: [
          (u) => {
            holder.dataset.drawn = "1";
            placePlayhead(u, currentTime(v));
          },
        ],
        setScale: [
          (u, key) => {
            if (key === "x") placePlayhead(u, currentTime(v));
          },
        ],
      },
    };
    const data = [x].concat(series.map((s) => s.values));
    const plot = new uPlot(opts, data, holder);
    plot.affectlineHeight = height;
    const line = el("div", { className: "playhead", "aria-hidden": "true", hidden: true });
    plot.over.append(line);
    plot.affectlinePlayhead = line;
    /* A click (not a drag to zoom) plays from the time under the pointer. */
    let downX = null;
    plot.over.addEventListener("mousedown", (event) => {
      downX = event.clientX;
    });
    plot.over.addEventListener("click", (event) => {
      if (downX !== null && Math.abs(event.clientX - downX) > 3) return;
      const rect = plot.over.getBoundingClientRect();
      const t = plot.posToVal(event.clientX - rect.left, "x");
      if (isNum(t)) seekTo(Math.max(x[0] - half, Math.min(t, x[n - 1] + half)));
    });
    v.plots.push(plot);
    return plot;
  }

  function charts(v, doc) {
    if (typeof uPlot !== "function") throw new Error("the chart library (uPlot) did not load");
    const F = doc.fusion;
    const T = F && F.timeline;
    const holders = [$("chart-emotions"), $("chart-affect")];
    if (!T || !Array.isArray(T.start) || !T.start.length) {
      for (const h of holders) h.append(el("p", { className: "note", text: "Not analysed: no fused timeline in this result." }));
      return;
    }
    const step = isNum(F.grid_step) && F.grid_step > 0 ? F.grid_step : 0.5;
    const x = gridX(T, step);
    const n = x.length;
    const spans = noEvidenceSpans(T);
    const vocab = doc.vocabulary && Array.isArray(doc.vocabulary.emotions) ? doc.vocabulary.emotions : null;
    const emotions = (vocab && vocab.length ? vocab : Object.keys(EMOTION_COLORS)).filter(
      (e) => T.emotions && Array.isArray(T.emotions[e])
    );
    if (emotions.length) {
      drawChart(
        v,
        holders[0],
        260,
        [0, 1],
        "share",
        x,
        emotions.map((e) => ({ label: e, color: emotionColor(e), values: seriesOrNulls(T.emotions[e], n) })),
        step,
        spans
      );
    } else {
      holders[0].append(el("p", { className: "note", text: "No emotion series in this result." }));
    }
    drawChart(
      v,
      holders[1],
      220,
      [-1, 1],
      "value",
      x,
      ["valence", "arousal", "engagement"].map((k) => ({
        label: k,
        color: AFFECT_COLORS[k],
        values: seriesOrNulls(T[k], n),
        extra: k === "engagement" ? { dash: [6, 4] } : null,
      })),
      step,
      spans
    );
    let timer = null;
    v.onResize = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        for (const plot of v.plots) {
          plot.setSize({ width: chartWidth(plot.root.parentNode), height: plot.affectlineHeight });
        }
      }, 100);
    };
    window.addEventListener("resize", v.onResize);
  }

  /* ---------------------------------------------------------------- transcript and moments */

  function transcript(v, doc) {
    const box = $("transcript");
    const text = doc.text;
    if (!text) {
      box.append(el("p", { className: "note", text: "Not analysed: the text modality did not run." }));
      return;
    }
    const utterances = Array.isArray(text.utterances) ? text.utterances : [];
    if (!utterances.length) {
      box.append(el("p", { className: "note", text: "No speech was transcribed." }));
      return;
    }
    const list = el("ol", { className: "utterances" });
    utterances.forEach((u, i) => {
      const emotion = argmax(u.emotions);
      const color = emotion ? emotionColor(emotion) : OTHER_COLOR;
      const button = el(
        "button",
        {
          type: "button",
          className: "utt",
          title: emotion && u.emotions ? emotion + " " + fmtPct(u.emotions[emotion]) + " \u2013 play from " + fmtTime(u.start) : null,
          dataset: { testid: "transcript-item", start: isNum(u.start) ? String(u.start) : "", emotion: emotion || "", index: String(i) },
        },
        [
          el("span", { className: "time", text: fmtSpan(u.start, u.end) }),
          emotion ? emotionTag(emotion) : el("span", { className: "tag", text: "no score" }),
          el("span", { className: "utt-text", text: u.text === null || u.text === undefined ? "" : String(u.text) }),
        ]
      );
      button.style.borderLeftColor = color;
      button.style.backgroundColor = color + "1a";
      button.addEventListener("click", () => seekTo(u.start));
      v.utteranceNodes.push(button);
      list.append(el("li", null, [button]));
    });
    v.utterances = utterances;
    box.append(list);
  }

  function moments(v, doc) {
    const box = $("moments");
    const F = doc.fusion;
    if (!F) {
      box.append(el("p", { className: "note", text: "Key moments come from the fused timeline, which this result lacks." }));
      return;
    }
    const items = Array.isArray(F.moments) ? F.moments : [];
    if (!items.length) {
      box.append(el("p", { className: "note", text: "No key moments stood out in this recording." }));
      return;
    }
    const list = el("ol", { className: "moments" });
    for (const m of items) {
      const jump = el("button", {
        type: "button",
        className: "time",
        text: fmtSpan(m.start, m.end),
        "aria-label": "Play from " + fmtTime(m.start),
        dataset: { testid: "moment-seek" },
      });
      jump.addEventListener("click", () => seekTo(m.start));
      const head = el("div", { className: "moment-head" }, [
        jump,
        el("span", { className: "tag kind", text: String(m.kind || "moment") }),
        m.emotion ? emotionTag(m.emotion) : null,
        m.measure && m.measure !== m.emotion ? el("span", { className: "tag", text: String(m.measure) }) : null,
        isNum(m.value) ? el("span", { className: "value", text: fmtNum(m.value) }) : null,
      ]);
      const item = el("li", { className: "moment", dataset: { testid: "moment", start: isNum(m.start) ? String(m.start) : "" } }, [head]);
      if (m.emotion) item.style.borderLeftColor = emotionColor(m.emotion);
      if (m.description) item.append(el("p", { className: "description", text: String(m.description) }));
      let words = m.words ? String(m.words) : "";
      if (!words && Array.isArray(m.utterances) && m.utterances.length) words = m.utterances.join(" ");
      if (words) item.append(el("blockquote", { className: "words", text: "\u201c" + words + "\u201d" }));
      list.append(item);
    }
    box.append(list);
  }

  /* ---------------------------------------------------------------- start */

  document.body.append(el("div", { id: "announce", className: "visually-hidden", role: "status", "aria-live": "polite" }));
  route();
})();

/* Affectline report: draws one analysed recording from the JSON embedded in the page.
 *
 * Everything is offline: the data sits in <script id="affectline-data">, uPlot is inlined
 * before this file. Text from the data is inserted with textContent only, never as HTML.
 * When done, <body> gets data-ready="1" and data-charts="<charts drawn>"; each drawn chart
 * container gets data-drawn="1". An error shows in the #error box and sets data-error.
 */
(function () {
  "use strict";

  var errorBox = document.getElementById("error");

  function showError(message) {
    var line = document.createElement("p");
    line.textContent = "The report could not draw everything: " + message;
    errorBox.appendChild(line);
    errorBox.hidden = false;
    document.body.dataset.error = document.body.dataset.error
      ? document.body.dataset.error + "\n" + message
      : message;
  }

  window.onerror = function (message, source, line, column, error) {
    showError(error && error.message ? error.message : String(message));
    return false;
  };
  window.addEventListener("unhandledrejection", function (event) {
    showError(String(event.reason));
  });

  /* Colours and time formats shared with the web page (common.js, inlined before this). */
  var C = AffectlineCommon;
  var EMOTION_COLORS = C.EMOTION_COLORS;
  var OTHER_COLOR = C.OTHER_COLOR;
  var MODALITY_COLORS = C.MODALITY_COLORS;
  var AFFECT_COLORS = C.AFFECT_COLORS;
  var isNum = C.isNum;
  var fmtTime = C.fmtTime;
  var fmtClock = C.fmtClock;
  var fmtSpan = C.fmtSpan;
  var CONFLICT_FILL = { valence: "rgba(230, 126, 34, 0.35)", arousal: "rgba(103, 58, 183, 0.28)" };
  var NO_EVIDENCE_FILL = C.NO_EVIDENCE_FILL;
  var AU_MAX = 5;
  /* Width of the y axis of every chart: the heatmap's AU names fit there, so all time axes align. */
  var AXIS_WIDTH = 170;

  var D = JSON.parse(document.getElementById("affectline-data").textContent);
  var F = D.fusion || null;
  var T = F && F.timeline ? F.timeline : null;
  var EMOTIONS = Array.isArray(D.emotions) && D.emotions.length
    ? D.emotions
    : Object.keys(EMOTION_COLORS);
  var plots = [];
  var heatmapRedraw = null;
  var chartsDrawn = 0;

  /* ---------- small helpers ---------- */

  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function text(tag, className, value) {
    var node = el(tag, className);
    node.textContent = value;
    return node;
  }

  function emotionColor(name) {
    return EMOTION_COLORS[name] || OTHER_COLOR;
  }

  function swatch(color) {
    var s = el("span", "swatch");
    s.style.backgroundColor = color;
    return s;
  }

  function emotionTag(name) {
    var tag = el("span", "tag emotion-tag", [swatch(emotionColor(name)), name]);
    tag.dataset.emotion = name;
    return tag;
  }

  function fmtNum(v, digits) {
    return isNum(v) ? v.toFixed(digits === undefined ? 2 : digits) : "\u2013";
  }

  function fmtSigned(v, digits) {
    return isNum(v) ? (v > 0 ? "+" : "") + v.toFixed(digits) : "\u2013";
  }

  function fmtPct(v) {
    return isNum(v) ? Math.round(v * 100) + "%" : "\u2013";
  }

  function section(id) {
    var node = document.getElementById(id);
    return { node: node, body: node.querySelector(".body") };
  }

  function note(body, message) {
    body.appendChild(text("p", "note", message));
  }

  function notAnalysed(id, message) {
    var s = section(id);
    s.node.classList.add("absent");
    s.node.querySelectorAll(".hint").forEach(function (h) {
      h.hidden = true;
    });
    note(s.body, "Not analysed: " + message);
  }

  function argmax(scores) {
    var best = null;
    var bestValue = -Infinity;
    Object.keys(scores || {}).forEach(function (k) {
      var v = scores[k];
      if (isNum(v) && v > bestValue) {
        best = k;
        bestValue = v;
      }
    });
    return best;
  }

  function seriesOrNulls(values, n) {
    if (Array.isArray(values) && values.length === n) {
      return values.map(function (v) {
        return isNum(v) ? v : null;
      });
    }
    return new Array(n).fill(null);
  }

  function legendRow(items) {
    var row = el("div", "legend");
    items.forEach(function (item) {
      row.appendChild(el("span", "legend-item", [swatch(item[1]), item[0]]));
    });
    return row;
  }

  /* ---------- the grid ---------- */

  var N = 0;
  var X = [];
  var STEP = F && isNum(F.grid_step) && F.grid_step > 0 ? F.grid_step : 0.5;
  if (T && Array.isArray(T.start)) {
    N = T.start.length;
    var ends = Array.isArray(T.end) && T.end.length === N ? T.end : T.start;
    for (var i = 0; i < N; i++) {
      var a = isNum(T.start[i]) ? T.start[i] : i * STEP;
      var b = isNum(ends[i]) ? ends[i] : a;
      X.push((a + b) / 2);
    }
  }

  function cellStart(i) {
    return isNum(T.start[i]) ? T.start[i] : X[i];
  }

  function cellEnd(i) {
    return T.end && isNum(T.end[i]) ? T.end[i] : X[i];
  }

  /* Runs of steps without evidence, as [start, end] seconds. */
  function noEvidenceSpans() {
    var spans = [];
    if (!T || !Array.isArray(T.evidence)) return spans;
    var runStart = -1;
    for (var i = 0; i <= N; i++) {
      var missing = i < N && T.evidence[i] === false;
      if (missing && runStart < 0) runStart = i;
      if (!missing && runStart >= 0) {
        spans.push([cellStart(runStart), cellEnd(i - 1)]);
        runStart = -1;
      }
    }
    return spans;
  }

  /* ---------- uPlot charts ---------- */

  var syncing = false;

  function chartWidth(container) {
    return Math.max(320, Math.floor(container.clientWidth || 800));
  }

  function shade(u, spans, fill) {
    if (!spans.length) return;
    var ctx = u.ctx;
    var top = u.bbox.top;
    var height = u.bbox.height;
    var left = u.bbox.left;
    var right = u.bbox.left + u.bbox.width;
    var minWidth = 2 * (window.devicePixelRatio || 1);
    ctx.save();
    ctx.fillStyle = fill;
    spans.forEach(function (span) {
      var x0 = Math.max(left, u.valToPos(span[0], "x", true));
      var x1 = Math.min(right, u.valToPos(span[1], "x", true));
      if (x1 - x0 < minWidth) {
        var mid = (x0 + x1) / 2;
        x0 = mid - minWidth / 2;
        x1 = mid + minWidth / 2;
      }
      if (x1 > left && x0 < right) ctx.fillRect(x0, top, x1 - x0, height);
    });
    ctx.restore();
  }

  function lineSeries(label, color, values, extra) {
    var s = {
      label: label,
      stroke: color,
      width: 1.75,
      spanGaps: false,
      points: { show: N <= 40, size: N === 1 ? 10 : 6, fill: color },
      value: function (u, v) {
        return isNum(v) ? v.toFixed(2) : "\u2013";
      },
    };
    Object.keys(extra || {}).forEach(function (k) {
      s[k] = extra[k];
    });
    return { options: s, values: values };
  }

  function drawChart(id, height, yRange, yLabel, series, bands) {
    var s = section(id);
    var holder = el("div", "chart");
    holder.dataset.chart = id;
    s.body.appendChild(holder);
    var half = STEP / 2;
    var opts = {
      width: chartWidth(s.body),
      height: height,
      cursor: { sync: { key: "affectline" }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: {
        x: {
          time: false,
          range: function (u, min, max) {
            /* One step (a still image): uPlot pads a single x widely, keep it one step wide. */
            if (N === 1) return [X[0] - half, X[0] + half];
            if (!isNum(min) || !isNum(max)) return [0, 1];
            return max - min < 1e-9 ? [min - half, max + half] : [min, max];
          },
        },
        y: { range: yRange },
      },
      axes: [
        {
          /* One step (a still image): one tick at its time, no negative times around it. */
          splits: N === 1 ? function () { return [X[0]]; } : undefined,
          values: function (u, splits) {
            return splits.map(fmtClock);
          },
          label: "time (min:s)",
          labelSize: 22,
        },
        {
          label: yLabel,
          labelSize: 22,
          size: AXIS_WIDTH,
          values: function (u, splits) {
            return splits.map(function (v) {
              return String(Math.round(v * 100) / 100);
            });
          },
        },
      ],
      series: [
        {
          label: "time",
          value: function (u, v) {
            return fmtTime(v);
          },
        },
      ].concat(
        series.map(function (ser) {
          return ser.options;
        })
      ),
      hooks: {
        drawClear: [
          function (u) {
            (bands || []).forEach(function (band) {
              shade(u, band.spans, band.fill);
            });
          },
        ],
        setScale: [
          function (u, key) {
            if (key !== "x" || syncing) return;
            syncing = true;
            var min = u.scales.x.min;
            var max = u.scales.x.max;
            plots.forEach(function (other) {
              if (other !== u) other.setScale("x", { min: min, max: max });
            });
            if (heatmapRedraw) heatmapRedraw();
            syncing = false;
          },
        ],
      },
    };
    var data = [X].concat(
      series.map(function (ser) {
        return ser.values;
      })
    );
    var plot = new uPlot(opts, data, holder);
    plot.affectlineHeight = height;
    plots.push(plot);
    holder.dataset.drawn = "1";
    chartsDrawn += 1;
    return holder;
  }

  function zoomTo(start, end) {
    if (!plots.length) return;
    var pad = Math.max(STEP * 4, (end - start) * 0.5, 2);
    plots[0].setScale("x", { min: start - pad, max: end + pad });
  }

  /* ---------- sections ---------- */

  function header() {
    var facts = document.getElementById("facts");
    var parts = [];
    var duration = D.duration;
    if (F && F.summary && isNum(F.summary.duration)) duration = F.summary.duration;
    parts.push(text("span", "fact", "Duration " + (isNum(duration) ? fmtTime(duration) : "unknown")));
    var mods = el("span", "fact", ["Modalities "]);
    if (Array.isArray(D.modalities) && D.modalities.length) {
      D.modalities.forEach(function (m) {
        var chip = text("span", "chip", m);
        if (MODALITY_COLORS[m]) chip.style.borderColor = MODALITY_COLORS[m];
        mods.appendChild(chip);
      });
    } else {
      mods.appendChild(text("span", "chip", "none"));
    }
    parts.push(mods);
    if (F) {
      parts.push(text("span", "fact", "Grid step " + fmtNum(STEP, 2) + " s"));
      if (isNum(F.subject)) parts.push(text("span", "fact", "Subject: face " + F.subject));
    }
    parts.forEach(function (p) {
      facts.appendChild(p);
    });

    var disclaimer = document.getElementById("disclaimer-text");
    disclaimer.textContent = D.disclaimer
      ? D.disclaimer
      : "These are indicators of expressed emotion, not diagnoses of what a person feels.";

    var warnings = document.getElementById("warnings");
    (Array.isArray(D.warnings) ? D.warnings : []).forEach(function (w) {
      warnings.appendChild(text("li", null, String(w)));
    });
    warnings.hidden = warnings.children.length === 0;
  }

  function bar(label, share, color, valueText) {
    var track = el("span", "bar-track");
    var fill = el("span", "bar-fill");
    fill.style.width = Math.max(0, Math.min(100, (isNum(share) ? share : 0) * 100)) + "%";
    fill.style.backgroundColor = color;
    track.appendChild(fill);
    return el("div", "bar-row", [label, track, text("span", "bar-value", valueText)]);
  }

  function statRow(name, stats) {
    stats = stats || {};
    var range = isNum(stats.min) && isNum(stats.max)
      ? fmtNum(stats.min) + " to " + fmtNum(stats.max)
      : "\u2013";
    var p = isNum(stats.p10) && isNum(stats.p90)
      ? fmtNum(stats.p10) + " to " + fmtNum(stats.p90)
      : "\u2013";
    return el("tr", null, [
      el("th", null, [swatch(AFFECT_COLORS[name] || OTHER_COLOR), name]),
      text("td", "num", fmtNum(stats.mean)),
      text("td", "num", range),
      text("td", "num", p),
    ]);
  }

  function summary() {
    var S = F && F.summary;
    if (!S) {
      notAnalysed("summary", "this result has no fused timeline, so there is no overall summary.");
      return;
    }
    var body = section("summary").body;
    var grid = el("div", "cards");
    body.appendChild(grid);

    var dom = el("div", "card", [text("h3", null, "Dominant emotions")]);
    var dominant = Array.isArray(S.dominant) ? S.dominant : [];
    if (dominant.length) {
      var list = el("ol", "dominant");
      dominant.forEach(function (d) {
        list.appendChild(el("li", null, [emotionTag(d.emotion), text("span", "share", fmtPct(d.share))]));
      });
      dom.appendChild(list);
    } else {
      note(dom, "No emotion stood out (no evidence).");
    }
    grid.appendChild(dom);

    var dist = el("div", "card", [text("h3", null, "Emotion distribution")]);
    var shares = S.emotion_distribution || {};
    var names = EMOTIONS.filter(function (e) {
      return isNum(shares[e]);
    }).sort(function (p, q) {
      return shares[q] - shares[p];
    });
    if (names.length) {
      names.forEach(function (e) {
        dist.appendChild(bar(emotionTag(e), shares[e], emotionColor(e), fmtPct(shares[e])));
      });
    } else {
      note(dist, "No evidence to distribute.");
    }
    grid.appendChild(dist);

    var affect = el("div", "card wide", [text("h3", null, "Valence, arousal, engagement")]);
    var table = el("table", "stats", [
      el("thead", null, [
        el("tr", null, [
          text("th", null, ""),
          text("th", "num", "mean"),
          text("th", "num", "range"),
          text("th", "num", "10th\u201390th pct"),
        ]),
      ]),
    ]);
    var tbody = el("tbody");
    ["valence", "arousal", "engagement"].forEach(function (k) {
      tbody.appendChild(statRow(k, S[k]));
    });
    table.appendChild(tbody);
    affect.appendChild(table);
    affect.appendChild(
      text("p", "hint", "Valence and arousal run from \u22121 to 1, engagement from 0 to 1.")
    );

    var cover = el("div", "card", [text("h3", null, "Evidence")]);
    var coverage = isNum(S.evidence_seconds) && isNum(S.duration) && S.duration > 0
      ? S.evidence_seconds / S.duration
      : null;
    var dl = el("dl", "facts-list");
    function fact(name, value) {
      dl.appendChild(text("dt", null, name));
      dl.appendChild(text("dd", null, value));
    }
    fact(
      "Coverage",
      fmtTime(S.evidence_seconds) + " of " + fmtTime(S.duration) +
        (coverage === null ? "" : " (" + fmtPct(coverage) + ")")
    );
    fact("Agreement between modalities", isNum(S.agreement_mean) ? fmtPct(S.agreement_mean) : "\u2013");
    fact("Time in conflict", fmtTime(S.conflict_seconds));
    cover.appendChild(dl);
    grid.appendChild(cover);
    grid.appendChild(affect);

    var wcard = el("div", "card", [text("h3", null, "Modality weights")]);
    var weights = S.modality_weights || {};
    var wnames = Object.keys(weights).filter(function (m) {
      return isNum(weights[m]);
    });
    if (wnames.length) {
      wnames.forEach(function (m) {
        wcard.appendChild(
          bar(text("span", "bar-label", m), weights[m], MODALITY_COLORS[m] || OTHER_COLOR, fmtPct(weights[m]))
        );
      });
    } else {
      note(wcard, "No modality contributed.");
    }
    grid.appendChild(wcard);
  }

  function emotionChart() {
    if (!T || !N || !T.emotions) {
      notAnalysed("emotions", "no fused emotion timeline in this result.");
      return;
    }
    var series = EMOTIONS.map(function (e) {
      return lineSeries(e, emotionColor(e), seriesOrNulls(T.emotions[e], N));
    });
    var bands = [{ spans: noEvidenceSpans(), fill: NO_EVIDENCE_FILL }];
    drawChart("emotions", 280, [0, 1], "share", series, bands);
    section("emotions").body.appendChild(legendRow([["no evidence", NO_EVIDENCE_FILL]]));
  }

  function affectChart() {
    if (!T || !N) {
      notAnalysed("affect", "no fused valence or arousal in this result.");
      return;
    }
    var series = ["valence", "arousal", "engagement"].map(function (k) {
      var extra = k === "engagement" ? { dash: [6, 4] } : {};
      return lineSeries(k, AFFECT_COLORS[k], seriesOrNulls(T[k], N), extra);
    });
    var conflicts = Array.isArray(T.conflicts) ? T.conflicts : [];
    var bands = [{ spans: noEvidenceSpans(), fill: NO_EVIDENCE_FILL }];
    ["valence", "arousal"].forEach(function (kind) {
      bands.push({
        fill: CONFLICT_FILL[kind],
        spans: conflicts
          .filter(function (c) {
            return c && c.kind === kind;
          })
          .map(function (c) {
            var i = c.index;
            var start = isNum(c.start) ? c.start : isNum(i) && i < N ? cellStart(i) : null;
            var end = isNum(c.end) ? c.end : isNum(i) && i < N ? cellEnd(i) : start;
            return [start, end];
          })
          .filter(function (span) {
            return isNum(span[0]) && isNum(span[1]);
          }),
      });
    });
    var holder = drawChart("affect", 260, [-1, 1], "value", series, bands);
    holder.dataset.conflicts = String(conflicts.length);
    var body = section("affect").body;
    body.appendChild(
      legendRow([
        ["valence conflict", CONFLICT_FILL.valence],
        ["arousal conflict", CONFLICT_FILL.arousal],
        ["no evidence", NO_EVIDENCE_FILL],
      ])
    );
    if (conflicts.length) {
      var list = el("ul", "conflicts");
      conflicts.forEach(function (c) {
        var mods = Array.isArray(c.modalities) ? c.modalities : [];
        var vals = Array.isArray(c.values) ? c.values : [];
        var detail = mods
          .map(function (m, j) {
            return m + " " + fmtSigned(vals[j], 2);
          })
          .join(" vs ");
        list.appendChild(
          el("li", null, [
            text("span", "time", fmtSpan(c.start, c.end)),
            " ",
            text("span", "tag", String(c.kind || "conflict")),
            " ",
            detail,
          ])
        );
      });
      body.appendChild(el("details", "conflict-list", [text("summary", null, conflicts.length + " conflict step(s)"), list]));
    }
  }

  function weightsChart() {
    if (!T || !N) {
      notAnalysed("weights", "no fused timeline in this result.");
      return;
    }
    var weights = T.weights || {};
    var series = Object.keys(weights).map(function (m) {
      return lineSeries(m + " weight", MODALITY_COLORS[m] || OTHER_COLOR, seriesOrNulls(weights[m], N));
    });
    if (Array.isArray(T.speech)) {
      series.push(
        lineSeries("speech", "#b0bec5", seriesOrNulls(T.speech, N), { width: 1, fill: "rgba(176, 190, 197, 0.25)" })
      );
    }
    series.push(lineSeries("confidence", "#111111", seriesOrNulls(T.confidence, N), { width: 2 }));
    series.push(lineSeries("agreement", "#9e9e9e", seriesOrNulls(T.agreement, N), { dash: [2, 3] }));
    drawChart("weights", 200, [0, 1], "share", series, [{ spans: noEvidenceSpans(), fill: NO_EVIDENCE_FILL }]);
  }

  /* Sequential colour scale for AU intensity 0..5 (light to dark purple). */
  var AU_STOPS = [
    [0, [250, 249, 252]],
    [1, [218, 218, 235]],
    [2, [158, 154, 200]],
    [3, [117, 107, 177]],
    [4, [84, 39, 143]],
    [5, [63, 0, 125]],
  ];
  var AU_MISSING = [214, 214, 214];

  function auColor(v) {
    if (!isNum(v)) return AU_MISSING;
    v = Math.max(0, Math.min(AU_MAX, v));
    for (var k = 1; k < AU_STOPS.length; k++) {
      if (v <= AU_STOPS[k][0]) {
        var lo = AU_STOPS[k - 1];
        var hi = AU_STOPS[k];
        var t = (v - lo[0]) / (hi[0] - lo[0]);
        return [0, 1, 2].map(function (c) {
          return Math.round(lo[1][c] + t * (hi[1][c] - lo[1][c]));
        });
      }
    }
    return AU_STOPS[AU_STOPS.length - 1][1];
  }

  function niceTick(secondsPerPixel) {
    var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    var want = secondsPerPixel * 90;
    for (var k = 0; k < steps.length; k++) if (steps[k] >= want) return steps[k];
    return steps[steps.length - 1];
  }

  function auHeatmap() {
    if (!T || !N || !T.aus) {
      var faceRan = Array.isArray(D.modalities) && D.modalities.indexOf("face") >= 0;
      notAnalysed(
        "aus",
        !(T && N)
          ? "no fused timeline in this result."
          : faceRan
            ? "no face was followed as the subject, so there are no action units."
            : "the face modality did not run, so there are no action units."
      );
      return;
    }
    var names = D.action_units || {};
    var codes = Object.keys(names).filter(function (c) {
      return Array.isArray(T.aus[c]);
    });
    Object.keys(T.aus).forEach(function (c) {
      if (codes.indexOf(c) < 0 && Array.isArray(T.aus[c])) codes.push(c);
    });
    if (!codes.length) {
      notAnalysed("aus", "no action unit series in this result.");
      return;
    }
    var body = section("aus").body;
    var holder = el("div", "chart heatmap");
    holder.dataset.chart = "aus";
    var canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Action unit intensity over time");
    var readout = text("p", "readout", "Point at a cell to read its value.");
    holder.appendChild(canvas);
    body.appendChild(holder);
    body.appendChild(readout);
    var scale = el("div", "legend au-scale", ["0"]);
    var ramp = el("span", "ramp");
    scale.appendChild(ramp);
    scale.appendChild(document.createTextNode("5 (maximum)"));
    scale.appendChild(el("span", "legend-item", [swatch("rgb(" + AU_MISSING.join(",") + ")"), "face not seen"]));
    body.appendChild(scale);

    /* One pixel per cell, drawn once; the visible canvas scales it. */
    var present = Array.isArray(T.face_present) && T.face_present.length === N ? T.face_present : null;
    var cells = document.createElement("canvas");
    cells.width = N;
    cells.height = codes.length;
    var cctx = cells.getContext("2d");
    var image = cctx.createImageData(N, codes.length);
    codes.forEach(function (code, row) {
      var values = T.aus[code];
      for (var i = 0; i < N; i++) {
        var v = present && present[i] === false ? null : values[i];
        var rgb = auColor(v);
        var o = (row * N + i) * 4;
        image.data[o] = rgb[0];
        image.data[o + 1] = rgb[1];
        image.data[o + 2] = rgb[2];
        image.data[o + 3] = 255;
      }
    });
    cctx.putImageData(image, 0, 0);

    var labelWidth = AXIS_WIDTH - 20;
    var rowHeight = 15;
    var axisHeight = 22;
    var layout = null;

    function draw() {
      var dpr = window.devicePixelRatio || 1;
      var width = Math.max(360, body.clientWidth || 800);
      var height = codes.length * rowHeight + axisHeight;
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
      var ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);

      /* Follow the charts' zoom when there is one. */
      var t0 = N ? cellStart(0) : 0;
      var t1 = N ? cellEnd(N - 1) : 1;
      if (plots.length) {
        var sx = plots[0].scales.x;
        if (isNum(sx.min) && isNum(sx.max)) {
          t0 = sx.min;
          t1 = sx.max;
        }
      }
      if (t1 - t0 < 1e-9) {
        t0 -= STEP / 2;
        t1 += STEP / 2;
      }
      /* Same horizontal plot area as the line charts, so one time sits at one x everywhere. */
      var plotLeft = labelWidth;
      var plotWidth = width - labelWidth - 8;
      if (plots.length) {
        var over = plots[0].over.getBoundingClientRect();
        var own = canvas.getBoundingClientRect();
        if (over.width > 0) {
          plotLeft = Math.max(labelWidth, over.left - own.left);
          plotWidth = Math.min(width - plotLeft, over.width);
        }
      }
      var pxPerSecond = plotWidth / (t1 - t0);
      var gridStart = cellStart(0);
      var gridSpan = cellEnd(N - 1) - gridStart;
      if (gridSpan < 1e-9) {
        /* A still image: one zero-length cell, drawn one step wide around its time. */
        gridStart = X[0] - STEP / 2;
        gridSpan = STEP;
      }
      layout = { t0: t0, pxPerSecond: pxPerSecond, plotLeft: plotLeft, plotWidth: plotWidth,
        gridStart: gridStart, gridSpan: gridSpan };

      ctx.save();
      ctx.beginPath();
      ctx.rect(plotLeft, 0, plotWidth, codes.length * rowHeight);
      ctx.clip();
      ctx.fillStyle = "rgb(" + AU_MISSING.join(",") + ")";
      ctx.fillRect(plotLeft, 0, plotWidth, codes.length * rowHeight);
      ctx.imageSmoothingEnabled = false;
      var x0 = plotLeft + (gridStart - t0) * pxPerSecond;
      ctx.drawImage(cells, x0, 0, gridSpan * pxPerSecond, codes.length * rowHeight);
      ctx.restore();

      ctx.fillStyle = "#222";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      codes.forEach(function (code, row) {
        var label = code + (names[code] ? " " + names[code] : "");
        ctx.fillText(label, 4, row * rowHeight + rowHeight / 2, labelWidth - 10);
      });

      var tick = niceTick(1 / pxPerSecond);
      ctx.textBaseline = "top";
      ctx.textAlign = "center";
      ctx.strokeStyle = "#888";
      var axisY = codes.length * rowHeight;
      var ticks = [];
      if (N === 1) ticks.push(X[0]);
      else for (var t = Math.ceil(t0 / tick) * tick; t <= t1 + 1e-9; t += tick) ticks.push(t);
      ticks.forEach(function (t) {
        var x = plotLeft + (t - t0) * pxPerSecond;
        ctx.beginPath();
        ctx.moveTo(x + 0.5, axisY);
        ctx.lineTo(x + 0.5, axisY + 4);
        ctx.stroke();
        ctx.fillText(fmtClock(t), x, axisY + 6);
      });
    }

    canvas.addEventListener("mousemove", function (event) {
      if (!layout) return;
      var rect = canvas.getBoundingClientRect();
      var x = event.clientX - rect.left;
      var y = event.clientY - rect.top;
      var row = Math.floor(y / rowHeight);
      var seconds = layout.t0 + (x - layout.plotLeft) / layout.pxPerSecond;
      var col = Math.floor(((seconds - layout.gridStart) / layout.gridSpan) * N);
      if (x < layout.plotLeft || row < 0 || row >= codes.length || col < 0 || col >= N) {
        readout.textContent = "Point at a cell to read its value.";
        return;
      }
      var code = codes[row];
      var v = T.aus[code][col];
      var seen = !(present && present[col] === false) && isNum(v);
      readout.textContent =
        code + (names[code] ? " " + names[code] : "") + " at " + fmtTime(X[col]) + ": " +
        (seen ? fmtNum(v, 2) + " of 5" : "face not seen");
    });

    draw();
    heatmapRedraw = draw;
    holder.dataset.drawn = "1";
    holder.dataset.rows = String(codes.length);
    chartsDrawn += 1;
  }

  function transcript() {
    var utterances = D.utterances;
    if (!Array.isArray(utterances)) {
      notAnalysed("transcript", "no transcript (the text modality did not run).");
      return;
    }
    var body = section("transcript").body;
    if (!utterances.length) {
      note(body, "No speech was transcribed.");
      return;
    }
    body.appendChild(
      legendRow(
        EMOTIONS.map(function (e) {
          return [e, emotionColor(e)];
        })
      )
    );
    var list = el("div", "utterances");
    utterances.forEach(function (u) {
      var emotion = argmax(u.emotions);
      var color = emotion ? emotionColor(emotion) : OTHER_COLOR;
      var item = el("div", "utt", [
        text("span", "time", fmtSpan(u.start, u.end)),
        emotion ? emotionTag(emotion) : text("span", "tag", "no score"),
        text("span", "utt-text", String(u.text === null || u.text === undefined ? "" : u.text)),
      ]);
      item.dataset.emotion = emotion || "";
      item.style.borderLeftColor = color;
      item.style.backgroundColor = color + "1f";
      if (emotion && isNum(u.emotions[emotion])) {
        item.title = emotion + " " + fmtPct(u.emotions[emotion]);
      }
      list.appendChild(item);
    });
    body.appendChild(list);
  }

  function drivers(d) {
    var parts = el("dl", "drivers");
    if (!d) return parts;
    function add(name, value) {
      if (!value) return;
      parts.appendChild(text("dt", null, name));
      parts.appendChild(typeof value === "string" ? text("dd", null, value) : el("dd", null, [value]));
    }
    var mods = d.modalities || {};
    add(
      "Modalities",
      Object.keys(mods)
        .filter(function (m) {
          return isNum(mods[m]);
        })
        .sort(function (p, q) {
          return mods[q] - mods[p];
        })
        .map(function (m) {
          return m + " " + fmtPct(mods[m]);
        })
        .join(", ")
    );
    var aus = Array.isArray(d.aus) ? d.aus : [];
    add(
      "Action units",
      aus
        .map(function (a) {
          var name = a.name || (D.action_units || {})[a.au] || "";
          return a.au + (name ? " " + name : "") + (isNum(a.intensity) ? " (" + fmtNum(a.intensity, 1) + ")" : "");
        })
        .join(", ")
    );
    var prosody = d.prosody || {};
    add(
      "Prosody",
      Object.keys(prosody)
        .map(function (k) {
          var p = prosody[k] || {};
          var label = k.replace(/_/g, " ");
          var value = isNum(p) ? fmtNum(p, 1) : fmtNum(p.value, 1);
          var vs = isNum(p.vs_median) ? " (" + fmtSigned(p.vs_median, 1) + " vs median)" : "";
          return label + " " + value + vs;
        })
        .join(", ")
    );
    return parts;
  }

  function moments() {
    if (!F) {
      notAnalysed("moments", "key moments come from the fused timeline, which this result lacks.");
      return;
    }
    var body = section("moments").body;
    var items = Array.isArray(F.moments) ? F.moments : [];
    if (!items.length) {
      note(body, "No key moments were found.");
      return;
    }
    var list = el("ol", "moments");
    items.forEach(function (m) {
      var jump = text("button", "time", fmtSpan(m.start, m.end));
      jump.type = "button";
      jump.title = "Zoom the charts to this moment";
      jump.addEventListener("click", function () {
        zoomTo(isNum(m.start) ? m.start : 0, isNum(m.end) ? m.end : m.start || 0);
        document.getElementById("emotions").scrollIntoView({ behavior: "smooth" });
      });
      var headline = el("div", "moment-head", [
        jump,
        text("span", "tag kind", String(m.kind || "moment")),
        m.emotion ? emotionTag(m.emotion) : null,
        m.measure && m.measure !== m.emotion ? text("span", "tag", String(m.measure)) : null,
        isNum(m.value) ? text("span", "value", fmtNum(m.value, 2)) : null,
      ]);
      var item = el("li", "moment", [headline]);
      if (m.emotion) item.style.borderLeftColor = emotionColor(m.emotion);
      if (m.description) item.appendChild(text("p", "description", String(m.description)));
      item.appendChild(drivers(m.drivers));
      var words = m.words ? String(m.words) : "";
      if (!words && Array.isArray(m.utterances) && m.utterances.length) words = m.utterances.join(" ");
      if (words) item.appendChild(text("blockquote", "words", "\u201c" + words + "\u201d"));
      list.appendChild(item);
    });
    body.appendChild(list);
  }

  function people() {
    if (!F || !Array.isArray(F.people)) {
      notAnalysed("people", "the people table comes from the fused timeline, which this result lacks.");
      return;
    }
    var body = section("people").body;
    if (!F.people.length) {
      note(body, "No faces were tracked.");
      return;
    }
    var head = el("tr", null, [
      text("th", null, "Face"),
      text("th", "num", "Seen"),
      text("th", "num", "Presence"),
      text("th", null, "Subject"),
      text("th", "num", "Speech attributed"),
      text("th", "num", "Mouth\u2013speech correlation"),
      text("th", null, "Dominant expression"),
    ]);
    var tbody = el("tbody");
    F.people.forEach(function (p) {
      var dom = p.summary && Array.isArray(p.summary.dominant) && p.summary.dominant.length
        ? p.summary.dominant[0]
        : null;
      var row = el("tr", p.is_subject ? "subject" : null, [
        text("td", null, "face " + p.face_id),
        text("td", "num", fmtTime(p.seconds_visible)),
        text("td", "num", fmtPct(p.presence)),
        text("td", null, p.is_subject ? "yes" : "no"),
        text("td", "num", fmtTime(p.speech_seconds_attributed)),
        text("td", "num", fmtNum(p.mouth_speech_correlation, 2)),
        el("td", null, dom ? [emotionTag(dom.emotion), " " + fmtPct(dom.share)] : ["\u2013"]),
      ]);
      tbody.appendChild(row);
    });
    body.appendChild(el("table", "people", [el("thead", null, [head]), tbody]));
  }

  function modelsAndMedia() {
    var body = section("models").body;
    var M = D.media || {};
    var dl = el("dl", "facts-list");
    function fact(name, value) {
      dl.appendChild(text("dt", null, name));
      dl.appendChild(text("dd", null, value));
    }
    fact("Source", String(D.source || "unknown"));
    if (M.container) fact("Container", String(M.container));
    fact("Duration", isNum(M.duration) ? fmtTime(M.duration) : "unknown");
    if (isNum(M.size_bytes)) fact("Size", (M.size_bytes / 1048576).toFixed(1) + " MB");
    var v = M.video;
    if (v) {
      var fps = isNum(v.real_fps) ? v.real_fps : v.nominal_fps;
      var w = isNum(v.display_width) ? v.display_width : v.width;
      var h = isNum(v.display_height) ? v.display_height : v.height;
      fact(
        "Video",
        [v.codec, isNum(w) && isNum(h) ? w + "\u00d7" + h : null, v.is_still ? "still image" : isNum(fps) ? fmtNum(fps, 2) + " fps" : null]
          .filter(Boolean)
          .join(", ")
      );
    } else {
      fact("Video", "none");
    }
    var au = M.audio;
    if (au) {
      fact(
        "Audio",
        [au.codec, isNum(au.sample_rate) ? au.sample_rate + " Hz" : null, isNum(au.channels) ? au.channels + " ch" : null]
          .filter(Boolean)
          .join(", ")
      );
    } else {
      fact("Audio", "none");
    }
    body.appendChild(dl);

    var models = Array.isArray(D.models) ? D.models : [];
    if (models.length) {
      var tbody = el("tbody");
      models.forEach(function (m) {
        var sha = m.sha256 ? String(m.sha256) : "";
        var cell = text("td", "mono", sha ? sha.slice(0, 12) + "\u2026" : "\u2013");
        if (sha) cell.title = sha;
        tbody.appendChild(el("tr", null, [text("td", null, String(m.name || "")), text("td", null, String(m.version || "")), cell]));
      });
      body.appendChild(
        el("table", "models", [
          el("thead", null, [el("tr", null, [text("th", null, "Model"), text("th", null, "Version"), text("th", null, "sha256")])]),
          tbody,
        ])
      );
    } else {
      note(body, "No models are listed in this result.");
    }
    var rel = F && F.reliability ? F.reliability : null;
    if (rel && Object.keys(rel).length) {
      body.appendChild(
        text(
          "p",
          "hint",
          "Modality reliability weights: " +
            Object.keys(rel)
              .map(function (m) {
                return m + " " + fmtNum(rel[m] && rel[m].weight, 2);
              })
              .join(", ")
        )
      );
    }

    document.getElementById("foot").textContent =
      "Affectline " + (D.affectline_version || "unknown") + ", result schema " +
      (D.schema_version || "unknown") + ". Charts drawn with uPlot 1.6.32 (MIT). " +
      "This file works offline and sends nothing anywhere.";
  }

  function run(name, fn) {
    try {
      fn();
    } catch (e) {
      console.error(name + ": " + (e && e.stack ? e.stack : e));
      showError(name + ": " + (e && e.message ? e.message : String(e)));
    }
  }

  if (typeof uPlot !== "function") throw new Error("the chart library (uPlot) did not load");

  run("header", header);
  run("summary", summary);
  run("emotion chart", emotionChart);
  run("affect chart", affectChart);
  run("weights chart", weightsChart);
  run("action unit heatmap", auHeatmap);
  run("transcript", transcript);
  run("key moments", moments);
  run("people", people);
  run("models and media", modelsAndMedia);

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (u) {
        var body = u.root.parentNode.parentNode;
        u.setSize({ width: chartWidth(body), height: u.affectlineHeight });
      });
      /* uPlot lays out the resized charts on its next commit: measure them after it. */
      if (heatmapRedraw) requestAnimationFrame(heatmapRedraw);
    }, 100);
  });

  document.getElementById("pending").hidden = true;
  document.body.dataset.charts = String(chartsDrawn);
  document.body.dataset.ready = "1";
})();

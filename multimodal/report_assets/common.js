/* What the offline report (inlined before report.js) and the web page (loaded from
 * /static/report/common.js) share: one colour per emotion, modality and measure, the same in
 * every chart, list and legend, and how times are written. */
var AffectlineCommon = (function () {
  "use strict";

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  /* A time in seconds for people: "12.5 s", "1:05.0", "1:02:03.0". */
  function fmtTime(s) {
    if (!isNum(s)) return "\u2013";
    if (Math.abs(s) < 60) return s.toFixed(1) + " s";
    var h = Math.floor(s / 3600);
    var m = Math.floor((s - h * 3600) / 60);
    var rest = s - h * 3600 - m * 60;
    var sec = (rest < 10 ? "0" : "") + rest.toFixed(1);
    return h ? h + ":" + (m < 10 ? "0" : "") + m + ":" + sec : m + ":" + sec;
  }

  /* Axis ticks: "0:45", "1:00", with decimals below a second where needed. */
  function fmtClock(s) {
    if (!isNum(s)) return "";
    var sign = s < 0 ? "-" : "";
    s = Math.abs(s);
    var m = Math.floor(s / 60);
    var rest = s - m * 60;
    var r = Math.abs(rest - Math.round(rest)) < 1e-6
      ? String(Math.round(rest))
      : String(Math.round(rest * 100) / 100);
    if (rest < 10) r = "0" + r;
    return sign + m + ":" + r;
  }

  function fmtSpan(start, end) {
    if (isNum(start) && isNum(end) && end > start) return fmtTime(start) + " \u2013 " + fmtTime(end);
    return fmtTime(start);
  }

  return Object.freeze({
    EMOTION_COLORS: Object.freeze({
      anger: "#d62728",
      contempt: "#8c564b",
      disgust: "#6b8e23",
      fear: "#9467bd",
      joy: "#e6a000",
      neutral: "#7f7f7f",
      sadness: "#1f77b4",
      surprise: "#17a2b8",
    }),
    OTHER_COLOR: "#5f6b7a",
    MODALITY_COLORS: Object.freeze({ face: "#e07a5f", voice: "#3d5a80", text: "#2a9d8f" }),
    AFFECT_COLORS: Object.freeze({ valence: "#1b9e77", arousal: "#c2185b", engagement: "#37474f" }),
    NO_EVIDENCE_FILL: "rgba(120, 120, 120, 0.10)",
    isNum: isNum,
    fmtTime: fmtTime,
    fmtClock: fmtClock,
    fmtSpan: fmtSpan,
  });
})();

/* Affectline's colours, shared by the offline report (inlined before report.js) and the web
 * page (loaded from /static/report/palette.js): one colour per emotion, modality and measure,
 * the same in every chart, list and legend. */
var AffectlinePalette = Object.freeze({
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
});

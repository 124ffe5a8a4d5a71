"""Facial coding of a recording: landmarks per frame, tracks, AUs with intensity, emotions.

Two passes: while frames stream, each face is found, tracked and reduced to a few hundred bytes
(blendshapes, landmark measurements, box, pose); when the recording ends, every track gets its
baseline, AU intensities, blink/eyes-closed split and emotion probabilities. Memory grows with
the number of analysed frames times faces, never with the pixels.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt

from models.face.emotions import au_share, combine, valence_arousal
from models.face.expression import CROP_SIZE, LABELS, ExpressionClassifier
from models.face.facs import (
    AUCalibration,
    au_evidence,
    emotion_probabilities,
    quality,
    split_eye_closure,
    track_baseline,
    unilateral,
)
from models.face.landmarker import (
    GEOMETRY,
    STILL_MIN_CONFIDENCE,
    FaceLandmarkerModel,
    LandmarkerSession,
    RawFace,
)
from models.face.tracking import BoxTracker
from multimodal.faces import FACE_COLUMNS, FaceCoding, FaceTrack
from multimodal.media import VideoFrame
from multimodal.timeline import FrameSeries
from multimodal.vocab import AU_CODES

ProgressHook = Callable[..., None]
"""Called as ``hook(step, completed=, total=)``."""

_AU = {au: j for j, au in enumerate(AU_CODES)}
_IOD = GEOMETRY.index("iod_px")


@dataclass(frozen=True)
class FaceCodingConfig:
    """Options of facial coding.

    Attributes:
        baseline: subtract each track's resting level (see ``facs.track_baseline``).
        baseline_min_seconds: tracks seen for less time than this keep raw values.
        baseline_min_frames: and so do tracks with fewer frames than this.
        blink_max_seconds: eye closures shorter than this are blinks (AU45), longer AU43.
        track_max_gap: seconds a face may be missing before its track ends.
        workers: landmarker instances run in parallel threads on alternate frames (MediaPipe
            releases the GIL; two use both cores of a 2-core machine).
    """

    baseline: bool = True
    baseline_min_seconds: float = 5.0
    baseline_min_frames: int = 10
    blink_max_seconds: float = 0.5
    track_max_gap: float = 1.0
    workers: int = 2


_Found = tuple[RawFace, npt.NDArray[np.float64] | None]
"""A face found in a frame, with the classifier's probabilities when it ran."""


@dataclass
class _Observation:
    frame: int
    face: RawFace
    expression: npt.NDArray[np.float64] | None


class FaceCoder:
    """Codes the faces of recordings with one landmarker, one AU calibration and optionally the
    expression classifier (without it, emotions come from the AU prototypes alone)."""

    def __init__(
        self,
        landmarker: FaceLandmarkerModel,
        calibration: AUCalibration | None = None,
        config: FaceCodingConfig | None = None,
        expression: ExpressionClassifier | None = None,
    ) -> None:
        self.landmarker = landmarker
        self.calibration = calibration or AUCalibration.packaged()
        self.config = config or FaceCodingConfig()
        self.expression = expression

    def still_session(self) -> AbstractContextManager[LandmarkerSession]:
        """A landmarker session for still pictures (IMAGE mode, lower detection threshold)."""
        return self.landmarker.session(video=False, min_confidence=STILL_MIN_CONFIDENCE)

    def _analyse(
        self,
        session: LandmarkerSession,
        frame: VideoFrame,
        display_size: tuple[int, int],
        still: bool,
    ) -> list[_Found]:
        """Faces of one frame with their classifier probabilities (crops are not kept)."""
        crop = CROP_SIZE if self.expression is not None else None
        if still:
            faces = session.detect_still(frame.image, display_size, crop_size=crop)
        else:
            faces = session.detect(frame.image, frame.time, display_size, crop_size=crop)
        if self.expression is None or not faces:
            return [(f, None) for f in faces]
        crops = np.stack([f.crop for f in faces if f.crop is not None])
        probs = self.expression.predict(crops)
        return [(replace(f, crop=None), p) for f, p in zip(faces, probs, strict=True)]

    def models(self) -> tuple[dict[str, str], ...]:
        """What codes faces: landmarker, AU calibration and expression classifier."""
        calibration = {
            "name": "affectline_facs_mapping",
            "version": "1",
            "sha256": self.calibration.sha256,
            "origin": self.calibration.source,
        }
        models = [dict(self.landmarker.info), calibration]
        if self.expression is not None:
            models.append(dict(self.expression.info))
        return tuple(models)

    def code(
        self,
        frames: Iterable[VideoFrame],
        display_size: tuple[int, int],
        *,
        step: float | None = None,
        total_frames: int | None = None,
        still: bool = False,
        session: LandmarkerSession | None = None,
        hook: ProgressHook | None = None,
    ) -> FaceCoding:
        """Code every face in ``frames``.

        Args:
            frames: decoded frames with increasing times.
            display_size: ``(width, height)`` boxes are reported in.
            step: the analysis interval in seconds (for the blink rule); default: median frame
                interval.
            total_frames: expected number of frames, for progress only.
            still: the frames are a still picture: landmark it in IMAGE mode, trying harder
                (upscaling small pictures, a lower detection threshold).
            session: a landmarker session to use instead of opening one, e.g. one
                :meth:`still_session` for a whole collection of pictures.
            hook: progress callback, called once per frame.
        """
        tracker = BoxTracker(max_gap=self.config.track_max_gap)
        times: list[float] = []
        by_track: dict[int, list[_Observation]] = {}

        def record(time: float, found: list[_Found]) -> None:
            ids = tracker.update(time, [f.box for f, _ in found])
            for face_id, (face, probs) in zip(ids, found, strict=True):
                by_track.setdefault(face_id, []).append(_Observation(len(times), face, probs))
            times.append(time)
            if hook is not None:
                hook("face", completed=len(times), total=total_frames)

        workers = 1 if still or session is not None else max(1, self.config.workers)
        with ExitStack() as stack:
            sessions = [session] if session is not None else [
                stack.enter_context(self.still_session() if still else self.landmarker.session())
                for _ in range(workers)
            ]  # fmt: skip
            if workers == 1:
                for frame in frames:
                    record(frame.time, self._analyse(sessions[0], frame, display_size, still))
            else:
                # Frame i goes to landmarker i % workers (each keeps its own VIDEO-mode state and
                # sees increasing times); results are taken back in frame order, with at most
                # 2 * workers frames in flight, so memory stays bounded.
                pools = [
                    stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="landmarker"))
                    for _ in range(workers)
                ]
                pending: deque[tuple[float, Future[list[_Found]]]] = deque()
                for frame in frames:
                    k = frame.index % workers
                    job = pools[k].submit(self._analyse, sessions[k], frame, display_size, False)
                    pending.append((frame.time, job))
                    while len(pending) > 2 * workers:
                        time, future = pending.popleft()
                        record(time, future.result())
                while pending:
                    time, future = pending.popleft()
                    record(time, future.result())
        frame_times = np.asarray(times, dtype=np.float64)
        if step is None:
            step = float(np.median(np.diff(frame_times))) if len(frame_times) > 1 else 0.0
        tracks = tuple(
            self._finish_track(face_id, obs, frame_times, step)
            for face_id, obs in sorted(by_track.items())
        )
        return FaceCoding(
            frame_times=frame_times,
            tracks=tracks,
            frame_size=display_size,
            models=self.models(),
            config=asdict(self.config),
        )

    def _finish_track(
        self, face_id: int, observations: list[_Observation], frame_times: np.ndarray, step: float
    ) -> FaceTrack:
        rows = np.array([o.frame for o in observations])
        shapes = np.stack([o.face.blendshapes for o in observations])
        geometry = np.stack([o.face.geometry for o in observations])
        pose = np.array([o.face.pose for o in observations])
        boxes = np.array([o.face.box for o in observations])
        sharp = np.array([o.face.sharpness for o in observations])
        visible = np.array([o.face.in_frame for o in observations])
        q = quality(geometry[:, _IOD], pose[:, 0], pose[:, 1], sharp, visible)

        evidence = au_evidence(shapes, geometry)
        times = frame_times[rows]
        baseline = None
        seen_for = float(times[-1] - times[0] + step) if len(times) else 0.0
        cfg = self.config
        if (
            cfg.baseline
            and len(rows) >= cfg.baseline_min_frames
            and seen_for >= cfg.baseline_min_seconds
        ):
            offset = track_baseline(evidence, q, self.calibration.rest)
            evidence = np.clip(evidence - offset, 0.0, 1.0)
            baseline = {au: float(offset[j]) for j, au in enumerate(AU_CODES)}

        intensity, present = self.calibration.intensity(evidence)
        blink, shut = split_eye_closure(present[:, _AU["AU45"]], times, step, cfg.blink_max_seconds)
        for au, keep in (("AU45", blink), ("AU43", shut)):
            j = _AU[au]
            present[:, j] &= keep
            intensity[:, j] = np.where(keep, intensity[:, j], 0.0)
        from_aus = emotion_probabilities(intensity, unilateral(shapes, self.calibration))
        probs = [o.expression for o in observations if o.expression is not None]
        from_classifier = np.stack(probs) if len(probs) == len(observations) else None
        emotions = combine(from_classifier, from_aus, q, LABELS, au_share(geometry[:, _IOD]))
        valence, arousal = valence_arousal(emotions, intensity)
        if from_classifier is None:
            from_classifier = np.full((len(rows), len(LABELS)), np.nan)

        # The series spans the track's first to last frame (not the whole recording), so that
        # many short tracks in a long recording cost memory in proportion to their own length.
        first, last = int(rows[0]), int(rows[-1]) + 1
        values = np.full((last - first, len(FACE_COLUMNS)), np.nan)
        values[rows - first] = np.concatenate(
            [
                boxes, q[:, None], pose, intensity, present.astype(np.float64), emotions,
                valence[:, None], arousal[:, None], from_aus, from_classifier,
            ],
            axis=1,
        )  # fmt: skip
        mask = np.zeros(last - first, dtype=bool)
        mask[rows - first] = True
        series = FrameSeries(frame_times[first:last].copy(), values, mask, FACE_COLUMNS)
        return FaceTrack(face_id=face_id, series=series, baseline=baseline)

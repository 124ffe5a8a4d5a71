"""Aligned face crops for the expression classifier.

A similarity transform (rotation, uniform scale, shift) maps the eye centres and the mouth centre
found by the landmarker onto fixed template positions, and the face is resampled into a square
grey crop. The template is the average framing of FER2013 faces (measured with the landmarker on
1,388 training faces: eyes at (15.4, 18.7) and (32.3, 18.4), mouth at (24.2, 36.4) in a 48x48
image), so that a crop cut from a video frame looks like the faces the classifier learnt from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TEMPLATE_48 = np.array([[15.5, 18.5], [32.5, 18.5], [24.0, 36.5]])
"""Right eye, left eye (as seen in the image: left, right) and mouth centres in a 48x48 crop."""

# MediaPipe face mesh indices: eye corners and mouth corners.
_RIGHT_EYE = (33, 133)
_LEFT_EYE = (263, 362)
_MOUTH = (61, 291)


def keypoints(landmarks_px: FloatArray) -> FloatArray:
    """Eye and mouth centres, shape ``(3, 2)``, from ``(478, 2)`` landmark pixels."""
    return np.stack(
        [landmarks_px[list(idx)].mean(axis=0) for idx in (_RIGHT_EYE, _LEFT_EYE, _MOUTH)]
    )


def similarity_transform(src: FloatArray, dst: FloatArray) -> FloatArray:
    """The 2x3 least-squares similarity transform taking points ``src`` onto ``dst`` (Umeyama)."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    cov = d.T @ s / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    var = (s**2).sum() / len(src)
    scale = float(np.trace(np.diag(sigma) @ sign) / var) if var > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def to_gray(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """ITU-R 601 luma of an RGB image (a grey image is returned as it is)."""
    if image.ndim == 2:
        return image
    gray = image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    out: npt.NDArray[np.uint8] = np.clip(gray + 0.5, 0, 255).astype(np.uint8)
    return out


def aligned_crop(
    image: npt.NDArray[np.uint8], landmarks_px: FloatArray, size: int = 48
) -> npt.NDArray[np.uint8]:
    """A ``(size, size)`` grey crop of the face, aligned to :data:`TEMPLATE_48`.

    Args:
        image: ``(h, w, 3)`` RGB or ``(h, w)`` grey frame the landmarks were found in.
        landmarks_px: ``(478, 2)`` landmark positions in that frame's pixels.
        size: output side in pixels.
    """
    import cv2

    # Work on the face's neighbourhood only: converting and warping a whole frame per face
    # would cost more than the classifier itself.
    spread = np.ptp(landmarks_px, axis=0)
    lo = np.floor(landmarks_px.min(axis=0) - 0.5 * spread).astype(int)
    hi = np.ceil(landmarks_px.max(axis=0) + 0.5 * spread).astype(int)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [image.shape[1], image.shape[0]])
    if np.any(hi - lo < 2):
        return np.zeros((size, size), dtype=np.uint8)
    gray = to_gray(image[lo[1] : hi[1], lo[0] : hi[0]])
    points = keypoints(landmarks_px) - lo
    matrix = similarity_transform(points, TEMPLATE_48 * (size / 48.0))
    scale = float(np.hypot(*matrix[:, 0]))
    if scale < 0.8:
        # Shrinking a large face: average the pixels first (INTER_AREA), then warp, so that
        # the crop is not aliased.
        factor = min(1.0, 1.5 * scale)
        small = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
        fx, fy = small[0] / gray.shape[1], small[1] / gray.shape[0]
        gray = np.asarray(cv2.resize(gray, small, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        matrix = similarity_transform(points * [fx, fy], TEMPLATE_48 * (size / 48.0))
    crop = cv2.warpAffine(
        gray, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(crop, dtype=np.uint8)

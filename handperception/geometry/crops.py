"""Crop boxes and crop cameras: the one home of how hands are framed and cropped.

Why here and pure numpy: the pose net sees hand-centred square crops, and its 2.5D output only
lifts to metric 3D if the crop's intrinsics are exact, so cropping, resizing and the pixel
mapping back to the frame must all follow one convention (geometry.camera: pixel centres at
integer coordinates, pixel i covers [i - 0.5, i + 0.5]). Crops use whole-pixel boxes so the
crop is an exact pixel copy before a centre-aligned resize, which is what
``PinholeCamera.crop``/``resize`` model. The node's tracker, the detector's training targets and
the real-data crops all frame hands with these functions, so training and run time agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.validation import float_array

# The detector's boxes are the hand's keypoint bounding box scaled by this about its centre
# (the keypoints are joint centres; the skin reaches a bit beyond them).
DETECTION_BOX_PADDING = 1.15
# Crops around previous keypoints: the keypoint box's longer side times this. It matches how the
# training crops are framed (the hand's silhouette fills 60-85 % of them) and leaves room for
# motion; measured on the synthetic camera's sequences, 1.5 against 1.3: 2D error 14-16 px
# instead of 14-22 px, and the detector needed on 18-52 % of frames instead of 83-100 %.
KEYPOINT_CROP_SCALE = 1.5
# Smallest crop side in frame pixels; a tiny far hand is better upsampled from some context.
MIN_CROP_SIDE = 32


@dataclass(frozen=True)
class CropBox:
    """A square crop of `side` whole pixels whose top-left pixel is (x0, y0), frame pixels.

    May reach outside the frame; those pixels are zeros in the crop.
    """

    x0: int
    y0: int
    side: int

    def __post_init__(self) -> None:
        if self.side <= 0:
            raise ValueError(f"crop side must be positive, got {self.side}")

    @property
    def xyxy(self) -> np.ndarray:
        """(4,) the covered area's edges (x_min, y_min, x_max, y_max), frame pixels."""
        return np.array(
            [self.x0 - 0.5, self.y0 - 0.5, self.x0 + self.side - 0.5, self.y0 + self.side - 0.5]
        )


def check_box(box_xyxy: np.ndarray) -> np.ndarray:
    box = np.asarray(box_xyxy, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(
            f"box must be 4 finite values (x_min, y_min, x_max, y_max), got {box_xyxy!r}"
        )
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"box has negative size: {box_xyxy!r}")
    return box


def keypoint_bbox(keypoints: np.ndarray) -> np.ndarray:
    """(J, 2) pixels -> (4,) their bounding box (x_min, y_min, x_max, y_max)."""
    points = float_array(keypoints, "keypoints", (..., 2))
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"keypoints must be a non-empty (J, 2) array, got {points.shape}")
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def scale_box(box_xyxy: np.ndarray, factor: float) -> np.ndarray:
    """(4,) box scaled by `factor` about its centre."""
    box = check_box(box_xyxy)
    if not factor > 0:
        raise ValueError(f"scale factor must be positive, got {factor}")
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * factor
    return np.concatenate([centre - half, centre + half])


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) and (M, 4) xyxy boxes -> (N, M) intersection over union (0 for empty boxes)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(high - low, 0.0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)


def square_box(box_xyxy: np.ndarray, scale: float = 1.0, min_side: int = MIN_CROP_SIDE) -> CropBox:
    """The whole-pixel square crop centred on a box, side = longer side * scale (>= min_side)."""
    box = check_box(box_xyxy)
    if not scale > 0 or min_side < 1:
        raise ValueError(f"need scale > 0 and min_side >= 1, got {scale}, {min_side}")
    side = max(int(min_side), int(round(float(np.max(box[2:] - box[:2])) * scale)))
    centre = (box[:2] + box[2:]) / 2
    # A crop starting at pixel x0 covers [x0 - 0.5, x0 + side - 0.5]: its centre is
    # x0 + (side - 1) / 2.
    x0, y0 = np.round(centre - (side - 1) / 2).astype(int)
    return CropBox(int(x0), int(y0), side)


def box_from_keypoints(
    keypoints: np.ndarray, scale: float = KEYPOINT_CROP_SCALE, min_side: int = MIN_CROP_SIDE
) -> CropBox:
    """Crop around (J, 2) previous-frame keypoints, frame pixels."""
    return square_box(keypoint_bbox(keypoints), scale, min_side)


def box_from_detection(
    box_xyxy: np.ndarray,
    scale: float = KEYPOINT_CROP_SCALE / DETECTION_BOX_PADDING,
    min_side: int = MIN_CROP_SIDE,
) -> CropBox:
    """Crop around a detector box; the default scale gives the same crop as from the keypoints."""
    return square_box(box_xyxy, scale, min_side)


def crop_to_frame(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """(..., 2) pixels of a size x size crop of `box` -> (..., 2) frame pixels."""
    points = float_array(points, "crop points", (..., 2))
    _check_size(size)
    return (points + 0.5) * (box.side / size) - 0.5 + np.array([box.x0, box.y0])


def frame_to_crop(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """(..., 2) frame pixels -> (..., 2) pixels of a size x size crop of `box`; inverse of
    crop_to_frame."""
    points = float_array(points, "frame points", (..., 2))
    _check_size(size)
    return (points - np.array([box.x0, box.y0]) + 0.5) * (size / box.side) - 0.5


def crop_and_resize(
    image: np.ndarray, camera: PinholeCamera, box: CropBox, size: int
) -> tuple[np.ndarray, PinholeCamera]:
    """Cut `box` out of `image` (zeros outside the frame) and resize it to size x size.

    Args:
        image: (H, W) or (H, W, C) frame; camera its intrinsics (W x H).
        box: the square crop, frame pixels.
        size: output side in pixels.
    Returns:
        the (size, size[, C]) crop, same dtype, and the PinholeCamera that took it: a 3D point
        projects through it to where its image is in the crop, so 2.5D lifting stays metric.
    """
    image = np.asarray(image)
    _check_size(size)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C), got {image.shape}")
    height, width = image.shape[:2]
    if (camera.width, camera.height) != (width, height):
        raise ValueError(
            f"camera is {camera.width}x{camera.height} but the image is {width}x{height}"
        )
    canvas = np.zeros((box.side, box.side) + image.shape[2:], dtype=image.dtype)
    fx0, fy0 = max(box.x0, 0), max(box.y0, 0)
    fx1, fy1 = min(box.x0 + box.side, width), min(box.y0 + box.side, height)
    if fx1 > fx0 and fy1 > fy0:
        canvas[fy0 - box.y0 : fy1 - box.y0, fx0 - box.x0 : fx1 - box.x0] = image[fy0:fy1, fx0:fx1]
    # cv2.resize maps pixel centres like PinholeCamera.resize; area averaging when shrinking.
    interpolation = cv2.INTER_AREA if box.side > size else cv2.INTER_LINEAR
    crop = cv2.resize(canvas, (size, size), interpolation=interpolation)
    crop_camera = camera.crop(box.x0, box.y0, box.side, box.side).resize(size, size)
    return crop.reshape((size, size) + image.shape[2:]), crop_camera


def _check_size(size: int) -> None:
    if int(size) != size or size < 1:
        raise ValueError(f"crop size must be a positive integer, got {size}")

"""Overlays for the annotated video and debug images: skeletons coloured per finger, hand-part
labels coloured per part, gaze arrows and a heads-up line of rate and latency."""

from __future__ import annotations

import cv2
import numpy as np

from handperception.results import GazeEstimate, HandEstimate
from handperception.skeleton import BONES
from handperception.skeleton.palette import PART_RGB, WRIST_RGB, finger_rgb

_PART_COLOURS = np.array(PART_RGB, dtype=np.float32)


def draw_hand(
    image: np.ndarray, joints_2d: np.ndarray, label: str = "", confidence: np.ndarray | None = None
) -> None:
    """Draw one skeleton in place on an (H, W, 3) RGB image; joints below 0.3 confidence
    dashed-thin."""
    scale = max(1, round(min(image.shape[:2]) / 240))
    points = np.round(joints_2d).astype(int)
    for parent, child in BONES:
        weak = confidence is not None and min(confidence[parent], confidence[child]) < 0.3
        cv2.line(
            image,
            tuple(points[parent]),
            tuple(points[child]),
            finger_rgb(child),
            1 if weak else 2 * scale,
            cv2.LINE_AA,
        )
    for joint, point in enumerate(points):
        cv2.circle(image, tuple(point), 2 * scale, finger_rgb(joint), -1, cv2.LINE_AA)
    if label:
        cv2.putText(
            image,
            label,
            tuple(points[0] + [4, 14 * scale]),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * scale,
            WRIST_RGB,
            scale,
            cv2.LINE_AA,
        )


def draw_hands(image: np.ndarray, hands: list[HandEstimate]) -> None:
    for hand in hands:
        draw_hand(
            image, hand.joints_2d, f"{hand.handedness} {hand.score:.2f}", hand.joint_confidence
        )


def draw_part_labels(image: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> None:
    """Blend each labelled pixel's part colour (``PART_RGB``) over an (H, W, 3) uint8 RGB image,
    in place, with opacity ``alpha``; background (0) and values that are no label stay as they
    are. ``labels``: (H, W) part labels of ``skeleton.parts``."""
    if labels.shape != image.shape[:2]:
        raise ValueError(f"labels are {labels.shape}, the image {image.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    drawn = (labels > 0) & (labels < len(PART_RGB))
    if not drawn.any():
        return
    colours = _PART_COLOURS[labels[drawn]]
    blended = (1.0 - alpha) * image[drawn] + alpha * colours
    image[drawn] = np.clip(np.round(blended), 0, 255).astype(np.uint8)


def draw_gaze(image: np.ndarray, gaze: GazeEstimate, project, length_m: float = 0.15) -> None:
    """Arrow from the gaze origin along the gaze; ``project`` maps (N, 3) metres to (N, 2)
    pixels."""
    ends = project(np.stack([gaze.origin, gaze.origin + length_m * gaze.direction]))
    start, end = (tuple(np.round(p).astype(int)) for p in ends)
    cv2.arrowedLine(image, start, end, (255, 220, 0), 2, cv2.LINE_AA, tipLength=0.2)


def draw_hud(image: np.ndarray, lines: list[str]) -> None:
    """Text lines on a dark band at the top-left."""
    scale = max(0.4, min(image.shape[:2]) / 960)
    height = int(18 * scale / 0.5)
    band = image[: height * len(lines) + 6, : int(image.shape[1] * 0.6)]
    band[:] = (band * 0.4).astype(image.dtype)
    for row, text in enumerate(lines):
        cv2.putText(
            image,
            text,
            (6, height * (row + 1)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )

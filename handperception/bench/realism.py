"""How real the synthetic renders look to models trained on real images (MediaPipe as the judge).

Why a judge: a network trained only on renders transfers to cameras as far as the renders look
like real images, and no real hand images with labels are available here. MediaPipe's hand and
face models were trained on real photographs; the share of renders they find, and how close
their landmarks land to the exact labels, measures how far the renders are from that domain and
where (which viewpoints, skin tones, hand sizes).

Protocol (``judge_renders``): N renders of one kind from the ``interpolation`` split's test
partition, each run once through MediaPipe in static-image mode (full model, detection
threshold 0.3, up to two hands). Ground-truth hands and found hands are matched greedily by the
IoU of their keypoint boxes (at least ``MIN_MATCH_IOU``). A hand is *found* when matched and
*within* when its landmarks lie on average within ``WITHIN_FRACTION`` of its keypoint box's
diagonal from the truth (*all within*: every one of the 21 does). For faces, a face is found
when the face mesh returns one, and the iris-centre error is the pixel distance between the
refined iris centres and the true ones, paired by the nearer assignment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from handperception.geometry.crops import box_iou, keypoint_bbox
from handperception.pipeline.mediapipe_backend import (
    INSTALL_COMMAND,
    landmarks_to_pixels,
    person_handedness,
)
from handperception.synth.eye_face import FaceSample, FaceSpec, sample_face
from handperception.synth.render import HandFrame
from handperception.synth.scenes import hand_crop, two_hand_crop
from handperception.synth.splits import load_split

KINDS = ("hands", "two_hands", "eyes")
WITHIN_FRACTION = 0.10
MIN_MATCH_IOU = 0.25
DETECTION_CONFIDENCE = 0.3
# MediaPipe face mesh with refine_landmarks: the iris centres of the image's left and right eye.
IRIS_CENTRES = (468, 473)
# Bucket edges. Viewpoint from the direction to the camera in the hand frame (elevation beyond
# this is along the fingers or up the forearm); skin by the albedo's luma (Rec. 601), dark below
# the first edge; size by the keypoint box's diagonal over the image's.
ALONG_ELEVATION_DEG = 60.0
SKIN_LUMA_EDGES = (120.0, 180.0)
SIZE_EDGES = (0.45, 0.7)
SHEET_TILES = 24
SHEET_TILE_PX = 192


@dataclass(frozen=True)
class HandJudgement:
    """One ground-truth hand of render ``index`` (``hand`` within it): found, within, all_within,
    error and max_error (the mean and largest landmark error over the keypoint-box diagonal; NaN
    when not found), handedness_ok (None when not found) and its buckets."""

    index: int
    hand: int
    found: bool
    within: bool
    all_within: bool
    error: float
    max_error: float
    handedness_ok: bool | None
    viewpoint: str
    skin: str
    size: str


@dataclass(frozen=True)
class FaceJudgement:
    """Face render ``index``: found, and the two iris centres' pixel errors (NaN when missed)."""

    index: int
    found: bool
    iris_error_px: tuple[float, float]


def viewpoint_bucket(global_rotation: np.ndarray, is_left: bool, keypoints_3d: np.ndarray) -> str:
    """'back', 'palm', 'side', 'fingertips' or 'forearm': where the camera sits seen from the hand.

    The direction to the camera is taken in the hand frame of ``skeleton.kinematics`` (+z out
    of the back, +y towards the fingers; a left hand's x mirrored), as ``scenes.viewpoint_rotation``
    draws it.
    """
    towards_camera = -np.mean(keypoints_3d, axis=0)
    local = np.asarray(global_rotation).T @ (towards_camera / np.linalg.norm(towards_camera))
    if is_left:
        local[0] = -local[0]
    elevation = np.degrees(np.arcsin(np.clip(local[1], -1.0, 1.0)))
    if elevation > ALONG_ELEVATION_DEG:
        return "fingertips"
    if elevation < -ALONG_ELEVATION_DEG:
        return "forearm"
    azimuth = abs(np.degrees(np.arctan2(local[0], local[2])))
    return "back" if azimuth < 45 else "palm" if azimuth > 135 else "side"


def skin_bucket(albedo: np.ndarray) -> str:
    """'dark', 'medium' or 'light' by the sRGB albedo's luma."""
    luma = float(np.dot(albedo, [0.299, 0.587, 0.114]))
    return (
        "dark" if luma < SKIN_LUMA_EDGES[0] else "medium" if luma < SKIN_LUMA_EDGES[1] else "light"
    )


def size_bucket(keypoints_2d: np.ndarray, width: int, height: int) -> str:
    """'small', 'medium' or 'large' by the keypoint box's diagonal over the image's."""
    box = keypoint_bbox(keypoints_2d)
    share = np.hypot(*(box[2:] - box[:2])) / np.hypot(width, height)
    return "small" if share < SIZE_EDGES[0] else "medium" if share < SIZE_EDGES[1] else "large"


def match_hands(truth: list[np.ndarray], found: list[np.ndarray]) -> list[int | None]:
    """For each true hand's (21, 2) keypoints, the index of the found hand matched to it (or
    None): greedily by the highest keypoint-box IoU, each found hand used once, IoU at least
    ``MIN_MATCH_IOU``."""
    if not truth or not found:
        return [None] * len(truth)
    iou = box_iou(
        np.stack([keypoint_bbox(k) for k in truth]), np.stack([keypoint_bbox(k) for k in found])
    )
    matches: list[int | None] = [None] * len(truth)
    for flat in np.argsort(-iou, axis=None):
        row, column = np.unravel_index(flat, iou.shape)
        if iou[row, column] < MIN_MATCH_IOU:
            break
        if matches[row] is None and column not in matches:
            matches[row] = int(column)
    return matches


def landmark_errors(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(21,) distances between (21, 2) true and found landmarks over the true keypoint box's
    diagonal."""
    box = keypoint_bbox(truth)
    diagonal = max(float(np.hypot(*(box[2:] - box[:2]))), 1e-9)
    return np.linalg.norm(found - truth, axis=1) / diagonal


@dataclass(frozen=True)
class FoundHand:
    """What MediaPipe returned for one hand: (21, 2) OpenCV pixels and its handedness label."""

    pixels: np.ndarray
    label: str


def judge_hand_frame(index: int, frame: HandFrame, found: list[FoundHand]) -> list[HandJudgement]:
    """Judge every hand of one render against MediaPipe's hands for it."""
    height, width = frame.rgb.shape[:2]
    truth = [frame.keypoints_2d[i].astype(np.float64) for i in range(len(frame.is_left))]
    matches = match_hands(truth, [hand.pixels for hand in found])
    judgements = []
    for hand, match in enumerate(matches):
        errors = (
            np.full(len(truth[hand]), np.nan)
            if match is None
            else landmark_errors(truth[hand], found[match].pixels)
        )
        side = "left" if frame.is_left[hand] else "right"
        judgements.append(
            HandJudgement(
                index=index,
                hand=hand,
                found=match is not None,
                within=bool(errors.mean() <= WITHIN_FRACTION),
                all_within=bool(errors.max() <= WITHIN_FRACTION),
                error=float(errors.mean()),
                max_error=float(errors.max()),
                handedness_ok=None
                if match is None
                else person_handedness(found[match].label, mirrored=False) == side,
                viewpoint=viewpoint_bucket(
                    frame.global_rotation[hand], bool(frame.is_left[hand]), frame.keypoints_3d[hand]
                ),
                skin=skin_bucket(frame.skin[hand]),
                size=size_bucket(truth[hand], width, height),
            )
        )
    return judgements


def _import_mediapipe():
    try:
        import mediapipe
    except ImportError as error:
        raise ImportError(
            f"the realism judge needs MediaPipe ({error}); install the optional peer: "
            f"`{INSTALL_COMMAND}`"
        ) from error
    return mediapipe


class HandJudge:
    """MediaPipe Hands as the protocol runs it: full model, static images, two hands at most."""

    def __init__(self) -> None:
        self._hands = _import_mediapipe().solutions.hands.Hands(
            static_image_mode=True,
            max_num_hands=2,
            model_complexity=1,
            min_detection_confidence=DETECTION_CONFIDENCE,
        )

    def __call__(self, rgb: np.ndarray) -> list[FoundHand]:
        output = self._hands.process(np.ascontiguousarray(rgb))
        height, width = rgb.shape[:2]
        return [
            FoundHand(
                landmarks_to_pixels([(p.x, p.y) for p in landmarks.landmark], width, height),
                handedness.classification[0].label,
            )
            for landmarks, handedness in zip(
                output.multi_hand_landmarks or [], output.multi_handedness or []
            )
        ]

    def close(self) -> None:
        self._hands.close()


def iris_centres(sample: FaceSample) -> np.ndarray:
    """(2, 2) pixels: the true iris-disc centres, sqrt(R^2 - r^2) along each gaze from the
    eyeball centre (``synth.eye_shading``'s iris geometry)."""
    reach = np.sqrt(sample.look["eyeball_radius"] ** 2 - sample.look["iris_radius"] ** 2)
    return sample.camera.project(sample.eyeball_centres_3d + reach * sample.gaze_vectors)


def iris_errors(truth: np.ndarray, found: np.ndarray) -> tuple[float, float]:
    """Pixel errors of two found iris centres (2, 2) against the true ones (2, 2), paired the way
    with the smaller total error (MediaPipe's eye order is the image's, not the subject's)."""
    straight = np.linalg.norm(found - truth, axis=1)
    crossed = np.linalg.norm(found[::-1] - truth, axis=1)
    best = straight if straight.sum() <= crossed.sum() else crossed
    return float(best[0]), float(best[1])


class FaceJudge:
    """MediaPipe face mesh with iris refinement on static images."""

    def __init__(self) -> None:
        self._mesh = _import_mediapipe().solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=DETECTION_CONFIDENCE,
        )

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(2, 2) OpenCV pixels of the two iris centres, or None when no face was found."""
        output = self._mesh.process(np.ascontiguousarray(rgb))
        if not output.multi_face_landmarks:
            return None
        landmarks = output.multi_face_landmarks[0].landmark
        height, width = rgb.shape[:2]
        points = [(landmarks[i].x, landmarks[i].y) for i in IRIS_CENTRES]
        return landmarks_to_pixels(points, width, height)

    def close(self) -> None:
        self._mesh.close()


def _rate(flags: list[bool]) -> float | None:
    return float(np.mean(flags)) if flags else None


def summarise_hands(judgements: list[HandJudgement]) -> dict:
    """Overall and per-bucket counts and rates (found, within, handedness among found)."""

    def rates(group: list[HandJudgement]) -> dict:
        found = [j for j in group if j.found]
        return {
            "hands": len(group),
            "found": _rate([j.found for j in group]),
            "within": _rate([j.within for j in group]),
            "all_within": _rate([j.all_within for j in group]),
            "handedness_ok_of_found": _rate([bool(j.handedness_ok) for j in found]),
            "median_error_of_found": float(np.median([j.error for j in found])) if found else None,
        }

    summary = {"all": rates(judgements)}
    for axis in ("viewpoint", "skin", "size"):
        values = sorted({getattr(j, axis) for j in judgements})
        summary[axis] = {
            value: rates([j for j in judgements if getattr(j, axis) == value]) for value in values
        }
    return summary


def summarise_faces(judgements: list[FaceJudgement]) -> dict:
    """Detection rate and iris-centre error statistics (pixels) over found faces."""
    errors = np.array([e for j in judgements if j.found for e in j.iris_error_px])
    stats = (
        {
            "iris_error_px_median": float(np.median(errors)),
            "iris_error_px_mean": float(errors.mean()),
            "iris_error_px_p90": float(np.percentile(errors, 90)),
        }
        if len(errors)
        else {}
    )
    return {"faces": len(judgements), "found": _rate([j.found for j in judgements]), **stats}


def _tile(rgb: np.ndarray, truth: list[np.ndarray], found: list[np.ndarray], ok: bool):
    """A SHEET_TILE_PX square of the render with the true points (green) and MediaPipe's (red),
    framed green when everything was found, red otherwise."""
    scale = SHEET_TILE_PX / max(rgb.shape[:2])
    tile = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    tile = cv2.copyMakeBorder(
        tile,
        0,
        SHEET_TILE_PX - tile.shape[0],
        0,
        SHEET_TILE_PX - tile.shape[1],
        cv2.BORDER_CONSTANT,
    )
    for points, colour in ((truth, (0, 220, 0)), (found, (255, 40, 40))):
        for hand in points:
            for x, y in np.asarray(hand) * scale:
                cv2.circle(tile, (int(round(x)), int(round(y))), 2, colour, -1)
    cv2.rectangle(
        tile, (0, 0), (SHEET_TILE_PX - 1, SHEET_TILE_PX - 1), (0, 200, 0) if ok else (220, 0, 0), 3
    )
    return tile


def write_contact_sheet(tiles: list[tuple[np.ndarray, bool]], path: Path) -> Path:
    """A PNG with up to SHEET_TILES found renders in the top rows and as many missed below."""
    columns = 8
    rows = []
    for wanted in (True, False):
        chosen = [tile for tile, ok in tiles if ok == wanted][:SHEET_TILES]
        chosen += [np.zeros_like(tiles[0][0])] * (-len(chosen) % columns)
        rows += [np.hstack(chosen[i : i + columns]) for i in range(0, len(chosen), columns)]
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return path


SCENES: dict[str, Callable[..., HandFrame]] = {"hands": hand_crop, "two_hands": two_hand_crop}


def judge_renders(kind: str, n: int, seed: int = 0, size: int = 128) -> tuple[dict, list]:
    """Render ``n`` items of ``kind`` and judge them; returns (summary, contact-sheet tiles).

    The summary holds the protocol's settings, the overall and per-bucket rates and every
    judgement (so runs can be compared item by item).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown realism kind {kind!r}; expected one of {KINDS}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    settings = {
        "kind": kind,
        "n": n,
        "seed": seed,
        "detection_confidence": DETECTION_CONFIDENCE,
        "within_fraction": WITHIN_FRACTION,
        "min_match_iou": MIN_MATCH_IOU,
    }
    tiles = []
    if kind == "eyes":
        judge, faces = FaceJudge(), []
        spec = FaceSpec()
        try:
            for index in range(n):
                sample = sample_face(spec, seed, index)
                rgb = cv2.cvtColor(sample.image, cv2.COLOR_GRAY2RGB)
                truth = iris_centres(sample)
                found = judge(rgb)
                errors = (np.nan, np.nan) if found is None else iris_errors(truth, found)
                faces.append(FaceJudgement(index, found is not None, errors))
                tiles.append(
                    (
                        _tile(rgb, [truth], [] if found is None else [found], found is not None),
                        found is not None,
                    )
                )
        finally:
            judge.close()
        summary = {**settings, **summarise_faces(faces), "items": [asdict(f) for f in faces]}
        return summary, tiles
    split = load_split("interpolation")
    judge, hands = HandJudge(), []
    try:
        for index in range(n):
            frame = SCENES[kind](split, "test", seed, index, size)
            found = judge(frame.rgb)
            judged = judge_hand_frame(index, frame, found)
            hands += judged
            everything = all(j.found for j in judged)
            tiles.append(
                (
                    _tile(
                        frame.rgb, list(frame.keypoints_2d), [f.pixels for f in found], everything
                    ),
                    everything,
                )
            )
    finally:
        judge.close()
    summary = {
        **settings,
        "size": size,
        **summarise_hands(hands),
        "items": [asdict(h) for h in hands],
    }
    return summary, tiles


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def markdown_report(summary: dict) -> str:
    """The summary as Markdown tables (overall, then one per bucket axis)."""
    lines = [
        f"# Realism of `{summary['kind']}` renders ({summary['n']} items, seed {summary['seed']})",
        "",
    ]
    if summary["kind"] == "eyes":
        lines += [
            "| faces | found | iris error median px | mean px | p90 px |",
            "|---|---|---|---|---|",
            f"| {summary['faces']} | {_percent(summary['found'])} | "
            + " | ".join(
                f"{summary[k]:.2f}" if k in summary else "-"
                for k in ("iris_error_px_median", "iris_error_px_mean", "iris_error_px_p90")
            )
            + " |",
        ]
        return "\n".join(lines) + "\n"
    header = (
        "| {} | hands | found | within 10 % | all within 10 % | handedness ok (found) "
        "| median error (found) |"
    )
    for axis in ("all", "viewpoint", "skin", "size"):
        groups = {"all": summary["all"]} if axis == "all" else summary[axis]
        lines += [header.format(axis), "|---|---|---|---|---|---|---|"]
        for name, rates in groups.items():
            median = rates["median_error_of_found"]
            lines.append(
                f"| {name} | {rates['hands']} | {_percent(rates['found'])} | "
                f"{_percent(rates['within'])} | {_percent(rates['all_within'])} | "
                f"{_percent(rates['handedness_ok_of_found'])} | "
                f"{'-' if median is None else f'{median:.3f}'} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_realism_report(
    kind: str, n: int, out: str | Path, seed: int = 0, size: int = 128
) -> dict:
    """Judge ``n`` renders of ``kind`` and write ``realism_<kind>.json``, ``.md`` and
    ``realism_<kind>_sheet.png`` into ``out``; returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary, tiles = judge_renders(kind, n, seed, size)
    (out / f"realism_{kind}.json").write_text(json.dumps(summary, indent=1))
    (out / f"realism_{kind}.md").write_text(markdown_report(summary))
    write_contact_sheet(tiles, out / f"realism_{kind}_sheet.png")
    return summary

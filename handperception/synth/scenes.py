"""Scene generators: single-hand crops, two interacting hands, full frames with 0-2 hands.

Why crops and frames: the pose network sees hand-centred crops (what a detector hands it), the
detector and segmenter see full frames, and two-hand crops teach both to untangle hands that
touch, cross and occlude each other. Every item is a pure function of (seed, partition, index),
so a dataset is reproducible byte for byte and can be generated in any order or in parallel.
"""

from __future__ import annotations

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.kinematics import HandParameters, sample_shapes
from handperception.synth.hand_model import joint_radii
from handperception.synth.poses import sample_synergy_poses, sample_uniform_poses
from handperception.synth.render import HandFrame, render_hands, sample_skin
from handperception.synth.splits import PARTITIONS, SplitSpec

SCENE_KINDS = ("hands", "two_hands", "full_frame")
UNIFORM_POSE_PROBABILITY = 0.15
CROP_DEPTH_RANGE = (0.3, 0.9)
FRAME_DEPTH_RANGE = (0.35, 1.1)


def item_rng(seed: int, partition: str, kind: str, index: int) -> np.random.Generator:
    """The generator of one item: independent streams per (seed, partition, kind, index)."""
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; expected one of {SCENE_KINDS}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got {seed}, {index}")
    return np.random.default_rng(
        [seed, PARTITIONS.index(partition), SCENE_KINDS.index(kind), index]
    )


def viewpoint_rotation(azimuth_deg: float, elevation_deg: float, roll_deg: float) -> np.ndarray:
    """(3, 3) hand frame -> camera frame for a camera seen from the hand at (azimuth, elevation).

    The camera direction in the hand frame is Ry(az) Rx(-el) +z: az = el = 0 looks at the back of
    the hand, az = 180 at the palm, el = 90 along the fingers from their tips. Roll spins the
    image about the optical axis; at roll 0 the fingers point up in the image when possible.
    """
    az, el, roll = np.radians([azimuth_deg, elevation_deg, roll_deg])
    towards_camera = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    z_cam = -towards_camera
    up = _perpendicular(np.array([0.0, 1.0, 0.0]), towards_camera)
    if np.linalg.norm(up) < 1e-6:
        # Looking straight along the fingers: let the thumb side point up instead.
        up = _perpendicular(np.array([-1.0, 0.0, 0.0]), towards_camera)
    y_cam = -up / np.linalg.norm(up)
    x_cam = np.cross(y_cam, z_cam)
    align = np.stack([x_cam, y_cam, z_cam])
    c, s = np.cos(roll), np.sin(roll)
    spin = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return spin @ align


def _perpendicular(vector: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """The component of `vector` orthogonal to the unit vector `unit`."""
    return vector - (vector @ unit) * unit


def sample_hand(
    rng: np.random.Generator, spec: SplitSpec, partition: str, is_left: bool
) -> HandParameters:
    """One hand (N = 1) with shape, pose and viewpoint drawn from the split, wrist at the origin."""
    shape = sample_shapes(rng, 1)
    shape[0, 0] = spec.sample(rng, "shape", partition)["scale"]
    amplitude = spec.sample(rng, "articulation", partition)["amplitude"]
    if rng.random() < UNIFORM_POSE_PROBABILITY:
        pose = sample_uniform_poses(rng, 1) * amplitude
    else:
        pose = sample_synergy_poses(rng, 1, amplitude)
    view = spec.sample(rng, "viewpoint", partition)
    rotation = viewpoint_rotation(
        view["azimuth_deg"], view["elevation_deg"], rng.uniform(-180, 180)
    )
    return HandParameters(pose, shape, rotation[None], np.zeros((1, 3)), np.array([is_left]))


def _moved(hand: HandParameters, centre: np.ndarray) -> tuple[HandParameters, np.ndarray]:
    """The hand (N = 1, wrist at the origin) translated so its keypoint bounding-box centre
    lands on `centre` (3,) metres, and its (1, 21, 3) keypoints.

    The keypoints are passed on rather than recomputed by forward kinematics (a large part of
    a small crop's cost); adding the translation here is the same float operation as in FK.
    """
    keypoints = hand.keypoints()
    middle = (keypoints[0].min(axis=0) + keypoints[0].max(axis=0)) / 2
    translation = (centre - middle)[None]
    moved = HandParameters(hand.pose, hand.shape, hand.global_rotation, translation, hand.is_left)
    return moved, keypoints + translation[:, None, :]


def _stack(hands: list[HandParameters]) -> HandParameters:
    return HandParameters(
        *(
            np.concatenate([getattr(h, f) for h in hands])
            for f in ("pose", "shape", "global_rotation", "translation", "is_left")
        )
    )


def _fitting_camera(
    rng: np.random.Generator, keypoints: np.ndarray, scales: np.ndarray, size: int
) -> PinholeCamera:
    """A size x size camera whose view the hands' silhouettes fill to 60-85 %, slightly off-centre.

    keypoints (N, 21, 3) metres, camera frame; scales (N,) the hands' shape scales.
    """
    margin = np.concatenate([joint_radii(s) for s in scales])
    points = keypoints.reshape(-1, 3)
    x, y = points[:, 0] / points[:, 2], points[:, 1] / points[:, 2]
    pad = margin / points[:, 2]
    lo = np.array([np.min(x - pad), np.min(y - pad)])
    hi = np.array([np.max(x + pad), np.max(y + pad)])
    focal = size * rng.uniform(0.6, 0.85) / float(np.max(hi - lo))
    jitter = rng.uniform(-0.05, 0.05, size=2) * size
    principal = (size - 1) / 2 - focal * (lo + hi) / 2 + jitter
    return PinholeCamera(focal, focal, float(principal[0]), float(principal[1]), size, size)


def hand_crop(spec: SplitSpec, partition: str, seed: int, index: int, size: int = 128) -> HandFrame:
    """A size x size crop centred on one hand (left or right with equal odds)."""
    _check_size(size)
    rng = item_rng(seed, partition, "hands", index)
    hand = sample_hand(rng, spec, partition, bool(rng.random() < 0.5))
    hand, keypoints = _moved(hand, np.array([0.0, 0.0, rng.uniform(*CROP_DEPTH_RANGE)]))
    camera = _fitting_camera(rng, keypoints, hand.shape[:, 0], size)
    return render_hands(rng, camera, hand, sample_skin(rng)[None], keypoints=keypoints)


def two_hand_crop(
    spec: SplitSpec, partition: str, seed: int, index: int, size: int = 128
) -> HandFrame:
    """A crop of a left and a right hand close enough to touch, cross and occlude each other.

    Hands are ordered [left, right]. The right hand's centre is 3-10 cm from the left's in the
    image plane and up to 5 cm nearer or farther, so their silhouettes (~18 cm long) overlap.
    """
    _check_size(size)
    rng = item_rng(seed, partition, "two_hands", index)
    depth = rng.uniform(*CROP_DEPTH_RANGE)
    left, left_keypoints = _moved(
        sample_hand(rng, spec, partition, True), np.array([0.0, 0.0, depth])
    )
    angle = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(0.03, 0.10) * np.array([np.cos(angle), np.sin(angle), 0.0])
    offset[2] = rng.uniform(-0.05, 0.05)
    right, right_keypoints = _moved(
        sample_hand(rng, spec, partition, False), np.array([0.0, 0.0, depth]) + offset
    )
    hands = _stack([left, right])
    keypoints = np.concatenate([left_keypoints, right_keypoints])
    camera = _fitting_camera(rng, keypoints, hands.shape[:, 0], size)
    skin = sample_skin(rng)
    # Two hands of one person: same tone, slightly different shading.
    return render_hands(
        rng, camera, hands, np.stack([skin, skin * rng.uniform(0.95, 1.05)]), keypoints=keypoints
    )


def full_frame(
    spec: SplitSpec,
    partition: str,
    seed: int,
    index: int,
    width: int = 640,
    height: int = 480,
    n_hands: int | None = None,
) -> HandFrame:
    """A full camera frame (60-75 deg horizontal FOV) with 0, 1 or 2 hands anywhere in view.

    n_hands None draws 0, 1 or 2 with equal odds; two hands are one left and one right.
    """
    _check_size(width, height)
    rng = item_rng(seed, partition, "full_frame", index)
    camera = PinholeCamera.from_fov(width, height, rng.uniform(60, 75))
    count = int(rng.integers(0, 3)) if n_hands is None else n_hands
    if count not in (0, 1, 2):
        raise ValueError(f"n_hands must be 0, 1 or 2, got {n_hands}")
    sides = [bool(rng.random() < 0.5)] if count == 1 else [True, False][:count]
    hands, keypoints = [], []
    for is_left in sides:
        pixel = rng.uniform([0.15 * width, 0.15 * height], [0.85 * width, 0.85 * height])
        centre = camera.unproject(pixel, rng.uniform(*FRAME_DEPTH_RANGE))
        hand, hand_keypoints = _moved(sample_hand(rng, spec, partition, is_left), centre)
        hands.append(hand)
        keypoints.append(hand_keypoints)
    skins = np.stack([sample_skin(rng) for _ in hands]) if hands else np.zeros((0, 3))
    if not hands:
        return render_hands(rng, camera, _no_hands(), skins)
    return render_hands(rng, camera, _stack(hands), skins, keypoints=np.concatenate(keypoints))


def _no_hands() -> HandParameters:
    return HandParameters(
        np.zeros((0, 15, 3)),
        np.zeros((0, 21)),
        np.zeros((0, 3, 3)),
        np.zeros((0, 3)),
        np.zeros(0, bool),
    )


def _check_size(*sizes: int) -> None:
    for value in sizes:
        if int(value) != value or value < 8:
            raise ValueError(f"image sizes must be integers >= 8, got {value}")

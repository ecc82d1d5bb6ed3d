"""Simple synthetic faces with two gazing eyes, for the eye detection / normalisation path.

Why: the gaze pipeline on the robot finds eyes in a full camera image, normalises each
(``geometry.gaze.normalize_eye``) and only then estimates gaze; this renders whole images with
the same eyes as ``synth.eyes`` so that path can be trained and tested end to end with exact
labels. The face is a shaded skin ellipsoid with a mouth; the eye regions (with brows, lids and
lashes) are ray-cast by ``eye_shading`` and blended in. Both eyes verge on one 3D gaze target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import pitchyaw_to_rotation, vector_to_pitchyaw
from handperception.synth.eye_model import EyeParams, EyeSpec, sample_look
from handperception.synth.eye_shading import EyePose, corner_midpoint
from handperception.synth.eyes import finish_image, shade_window

EYE_OFFSETS = np.array(
    [[-0.031, 0.0, 0.0], [0.031, 0.0, 0.0]]
)  # right, left eyeball centres, head frame
FACE_CENTRE = np.array([0.0, 0.03, 0.065])  # skin ellipsoid centre, head frame, metres
FACE_AXES = np.array([0.072, 0.1, 0.085])  # its semi-axes, metres
EYE_BLEND = (0.017, 0.013)  # half-size of the region taken from the eye renderer, metres


@dataclass(frozen=True)
class FaceSpec:
    """Sampling ranges: head distance (metres), head angles (degrees, camera frame) and the gaze
    target's offset from the camera centre (metres, in the camera's x-y plane)."""

    camera: PinholeCamera = field(default_factory=lambda: PinholeCamera.from_fov(320, 240, 60.0))
    distance: tuple[float, float] = (0.35, 0.8)
    head_pitch_deg: tuple[float, float] = (-20.0, 20.0)
    head_yaw_deg: tuple[float, float] = (-30.0, 30.0)
    head_roll_deg: tuple[float, float] = (-10.0, 10.0)
    target_offset: tuple[float, float] = (0.3, 0.2)
    eye: EyeSpec = field(default_factory=EyeSpec)

    def __post_init__(self) -> None:
        for name in ("distance", "head_pitch_deg", "head_yaw_deg", "head_roll_deg"):
            low, high = getattr(self, name)
            if not (np.isfinite(low) and np.isfinite(high) and low <= high):
                raise ValueError(
                    f"FaceSpec.{name} must be a finite (low, high) pair with low <= high"
                )
        if self.distance[0] <= 0.15:
            raise ValueError(f"FaceSpec.distance must stay above 0.15 m, got {self.distance}")
        if min(self.target_offset) < 0:
            raise ValueError(
                f"FaceSpec.target_offset must be non-negative, got {self.target_offset}"
            )


@dataclass(frozen=True)
class FaceSample:
    """image: (H, W) uint8. Per eye, ordered (right, left) of the subject: eye_centres_px (2, 2)
    pixels and eye_centres_3d (2, 3) metres camera frame of the eye-corner midpoints (what
    normalisation centres on); eyeball_centres_3d (2, 3); gaze_vectors (2, 3) unit, camera frame.
    head_rotation (3, 3) head -> camera; head_translation (3,) metres (between the eyeballs).
    look: the shared eye appearance (EyeParams fields), to re-render an eye in the patch space."""

    image: np.ndarray
    eye_centres_px: np.ndarray
    eye_centres_3d: np.ndarray
    eyeball_centres_3d: np.ndarray
    gaze_vectors: np.ndarray
    head_rotation: np.ndarray
    head_translation: np.ndarray
    camera: PinholeCamera
    look: dict


def _face_layer(
    camera: PinholeCamera, rotation: np.ndarray, translation: np.ndarray, look: dict, rng
) -> tuple:
    """Linear image of background + lit skin ellipsoid, and the head-frame hit points (H, W, 3)
    (NaN where the ray misses the face)."""
    v, u = np.mgrid[: camera.height, : camera.width]
    rays = np.stack(
        [(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones(u.shape)], -1
    )
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    origin = (rotation.T @ -translation - FACE_CENTRE) / FACE_AXES
    direction = (rays @ rotation) / FACE_AXES
    a = np.sum(direction * direction, -1)
    b = direction @ origin
    disc = b * b - a * (origin @ origin - 1.0)
    t = (-b - np.sqrt(np.clip(disc, 0, None))) / a
    local = origin + t[..., None] * direction  # on the unit sphere
    hit_head = np.where((disc > 0)[..., None], local * FACE_AXES + FACE_CENTRE, np.nan)
    normal = (local / FACE_AXES) @ rotation.T
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    lambert = np.clip(normal @ look["light_dir"], 0, None)
    x, y = hit_head[..., 0], hit_head[..., 1]
    mouth = np.exp(-(((y - 0.072) / 0.004) ** 2)) * np.clip(1 - (x / 0.026) ** 2, 0, 1)
    skin = (
        look["skin_albedo"]
        * (1 - 0.6 * mouth)
        * (look["ambient"] + (1 - look["ambient"]) * lambert)
    )
    grad = np.linspace(rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), camera.width)[None, :]
    background = grad + 0.05 * rng.normal(size=(camera.height, camera.width))
    return np.where(disc > 0, skin, background), hit_head


def sample_face(spec: FaceSpec, seed: int, index: int) -> FaceSample:
    """Face image ``index`` of data set ``seed`` (deterministic)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    rng = np.random.default_rng([seed, index, 7])
    cam = spec.camera
    look = sample_look(rng, spec.eye)
    depth = rng.uniform(*spec.distance)
    pixel = np.array([rng.uniform(0.35, 0.65) * cam.width, rng.uniform(0.35, 0.6) * cam.height])
    translation = cam.unproject(pixel, np.array(depth))
    angles = np.radians(
        [
            rng.uniform(*spec.head_pitch_deg),
            rng.uniform(*spec.head_yaw_deg),
            rng.uniform(*spec.head_roll_deg),
        ]
    )
    rotation = pitchyaw_to_rotation(angles[:2], roll=angles[2])
    target = np.array(
        [
            rng.uniform(-1, 1) * spec.target_offset[0],
            rng.uniform(-1, 1) * spec.target_offset[1],
            0.0,
        ]
    )

    linear, hit_head = _face_layer(cam, rotation, translation, look, rng)
    eyeballs, centres, gazes = [], [], []
    for offset, side in zip(EYE_OFFSETS, (1, -1)):
        eyeball = translation + rotation @ offset
        gaze = (target - eyeball) / np.linalg.norm(target - eyeball)
        params = EyeParams(
            gaze_pitchyaw=vector_to_pitchyaw(gaze), head_pitchyaw=np.zeros(2), side=side, **look
        )
        corner = eyeball + rotation @ corner_midpoint(params)
        reach = np.array([[sx * 0.024, sy * 0.018, 0.0] for sx in (-1, 1) for sy in (-1, 1)])
        box = cam.project(eyeball + reach @ rotation.T)
        x0, y0 = np.maximum(np.floor(box.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(box.max(0)).astype(int) + 1, [cam.width, cam.height])
        if x1 > x0 and y1 > y0:
            layers = shade_window(
                cam.matrix, x1 - x0, y1 - y0, x0, y0, EyePose(eyeball, rotation, gaze), params
            )
            rel = hit_head[y0:y1, x0:x1, :2] - offset[:2]
            radius = np.hypot(rel[..., 0] / EYE_BLEND[0], rel[..., 1] / EYE_BLEND[1])
            weight = np.nan_to_num(np.clip((1.3 - radius) / 0.3, 0.0, 1.0))
            linear[y0:y1, x0:x1] = weight * layers[0] + (1 - weight) * linear[y0:y1, x0:x1]
        eyeballs.append(eyeball)
        centres.append(corner)
        gazes.append(gaze)
    finish = EyeParams(gaze_pitchyaw=np.zeros(2), head_pitchyaw=np.zeros(2), **look)
    image = finish_image(linear.astype(np.float32), finish, rng)
    centres = np.array(centres)
    return FaceSample(
        image=image,
        eye_centres_px=cam.project(centres),
        eye_centres_3d=centres,
        eyeball_centres_3d=np.array(eyeballs),
        gaze_vectors=np.array(gazes),
        head_rotation=rotation,
        head_translation=translation,
        camera=cam,
        look=look,
    )

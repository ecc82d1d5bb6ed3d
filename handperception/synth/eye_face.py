"""Simple synthetic faces with two gazing eyes, for the eye detection / normalisation path.

Why: the gaze pipeline on the robot finds eyes in a full camera image, normalises each
(``geometry.gaze.normalize_eye``) and only then estimates gaze; this renders whole images with
the same eyes as ``synth.eyes`` so that path can be trained and tested end to end with exact
labels. The face is a shaded skin ellipsoid with a mouth; the eye regions (with brows, lids and
lashes) are ray-cast by ``eye_shading`` and blended in. Both eyes verge on one 3D gaze target.
``render_face`` and ``paint_face`` draw the same face at a given head pose into any camera's
colour image, shading only the face's own pixels, for camera scenes (``sources.synthetic_faces``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import pitchyaw_to_rotation, vector_to_pitchyaw
from handperception.synth.eye_model import EyeParams, EyeSpec, sample_look
from handperception.synth.eye_shading import EyePose, corner_midpoint
from handperception.synth.eyes import finish_image, shade_window
from handperception.synth.lighting import to_linear, to_srgb

EYE_OFFSETS = np.array(
    [[-0.031, 0.0, 0.0], [0.031, 0.0, 0.0]]
)  # right, left eyeball centres, head frame
FACE_CENTRE = np.array([0.0, 0.03, 0.065])  # skin ellipsoid centre, head frame, metres
FACE_AXES = np.array([0.072, 0.1, 0.085])  # its semi-axes, metres
EYE_BLEND = (0.017, 0.013)  # half-size of the region taken from the eye renderer, metres
NOSE_HEIGHT = 0.012  # how far the nose ridge stands out of the face, metres (render_face only)


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


@dataclass(frozen=True)
class FaceRender:
    """One face drawn inside its own pixel window of a camera image, without background: what a
    camera scene composites over its background. window (x0, y0, x1, y1) pixels, ends exclusive,
    clipped to the image; linear (h, w) float64 linear intensity, meaningful where covered
    (h, w) bool, the face's pixels. face_box (x0, y0, x1, y1): the covered pixels' extent in the
    image (ends exclusive). Eye labels as in FaceSample, ordered (right, left)."""

    window: tuple[int, int, int, int]
    linear: np.ndarray
    covered: np.ndarray
    face_box: tuple[int, int, int, int]
    eye_centres_px: np.ndarray
    eye_centres_3d: np.ndarray
    eyeball_centres_3d: np.ndarray
    gaze_vectors: np.ndarray


def _face_layer(
    camera: PinholeCamera,
    rotation: np.ndarray,
    translation: np.ndarray,
    look: dict,
    window: tuple[int, int, int, int],
    features: bool = False,
) -> tuple:
    """Over the pixel ``window``: the linear image of the lit skin ellipsoid (with a nose and
    hair when ``features``), the head-frame hit points (h, w, 3) (NaN where the ray misses the
    face) and the covered pixels (h, w) bool."""
    x0, y0, x1, y1 = window
    v, u = np.mgrid[y0:y1, x0:x1]
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
    covered = disc > 0
    hit_head = np.where(covered[..., None], local * FACE_AXES + FACE_CENTRE, np.nan)
    x, y = hit_head[..., 0], hit_head[..., 1]
    albedo = look["skin_albedo"]
    if features:
        bump, albedo = _nose_and_hair(x, y, albedo)
        normal_head = local / FACE_AXES
        normal_head /= np.linalg.norm(normal_head, axis=-1, keepdims=True)
        normal = (normal_head + bump) @ rotation.T
    else:
        normal = (local / FACE_AXES) @ rotation.T
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    lambert = np.clip(normal @ look["light_dir"], 0, None)
    mouth = np.exp(-(((y - 0.072) / 0.004) ** 2)) * np.clip(1 - (x / 0.026) ** 2, 0, 1)
    skin = albedo * (1 - 0.6 * mouth) * (look["ambient"] + (1 - look["ambient"]) * lambert)
    return skin, hit_head, covered


def _nose_and_hair(x: np.ndarray, y: np.ndarray, albedo: float) -> tuple[np.ndarray, np.ndarray]:
    """A nose (a ridge bump shading the face's normals, and nostrils) and dark hair over the
    top and sides of the head, at head-frame points (x, y) metres: what a face detector looks
    for beyond eyes and mouth. Returns the normals' head-frame offset (..., 3) and the albedo."""
    ridge = NOSE_HEIGHT * np.exp(-((x / 0.008) ** 2) - ((y - 0.033) / 0.016) ** 2)
    slope_x, slope_y = ridge * -2 * x / 0.008**2, ridge * -2 * (y - 0.033) / 0.016**2
    # The surface rises towards the camera (-z in the head frame): its normal leans by -grad.
    bump = np.nan_to_num(np.stack([-slope_x, -slope_y, np.zeros_like(x)], axis=-1))
    nostrils = sum(
        np.exp(-(((x - side * 0.007) / 0.003) ** 2) - ((y - 0.047) / 0.002) ** 2)
        for side in (-1, 1)
    )
    hair = np.clip(
        1 / (1 + np.exp((y + 0.045) / 0.004))
        + 1 / (1 + np.exp((0.062 - np.abs(x)) / 0.003)) / (1 + np.exp((y - 0.03) / 0.01)),
        0,
        1,
    )
    return bump, albedo * (1 - 0.7 * nostrils) * (1 - 0.85 * hair)


def _blend_eyes(
    linear: np.ndarray,
    hit_head: np.ndarray,
    window: tuple[int, int, int, int],
    camera: PinholeCamera,
    rotation: np.ndarray,
    translation: np.ndarray,
    target: np.ndarray,
    look: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ray-cast both eyes, verging on ``target``, into ``linear`` (the image over ``window``)
    in place; returns eyeball centres, eye-corner midpoints and unit gaze vectors, (2, 3) each,
    camera frame, ordered (right, left)."""
    wx0, wy0, wx1, wy1 = window
    eyeballs, centres, gazes = [], [], []
    for offset, side in zip(EYE_OFFSETS, (1, -1)):
        eyeball = translation + rotation @ offset
        gaze = (target - eyeball) / np.linalg.norm(target - eyeball)
        params = EyeParams(
            gaze_pitchyaw=vector_to_pitchyaw(gaze), head_pitchyaw=np.zeros(2), side=side, **look
        )
        corner = eyeball + rotation @ corner_midpoint(params)
        reach = np.array([[sx * 0.024, sy * 0.018, 0.0] for sx in (-1, 1) for sy in (-1, 1)])
        box = camera.project(eyeball + reach @ rotation.T)
        x0, y0 = np.maximum(np.floor(box.min(0)).astype(int), [wx0, wy0])
        x1, y1 = np.minimum(np.ceil(box.max(0)).astype(int) + 1, [wx1, wy1])
        if x1 > x0 and y1 > y0:
            layers = shade_window(
                camera.matrix, x1 - x0, y1 - y0, x0, y0, EyePose(eyeball, rotation, gaze), params
            )
            rows, cols = slice(y0 - wy0, y1 - wy0), slice(x0 - wx0, x1 - wx0)
            rel = hit_head[rows, cols, :2] - offset[:2]
            radius = np.hypot(rel[..., 0] / EYE_BLEND[0], rel[..., 1] / EYE_BLEND[1])
            weight = np.nan_to_num(np.clip((1.3 - radius) / 0.3, 0.0, 1.0))
            linear[rows, cols] = weight * layers[0] + (1 - weight) * linear[rows, cols]
        eyeballs.append(eyeball)
        centres.append(corner)
        gazes.append(gaze)
    return np.array(eyeballs), np.array(centres), np.array(gazes)


def face_window(
    camera: PinholeCamera, rotation: np.ndarray, translation: np.ndarray
) -> tuple[int, int, int, int] | None:
    """The pixel window (x0, y0, x1, y1), ends exclusive, clipped to the image, that holds the
    face of a head at ``rotation`` (head -> camera) and ``translation`` (metres): the projection
    of the skin ellipsoid's bounding box. None when the face is behind the camera or outside
    the image."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    corners = translation + (FACE_CENTRE + signs * FACE_AXES) @ rotation.T
    if np.any(corners[:, 2] <= 0.01):
        return None
    pixels = camera.project(corners)
    x0, y0 = np.maximum(np.floor(pixels.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pixels.max(0)).astype(int) + 1, [camera.width, camera.height])
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1), int(y1)


def render_face(
    camera: PinholeCamera,
    rotation: np.ndarray,
    translation: np.ndarray,
    target: np.ndarray,
    look: dict,
) -> FaceRender | None:
    """A face with the head at ``rotation`` (3, 3) head -> camera and ``translation`` (3,)
    metres (between the eyeballs), both eyes verging on ``target`` (3,) metres camera frame,
    with the appearance ``look`` (``synth.eye_model.sample_look``), shaded only inside its own
    window (a 640x480 frame costs what the face's pixels cost). None when no pixel of the face
    is in the image. Deterministic: no noise is drawn."""
    window = face_window(camera, rotation, translation)
    if window is None:
        return None
    skin, hit_head, covered = _face_layer(camera, rotation, translation, look, window, True)
    if not covered.any():
        return None
    linear = np.where(covered, skin, 0.0)
    eyeballs, centres, gazes = _blend_eyes(
        linear, hit_head, window, camera, rotation, translation, target, look
    )
    rows, cols = np.nonzero(covered)
    x0, y0 = window[:2]
    return FaceRender(
        window=window,
        linear=linear,
        covered=covered,
        face_box=(
            int(x0 + cols.min()),
            int(y0 + rows.min()),
            int(x0 + cols.max() + 1),
            int(y0 + rows.max() + 1),
        ),
        eye_centres_px=camera.project(centres),
        eye_centres_3d=centres,
        eyeball_centres_3d=eyeballs,
        gaze_vectors=gazes,
    )


def paint_face(image: np.ndarray, face: FaceRender, skin_rgb: np.ndarray) -> None:
    """Composite ``face`` into ``image`` (H, W, 3) float32 sRGB in [0, 255] (a
    ``synth.backgrounds.random_background``) in place, its grey shading tinted by ``skin_rgb``
    (3,) sRGB (``synth.render.sample_skin``; brightness comes from the face's own albedo)."""
    x0, y0, x1, y1 = face.window
    tint = to_linear(skin_rgb)
    tint = tint / tint.max()
    region = image[y0:y1, x0:x1]
    region[face.covered] = to_srgb(face.linear[face.covered, None] * tint)


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

    whole = (0, 0, cam.width, cam.height)
    skin, hit_head, covered = _face_layer(cam, rotation, translation, look, whole)
    grad = np.linspace(rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), cam.width)[None, :]
    background = grad + 0.05 * rng.normal(size=(cam.height, cam.width))
    linear = np.where(covered, skin, background)
    eyeballs, centres, gazes = _blend_eyes(
        linear, hit_head, whole, cam, rotation, translation, target, look
    )
    finish = EyeParams(gaze_pitchyaw=np.zeros(2), head_pitchyaw=np.zeros(2), **look)
    image = finish_image(linear.astype(np.float32), finish, rng)
    return FaceSample(
        image=image,
        eye_centres_px=cam.project(centres),
        eye_centres_3d=centres,
        eyeball_centres_3d=eyeballs,
        gaze_vectors=gazes,
        head_rotation=rotation,
        head_translation=translation,
        camera=cam,
        look=look,
    )

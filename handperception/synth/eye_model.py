"""Parameters of one synthetic eye (shape, gaze, head pose, look) and how they are sampled.

Why its own module: the patch renderer and the face renderer draw the same eyes, and the train
and extrapolation test sets differ only in the ranges of a spec, so sampling must be one
deterministic function of (spec, seed, index). Angles are radians in the parameters and degrees
in the spec (people write specs); lengths in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from handperception.geometry.gaze import pitchyaw_error_deg, pitchyaw_to_vector

Range = tuple[float, float]


@dataclass(frozen=True)
class EyeSpec:
    """Sampling ranges (uniform) for synthetic eyes; gaze and head angles in the normalised camera.

    The defaults are a training distribution; an extrapolation test set uses wider or shifted
    gaze ranges. ``max_eye_in_head_deg`` rejects head poses whose eye-in-head rotation would be
    anatomically impossible (the iris would hide behind the lids).
    """

    gaze_pitch_deg: Range = (-25.0, 25.0)
    gaze_yaw_deg: Range = (-35.0, 35.0)
    head_pitch_deg: Range = (-20.0, 20.0)
    head_yaw_deg: Range = (-30.0, 30.0)
    max_eye_in_head_deg: float = 45.0
    openness: Range = (0.55, 1.0)
    skin_albedo: Range = (0.25, 0.85)
    iris_albedo: Range = (0.05, 0.5)
    sclera_albedo: Range = (0.7, 0.95)
    pupil_ratio: Range = (0.25, 0.5)
    light_angle_deg: Range = (0.0, 60.0)
    ambient: Range = (0.15, 0.5)
    glint: Range = (0.0, 1.0)
    noise_std: Range = (0.0, 0.03)
    blur_sigma: Range = (0.0, 0.9)

    def __post_init__(self) -> None:
        limits = {
            "gaze_pitch_deg": (-80, 80),
            "gaze_yaw_deg": (-80, 80),
            "head_pitch_deg": (-70, 70),
            "head_yaw_deg": (-80, 80),
            "openness": (0, 1),
            "skin_albedo": (0, 1),
            "iris_albedo": (0, 1),
            "sclera_albedo": (0, 1),
            "pupil_ratio": (0.05, 0.9),
            "light_angle_deg": (0, 89),
            "ambient": (0, 1),
            "glint": (0, 2),
            "noise_std": (0, 0.5),
            "blur_sigma": (0, 5),
        }
        for f in fields(self):
            if f.name == "max_eye_in_head_deg":
                continue
            value = getattr(self, f.name)
            if len(value) != 2 or not np.all(np.isfinite(value)):
                raise ValueError(f"EyeSpec.{f.name} must be a finite (low, high) pair, got {value}")
            low, high = limits[f.name]
            if not (low <= value[0] <= value[1] <= high):
                raise ValueError(
                    f"EyeSpec.{f.name} must satisfy {low} <= low <= high <= {high}, got {value}"
                )
        if not (0 < self.max_eye_in_head_deg <= 90):
            raise ValueError(
                f"EyeSpec.max_eye_in_head_deg must be in (0, 90], got {self.max_eye_in_head_deg}"
            )

    @classmethod
    def from_dict(cls, values: dict) -> "EyeSpec":
        """From a (YAML) dict; unknown keys are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown EyeSpec keys: {sorted(unknown)}; known: {sorted(known)}")
        return cls(
            **{k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in values.items()}
        )


@dataclass(frozen=True)
class EyeParams:
    """One eye: geometry (metres), gaze and head pose (radians, normalised camera) and look.

    side: +1 when the nose is towards +x of the head frame (the subject's right eye, the MPIIGaze
    patch convention); -1 for the left eye.
    """

    gaze_pitchyaw: np.ndarray
    head_pitchyaw: np.ndarray
    eyeball_radius: float
    iris_radius: float
    pupil_ratio: float
    openness: float
    skin_albedo: float
    iris_albedo: float
    sclera_albedo: float
    light_dir: np.ndarray
    ambient: float
    glint: float
    noise_std: float
    blur_sigma: float
    texture_phase: np.ndarray
    side: int = 1

    @property
    def gaze_vector(self) -> np.ndarray:
        return pitchyaw_to_vector(self.gaze_pitchyaw)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def sample_look(rng: np.random.Generator, spec: EyeSpec) -> dict:
    """Anatomy and appearance shared by both eyes of one face: a dict of EyeParams fields."""
    angle = np.radians(_uniform(rng, spec.light_angle_deg))
    azimuth = rng.uniform(0, 2 * np.pi)
    # Light from the camera's side, tilted by `angle` towards a random azimuth.
    light_py = np.array([angle * np.sin(azimuth), angle * np.cos(azimuth)])
    return {
        "eyeball_radius": float(rng.uniform(0.0115, 0.0125)),
        "iris_radius": float(rng.uniform(0.0055, 0.0062)),
        "pupil_ratio": _uniform(rng, spec.pupil_ratio),
        "openness": _uniform(rng, spec.openness),
        "skin_albedo": _uniform(rng, spec.skin_albedo),
        "iris_albedo": _uniform(rng, spec.iris_albedo),
        "sclera_albedo": _uniform(rng, spec.sclera_albedo),
        "light_dir": pitchyaw_to_vector(light_py),
        "ambient": _uniform(rng, spec.ambient),
        "glint": _uniform(rng, spec.glint),
        "noise_std": _uniform(rng, spec.noise_std),
        "blur_sigma": _uniform(rng, spec.blur_sigma),
        "texture_phase": rng.uniform(0, 2 * np.pi, size=16),
    }


def sample_eye_params(spec: EyeSpec, seed: int, index: int) -> EyeParams:
    """The eye number ``index`` of the data set ``seed``; the same pair always gives the same
    eye."""
    if index < 0 or seed < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    rng = np.random.default_rng([seed, index])
    gaze = np.radians([_uniform(rng, spec.gaze_pitch_deg), _uniform(rng, spec.gaze_yaw_deg)])
    for _ in range(200):
        head = np.radians([_uniform(rng, spec.head_pitch_deg), _uniform(rng, spec.head_yaw_deg)])
        if pitchyaw_error_deg(gaze, head) <= spec.max_eye_in_head_deg:
            break
    else:
        raise ValueError(
            "EyeSpec gives no head pose within max_eye_in_head_deg of the sampled gaze; "
            "widen the head ranges or max_eye_in_head_deg"
        )
    return EyeParams(gaze_pitchyaw=gaze, head_pitchyaw=head, **sample_look(rng, spec))

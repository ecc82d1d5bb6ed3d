"""Synthetic grasps: the parametric hand closed around a synthetic object until it touches.

Why synthesise grasps: grasp proposal and hand-object pose estimation need hands that wrap real
shapes without sinking into them, with exact labels (keypoints in the object frame, which
fingers touch). The generator follows the classic "approach, then close" auto-grasp (GraspIt's
autograsp, Miller & Allen 2004): the hand, in a mildly pre-shaped open pose, approaches the
object palm first along a sampled direction until its skin is a sampled clearance away; then
all flexion joints close together, each segment's joints stop once that segment touches the
object (joints distal to it keep closing, so fingers curl around), and a step that would sink
skin deeper than the penetration tolerance is halved and finally refused. A grasp is kept when
at least ``min_fingers`` fingers, the thumb among them, touch.

Frames: world = the object's world frame from ``objects.sample_object`` (random rotation, centre
at the origin); object frame = the object's own (primitive) frame. Units metres and radians.
Every item is a pure function of (split, partition, seed, index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from handperception.geometry.contact import (
    SignedDistance,
    contact_ratio,
    interpenetration_volume,
    penetration_depth,
)
from handperception.skeleton.definition import FINGER_JOINTS
from handperception.skeleton.kinematics import (
    FLEXION,
    JOINT_LIMITS,
    SHAPE_DIM,
    forward_kinematics,
    sample_shapes,
)
from handperception.synth.hand_model import Capsules, hand_capsules
from handperception.synth.hand_surface import (
    HandSurface,
    capsule_surface_points,
    hand_volume_samples,
    sample_hand_surface,
)
from handperception.synth.objects import (
    KINDS,
    ObjectSample,
    ObjectSpec,
    check_watertight,
    sample_object,
)
from handperception.synth.poses import sample_synergy_poses
from handperception.synth.splits import PARTITIONS, SplitSpec

NUM_FINGERS = len(FINGER_JOINTS)
THUMB = 0
# Stream ids so objects and grasps of the same (seed, index) are independent draws.
_STREAM_OBJECT, _STREAM_GRASP = 0, 1
# Capsules 0..14 of hand_model.hand_capsules are the finger segments, 3 per finger, base to tip.
_FINGER_CAPSULES = slice(0, 3 * NUM_FINGERS)
# Where the object should sit in the hand (hand frame, mean hand, metres): under the knuckle
# line, slightly ulnar, so the object meets the palm and proximal phalanges rather than the
# thenar bulge, and the flexing fingers wrap it.
_GRASP_ANCHOR = np.array([0.008, 0.085, 0.0])
# Thumb CMC (flexion, abduction) of the pre-shape, degrees: extended and adducted, so the thumb
# lies beside the palm during the approach and closes across the object (opposition) after.
_THUMB_PRESHAPE_DEG = ((-20.0, -5.0), (-15.0, 5.0))
# Surface points stored per object in shards (a fixed count so items stack).
OBJECT_POINTS = 512


@dataclass(frozen=True)
class GraspSpec:
    """How grasps are made.

    contact_threshold: skin within this distance of the surface touches (m). penetration_tolerance:
    deepest allowed skin depth inside the object (m). min_fingers: fingers that must touch (the
    thumb always must). step_deg / min_step_deg: closing step of each flexion and the smallest
    step tried before a finger stops. clearance_range: skin-object gap after the approach (m).
    preshape_amplitude: synergy amplitude of the open pre-shape. wrap_probability: chance of
    approaching perpendicular to the object's longest axis (fingers wrap around it), else from a
    uniform direction. attempts_per_object / objects_per_item: rejection-sampling budget.
    volume_spacing: lattice pitch of the interpenetration-volume samples (m).
    """

    kinds: tuple[str, ...] = KINDS
    contact_threshold: float = 0.002
    penetration_tolerance: float = 0.002
    min_fingers: int = 3
    step_deg: float = 4.0
    min_step_deg: float = 0.5
    clearance_range: tuple[float, float] = (0.0, 0.008)
    preshape_amplitude: tuple[float, float] = (0.0, 0.2)
    wrap_probability: float = 0.75
    attempts_per_object: int = 25
    objects_per_item: int = 8
    volume_spacing: float = 0.0025

    def __post_init__(self) -> None:
        ObjectSpec(kinds=self.kinds)
        for name in (
            "contact_threshold",
            "penetration_tolerance",
            "step_deg",
            "min_step_deg",
            "volume_spacing",
        ):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"GraspSpec.{name} must be positive, got {value}")
        if self.min_step_deg > self.step_deg:
            raise ValueError(
                f"GraspSpec.min_step_deg {self.min_step_deg} exceeds step_deg {self.step_deg}"
            )
        if not 1 <= self.min_fingers <= NUM_FINGERS:
            raise ValueError(
                f"GraspSpec.min_fingers must be in 1..{NUM_FINGERS}, got {self.min_fingers}"
            )
        for name, (low, high), bounds in (
            ("clearance_range", self.clearance_range, (0.0, 0.05)),
            ("preshape_amplitude", self.preshape_amplitude, (0.0, 1.0)),
        ):
            if not (bounds[0] <= low <= high <= bounds[1]):
                raise ValueError(
                    f"GraspSpec.{name} must satisfy {bounds[0]} <= low <= high <= {bounds[1]}, "
                    f"got {(low, high)}"
                )
        if not 0.0 <= self.wrap_probability <= 1.0:
            raise ValueError(
                f"GraspSpec.wrap_probability must be in [0, 1], got {self.wrap_probability}"
            )
        if self.attempts_per_object < 1 or self.objects_per_item < 1:
            raise ValueError("GraspSpec.attempts_per_object and objects_per_item must be >= 1")


@dataclass
class GraspSample:
    """One accepted grasp.

    keypoints_world / keypoints_object: (21, 3) metres. pose: (15, 3) radians. shape: (21,).
    global_rotation: (3, 3) hand frame -> world. translation: (3,) wrist in the world.
    finger_contacts: (5,) bool, thumb..little touching. penetration_depth (m),
    interpenetration_volume (m^3) and contact_ratio (fraction of fingers touching) are measured
    on the final hand surface. attempts: approaches tried before this one was accepted.
    """

    keypoints_world: np.ndarray
    keypoints_object: np.ndarray
    pose: np.ndarray
    shape: np.ndarray
    global_rotation: np.ndarray
    translation: np.ndarray
    is_left: bool
    object: ObjectSample
    penetration_depth: float
    interpenetration_volume: float
    contact_ratio: float
    finger_contacts: np.ndarray
    attempts: int = field(default=1)

    def surface(self) -> HandSurface:
        """The hand's skin samples in the world frame."""
        return sample_hand_surface(self.keypoints_world, float(self.shape[0]), self.is_left)

    def to_item(self) -> dict[str, np.ndarray]:
        """Fixed-shape arrays for a shard (the object's mesh is regenerated from its parameters)."""
        return {
            "keypoints_world": self.keypoints_world,
            "keypoints_object": self.keypoints_object,
            "pose": self.pose,
            "shape": self.shape,
            "global_rotation": self.global_rotation,
            "translation": self.translation,
            "is_left": np.array(self.is_left),
            "finger_contacts": self.finger_contacts,
            "penetration_depth": np.array(self.penetration_depth),
            "interpenetration_volume": np.array(self.interpenetration_volume),
            "contact_ratio": np.array(self.contact_ratio),
            **object_item(self.object),
        }


def object_item(obj: ObjectSample, n_points: int = OBJECT_POINTS) -> dict[str, np.ndarray]:
    """Fixed-shape arrays describing an object: kind index into KINDS, size (m), pose (4, 4) and
    (n_points, 3) world surface points with outward normals, sampled area-uniformly with a
    fixed-seed generator so the same object always gives the same points."""
    points, faces = _surface_sample(obj, n_points, np.random.default_rng(0))
    return {
        "object_kind": np.array(KINDS.index(obj.kind)),
        "object_size": np.array(obj.size),
        "object_pose": obj.pose,
        "object_points": points,
        "object_normals": obj.mesh.face_normals[faces],
    }


def _surface_sample(
    obj: ObjectSample, n_points: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) area-uniform points on the world mesh and the (n,) faces they lie on."""
    triangles = obj.mesh.triangles
    areas = obj.mesh.area_faces
    faces = rng.choice(len(areas), size=n_points, p=areas / areas.sum())
    r1, r2 = rng.random(n_points), rng.random(n_points)
    flip = r1 + r2 > 1
    r1, r2 = np.where(flip, 1 - r1, r1), np.where(flip, 1 - r2, r2)
    t = triangles[faces]
    return t[:, 0] + r1[:, None] * (t[:, 1] - t[:, 0]) + r2[:, None] * (t[:, 2] - t[:, 0]), faces


def _rng(seed: int, partition: str, stream: int, index: int) -> np.random.Generator:
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got {seed}, {index}")
    return np.random.default_rng([seed, PARTITIONS.index(partition), stream, index])


def _split_object(
    split: SplitSpec, partition: str, rng: np.random.Generator, kinds: tuple[str, ...]
) -> ObjectSample:
    """An object whose size comes from the split's ``object`` axis (extrapolation:object puts
    test sizes outside the training range)."""
    size = split.sample(rng, "object", partition)["size_m"]
    return sample_object(
        ObjectSpec(kinds=kinds, size_range=(size, size)), int(rng.integers(2**31)), 0
    )


def sample_split_object(
    split: SplitSpec, partition: str, seed: int, index: int, kinds: tuple[str, ...] = KINDS
) -> ObjectSample:
    """Object ``index`` of data set ``seed`` for a split partition (deterministic)."""
    return _split_object(split, partition, _rng(seed, partition, _STREAM_OBJECT, index), kinds)


def _principal_axes(obj: ObjectSample) -> np.ndarray:
    """(3, 3) rows: the object's principal directions (world), longest extent first."""
    vertices = obj.mesh.vertices - obj.mesh.vertices.mean(axis=0)
    _, vectors = np.linalg.eigh(vertices.T @ vertices)
    return vectors[:, ::-1].T


def _approach_frame(
    obj: ObjectSample, rng: np.random.Generator, wrap_probability: float
) -> np.ndarray:
    """(3, 3) hand frame -> world: +z (the back of the hand) along the approach direction u
    (object towards hand), +y (towards the fingers) perpendicular to it.

    Wrap approaches come perpendicular to the longest axis with the fingers curling around it;
    others come from anywhere with the fingers across the object's narrowest width."""
    axes = _principal_axes(obj)
    if rng.random() < wrap_probability:
        angle = rng.uniform(0, 2 * np.pi)
        u = np.cos(angle) * axes[1] + np.sin(angle) * axes[2]
        fingers = np.cross(axes[0], u) * rng.choice([-1.0, 1.0])
    else:
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        side = np.cross(u, axes[0] if abs(u @ axes[0]) < 0.9 else axes[1])
        side /= np.linalg.norm(side)
        other = np.cross(u, side)
        angles = np.linspace(0, np.pi, 12, endpoint=False)
        directions = np.cos(angles)[:, None] * side + np.sin(angles)[:, None] * other
        spans = obj.mesh.vertices @ directions.T
        fingers = directions[np.argmin(spans.max(axis=0) - spans.min(axis=0))] * rng.choice(
            [-1.0, 1.0]
        )
    jitter = rng.uniform(-np.radians(20), np.radians(20))
    fingers = np.cos(jitter) * fingers + np.sin(jitter) * np.cross(u, fingers)
    return np.stack([np.cross(fingers, u), fingers, u], axis=1)


def _finger_segment_depths(
    keypoints: np.ndarray, scale: float, is_left: bool, obj: ObjectSample
) -> np.ndarray:
    """(5, 3) smallest object SDF over each finger segment's skin samples (metres)."""
    capsules = hand_capsules(keypoints, scale, is_left)
    finger_capsules = Capsules(
        *(getattr(capsules, f)[_FINGER_CAPSULES] for f in ("a", "b", "radius", "label"))
    )
    points = capsule_surface_points(finger_capsules)
    return (
        obj.sdf(points.reshape(-1, 3))
        .reshape(len(finger_capsules.radius), -1)
        .min(axis=1)
        .reshape(NUM_FINGERS, 3)
    )


def _hand_clearance(keypoints: np.ndarray, scale: float, is_left: bool, obj: ObjectSample) -> float:
    """Smallest object SDF over all the hand's skin samples (metres)."""
    return float(
        obj.sdf(
            capsule_surface_points(hand_capsules(keypoints, scale, is_left)).reshape(-1, 3)
        ).min()
    )


def _keypoints(
    pose: np.ndarray,
    shape: np.ndarray,
    rotation: np.ndarray,
    translation: np.ndarray,
    is_left: bool,
) -> np.ndarray:
    return forward_kinematics(
        pose[None], shape[None], rotation[None], translation[None], np.array([is_left])
    )[0]


def _approach(obj, pose, shape, rotation, is_left, rng, spec: GraspSpec) -> np.ndarray | None:
    """Wrist translation (3,) that brings the pre-shaped hand palm first to a sampled clearance
    from the object, or None when the hand slides past it.

    Starts well outside and steps along -u by (clearance now - wanted clearance): the SDF is
    1-Lipschitz, so no skin point can cross below the wanted clearance (converges from above).
    """
    scale = float(shape[0])
    u = rotation[:, 2]
    anchor = rotation @ (
        _GRASP_ANCHOR * scale
        + np.array([rng.uniform(-0.01, 0.01), rng.uniform(-0.012, 0.012), 0.0]) * scale
    )
    centre = obj.pose[:3, 3]
    reach = float(np.max(np.abs((obj.mesh.vertices - centre) @ u)))
    wanted = rng.uniform(*spec.clearance_range)
    distance = reach + 0.15
    for _ in range(40):
        translation = centre + u * distance - anchor
        gap = (
            _hand_clearance(
                _keypoints(pose, shape, rotation, translation, is_left), scale, is_left, obj
            )
            - wanted
        )
        if gap < 1e-4:
            return translation
        distance -= gap
        if distance < -reach:
            return None
    return None


def _close(obj, pose, shape, rotation, translation, is_left, spec: GraspSpec) -> np.ndarray:
    """Flex every finger until its segments touch (see module docstring); returns the pose."""
    scale = float(shape[0])
    pose = pose.copy()
    step = np.full(NUM_FINGERS, np.radians(spec.step_deg))
    min_step = np.radians(spec.min_step_deg)
    upper = JOINT_LIMITS.upper[:, FLEXION].reshape(NUM_FINGERS, 3)
    touching = np.zeros((NUM_FINGERS, 3), dtype=bool)
    stopped = np.zeros(NUM_FINGERS, dtype=bool)
    while True:
        flexion = pose[:, FLEXION].reshape(NUM_FINGERS, 3)
        # Joint j closes while no segment at or beyond it touches and it is below its limit.
        distal_touch = np.flip(np.cumsum(np.flip(touching, axis=1), axis=1), axis=1) > 0
        active = ~distal_touch & (flexion < upper - 1e-9) & ~stopped[:, None]
        moving = active.any(axis=1)
        if not moving.any():
            return pose
        candidate_flexion = np.where(active, np.minimum(flexion + step[:, None], upper), flexion)
        candidate = pose.copy()
        candidate[:, FLEXION] = candidate_flexion.reshape(-1)
        depths = _finger_segment_depths(
            _keypoints(candidate, shape, rotation, translation, is_left), scale, is_left, obj
        )
        sinks = moving & (depths.min(axis=1) < -spec.penetration_tolerance)
        accept = moving & ~sinks
        flexion = np.where(accept[:, None], candidate_flexion, flexion)
        pose[:, FLEXION] = flexion.reshape(-1)
        touching |= accept[:, None] & (depths <= spec.contact_threshold)
        stopped |= sinks & (step <= min_step + 1e-12)
        step = np.where(sinks, step / 2, step)


def measure_grasp(
    keypoints: np.ndarray,
    scale: float,
    is_left: bool,
    object_sdf: SignedDistance,
    contact_threshold: float,
    volume_spacing: float,
) -> tuple[float, float, float, np.ndarray]:
    """Penetration depth (m), interpenetration volume (m^3), contact ratio and (5,) fingers
    touching of one hand's skin (``hand_surface``: the solid these grasps are made of) against
    an object's signed distance (negative inside), scored by ``geometry.contact``.

    Why one function: the grasps made here and the proposals the grasp pipeline ranks are
    measured by the same rule, so their numbers compare. A finger touches when its skin point
    deepest towards the object is within ``contact_threshold`` of the surface.
    """
    surface = sample_hand_surface(keypoints, scale, is_left)
    sdf = object_sdf(surface.points)
    closest = np.stack(
        [
            surface.points[surface.finger == f][np.argmin(sdf[surface.finger == f])]
            for f in range(NUM_FINGERS)
        ]
    )
    fingers = np.abs(object_sdf(closest)) <= contact_threshold
    samples, per_sample = hand_volume_samples(
        surface.capsules, volume_spacing, region=lambda p: object_sdf(p) < 0
    )
    volume = interpenetration_volume(samples, object_sdf, per_sample) if len(samples) else 0.0
    return (
        penetration_depth(surface.points, object_sdf),
        volume,
        contact_ratio(closest, object_sdf, contact_threshold),
        fingers,
    )


def grasp_object(
    obj: ObjectSample,
    rng: np.random.Generator,
    shape: np.ndarray,
    is_left: bool,
    spec: GraspSpec = GraspSpec(),
) -> GraspSample | None:
    """One approach-and-close attempt on ``obj``; the grasp, or None when it is rejected.

    shape: (21,) hand shape. Raises ValueError when the object's mesh is not watertight (its SDF
    would not describe a solid).
    """
    check_watertight(obj.mesh)
    shape = np.asarray(shape, dtype=np.float64)
    if shape.shape != (SHAPE_DIM,) or not np.all(np.isfinite(shape)) or np.any(shape <= 0):
        raise ValueError(
            f"shape must be {SHAPE_DIM} positive finite values (scale, bone ratios), got {shape}"
        )
    rotation = _approach_frame(obj, rng, spec.wrap_probability)
    pose = sample_synergy_poses(rng, 1, rng.uniform(*spec.preshape_amplitude))[0]
    pose[0, :2] = np.radians([rng.uniform(*bounds) for bounds in _THUMB_PRESHAPE_DEG])
    translation = _approach(obj, pose, shape, rotation, is_left, rng, spec)
    if translation is None:
        return None
    pose = _close(obj, pose, shape, rotation, translation, is_left, spec)
    keypoints = _keypoints(pose, shape, rotation, translation, is_left)
    depth, volume, ratio, fingers = measure_grasp(
        keypoints, float(shape[0]), is_left, obj.sdf, spec.contact_threshold, spec.volume_spacing
    )
    if not fingers[THUMB] or fingers.sum() < spec.min_fingers or depth > spec.penetration_tolerance:
        return None
    object_rotation, object_centre = obj.pose[:3, :3], obj.pose[:3, 3]
    return GraspSample(
        keypoints_world=keypoints,
        keypoints_object=(keypoints - object_centre) @ object_rotation,
        pose=pose,
        shape=shape,
        global_rotation=rotation,
        translation=translation,
        is_left=is_left,
        object=obj,
        penetration_depth=depth,
        interpenetration_volume=volume,
        contact_ratio=ratio,
        finger_contacts=fingers,
    )


def sample_grasp(
    split: SplitSpec, partition: str, seed: int, index: int, spec: GraspSpec = GraspSpec()
) -> GraspSample:
    """Grasp ``index`` of data set ``seed``: a hand (shape from the split's shape axis, either
    side) grasping an object (size from the split's object axis). Deterministic.

    Tries ``attempts_per_object`` approaches per object and up to ``objects_per_item`` objects;
    raises RuntimeError if none is accepted (a spec that is too strict).
    """
    rng = _rng(seed, partition, _STREAM_GRASP, index)
    shape = sample_shapes(rng, 1)[0]
    shape[0] = split.sample(rng, "shape", partition)["scale"]
    is_left = bool(rng.random() < 0.5)
    attempts = 0
    for _ in range(spec.objects_per_item):
        obj = _split_object(split, partition, rng, spec.kinds)
        for _ in range(spec.attempts_per_object):
            attempts += 1
            grasp = grasp_object(obj, rng, shape, is_left, spec)
            if grasp is not None:
                grasp.attempts = attempts
                return grasp
    raise RuntimeError(
        f"no grasp accepted after {attempts} attempts (seed {seed}, index {index}); "
        "loosen the GraspSpec"
    )

"""Biomechanical losses on 3D hand keypoints (Spurr et al., ECCV 2020).

Why: 2D labels alone leave depth ambiguous, and a network happily predicts fingers bent
backwards or palms folded in half. These losses penalise only what a real hand cannot do, so
they can be applied to every sample, including those with 2D labels only:

* bone length: each of the 20 bones within its length range;
* root bones (palm): the five wrist->finger-base bones' lengths, the angles between neighbouring
  root bones, and the palm's curvature (signed angle between the normals of neighbouring
  root-bone planes) within ranges;
* joint angles: measured flexion and abduction of the 15 finger joints within limits.

Every term is a hinge (zero inside its range, growing linearly outside), in reference-bone units
for lengths and radians for angles. All ranges come from ``skeleton.kinematics`` (the table that
drives the synthetic data), see ``BiomechanicalLimits.from_kinematics``. Lengths are divided by a
per-sample scale, by default each hand's own reference bone wrist->middle MCP, so the length terms
judge proportions and work on scale-normalised predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from handperception.losses.hand_angles import canonical_right, derive_angle_limits, finger_angles
from handperception.skeleton.definition import BONES, FINGER_JOINTS, NUM_JOINTS, ROOT
from handperception.skeleton.kinematics import (
    BONE_RATIO_RANGE,
    JOINT_LIMITS,
    MEAN_BONE_LENGTHS,
    NUM_POSE_JOINTS,
    JointLimits,
    forward_kinematics,
)

REFERENCE_BONE = BONES.index((ROOT, FINGER_JOINTS[2][0]))
ROOT_BONES = tuple(BONES.index((ROOT, chain[0])) for chain in FINGER_JOINTS)
FINGER_BONES = tuple(b for b in range(len(BONES)) if b not in ROOT_BONES)
# The model's palm is rigid, real palms are not: the metacarpals of the ring and little fingers
# fold towards the palm (cupping) and the spread between finger bases changes by several degrees.
ROOT_ANGLE_TOLERANCE_DEG = 8.0
CURVATURE_TOLERANCE_DEG = 15.0
REDUCTIONS = ("mean", "none")


def _norm(v: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((v * v).sum(-1) + 1e-18)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / _norm(v)[..., None]


def _check_joints(joints: torch.Tensor) -> None:
    if (
        not isinstance(joints, torch.Tensor)
        or joints.ndim != 3
        or tuple(joints.shape[1:]) != (NUM_JOINTS, 3)
    ):
        raise ValueError(
            f"joints must be a (B, {NUM_JOINTS}, 3) tensor, "
            f"got {getattr(joints, 'shape', type(joints))}"
        )


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """(B, 21, 3) -> (B, 20) length of each bone of skeleton.BONES, same unit."""
    parents, children = zip(*BONES)
    return _norm(joints[:, list(children)] - joints[:, list(parents)])


def reference_length(joints: torch.Tensor) -> torch.Tensor:
    """(B, 21, 3) -> (B,) length of the reference bone wrist -> middle MCP."""
    return bone_lengths(joints)[:, REFERENCE_BONE]


def root_bone_angles(joints: torch.Tensor) -> torch.Tensor:
    """(B, 21, 3) -> (B, 4) radians between neighbouring root bones (thumb-index ...
    ring-little)."""
    u = _unit(joints[:, [chain[0] for chain in FINGER_JOINTS]] - joints[:, ROOT : ROOT + 1])
    a, b = u[:, :-1], u[:, 1:]
    return torch.atan2(_norm(torch.linalg.cross(a, b, dim=-1)), (a * b).sum(-1))


def palm_curvature(joints: torch.Tensor, is_left: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 21, 3) -> (B, 3) signed radians between the normals of neighbouring root-bone planes.

    Plane i holds root bones i and i + 1; curvature i turns plane i's normal into plane i + 1's
    about their shared root bone i + 1 (zero for a flat palm, its sign tells cupping from
    arching). Left hands are mirrored first so the sign means the same for both.
    """
    joints = canonical_right(joints, is_left)
    u = _unit(joints[:, [chain[0] for chain in FINGER_JOINTS]] - joints[:, ROOT : ROOT + 1])
    normals = _unit(torch.linalg.cross(u[:, :-1], u[:, 1:], dim=-1))
    n0, n1, axis = normals[:, :-1], normals[:, 1:], u[:, 1:-1]
    sine = (torch.linalg.cross(n0, n1, dim=-1) * axis).sum(-1)
    return torch.atan2(sine, (n0 * n1).sum(-1))


@dataclass(frozen=True)
class BiomechanicalLimits:
    """Ranges of everything the losses measure; each field a float64 numpy array.

    bone_lower/upper (20,) reference-bone units; root_angle_lower/upper (4,) and
    curvature_lower/upper (3,) radians; angle_lower/upper (15, 2) radians (flexion, abduction).
    """

    bone_lower: np.ndarray
    bone_upper: np.ndarray
    root_angle_lower: np.ndarray
    root_angle_upper: np.ndarray
    curvature_lower: np.ndarray
    curvature_upper: np.ndarray
    angle_lower: np.ndarray
    angle_upper: np.ndarray

    def __post_init__(self) -> None:
        expected = {
            "bone": (len(BONES),),
            "root_angle": (4,),
            "curvature": (3,),
            "angle": (NUM_POSE_JOINTS, 2),
        }
        for name, shape in expected.items():
            lower, upper = getattr(self, f"{name}_lower"), getattr(self, f"{name}_upper")
            if lower.shape != shape or upper.shape != shape:
                raise ValueError(
                    f"{name} limits must have shape {shape}, got {lower.shape} and {upper.shape}"
                )
            if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))) or np.any(
                lower > upper
            ):
                raise ValueError(f"{name} limits must be finite with lower <= upper")

    @classmethod
    def from_kinematics(
        cls,
        joint_limits: JointLimits = JOINT_LIMITS,
        ratio_range: tuple[float, float] = BONE_RATIO_RANGE,
        root_angle_tolerance_deg: float = ROOT_ANGLE_TOLERANCE_DEG,
        curvature_tolerance_deg: float = CURVATURE_TOLERANCE_DEG,
    ) -> "BiomechanicalLimits":
        """Ranges implied by the synthetic hand model.

        A bone is ``mean * scale * ratio`` long with ratio in ratio_range; divided by the
        reference bone (``mean_ref * scale * ratio_ref``) the global scale cancels and the
        ratio of ratios lies in [lo / hi, hi / lo]. The model's root-bone directions do not
        depend on shape, so the palm angles of the mean hand, widened by the tolerances, bound
        every valid palm. Joint angles: ``hand_angles.derive_angle_limits``.
        """
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(f"ratio_range must be positive and ordered, got {ratio_range}")
        if root_angle_tolerance_deg < 0 or curvature_tolerance_deg < 0:
            raise ValueError("palm tolerances must be >= 0 degrees")
        relative = MEAN_BONE_LENGTHS / MEAN_BONE_LENGTHS[REFERENCE_BONE]
        mean_hand = torch.as_tensor(forward_kinematics(np.zeros((1, NUM_POSE_JOINTS, 3))))
        root_angles = root_bone_angles(mean_hand)[0].numpy()
        curvature = palm_curvature(mean_hand)[0].numpy()
        root_tol, curv_tol = (
            np.radians(root_angle_tolerance_deg),
            np.radians(curvature_tolerance_deg),
        )
        angle_lower, angle_upper = derive_angle_limits(joint_limits)
        return cls(
            relative * low / high,
            relative * high / low,
            root_angles - root_tol,
            root_angles + root_tol,
            curvature - curv_tol,
            curvature + curv_tol,
            angle_lower,
            angle_upper,
        )


def _hinge(value: torch.Tensor, lower, upper) -> torch.Tensor:
    """Distance of value outside [lower, upper] (zero inside), elementwise."""
    lower = torch.as_tensor(lower, dtype=value.dtype, device=value.device)
    upper = torch.as_tensor(upper, dtype=value.dtype, device=value.device)
    return torch.relu(lower - value) + torch.relu(value - upper)


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
    return per_sample.mean() if reduction == "mean" else per_sample


def _scaled_lengths(joints: torch.Tensor, scale: torch.Tensor | float | None) -> torch.Tensor:
    """(B, 20) bone lengths in units of `scale` (B,) or scalar; None = each hand's reference
    bone."""
    lengths = bone_lengths(joints)
    if scale is None:
        scale = lengths[:, REFERENCE_BONE].detach()
    scale = torch.as_tensor(scale, dtype=joints.dtype, device=joints.device)
    if torch.any(scale <= 0) or not torch.all(torch.isfinite(scale)):
        raise ValueError("scale must be positive and finite")
    return lengths / (scale[:, None] if scale.ndim == 1 else scale)


def bone_length_loss(
    joints: torch.Tensor,
    limits: BiomechanicalLimits,
    scale: torch.Tensor | float | None = None,
    bones: tuple[int, ...] = tuple(range(len(BONES))),
    reduction: str = "mean",
) -> torch.Tensor:
    """Mean hinge of bone lengths (reference-bone units) outside their ranges.

    Args:
        joints: (B, 21, 3) any unit.
        scale: (B,) or scalar, the reference-bone length in the joints' unit; None = measured
            per hand (then only proportions count; the measured scale gets no gradient).
        bones: indices into skeleton.BONES to judge.
    Returns:
        scalar, or (B,) with reduction="none"; >= 0.
    """
    _check_joints(joints)
    index = list(bones)
    lengths = _scaled_lengths(joints, scale)[:, index]
    return _reduce(
        _hinge(lengths, limits.bone_lower[index], limits.bone_upper[index]).mean(-1), reduction
    )


def root_bone_loss(
    joints: torch.Tensor,
    limits: BiomechanicalLimits,
    is_left: torch.Tensor | None = None,
    scale: torch.Tensor | float | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Palm: root-bone lengths, neighbouring root-bone angles and curvature outside their ranges.

    Mean over the 5 + 4 + 3 hinge terms (reference-bone units and radians); shapes and scale
    as in bone_length_loss. Returns a scalar, or (B,) with reduction="none"; >= 0.
    """
    _check_joints(joints)
    index = list(ROOT_BONES)
    lengths = _scaled_lengths(joints, scale)[:, index]
    terms = torch.cat(
        [
            _hinge(lengths, limits.bone_lower[index], limits.bone_upper[index]),
            _hinge(root_bone_angles(joints), limits.root_angle_lower, limits.root_angle_upper),
            _hinge(palm_curvature(joints, is_left), limits.curvature_lower, limits.curvature_upper),
        ],
        dim=-1,
    )
    return _reduce(terms.mean(-1), reduction)


def joint_angle_loss(
    joints: torch.Tensor,
    limits: BiomechanicalLimits,
    is_left: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Mean hinge (radians) of the 15 joints' measured flexion and abduction outside limits.

    joints (B, 21, 3) any unit; is_left (B,) bool or None (all right). Returns a scalar, or (B,)
    with reduction="none"; >= 0.
    """
    _check_joints(joints)
    angles = finger_angles(joints, is_left)
    return _reduce(
        _hinge(angles, limits.angle_lower, limits.angle_upper).flatten(1).mean(-1), reduction
    )


class BiomechanicalLoss(nn.Module):
    """The three biomechanical terms, weighted; forward returns a dict of scalars or (B,).

    The bone-length term covers the 15 finger bones only, since the root-bone term already
    judges the palm's five.
    """

    def __init__(
        self,
        limits: BiomechanicalLimits | None = None,
        bone_weight: float = 1.0,
        root_weight: float = 1.0,
        angle_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if min(bone_weight, root_weight, angle_weight) < 0:
            raise ValueError("loss weights must be >= 0")
        self.limits = BiomechanicalLimits.from_kinematics() if limits is None else limits
        self.weights = {
            "bone_length": bone_weight,
            "root_bone": root_weight,
            "joint_angle": angle_weight,
        }

    def forward(
        self,
        joints: torch.Tensor,
        is_left: torch.Tensor | None = None,
        scale: torch.Tensor | float | None = None,
        reduction: str = "mean",
    ) -> dict[str, torch.Tensor]:
        """joints (B, 21, 3); is_left (B,) bool; scale as in bone_length_loss.

        Returns {"bone_length", "root_bone", "joint_angle", "total"}, weighted, each a scalar
        (or (B,) with reduction="none").
        """
        terms = {
            "bone_length": bone_length_loss(joints, self.limits, scale, FINGER_BONES, reduction),
            "root_bone": root_bone_loss(joints, self.limits, is_left, scale, reduction),
            "joint_angle": joint_angle_loss(joints, self.limits, is_left, reduction),
        }
        terms = {name: self.weights[name] * value for name, value in terms.items()}
        terms["total"] = sum(terms.values())
        return terms

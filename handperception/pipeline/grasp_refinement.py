"""Grasp refinement through HALO: sampled grasps pushed out of the object and onto its surface,
and the contact metrics each proposal is ranked by.

Why here, in the pipeline layer: refinement is what the grasp node runs on the generator's
samples; it wires a model (HALO), the losses (``losses.grasp``, ``losses.biomechanical``), the
synthetic hand's capsules (``synth.hand_model``: the skin radii around each bone) and its
contact measure (``synth.grasps.measure_grasp``) into one batched call with numpy in and out,
and checks its inputs the way a service must (a NaN or a degenerate hand is a clear ValueError,
not a NaN proposal). ``train.grasp_evaluation`` scores the generator through ``measure_grasps``
so the numbers it reports are those the node ranks by.

Frames and units: keypoints, object points and the object's signed distance all in one frame
(the object's), metres; volumes in cubic metres.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from handperception.geometry.contact import SignedDistance
from handperception.losses.biomechanical import BiomechanicalLoss, bone_lengths
from handperception.losses.grasp import (
    bone_length_drift,
    capsule_penetration,
    contact_gap,
    occupancy_penetration,
    oriented_point_sdf,
)
from handperception.models.halo import hand_keypoint_problem
from handperception.skeleton.definition import FINGER_JOINTS, NUM_JOINTS, ROOT
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS
from handperception.synth.grasps import measure_grasp
from handperception.synth.hand_model import hand_capsules

NUM_FINGERS = len(FINGER_JOINTS)
# hand_model.hand_capsules: capsules 0..14 are the phalanges (3 per finger, base to tip), the
# next is the first palm rod (the palm slab's half-thickness).
_PHALANGES = 3 * NUM_FINGERS
_PALM_ROD = _PHALANGES
# Fractions along each phalanx where its axis is tested against the object.
_AXIS_FRACTIONS = torch.linspace(0.0, 1.0, 5)
# Inward offsets (metres) of the object-interior points HALO's occupancy is read at.
_INTERIOR_DEPTHS = (0.004, 0.008, 0.015, 0.025)
# Contact: a finger touches when its skin nearest the object is within this distance (metres),
# geometry.contact's default.
CONTACT_THRESHOLD = 0.005
# Lattice pitch (metres) of the interpenetration-volume samples, the synthetic grasps' own.
VOLUME_SPACING = 0.0025
# Score: 1 cm of penetration depth, or 10 cm^3 of volume, costs as much as losing every contact.
_DEPTH_PER_CONTACT = 0.01
_VOLUME_PER_CONTACT = 1e-5


@dataclass(frozen=True)
class GraspObject:
    """The object as refinement sees it, in its own frame: (S, 3) surface points and their
    outward unit normals (metres), and optionally its exact signed distance (negative inside)
    for the metrics; without it the metrics use the samples' point-to-plane distance."""

    points: np.ndarray
    normals: np.ndarray
    sdf: SignedDistance | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64)
        normals = np.asarray(self.normals, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) < 4:
            raise ValueError(f"object points must be (S >= 4, 3) metres, got {points.shape}")
        if normals.shape != points.shape:
            raise ValueError(f"object normals {normals.shape} must match its points {points.shape}")
        if not (np.all(np.isfinite(points)) and np.all(np.isfinite(normals))):
            raise ValueError("object points or normals contain NaN or infinite values")
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        if np.any(lengths < 1e-6):
            raise ValueError("object normals must be non-zero (outward directions)")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "normals", normals / lengths)
        # The estimate's nearest samples: a brute-force search over every sample costs ~2 s
        # for the ~10^5 points the metrics of ten proposals read; a KD-tree ~0.1 s.
        object.__setattr__(self, "_tree", cKDTree(points))

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) -> (N,) metres: the exact SDF when given, else the samples' estimate
        (``losses.grasp.oriented_point_sdf``)."""
        if self.sdf is not None:
            return self.sdf(points)
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        _, nearest = self._tree.query(points)
        return oriented_point_sdf(
            torch.as_tensor(points)[None],
            torch.as_tensor(self.points),
            torch.as_tensor(self.normals),
            torch.as_tensor(nearest),
        )[0].numpy()

    def interior_points(self, count: int) -> np.ndarray:
        """Up to ``count`` (P, 3) points inside the object: surface samples pushed inwards along
        their normals by a few depths, kept when still at least half that depth inside (a thin
        part would otherwise put them out through its other side)."""
        depths = np.asarray(_INTERIOR_DEPTHS)
        candidates = (self.points[None] - depths[:, None, None] * self.normals[None]).reshape(-1, 3)
        inside = self.signed_distance(candidates) <= -0.5 * np.repeat(depths, len(self.points))
        kept = candidates[inside]
        if len(kept) > count:
            kept = kept[np.linspace(0, len(kept) - 1, count).astype(int)]
        return kept


@dataclass(frozen=True)
class RefinementWeights:
    """Weights of the refinement objective (each term per hand, see ``losses.grasp``).

    occupancy: per expected object-interior point inside the hand. penetration: per cm of
    capsule skin depth summed over the finger axes. contact: per cm of mean fingertip/palm gap.
    biomechanical: the project's hinge terms (reference-bone units, radians). drift: per unit of
    mean relative bone-length change.
    """

    occupancy: float = 0.05
    penetration: float = 1.0
    contact: float = 3.0
    palm_contact: float = 0.2
    biomechanical: float = 10.0
    drift: float = 100.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"RefinementWeights.{name} must be finite and >= 0, got {value}")


@dataclass
class GraspMetrics:
    """Per grasp (B,): deepest skin point inside the object (m), hand volume inside the object
    (m^3), fraction of the five fingers whose skin touches (within the contact threshold)."""

    penetration_depth: np.ndarray
    penetration_volume: np.ndarray
    contact_ratio: np.ndarray

    def score(self) -> np.ndarray:
        """(B,) higher is better: contact ratio minus penetration depth per cm and volume per
        10 cm^3 (so a deep or voluminous penetration outweighs touching with every finger)."""
        return (
            self.contact_ratio
            - self.penetration_depth / _DEPTH_PER_CONTACT
            - self.penetration_volume / _VOLUME_PER_CONTACT
        )


@dataclass
class RefinedGrasps:
    """keypoints (B, 21, 3) metres, object frame; their metrics and score (B,); order (B,)
    indices best first; objective (steps + 1,) the mean refinement objective before each step
    and after the last."""

    keypoints: np.ndarray
    metrics: GraspMetrics
    score: np.ndarray
    order: np.ndarray
    objective: np.ndarray


def _grasp_arrays(keypoints, is_left) -> tuple[np.ndarray, np.ndarray]:
    """(B, 21, 3) finite float64 keypoints and (B,) bool is_left (one bool for all hands)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 3) or len(keypoints) == 0:
        raise ValueError(f"keypoints must be (B >= 1, 21, 3) metres, got {keypoints.shape}")
    if not np.all(np.isfinite(keypoints)):
        bad = int(np.flatnonzero(~np.isfinite(keypoints).all(axis=(1, 2)))[0])
        raise ValueError(f"grasp {bad} has NaN or infinite keypoints")
    side = np.asarray(is_left, dtype=bool)
    if side.ndim > 1 or side.size not in (1, len(keypoints)):
        raise ValueError(f"is_left must be one bool or ({len(keypoints)},), got {side.shape}")
    return keypoints, np.broadcast_to(side, (len(keypoints),)).copy()


def check_grasp_keypoints(keypoints, is_left) -> tuple[np.ndarray, np.ndarray]:
    """(B, 21, 3) float64 keypoints and (B,) bool is_left (one bool for all), or a ValueError
    naming the first proposal HALO cannot take and why (``models.halo.hand_keypoint_problem``)."""
    keypoints, is_left = _grasp_arrays(keypoints, is_left)
    for index, hand in enumerate(keypoints):
        problem = hand_keypoint_problem(hand)
        if problem is not None:
            raise ValueError(f"grasp {index} cannot be refined: {problem}")
    return keypoints, is_left


def hand_scales(keypoints: np.ndarray) -> np.ndarray:
    """(B,) each hand's size relative to the mean hand (total bone length), as HALO reads it."""
    return bone_lengths(torch.as_tensor(keypoints)).sum(-1).numpy() / MEAN_BONE_LENGTHS.sum()


def measure_grasps(
    keypoints,
    is_left,
    object_sdf: SignedDistance,
    contact_threshold: float = CONTACT_THRESHOLD,
    volume_spacing: float = VOLUME_SPACING,
) -> GraspMetrics:
    """Penetration depth, interpenetration volume and contact ratio of B grasps on the synthetic
    hand's skin (``synth.grasps.measure_grasp``: the rule the training grasps were accepted by,
    so a proposal's numbers compare with theirs), each hand at its own size (``hand_scales``)."""
    keypoints, is_left = _grasp_arrays(keypoints, is_left)
    measured = [
        measure_grasp(hand, float(scale), bool(left), object_sdf, contact_threshold, volume_spacing)
        for hand, scale, left in zip(keypoints, hand_scales(keypoints), is_left)
    ]
    depth, volume, ratio = (np.array([m[i] for m in measured]) for i in range(3))
    return GraspMetrics(depth, volume, ratio)


def _skin_radii(keypoints: np.ndarray, scales: np.ndarray, is_left: np.ndarray):
    """Per hand: radii (B, 75) of the finger-axis samples and (B, 1) of the palm slab, from the
    synthetic hand's capsules (they depend on the hand's scale only)."""
    radii = np.stack(
        [
            hand_capsules(hand, float(scale), bool(left)).radius
            for hand, scale, left in zip(keypoints, scales, is_left)
        ]
    )
    phalanges = radii[:, :_PHALANGES]
    axis = np.repeat(phalanges, len(_AXIS_FRACTIONS), axis=1)
    return (
        torch.as_tensor(axis, dtype=torch.float32),
        torch.as_tensor(radii[:, _PALM_ROD : _PALM_ROD + 1], dtype=torch.float32),
    )


def _finger_axis_points(keypoints: torch.Tensor) -> torch.Tensor:
    """(B, 75, 3): points along each phalanx's axis (5 per phalanx), thumb..little, base to tip."""
    starts = [chain[level] for chain in FINGER_JOINTS for level in range(3)]
    ends = [chain[level + 1] for chain in FINGER_JOINTS for level in range(3)]
    a, b = keypoints[:, starts], keypoints[:, ends]
    fractions = _AXIS_FRACTIONS.to(keypoints.dtype)[None, None, :, None]
    return (a[:, :, None] + fractions * (b - a)[:, :, None]).flatten(1, 2)


def _palm_centre(keypoints: torch.Tensor) -> torch.Tensor:
    """(B, 1, 3): the mean of the wrist and the four finger knuckles, inside the palm slab."""
    joints = [ROOT] + [chain[0] for chain in FINGER_JOINTS[1:]]
    return keypoints[:, joints].mean(dim=1, keepdim=True)


def refine_grasps(
    keypoints,
    is_left,
    grasp_object: GraspObject,
    halo,
    steps: int = 20,
    lr: float = 0.002,
    weights: RefinementWeights = RefinementWeights(),
    interior_count: int = 256,
    contact_threshold: float = CONTACT_THRESHOLD,
) -> RefinedGrasps:
    """Refine B proposals at once: Adam on their keypoints (at most ``lr`` metres a step,
    cosine decay over ``steps`` steps) against the weighted terms of ``losses.grasp``: HALO's
    occupancy at the object's interior points, finger-capsule depth and each finger's and the
    palm's gap by the object's sampled signed distance, biomechanical hinges, bone-length
    drift. HALO's weights stay fixed.

    keypoints (B, 21, 3) and the object in the object frame, metres; is_left (B,) or one bool.
    Returns the refined keypoints, their metrics (``measure_grasps``, with the object's exact SDF
    when it has one) and a best-first order. ValueError for NaN or degenerate keypoints, or bad
    settings.
    """
    keypoints, is_left = check_grasp_keypoints(keypoints, is_left)
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not (np.isfinite(lr) and lr > 0) or interior_count < 1:
        raise ValueError(f"need lr > 0 and interior_count >= 1, got {lr}, {interior_count}")
    object_sdf = grasp_object.signed_distance
    scales = hand_scales(keypoints)
    axis_radii, palm_radius = _skin_radii(keypoints, scales, is_left)
    surface = torch.as_tensor(grasp_object.points, dtype=torch.float32)
    normals = torch.as_tensor(grasp_object.normals, dtype=torch.float32)
    interior = torch.as_tensor(grasp_object.interior_points(interior_count), dtype=torch.float32)
    interior = interior[None].expand(len(keypoints), -1, -1)
    side = torch.as_tensor(is_left)
    biomechanical = _biomechanical_loss()
    variable = torch.tensor(keypoints, dtype=torch.float32, requires_grad=True)
    initial_bones = bone_lengths(variable.detach())
    optimiser = torch.optim.Adam([variable], lr=lr)
    trainable = [p.requires_grad for p in halo.parameters()]
    halo.requires_grad_(False)
    objective = []
    try:
        for step in range(int(steps) + 1):
            axis_clearance = (
                oriented_point_sdf(_finger_axis_points(variable), surface, normals) - axis_radii
            )
            palm_clearance = (
                oriented_point_sdf(_palm_centre(variable), surface, normals) - palm_radius
            )
            terms = {
                "occupancy": occupancy_penetration(halo, variable, side, interior)
                if len(interior[0])
                else variable.new_zeros(len(variable)),
                "penetration": 100.0 * capsule_penetration(axis_clearance),
                # each finger's skin closest to the object: what the contact ratio counts
                "contact": 100.0
                * contact_gap(axis_clearance.view(len(variable), NUM_FINGERS, -1).amin(-1)),
                "palm_contact": 100.0 * contact_gap(palm_clearance),
                "biomechanical": biomechanical(variable, side, reduction="none")["total"],
                "drift": bone_length_drift(variable, initial_bones),
            }
            # Proposals are independent: summing their objectives keeps their gradients apart.
            total = sum(getattr(weights, name) * value for name, value in terms.items())
            objective.append(float(total.detach().mean()))
            if step == steps:
                break
            # Cosine decay: early steps move out of the object, late ones settle the terms that
            # pull against each other (penetration pushes out, contact pulls in).
            for group in optimiser.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + np.cos(np.pi * step / steps))
            optimiser.zero_grad(set_to_none=True)
            total.sum().backward()
            optimiser.step()
    finally:
        for parameter, flag in zip(halo.parameters(), trainable):
            parameter.requires_grad_(flag)
    refined = variable.detach().double().numpy()
    if not np.all(np.isfinite(refined)):
        raise ValueError("refinement diverged to non-finite keypoints; lower lr")
    metrics = measure_grasps(refined, is_left, object_sdf, contact_threshold)
    score = metrics.score()
    return RefinedGrasps(
        refined, metrics, score, np.argsort(-score, kind="stable"), np.array(objective)
    )


@functools.cache
def _biomechanical_loss() -> BiomechanicalLoss:
    """One loss for every request: building it derives the joint-angle limits (~0.15 s), which
    never change."""
    return BiomechanicalLoss()

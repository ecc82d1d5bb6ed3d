"""Object -> grasp proposals: the grasp generator's samples (``models.grasp_vae``) refined
through HALO (``pipeline.grasp_refinement``), ranked best first. No ROS: the
``grasp_synthesis`` node is a shell over this, and it is tested and used offline the same way.

Why a pipeline of its own: a robot asks for grasps of one object at a time (a service call, or
each object the tabletop detector finds), given as a closed mesh or as oriented surface
points, and must get back either proposals it can trust (finite, in the object's frame, scored
by the same contact rule the generator was evaluated by) or a one-line reason it got none: a
mesh with a hole, a NaN vertex, a 3 m "object" or a request for a million grasps is a
ValueError that says which, never a crash or a NaN joint.

Frames and units: the proposals' joints are in the frame the object is given in, metres. The
generator reads the object around its bounding-box centre (the frame it was trained in, up to
a shift), so the object is centred before sampling and the joints shifted back after. The
basis-point code is not rotation invariant: the grasps follow the object's axes as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import trimesh

from handperception.models.halo import hand_keypoint_problem
from handperception.pipeline.grasp_refinement import GraspObject, refine_grasps
from handperception.results import GraspEstimate
from handperception.synth.grasps import OBJECT_POINTS
from handperception.synth.objects import check_watertight

# Bounds of the requests and the configuration (the service's and the node's ranges): the
# service promises 1..64 proposals; 200 refinement steps are ~10 s per proposal batch on a CPU.
COUNT_LIMITS = (1, 64)
REFINEMENT_STEPS_LIMITS = (0, 200)
# An object a hand can grasp: no side longer than this (metres), no less volume than a 1 mm
# cube (a flat or collapsed mesh has no inside to grasp).
MAX_EXTENT_M = 1.0
MIN_VOLUME_M3 = 1e-9
# Surface samples of a mesh: refinement reads the object's signed distance from them (~2.5 mm
# apart on a 10 cm object); the generator reads the first OBJECT_POINTS, as it was trained.
SURFACE_POINTS = 2048
HANDEDNESS = ("left", "right", "unknown")
# The generator's samples HALO cannot take (a collapsed bone, a folded palm: ~14 % for the tiny
# model) are refused, so each round samples this many times what is missing, for a few rounds.
_OVERSAMPLE = 1.5
_ROUNDS = 4


@dataclass(frozen=True)
class GraspSynthesisConfig:
    """refinement_steps: Adam steps of HALO refinement (0: the generator's raw samples, ranked);
    20 is the evaluated setting (docs/grasps.md). seed: the generator's and the surface
    sampling's, so the same object and request always give the same proposals."""

    refinement_steps: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        low, high = REFINEMENT_STEPS_LIMITS
        steps = self.refinement_steps
        if type(steps) is not int or not low <= steps <= high:
            raise ValueError(f"refinement_steps must be an integer in {low}..{high}, got {steps!r}")
        if type(self.seed) is not int or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")


def unit_score(score: np.ndarray) -> np.ndarray:
    """``GraspMetrics.score`` (contact ratio minus penetration per cm of depth and per 10 cm^3
    of volume; at most 1) -> (0, 1], as GraspProposal.score is: exp(score - 1), so every
    missing finger, cm of depth or 10 cm^3 of volume multiplies it by 1/e, and the order of the
    proposals is kept."""
    return np.exp(np.minimum(score, 1.0) - 1.0)


def _check_extent(points: np.ndarray, what: str) -> None:
    extent = float(np.ptp(points, axis=0).max())
    if extent > MAX_EXTENT_M:
        raise ValueError(
            f"{what} is {extent:.3g} m across; objects a hand grasps are at most "
            f"{MAX_EXTENT_M:g} m (are the units metres?)"
        )


def mesh_surface(
    vertices, faces, count: int = SURFACE_POINTS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(count, 3) points sampled area-uniformly on a closed triangle mesh (``seed``: the same
    mesh always gives the same points) and their (count, 3) outward unit normals, metres in
    the mesh's frame. ValueError, saying what is wrong, for a mesh that is not a graspable
    solid: wrong shapes, NaN vertices, faces indexing no vertex, fewer than 4 vertices or
    faces, holes or flipped faces (``synth.objects.check_watertight``), no volume, or a side
    longer than MAX_EXTENT_M."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1:] != (3,) or len(vertices) < 4:
        raise ValueError(f"mesh vertices must be (V >= 4, 3) metres, got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1:] != (3,) or len(faces) < 4:
        raise ValueError(f"mesh faces must be (F >= 4, 3) vertex indices, got {faces.shape}")
    if not np.all(np.isfinite(vertices)):
        raise ValueError("mesh has NaN or infinite vertices")
    if (
        not np.issubdtype(faces.dtype, np.integer)
        or faces.min() < 0
        or faces.max() >= len(vertices)
    ):
        raise ValueError(f"mesh faces must index its {len(vertices)} vertices (0..V-1)")
    _check_extent(vertices, "the mesh")
    mesh = check_watertight(trimesh.Trimesh(vertices, faces))
    if mesh.volume < MIN_VOLUME_M3:
        raise ValueError(f"mesh is degenerate: volume {mesh.volume:.3g} m^3 (flat or collapsed)")
    points, face_index = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return np.asarray(points, dtype=np.float64), mesh.face_normals[face_index]


class GraspSynthesisPipeline:
    """Grasp proposals for one object: ``propose(points, normals, count, handedness)`` or
    ``propose_for_mesh(vertices, faces, count, handedness)`` -> GraspEstimates best first.

    ``generator``: a ``models.grasp_vae.GraspVAE``; ``halo``: a ``HaloNet`` on the CPU (the
    refinement's tensors live there). Both in eval mode; neither is changed.
    """

    def __init__(self, generator, halo, config: GraspSynthesisConfig | None = None):
        self.generator = generator.eval()
        self.halo = halo.eval()
        self.config = config or GraspSynthesisConfig()

    def propose_for_mesh(
        self, vertices, faces, count: int, handedness: str = "unknown"
    ) -> list[GraspEstimate]:
        """``propose`` on SURFACE_POINTS samples of a closed mesh (``mesh_surface``)."""
        points, normals = mesh_surface(vertices, faces, SURFACE_POINTS, self.config.seed)
        return self.propose(points, normals, count, handedness)

    def propose(
        self, points, normals, count: int, handedness: str = "unknown"
    ) -> list[GraspEstimate]:
        """Up to ``count`` grasps (1..64) of the object sampled by (S >= 4, 3) surface points
        with (S, 3) outward normals, metres; best first by score. ``handedness``: left, right,
        or unknown (half of them right, the rest left, ranked together). Fewer than ``count``
        only when the generator's samples HALO cannot take outnumber the oversampling.

        Each proposal's joints are in the points' frame; its penetration depth and volume and
        contact ratio are measured against the points' signed-distance estimate
        (``GraspObject``); score is ``unit_score``. ValueError for bad points or arguments.
        """
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            raise ValueError(f"count must be an integer, got {count!r}")
        low, high = COUNT_LIMITS
        if not low <= count <= high:
            raise ValueError(f"count must be in {low}..{high}, got {count}")
        if handedness not in HANDEDNESS:
            raise ValueError(f"handedness must be one of {HANDEDNESS}, got {handedness!r}")
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1:] != (3,) or not np.all(np.isfinite(points)):
            raise ValueError(f"object points must be finite (S, 3) metres, got {points.shape}")
        _check_extent(points, "the object")
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        grasp_object = GraspObject(points - centre, normals)
        sides = {
            "right": {False: count},
            "left": {True: count},
            "unknown": {False: count - count // 2, True: count // 2},
        }[handedness]
        raw = [
            (hand, is_left)
            for is_left, wanted in sides.items()
            if wanted
            for hand in self._sample(grasp_object.points[:OBJECT_POINTS], wanted, is_left)
        ]
        if not raw:
            return []
        keypoints = np.stack([hand for hand, _ in raw])
        is_left = np.array([left for _, left in raw])
        refined = refine_grasps(
            keypoints, is_left, grasp_object, self.halo, steps=self.config.refinement_steps
        )
        scores = unit_score(refined.score)
        metrics = refined.metrics
        return [
            GraspEstimate(
                joints=refined.keypoints[i] + centre,
                handedness="left" if is_left[i] else "right",
                score=float(scores[i]),
                penetration_depth=float(metrics.penetration_depth[i]),
                penetration_volume=float(metrics.penetration_volume[i]),
                contact_ratio=float(metrics.contact_ratio[i]),
            )
            for i in refined.order
        ]

    @torch.no_grad()
    def _sample(self, points: np.ndarray, count: int, is_left: bool) -> list[np.ndarray]:
        """``count`` (21, 3) samples HALO can take (fewer if the rounds run out), metres,
        centred object frame; the same each call (a generator seeded from the config)."""
        generator = torch.Generator().manual_seed(self.config.seed + int(is_left))
        cloud = torch.as_tensor(points, dtype=torch.float32)
        kept: list[np.ndarray] = []
        for _ in range(_ROUNDS):
            missing = count - len(kept)
            if missing <= 0:
                break
            samples = self.generator.sample(
                cloud, int(np.ceil(_OVERSAMPLE * missing)), is_left, generator
            )
            kept += [
                hand
                for hand in samples.cpu().double().numpy()
                if hand_keypoint_problem(hand) is None
            ]
        return kept[:count]

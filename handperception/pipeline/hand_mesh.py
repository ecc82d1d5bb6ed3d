"""Tracked hands -> their surfaces: HALO's occupancy field, conditioned on each hand's 21 joints,
meshed by marching cubes (``models.halo.extract_mesh``). No ROS: the ``hand_mesh`` node is a
shell over this, and it is tested and used offline the same way.

Why a pipeline of its own, over hands rather than images: a surface needs only the joints, so it
follows whichever node tracks the hands (one hand, two hands, a replayed bag), and it costs
nothing while no hand is in view. A hand that cannot be meshed (NaN joints, bones of zero length
or all in a line, a hand two metres long) is a drop with its reason, never an exception and
never a mesh with a NaN vertex: a robot that plans around the surface must be able to trust it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.models.halo import HandSurfaceMesh, extract_mesh, hand_keypoint_problem
from handperception.results import HandEstimate

# Drop reasons beside hand_keypoint_problem's (non_finite_keypoints, degenerate_bones,
# implausible_scale):
TOO_MANY_HANDS = "too_many_hands"  # max_hands meshes made already for this array
EMPTY_MESH = "empty_mesh"  # the field has no surface around these joints
BAD_MESH = "bad_mesh"  # a NaN or infinite vertex, or a face indexing no vertex
# Bounds of the configuration (the node's parameter ranges): a grid finer than 256^3 costs
# seconds per hand on a CPU, one coarser than 16 loses the fingers.
RESOLUTION_LIMITS = (16, 256)
COARSE_RESOLUTION_LIMITS = (8, 128)
MAX_HANDS_LIMITS = (1, 10)


@dataclass(frozen=True)
class HandMeshConfig:
    """resolution: marching-cubes cells per side of a hand's cube (the mean hand's is 24 cm: 48
    gives 5 mm cells, 64 3.8 mm, 128 1.9 mm); coarse_resolution: the grid that finds where the
    surface is, refined by halving its cells there only until ``resolution`` (so
    ``resolution`` is ``coarse_resolution`` times a power of two); max_hands: most hands meshed
    per array, in its order.

    48 by default: one hand at 10 Hz or more with its markers on the 2-core CPU. Building and
    serialising the messages costs about as much as the meshing (one Python object per vertex,
    per triangle and per marker point), and both grow with the number of faces, about
    resolution^2; 64 was ~7 Hz with markers, and 48's surface is within 0.55 mm (Chamfer) of
    the true skin against 0.39 mm at 64. 128 for a GPU.
    """

    resolution: int = 48
    coarse_resolution: int = 12
    max_hands: int = 2

    def __post_init__(self) -> None:
        for name, (low, high) in (
            ("resolution", RESOLUTION_LIMITS),
            ("coarse_resolution", COARSE_RESOLUTION_LIMITS),
            ("max_hands", MAX_HANDS_LIMITS),
        ):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        ratio = self.resolution // self.coarse_resolution
        if ratio * self.coarse_resolution != self.resolution or ratio & (ratio - 1):
            raise ValueError(
                f"resolution ({self.resolution}) must be coarse_resolution "
                f"({self.coarse_resolution}) times a power of two (1, 2, 4, ...)"
            )


def surface_problem(mesh: HandSurfaceMesh) -> str | None:
    """None for a mesh fit to publish; else EMPTY_MESH (no triangle) or BAD_MESH (a vertex
    that is not finite, a face that indexes no vertex, arrays of the wrong shape)."""
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if (
        vertices.ndim != 2
        or vertices.shape[1:] != (3,)
        or faces.ndim != 2
        or faces.shape[1:] != (3,)
    ):
        return BAD_MESH
    if len(faces) == 0 or len(vertices) == 0:
        return EMPTY_MESH
    if not np.isfinite(vertices).all() or faces.min() < 0 or faces.max() >= len(vertices):
        return BAD_MESH
    return None


class HandMeshPipeline:
    """HALO surfaces of hands: ``process(hands)`` -> ((hand, mesh) pairs, drop reasons).

    ``model``: a HaloNet (``models.halo``) in eval mode on ``device``. Left hands are meshed as
    left hands; a hand of unknown side as a right hand (HALO needs a side, and the surface of
    the other side's field around the same joints is still a hand's).
    """

    def __init__(self, model, config: HandMeshConfig | None = None, device: str = "cpu"):
        self.model = model
        self.config = config or HandMeshConfig()
        self.device = device

    def process(
        self, hands: list[HandEstimate]
    ) -> tuple[list[tuple[HandEstimate, HandSurfaceMesh]], list[str]]:
        """Each hand's surface, metres in the hands' frame, in the hands' order, for the first
        ``max_hands`` hands that can be meshed; one drop reason for each other hand, in their
        order (so the n-th reason is the n-th hand left out)."""
        meshes: list[tuple[HandEstimate, HandSurfaceMesh]] = []
        drops: list[str] = []
        for hand in hands:
            if len(meshes) >= self.config.max_hands:
                drops.append(TOO_MANY_HANDS)
                continue
            problem = hand_keypoint_problem(hand.joints_3d)
            mesh = None
            if problem is None:
                try:
                    mesh = self._mesh(hand)
                except ValueError:  # refused by HALO itself: its reason, as the check gives it
                    problem = hand_keypoint_problem(hand.joints_3d) or BAD_MESH
                else:
                    problem = surface_problem(mesh)
            if problem is None:
                meshes.append((hand, mesh))
            else:
                drops.append(problem)
        return meshes, drops

    def _mesh(self, hand: HandEstimate) -> HandSurfaceMesh:
        return extract_mesh(
            self.model,
            hand.joints_3d,
            is_left=hand.handedness == "left",
            resolution=self.config.resolution,
            coarse_resolution=self.config.coarse_resolution,
            device=self.device,
        )

"""HALO (Karunratanakul et al., 3DV 2021): a hand as a neural occupancy function of its 21
keypoints, differentiable end to end, and its surface mesh.

``HaloNet`` (the network; ``models.halo.network``), ``hand_frames`` (its canonical part frames;
``models.halo.frames``), ``hand_keypoint_problem`` (which keypoints it can mesh;
``models.halo.validity``), ``extract_mesh`` / ``extract_mesh_dense`` (marching cubes, coarse to
fine or dense; ``models.halo.mesh``). docs/halo.md explains the model and its numbers.
"""

from handperception.models.halo.frames import HandFrames, hand_frames
from handperception.models.halo.mesh import (
    HandSurfaceMesh,
    extract_mesh,
    extract_mesh_dense,
)
from handperception.models.halo.network import HaloNet
from handperception.models.halo.validity import REASONS, hand_keypoint_problem

__all__ = [
    "REASONS",
    "HandFrames",
    "HandSurfaceMesh",
    "HaloNet",
    "extract_mesh",
    "extract_mesh_dense",
    "hand_frames",
    "hand_keypoint_problem",
]

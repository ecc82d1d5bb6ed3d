"""HALO mesh extraction: marching cubes coarse to fine against the dense grid, at the right
scale, watertight, and refusing keypoints it cannot mesh.

The "model" here is the exact occupancy of the synthetic capsule hand (logits = minus the
signed distance in units of 0.5 mm), with HaloNet's call signature, so the surface every
extraction must find is known exactly and no training is needed.
"""

import numpy as np
import pytest
import torch
from torch import nn

from handperception.eval.halo import chamfer_mm, surface_distance_mm
from handperception.models.halo import (
    HaloNet,
    HandSurfaceMesh,
    extract_mesh,
    extract_mesh_dense,
)
from handperception.skeleton.kinematics import HandParameters
from handperception.synth.hand_model import hand_capsules
from handperception.synth.poses import SYNERGY_POSTURES


class CapsuleOccupancy(nn.Module):
    """Logits of the capsule solid of one fixed hand (the keypoints argument is ignored)."""

    def __init__(self, keypoints: np.ndarray, is_left: bool, sharpness: float = 0.0005):
        super().__init__()
        capsules = hand_capsules(keypoints, 1.0, is_left)
        self.a = torch.as_tensor(capsules.a, dtype=torch.float64)
        self.b = torch.as_tensor(capsules.b, dtype=torch.float64)
        self.radius = torch.as_tensor(capsules.radius, dtype=torch.float64)
        self.sharpness = sharpness
        self.calls = 0

    def forward(self, points, keypoints, is_left):
        self.calls += 1
        p = points.double()[0]
        axis = self.b - self.a
        t = (((p[:, None] - self.a) * axis).sum(-1) / (axis * axis).sum(-1)).clamp(0.0, 1.0)
        closest = self.a + t[..., None] * axis
        sdf = ((p[:, None] - closest).norm(dim=-1) - self.radius).min(dim=1).values
        return (-sdf / self.sharpness).float()[None]


def _hand(is_left: bool = False, posture: str = "relaxed") -> np.ndarray:
    rotation = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    rotation *= np.sign(np.linalg.det(rotation))
    return HandParameters(
        SYNERGY_POSTURES[posture][None],
        np.ones((1, 21)),
        rotation[None],
        np.array([[0.05, -0.02, 0.45]]),
        np.array([is_left]),
    ).keypoints()[0]


@pytest.fixture(scope="module")
def relaxed():
    keypoints = _hand()
    return keypoints, CapsuleOccupancy(keypoints, False)


def _solid(keypoints: np.ndarray, is_left: bool = False):
    return hand_capsules(keypoints, 1.0, is_left)


def test_coarse_to_fine_matches_the_dense_grid_with_far_fewer_queries(relaxed):
    keypoints, model = relaxed
    fine = extract_mesh(model, keypoints, False, resolution=64, coarse_resolution=16)
    dense = extract_mesh_dense(model, keypoints, False, resolution=64)
    assert dense.queries == 65**3
    assert fine.queries * 4 < dense.queries
    assert fine.watertight and dense.watertight
    solid = _solid(keypoints)
    fine_error = chamfer_mm(fine.vertices, fine.faces, solid)
    dense_error = chamfer_mm(dense.vertices, dense.faces, solid)
    assert fine_error <= 1.05 * dense_error
    # the two meshes are the same surface (to the sampling's floor)
    assert surface_distance_mm(fine.vertices, fine.faces, (dense.vertices, dense.faces)) < 0.3


def test_full_resolution_mesh_is_watertight_at_the_right_scale_with_20x_fewer_queries(relaxed):
    keypoints, model = relaxed
    mesh = extract_mesh(model, keypoints, False)  # 128 cells per side, from 32
    assert isinstance(mesh, HandSurfaceMesh)
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int64
    assert mesh.faces.shape[1] == 3 and mesh.faces.max() < len(mesh.vertices)
    assert np.isfinite(mesh.vertices).all()
    assert mesh.watertight
    assert mesh.queries * 20 <= 129**3
    solid = _solid(keypoints)
    assert chamfer_mm(mesh.vertices, mesh.faces, solid) < 0.5  # mm: a fraction of a 1.6 mm cell
    # metres, in the keypoints' frame: the mesh spans the skin's extent
    low = (solid.a - solid.radius[:, None]).min(axis=0)
    high = (solid.b + solid.radius[:, None]).max(axis=0)
    low = np.minimum(low, (solid.b - solid.radius[:, None]).min(axis=0))
    high = np.maximum(high, (solid.a + solid.radius[:, None]).max(axis=0))
    assert np.allclose(mesh.vertices.min(axis=0), low, atol=0.002)
    assert np.allclose(mesh.vertices.max(axis=0), high, atol=0.002)
    solid = mesh.to_trimesh()
    assert solid.is_watertight and solid.volume > 0  # faces wound outwards
    assert 1.5e-4 < solid.volume < 6e-4  # cubic metres: a hand is a quarter of a litre


def test_left_hand_mesh_is_the_mirror_of_the_right_one():
    right = _hand(False)
    left = right * [-1.0, 1.0, 1.0]
    right_mesh = extract_mesh(CapsuleOccupancy(right, False), right, False, 64, 16)
    left_mesh = extract_mesh(CapsuleOccupancy(left, True), left, True, 64, 16)
    assert left_mesh.watertight and left_mesh.to_trimesh().volume > 0
    mirrored = (right_mesh.vertices * [-1.0, 1.0, 1.0], right_mesh.faces)
    assert surface_distance_mm(left_mesh.vertices, left_mesh.faces, mirrored) < 0.3


def test_a_fist_meshes_watertight():
    keypoints = _hand(posture="power")
    mesh = extract_mesh(CapsuleOccupancy(keypoints, False), keypoints, False, 64, 16)
    assert mesh.watertight
    assert chamfer_mm(mesh.vertices, mesh.faces, _solid(keypoints)) < 0.7


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda k: k.__setitem__((3, 0), np.nan), "non_finite_keypoints"),
        (lambda k: k.__setitem__(8, k[7]), "degenerate_bones"),
        (lambda k: k.__imul__(12.0), "implausible_scale"),
    ],
)
def test_keypoints_it_cannot_mesh_raise_their_reason(relaxed, damage, reason):
    keypoints, model = relaxed
    bad = keypoints.copy()
    damage(bad)
    calls = model.calls
    with pytest.raises(ValueError, match=reason):
        extract_mesh(model, bad, False)
    with pytest.raises(ValueError, match=reason):
        extract_mesh_dense(model, bad, False)
    assert model.calls == calls  # refused before any query


def test_resolutions_must_nest(relaxed):
    keypoints, model = relaxed
    with pytest.raises(ValueError, match="power of two"):
        extract_mesh(model, keypoints, False, resolution=100, coarse_resolution=32)
    with pytest.raises(ValueError, match="resolution"):
        extract_mesh(model, keypoints, False, resolution=4096, coarse_resolution=32)
    with pytest.raises(ValueError, match="21, 3"):
        extract_mesh(model, keypoints[:5], False)


class _Nothing(nn.Module):
    def forward(self, points, keypoints, is_left):
        return torch.full(points.shape[:2], -5.0)


def test_nothing_inside_gives_an_empty_mesh(relaxed):
    keypoints, _ = relaxed
    for mesh in (
        extract_mesh(_Nothing(), keypoints, False),
        extract_mesh_dense(_Nothing(), keypoints, False, resolution=16),
    ):
        assert mesh.vertices.shape == (0, 3) and mesh.faces.shape == (0, 3)
        assert mesh.queries > 0 and not mesh.watertight


def test_an_untrained_halo_net_meshes_without_nan(relaxed):
    keypoints, _ = relaxed
    torch.manual_seed(0)
    model = HaloNet()
    with torch.no_grad():
        model.out_bias.fill_(3.0)  # inside near every bone: something to mesh
    mesh = extract_mesh(model, keypoints, False, resolution=32, coarse_resolution=16)
    assert len(mesh.faces) > 0 and np.isfinite(mesh.vertices).all()
    assert model.training  # extraction leaves the model's mode as it was

"""The real hand mesh: glTF skin reading, linear-blend skinning, and agreement with the skeleton."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.kinematics import JOINT_LIMITS, forward_kinematics, mean_shape
from handperception.synth import hand_mesh
from handperception.synth.hand_mesh import (
    DRIVES,
    WEBXR_JOINTS,
    bone_rotations,
    hand_mesh_path,
    linear_blend_skinning,
    load_hand_mesh,
    read_skinned_glb,
    segment_transforms,
)
from handperception.synth.raster import rasterize
from handperception.synth.scenes import viewpoint_rotation


def _installed() -> bool:
    try:
        hand_mesh_path()
    except FileNotFoundError:
        return False
    return True


needs_mesh = pytest.mark.skipif(
    not _installed(), reason="the hand mesh is not installed: run `make assets`"
)


def _rotation_z(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_identity_transforms_leave_every_vertex_where_it_was():
    vertices = np.random.default_rng(0).normal(size=(50, 3))
    weights = np.random.default_rng(1).dirichlet(np.ones(4), size=50)
    identity = np.tile(np.eye(3, 4), (4, 1, 1))
    moved, linear = linear_blend_skinning(vertices, weights, identity)
    # Exact up to the weights summing to 1 in floating point.
    np.testing.assert_allclose(moved, vertices, rtol=0, atol=1e-14)
    np.testing.assert_allclose(linear, np.tile(np.eye(3), (50, 1, 1)), rtol=0, atol=1e-15)


def test_one_rotated_bone_moves_only_its_vertices_by_the_hand_computed_amount():
    # Joint 1 turns 90 deg about z around the point (1, 0, 0): (x, y) -> (1 - y, x - 1).
    vertices = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.5], [2.0, 1.0, 0.0]])
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    turn = np.eye(3, 4)
    turn[:, :3] = _rotation_z(90)
    turn[:, 3] = np.array([1.0, 0.0, 0.0]) - turn[:, :3] @ [1.0, 0.0, 0.0]
    moved, _ = linear_blend_skinning(vertices, weights, np.stack([np.eye(3, 4), turn]))
    np.testing.assert_allclose(moved[0], [0.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(moved[1], [1.0, 1.0, 0.5], atol=1e-15)
    # Half weight: the mean of staying at (2, 1) and turning to (0, 1).
    np.testing.assert_allclose(moved[2], [1.0, 1.0, 0.0], atol=1e-15)


def test_a_missing_mesh_names_make_assets(tmp_path, monkeypatch):
    monkeypatch.setenv(hand_mesh.ASSETS_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make assets"):
        hand_mesh_path()


@needs_mesh
def test_the_installed_glb_has_a_25_joint_skin():
    mesh = read_skinned_glb(hand_mesh_path())
    assert set(mesh.joint_names) == set(WEBXR_JOINTS)
    assert mesh.positions.shape == (1360, 3) and mesh.faces.shape == (2314, 3)
    np.testing.assert_allclose(mesh.weights.sum(axis=1), 1.0, atol=1e-9)
    assert mesh.weights.min() >= 0


@needs_mesh
def test_the_rest_pose_reproduces_the_template_exactly():
    template = load_hand_mesh()
    vertices, normals = template.pose(
        np.zeros((15, 3)), mean_shape(1)[0], np.eye(3), np.zeros(3), False
    )
    np.testing.assert_allclose(vertices, template.vertices, atol=1e-15)
    np.testing.assert_allclose(normals, template.normals, atol=1e-12)


@needs_mesh
def test_a_single_turned_bone_moves_only_the_vertices_it_carries():
    template = load_hand_mesh()
    rest = template.rest_keypoints
    dip, tip = 7, 8  # the index finger's distal phalanx, the last bone of its chain
    rotations = np.tile(np.eye(3), (21, 1, 1))
    turn = _rotation_z(90)
    rotations[tip] = turn
    target = rest.copy()
    target[tip] = rest[dip] + turn @ (rest[tip] - rest[dip])
    transforms = segment_transforms(rest, target, rotations, 1.0)
    moved, _ = linear_blend_skinning(template.vertices, template.weights, transforms)
    # The WebXR distal and tip joints both drive this bone.
    carriers = [index for index, joint in enumerate(DRIVES) if joint == tip]
    weight = np.asarray(template.weights[:, carriers].sum(axis=1)).ravel()
    untouched = weight == 0
    np.testing.assert_allclose(moved[untouched], template.vertices[untouched], atol=1e-15)
    expected = rest[dip] + (template.vertices - rest[dip]) @ turn.T
    blended = (1 - weight)[:, None] * template.vertices + weight[:, None] * expected
    np.testing.assert_allclose(moved, blended, atol=1e-12)
    assert (~untouched).sum() > 50


@needs_mesh
@pytest.mark.parametrize("is_left", [False, True])
def test_skinned_bones_land_exactly_on_forward_kinematics(is_left):
    rng = np.random.default_rng(4)
    template = load_hand_mesh()
    pose = rng.uniform(JOINT_LIMITS.lower, JOINT_LIMITS.upper)
    shape = mean_shape(1)[0] * 1.1
    shape[1:] = rng.uniform(0.92, 1.08, size=20)
    target = forward_kinematics(pose[None], shape[None])[0]
    transforms = segment_transforms(
        template.rest_keypoints, target, bone_rotations(pose[None])[0], float(shape[0])
    )
    # Each bone's transform carries its rest end joint onto the posed one.
    for index, joint in enumerate(DRIVES):
        carried = (
            transforms[index, :, :3] @ template.rest_keypoints[joint] + transforms[index, :, 3]
        )
        np.testing.assert_allclose(carried, target[joint], atol=1e-12)
    # And the placed mesh surrounds the placed keypoints: all 21 project onto its silhouette.
    rotation, side = viewpoint_rotation(30, 10, 0), np.array([is_left])
    centred = forward_kinematics(pose[None], shape[None], rotation[None], None, side)[0]
    translation = np.array([0.0, 0.0, 0.5]) - centred.mean(axis=0)
    keypoints = centred + translation
    vertices, _ = template.pose(pose, shape, rotation, translation, is_left)
    camera = PinholeCamera(500.0, 500.0, 160.0, 160.0, 320, 320)
    faces = template.faces[:, ::-1] if is_left else template.faces
    raster = rasterize(camera, vertices, faces)
    u, v = np.rint(camera.project(keypoints)).astype(int).T
    assert ((u >= 0) & (u < 320) & (v >= 0) & (v < 320)).all()
    assert (raster.face[v, u] >= 0).all()
    assert (raster.depth[v, u] < keypoints[:, 2]).all()

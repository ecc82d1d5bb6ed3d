"""The pure functions that turn keypoints and meshes into metres, fed hostile numbers: each
either refuses with a ValueError or returns finite, physically possible values.

Why: a node's last line of defence is ``results`` validation, but these functions also run in
evaluation, training and synthesis, where a NaN averaged into a metric or a hand lifted behind
the camera gives a plausible-looking wrong number. Inputs: keypoints with NaN, collinear or
coincident, at absurd scales; intrinsics broken; meshes open, degenerate, inverted or huge.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import trimesh
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.contact import contact_ratio, penetration_depth
from handperception.geometry.head_pose import DISTANCE_RANGE, FACE_MODEL, estimate_head_pose
from handperception.geometry.lifting import lift_all_bones
from handperception.results import GazeEstimate, HandEstimate
from handperception.synth.objects import check_watertight, winding_number

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# A property expected to fail (xfail) is not shrunk: minimising its counterexample costs seconds.
EXPECTED_TO_FAIL = settings(FUZZ, phases=(Phase.explicit, Phase.generate))
HOSTILE = (np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-300, 1e300)
SCALES = (1.0, 1.0, 1.0, 1e-9, 1e-3, 1e3, 1e9, 1e150)


@st.composite
def point_sets(
    draw, count: int, dims: int, centre: float = 0.0, poison: bool = True, max_scale=np.inf
) -> tuple[np.ndarray, str]:
    """``count`` points of ``dims`` coordinates: a random cloud, collinear, coincident or one
    point far out, at a scale up to ``max_scale``, with NaN/Inf written into some
    (``poison``)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["cloud"] * 4 + ["collinear", "coincident", "outlier"]))
    scale = draw(st.sampled_from([s for s in SCALES if s <= max_scale]))
    points = rng.normal(size=(count, dims))
    if shape == "collinear":
        points = rng.normal(size=(count, 1)) * rng.normal(size=(1, dims))
    elif shape == "coincident":
        points = np.zeros((count, dims))
    elif shape == "outlier" and count:
        points[rng.integers(count)] *= 1e12
    points = centre + points * scale
    poisoned = draw(st.sampled_from([0, 0, 0, 1, 3])) if poison else 0
    for _ in range(poisoned if points.size else 0):
        points.flat[rng.integers(points.size)] = draw(st.sampled_from(HOSTILE))
    return points, f"{shape} x{scale:g}, {poisoned} poisoned"


@st.composite
def intrinsics(draw) -> np.ndarray:
    k = PinholeCamera.from_fov(256, 256, draw(st.floats(1.0, 179.0))).matrix.copy()
    if draw(st.integers(0, 3)) == 0:
        k[draw(st.sampled_from([(0, 0), (1, 1), (0, 2), (1, 2)]))] = draw(st.sampled_from(HOSTILE))
    return k


def _finite_or_value_error(function, *args):
    """The function's result, or None when it refused with a ValueError (any other exception
    fails the test)."""
    try:
        return function(*args)
    except ValueError:
        return None


def _lift(uv, depth, k):
    (pixels, _), (relative, _) = uv, depth
    with np.errstate(all="ignore"):
        return _finite_or_value_error(lift_all_bones, pixels[None], relative.T, k[None])


@FUZZ
@given(
    point_sets(21, 2, centre=128.0, poison=False, max_scale=1e9),
    point_sets(21, 1, poison=False, max_scale=1e9),
)
def test_lifting_finite_keypoints_gives_finite_joints(uv, depth):
    """Collinear, coincident or outlying keypoints, up to 1e9 px, lift to finite joints.
    (Noise-like depths can put joints behind the camera: the node must drop those hands,
    which ``test_fuzz_image_nodes`` checks.)"""
    k = PinholeCamera.from_fov(256, 256, 60.0).matrix
    joints = _lift(uv, depth, k)
    assert joints is None or np.all(np.isfinite(joints)), joints


@FUZZ
@given(point_sets(21, 2, centre=128.0), point_sets(21, 1), intrinsics())
def test_lifting_refuses_or_gives_finite_joints(uv, depth, k):
    """NaN/Inf or absurd keypoints and intrinsics: a ValueError or finite joints (found by
    this fuzzing: they used to come out as NaN or inf joints)."""
    joints = _lift(uv, depth, k)
    assert joints is None or np.all(np.isfinite(joints)), joints


@FUZZ
@given(point_sets(21, 3), point_sets(21, 2), point_sets(21, 1))
def test_hand_estimate_holds_only_finite_values(joints, pixels, confidence):
    hand = _finite_or_value_error(
        HandEstimate, joints[0], pixels[0], np.clip(np.abs(confidence[0][:, 0]), 0, 1)
    )
    if hand is not None:
        for array in (hand.joints_3d, hand.joints_2d, hand.joint_confidence):
            assert np.all(np.isfinite(array))


@FUZZ
@given(point_sets(1, 3), point_sets(1, 3))
def test_gaze_estimate_holds_a_finite_unit_direction(origin, direction):
    gaze = _finite_or_value_error(
        GazeEstimate, origin[0][0], direction[0][0], origin[0][0], origin[0][0]
    )
    if gaze is not None:
        assert np.all(np.isfinite(gaze.origin)) and np.linalg.norm(gaze.direction) == (
            pytest.approx(1.0)
        )


@st.composite
def face_landmarks(draw) -> tuple[np.ndarray, tuple[str, ...], str]:
    """FACE_MODEL landmarks of a head at a random pose and distance, projected, with pixel
    noise; or a hostile point set under random (sometimes unknown or repeated) names."""
    names = tuple(
        draw(st.lists(st.sampled_from(sorted(FACE_MODEL)), min_size=0, max_size=12, unique=True))
    )
    if draw(st.integers(0, 9)) == 0:
        names += draw(st.sampled_from([("forehead",), names[:1]]))
    if draw(st.booleans()):
        points, label = draw(point_sets(len(names), 2, centre=128.0))
        return points, names, label
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    distance = draw(st.sampled_from([0.01, 0.3, 0.6, 2.0, 50.0]))
    axis = rng.normal(size=3) * draw(st.sampled_from([0.0, 0.3, 1.5, 3.0]))
    rotation = cv2.Rodrigues(axis)[0]
    model = np.array([FACE_MODEL.get(name, np.zeros(3)) for name in names]).reshape(-1, 3)
    camera = model @ rotation.T + [0.0, 0.0, distance]
    with np.errstate(all="ignore"):
        pixels = 300.0 * camera[:, :2] / camera[:, 2:3] + 128.0
    noise = draw(st.sampled_from([0.0, 0.5, 5.0, 100.0]))
    return pixels + rng.normal(size=pixels.shape) * noise, names, f"head at {distance} m"


@FUZZ
@given(face_landmarks(), intrinsics())
def test_head_pose_refuses_or_fits_a_head_in_reach_facing_the_camera(landmarks, k):
    pixels, names, _ = landmarks
    pose = _finite_or_value_error(estimate_head_pose, pixels, names, k)
    if pose is not None:
        assert np.all(np.isfinite(pose.rotation)) and np.all(np.isfinite(pose.translation))
        assert np.allclose(pose.rotation @ pose.rotation.T, np.eye(3), atol=1e-6)
        assert pose.translation[2] > 0
        assert DISTANCE_RANGE[0] <= np.linalg.norm(pose.translation) <= DISTANCE_RANGE[1]
        assert np.isfinite(pose.reprojection_error_px) and pose.reprojection_error_px >= 0


@st.composite
def meshes(draw) -> tuple[trimesh.Trimesh, str]:
    """A closed primitive, then broken: faces removed or flipped, vertices collapsed, scaled to
    1e-12 or 1e150, poisoned with NaN, or replaced by random triangles."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = draw(st.sampled_from(["box", "sphere", "random"]))
    if base == "box":
        mesh = trimesh.creation.box(extents=rng.uniform(0.01, 0.3, 3))
    elif base == "sphere":
        mesh = trimesh.creation.icosphere(subdivisions=1, radius=rng.uniform(0.01, 0.3))
    else:
        count = draw(st.integers(1, 30))
        vertices = rng.normal(size=(count, 3))
        faces = rng.integers(0, count, size=(draw(st.integers(1, 40)), 3))
        mesh = trimesh.Trimesh(vertices, faces, process=False)
    vertices, faces = np.array(mesh.vertices), np.array(mesh.faces)
    damage = draw(
        st.sampled_from(["none", "holes", "flipped", "inverted", "collapsed", "flat", "poison"])
    )
    if damage == "holes" and len(faces) > 1:
        faces = faces[rng.permutation(len(faces))[: draw(st.integers(1, len(faces) - 1))]]
    elif damage == "flipped":
        faces[: max(1, len(faces) // 3)] = faces[: max(1, len(faces) // 3), ::-1]
    elif damage == "inverted":
        faces = faces[:, ::-1]
    elif damage == "collapsed":
        vertices[:] = vertices[0]
    elif damage == "flat":
        vertices[:, 2] = 0.0
    elif damage == "poison":
        vertices.flat[rng.integers(vertices.size)] = draw(st.sampled_from(HOSTILE))
    scale = draw(st.sampled_from(SCALES + (1e-12,)))
    mesh = trimesh.Trimesh(vertices * scale, faces, process=False)
    return mesh, f"{base} {damage} x{scale:g}"


@FUZZ
@given(meshes())
def test_watertight_check_refuses_or_passes_a_closed_outward_mesh(sample):
    mesh, _ = sample
    checked = _finite_or_value_error(check_watertight, mesh)
    if checked is not None:
        assert np.all(np.isfinite(checked.vertices))
        assert checked.is_watertight and np.isfinite(checked.volume) and checked.volume > 0


@FUZZ
@given(meshes(), point_sets(16, 3))
def test_winding_number_of_a_checked_mesh_is_finite(sample, points):
    """Only meshes that pass ``check_watertight`` reach the winding number, as in synthesis."""
    mesh, _ = sample
    query, _ = points
    if _finite_or_value_error(check_watertight, mesh) is None or not np.all(np.isfinite(query)):
        return
    with np.errstate(all="ignore"):
        numbers = winding_number(mesh, query)
    assert np.all(np.isfinite(numbers)), numbers


@FUZZ
@given(point_sets(24, 3), st.sampled_from([0.0, 0.005, 1.0, np.nan, -1.0, np.inf]))
def test_contact_measures_refuse_or_are_finite(points, threshold):
    hand, _ = points

    def sphere(query):
        return np.linalg.norm(query, axis=-1) - 0.05

    depth = _finite_or_value_error(penetration_depth, hand, sphere)
    if depth is not None:
        assert np.isfinite(depth) and depth >= 0
    ratio = _finite_or_value_error(contact_ratio, hand, sphere, threshold)
    if ratio is not None:
        assert 0.0 <= ratio <= 1.0

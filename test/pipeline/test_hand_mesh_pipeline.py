"""The hand-mesh pipeline: one HALO surface per hand, near its joints and in its frame; hands that
cannot be meshed dropped with their reasons, never an exception or a NaN vertex; loading errors
that name the training command; and the surfaces as messages and rviz markers."""

import numpy as np
import pytest
from halo_fixtures import halo_checkpoint, halo_model, relaxed_hands
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from handperception.models.checkpoint import CheckpointError, save_checkpoint
from handperception.models.detector import HandDetector
from handperception.models.halo import HandSurfaceMesh
from handperception.msgconv.markers import hand_mesh_markers
from handperception.msgconv.results import meshes_to_msg, msg_to_mesh
from handperception.pipeline import hand_mesh
from handperception.pipeline.hand_mesh import HandMeshConfig, HandMeshPipeline
from handperception.pipeline.loading import load_hand_mesh_pipeline
from handperception.results import HandEstimate
from handperception.skeleton.palette import HANDEDNESS_RGB, unit_rgb
from handperception.synth.halo_samples import capsule_sdf
from handperception.synth.hand_model import hand_capsules
from handperception_msgs.msg import HandMesh, HandMeshArray

CONFIG = HandMeshConfig(resolution=64, coarse_resolution=16, max_hands=2)
# The mean hand's skin lies up to 5 cm from its nearest joint (the palm's middle, the wrist).
NEAR_A_JOINT_M = 0.06


def estimate(joints, handedness="right", track_id=0) -> HandEstimate:
    return HandEstimate(
        joints_3d=joints,
        joints_2d=np.zeros((21, 2)),
        joint_confidence=np.ones(21),
        handedness=handedness,
        handedness_score=0.9,
        track_id=track_id,
    )


@pytest.fixture(scope="module")
def model():
    return halo_model()


@pytest.fixture(scope="module")
def pipeline(model):
    return HandMeshPipeline(model, CONFIG, "cpu")


def nearest_joint_distance(vertices: np.ndarray, joints: np.ndarray) -> np.ndarray:
    return np.linalg.norm(vertices[:, None] - joints[None], axis=-1).min(axis=1)


def test_each_hand_gets_a_finite_surface_around_its_own_joints(pipeline):
    left, right = relaxed_hands()
    hands = [estimate(left, "left", 3), estimate(right, "right", 7)]
    meshes, drops = pipeline.process(hands)
    assert drops == []
    assert [hand.track_id for hand, _ in meshes] == [3, 7]
    for (hand, mesh), joints in zip(meshes, (left, right), strict=True):
        assert isinstance(mesh, HandSurfaceMesh)
        assert len(mesh.faces) and np.isfinite(mesh.vertices).all()
        assert mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices)
        # in the joints' frame: every vertex within a few cm of a joint of its own hand, and
        # the surface on the hand's skin (the capsule solid the model was fitted to)
        assert nearest_joint_distance(mesh.vertices, joints).max() < NEAR_A_JOINT_M
        skin = hand_capsules(joints, 1.0, hand.handedness == "left")
        assert np.median(np.abs(capsule_sdf(mesh.vertices, skin))) < 0.008


@pytest.mark.parametrize(
    ("joints", "reason"),
    [
        (np.full((21, 3), 0.5), "degenerate_bones"),  # every bone of zero length
        (
            np.c_[np.linspace(0, 0.18, 21), np.zeros(21), np.full(21, 0.5)],
            "degenerate_bones",
        ),  # collinear
        (relaxed_hands()[1] * 10.0, "implausible_scale"),  # a hand ~2 m long
    ],
    ids=["zero_length", "collinear", "two_metres"],
)
def test_a_hand_that_cannot_be_meshed_is_dropped_with_its_reason(pipeline, joints, reason):
    good = relaxed_hands()[1]
    meshes, drops = pipeline.process([estimate(joints, track_id=1), estimate(good, track_id=2)])
    assert drops == [reason]
    assert [hand.track_id for hand, _ in meshes] == [2]


def test_no_hands_no_meshes_and_at_most_max_hands(pipeline):
    assert pipeline.process([]) == ([], [])
    left, right = relaxed_hands()
    hands = [estimate(right, track_id=i) for i in range(3)]
    meshes, drops = pipeline.process(hands)
    assert [hand.track_id for hand, _ in meshes] == [0, 1] and drops == ["too_many_hands"]


@pytest.mark.parametrize(
    ("surface", "reason"),
    [
        (HandSurfaceMesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), 0, False), "empty_mesh"),
        (
            HandSurfaceMesh(np.full((3, 3), np.nan), np.array([[0, 1, 2]]), 0, False),
            "bad_mesh",
        ),
        (HandSurfaceMesh(np.zeros((3, 3)), np.array([[0, 1, 5]]), 0, False), "bad_mesh"),
    ],
    ids=["empty", "nan_vertex", "face_past_the_end"],
)
def test_a_surface_unfit_to_publish_is_a_drop(pipeline, monkeypatch, surface, reason):
    monkeypatch.setattr(hand_mesh, "extract_mesh", lambda *args, **kwargs: surface)
    assert pipeline.process([estimate(relaxed_hands()[1])]) == ([], [reason])


def test_a_hand_halo_refuses_is_a_drop_not_an_exception(pipeline, monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("refused")

    monkeypatch.setattr(hand_mesh, "extract_mesh", refuse)
    assert pipeline.process([estimate(relaxed_hands()[1])]) == ([], ["bad_mesh"])


@pytest.mark.parametrize(
    "config",
    [
        dict(resolution=8),
        dict(resolution=1024),
        dict(coarse_resolution=64, resolution=32),
        dict(coarse_resolution=16, resolution=48),  # not a power of two finer
        dict(max_hands=0),
        dict(resolution=64.0),
    ],
)
def test_config_out_of_range_is_refused(config):
    with pytest.raises(ValueError):
        HandMeshConfig(**config)


def test_loads_a_checkpoint_and_names_the_training_command_when_it_cannot(tmp_path):
    loaded = load_hand_mesh_pipeline(str(halo_checkpoint()), CONFIG)
    assert isinstance(loaded, HandMeshPipeline) and loaded.config == CONFIG
    with pytest.raises(FileNotFoundError, match="handperception train halo --config"):
        load_hand_mesh_pipeline(str(tmp_path / "missing.pt"), CONFIG)
    detector = HandDetector()
    other = save_checkpoint(tmp_path / "detector.pt", detector, "hand_detector", detector.config)
    with pytest.raises(CheckpointError, match="handperception train halo --config"):
        load_hand_mesh_pipeline(str(other), CONFIG)


def test_meshes_survive_the_wire_with_their_header_and_as_triangle_markers(pipeline):
    left, right = relaxed_hands()
    meshes, _ = pipeline.process([estimate(left, "left", 3), estimate(right, "unknown", 4)])
    header = Header(frame_id="head_camera_optical")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    received = deserialize_message(serialize_message(meshes_to_msg(meshes, header)), HandMeshArray)
    assert received.header == header
    assert [(m.id, m.handedness) for m in received.meshes] == [
        (3, HandMesh.LEFT),
        (4, HandMesh.UNKNOWN),
    ]
    for message, (_, mesh) in zip(received.meshes, meshes, strict=True):
        vertices, faces = msg_to_mesh(message.mesh)
        np.testing.assert_array_equal(vertices, mesh.vertices)
        np.testing.assert_array_equal(faces, mesh.faces)
        assert message.watertight == mesh.watertight

    markers = hand_mesh_markers(meshes, header).markers
    assert markers[0].action == Marker.DELETEALL
    assert [(m.type, m.id, m.header.frame_id) for m in markers[1:]] == [
        (Marker.TRIANGLE_LIST, 3, "head_camera_optical"),
        (Marker.TRIANGLE_LIST, 4, "head_camera_optical"),
    ]
    for marker, (hand, mesh) in zip(markers[1:], meshes, strict=True):
        assert len(marker.points) == 3 * len(mesh.faces)
        corner = mesh.vertices[mesh.faces[-1, 2]]
        assert (marker.points[-1].x, marker.points[-1].y, marker.points[-1].z) == tuple(corner)
        colour = (marker.color.r, marker.color.g, marker.color.b)
        assert colour == pytest.approx(unit_rgb(HANDEDNESS_RGB[hand.handedness]))
        assert 0 < marker.lifetime.sec + marker.lifetime.nanosec * 1e-9 <= 1.0

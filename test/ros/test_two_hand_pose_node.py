"""The two_hand_pose node: a HandArray per frame with the source header, one left and one right
hand for two hands, one for one and none for an empty frame, near the truth; the part
segmentation as mono8 labels with the source header; markers, tf frames under the node's prefix
and a colourised debug image; bad parameters refused."""

from pathlib import Path

import numpy as np
import pytest
import torch
from lifecycle_msgs.msg import State
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosutil import CameraProbe, RosHarness, wait_for
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import Marker, MarkerArray

from handperception.geometry.camera import PinholeCamera
from handperception.models.checkpoint import save_checkpoint
from handperception.models.digit import TwoHandNet
from handperception.msgconv.images import image_to_numpy, image_to_rgb8
from handperception.ros.node_base import ParametersRefused
from handperception.ros.nodes.two_hand_pose import TwoHandPoseNode
from handperception.ros.qos import results_qos
from handperception.ros.tf import TF_QOS, TF_TOPIC
from handperception.runtime.paths import package_root
from handperception.skeleton.parts import NUM_LABELS, hand_of_label
from handperception.sources.synthetic_hands import SyntheticHandsSource
from handperception_msgs.msg import Hand, HandArray

TO_PROBE = ["--ros-args", "-r", "image:=/camera/image_raw"]  # CameraProbe's topics
SMALL = PinholeCamera.from_fov(160, 120, 60.0)  # plumbing: renders and runs fast
FULL = PinholeCamera.from_fov(640, 480, 60.0)  # content: the size the node is judged at
TWO_HAND_CHECKPOINT = package_root() / "checkpoints" / "two_hands_tiny.pt"
needs_trained_checkpoint = pytest.mark.skipif(
    not TWO_HAND_CHECKPOINT.is_file(),
    reason=f"{TWO_HAND_CHECKPOINT} is not trained yet (handperception train two_hands --config "
    "config/train/two_hands_tiny.yaml)",
)
FRAME_ID = "head_camera_optical"
# Content tolerances for the small CPU checkpoint on 640x480 frames (loose; see the report).
MAX_MEAN_PIXEL_ERROR = 25.0


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory) -> str:
    """Fixed random weights: every step of the node runs (thresholds 0 report both slots)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = TwoHandNet()
    path = tmp_path_factory.mktemp("checkpoints") / "two_hands.pt"
    return str(save_checkpoint(path, net, "two_hand_net", net.config, {"crop_size": 64}))


def _graph(camera: PinholeCamera, **parameters):
    """A started node with ``parameters`` and a probe listening to every output."""
    ros = RosHarness()
    overrides = [Parameter(name, value=value) for name, value in parameters.items()]
    node = ros.add(
        TwoHandPoseNode(context=ros.context, parameter_overrides=overrides, cli_args=TO_PROBE)
    )
    probe = ros.add(Node("probe", context=ros.context))
    received = {"hands": [], "markers": [], "segmentation": [], "debug": [], "tf": []}
    probe.create_subscription(HandArray, "/two_hands", received["hands"].append, results_qos())
    probe.create_subscription(
        MarkerArray, "/two_hand_pose/markers", received["markers"].append, results_qos()
    )
    probe.create_subscription(
        Image, "/two_hand_pose/segmentation", received["segmentation"].append, results_qos(2)
    )
    probe.create_subscription(
        Image, "/two_hand_pose/debug_image", received["debug"].append, results_qos(2)
    )
    probe.create_subscription(
        TFMessage, TF_TOPIC, lambda m: received["tf"].extend(m.transforms), TF_QOS
    )
    camera_probe = CameraProbe(probe, camera)
    # Outputs go to listeners only: wait until the node sees every one of them.
    assert wait_for(
        lambda: (
            node.is_active
            and camera_probe.matched()
            and node._markers_pub.get_subscription_count()
            and node._segmentation_pub.get_subscription_count()
            and node._debug_pub.get_subscription_count()
            and node._tf.subscription_count()
        ),
        30,
    )
    return ros, node, camera_probe, received


def _at(messages: list, sec: int):
    return next((m for m in messages if m.header.stamp.sec == sec), None)


def _send_and_wait(camera: CameraProbe, received: dict, rgb: np.ndarray, sec: int) -> HandArray:
    camera.publish(rgb, sec, frame_id=FRAME_ID)
    assert wait_for(lambda: _at(received["hands"], sec), 30), f"no HandArray for frame {sec}"
    return _at(received["hands"], sec)


def _joints(hand: Hand) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([[p.x, p.y, p.z] for p in hand.joints]),
        np.array([[p.x, p.y] for p in hand.joints_2d]),
    )


def _unconfigured(node) -> bool:
    return node._state_machine.current_state[0] == State.PRIMARY_STATE_UNCONFIGURED


def test_every_output_of_a_two_hand_frame_with_the_source_header(untrained_checkpoint):
    ros, node, camera, received = _graph(
        SMALL,
        checkpoint=untrained_checkpoint,
        detection_threshold=0.0,
        presence_threshold=0.0,
        min_hand_confidence=0.0,
        publish_debug_image=True,
    )
    try:
        frame = SyntheticHandsSource(SMALL, seed=0, hands=2).frame(1)
        array = _send_and_wait(camera, received, frame.rgb, 7)
        assert array.header.frame_id == FRAME_ID
        # the two slots: id 0 the person's left hand, id 1 the right
        assert sorted((h.id, h.handedness) for h in array.hands) == [
            (0, Hand.LEFT),
            (1, Hand.RIGHT),
        ]
        for hand in array.hands:
            joints, pixels = _joints(hand)
            assert (
                np.isfinite(joints).all() and np.isfinite(pixels).all() and (joints[:, 2] > 0).all()
            )

        assert wait_for(lambda: _at(received["segmentation"], 7), 10)
        labels_msg = _at(received["segmentation"], 7)
        assert labels_msg.header == array.header and labels_msg.encoding == "mono8"
        labels = image_to_numpy(labels_msg)
        assert labels.shape == (120, 160) and labels.dtype == np.uint8
        assert labels.max() < NUM_LABELS and labels.any()

        assert wait_for(
            lambda: any(m.markers[0].header.stamp.sec == 7 for m in received["markers"])
        )
        markers = next(m for m in received["markers"] if m.markers[0].header.stamp.sec == 7)
        assert markers.markers[0].action == Marker.DELETEALL
        assert {m.ns for m in markers.markers} == {"two_hands"}
        assert len(markers.markers) == 1 + 2 * len(array.hands)  # bones and joints per hand

        assert wait_for(lambda: any(t.header.stamp.sec == 7 for t in received["tf"]), 10)
        frames = {t.child_frame_id for t in received["tf"] if t.header.stamp.sec == 7}
        assert frames and frames <= {"two_hands/hand_0_wrist", "two_hands/hand_1_wrist"}
        assert {t.header.frame_id for t in received["tf"]} == {FRAME_ID}

        # the debug image: part colours and skeletons over the frame
        assert wait_for(lambda: _at(received["debug"], 7), 10)
        debug = _at(received["debug"], 7)
        drawn = image_to_rgb8(debug)
        assert debug.header == array.header and drawn.shape == (120, 160, 3)
        assert np.any(drawn[labels > 0] != frame.rgb[labels > 0])
        assert node.is_active and not node.stats.snapshot().drops
    finally:
        ros.close()


def test_segmentation_is_not_advertised_when_turned_off(untrained_checkpoint):
    ros = RosHarness()
    node = ros.add(
        TwoHandPoseNode(
            context=ros.context,
            parameter_overrides=[
                Parameter("checkpoint", value=untrained_checkpoint),
                Parameter("publish_segmentation", value=False),
                Parameter("autostart", value=False),
            ],
        )
    )
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        topics = {publisher.topic_name for publisher in node.publishers}
        assert "/two_hands" in topics and "/two_hand_pose/markers" in topics
        assert "/two_hand_pose/segmentation" not in topics
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        node.set_parameters([Parameter("publish_segmentation", value=True)])
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert "/two_hand_pose/segmentation" in {p.topic_name for p in node.publishers}
    finally:
        ros.close()


def _unstarted(ros: RosHarness, **given) -> TwoHandPoseNode:
    overrides = [Parameter(name, value=value) for name, value in given.items()]
    overrides.append(Parameter("autostart", value=False))
    return ros.add(TwoHandPoseNode(context=ros.context, parameter_overrides=overrides))


def test_out_of_range_parameters_are_refused_at_configure_and_the_node_lives(
    untrained_checkpoint,
):
    given = {
        "crop_size": 8,
        "detection_threshold": -0.1,
        "presence_threshold": 1.5,
        "tracking_confidence": 2.0,
        "detection_interval": 0,
        "min_hand_confidence": 1.01,
        "min_cutoff": 0.0,
        "beta": -1.0,
        "tf_prefix": "/absolute",
    }
    ros = RosHarness()
    node = _unstarted(ros, checkpoint=untrained_checkpoint, **given)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert _unconfigured(node) and not node.is_active
        with pytest.raises(ParametersRefused) as refused:
            node.read_parameters()
        for name, value in given.items():
            assert f"{name} = {value!r}" in str(refused.value)
        # at run time too, with the reason
        (result,) = node.set_parameters([Parameter("crop_size", value=600)])
        assert not result.successful
        valid = {
            "crop_size": 0,  # the checkpoint's own size
            "detection_threshold": 0.3,
            "presence_threshold": 0.5,
            "tracking_confidence": 0.35,
            "detection_interval": 10,
            "min_hand_confidence": 0.2,
            "min_cutoff": 1.5,
            "beta": 20.0,
            "tf_prefix": "two_hands/",
        }
        assert all(
            result.successful
            for result in node.set_parameters([Parameter(k, value=v) for k, v in valid.items()])
        )
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.pipeline.config.crop_size == 64  # what the checkpoint was trained at
    finally:
        ros.close()


def test_defaults_keep_apart_from_the_hand_pose_node_and_a_missing_checkpoint_fails_configure(
    tmp_path: Path, untrained_checkpoint
):
    ros = RosHarness()
    node = _unstarted(ros)
    try:
        defaults = {
            name: node.get_parameter(name).value
            for name in ("hands_topic", "tf_prefix", "checkpoint", "publish_segmentation")
        }
        assert defaults == {
            "hands_topic": "two_hands",
            "tf_prefix": "two_hands/",
            "checkpoint": "checkpoints/two_hands_tiny.pt",
            "publish_segmentation": True,
        }
        node.set_parameters([Parameter("checkpoint", value=str(tmp_path / "missing.pt"))])
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert _unconfigured(node) and not node.is_active
        node.set_parameters([Parameter("checkpoint", value=untrained_checkpoint)])
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    finally:
        ros.close()


# -- the trained checkpoint on 640x480 frames ----------------------------------------------------


@pytest.fixture(scope="module")
def scenes():
    """(two-hand source, one-hand source): a left palm and a right back; a right back alone."""
    return SyntheticHandsSource(FULL, seed=0, hands=2), SyntheticHandsSource(FULL, seed=0, hands=1)


def _pixel_error(hand: Hand, truth_2d: np.ndarray) -> float:
    return float(np.linalg.norm(_joints(hand)[1] - truth_2d, axis=1).mean())


@pytest.mark.slow
@needs_trained_checkpoint
@pytest.mark.xfail(
    strict=True,
    reason="#16 open: the shipped checkpoint (2D error 15.8 px of 128 held out, handedness 56 %, "
    "docs/two-hands.md) finds no hand in the first one-hand frame; strict, so a checkpoint that "
    "passes must drop this mark",
)
def test_trained_checkpoint_finds_both_hands_one_hand_and_none(scenes):
    two, one = scenes
    ros, node, camera, received = _graph(FULL, checkpoint=str(TWO_HAND_CHECKPOINT))
    errors, sides = [], []
    try:
        empty = np.round(two.background * 255).astype(np.uint8)
        assert _send_and_wait(camera, received, empty, 1).hands == [], "hands in an empty frame"

        node.pipeline.reset()  # each scene from scratch, as from a new camera
        for sec, index in ((2, 1), (3, 2)):
            frame = one.frame(index)
            hands = _send_and_wait(camera, received, frame.rgb, sec).hands
            assert len(hands) == 1, f"one-hand frame {index}: {len(hands)} hands"
            (hand,) = hands
            assert hand.handedness == Hand.RIGHT and hand.id == 1  # the scene's right hand
            errors.append(_pixel_error(hand, frame.keypoints_2d[0]))

        node.pipeline.reset()
        for sec, index in ((4, 1), (5, 2), (6, 3)):
            frame = two.frame(index)
            array = _send_and_wait(camera, received, frame.rgb, sec)
            assert array.header.frame_id == FRAME_ID
            found = sorted(h.handedness for h in array.hands)
            assert found == [Hand.LEFT, Hand.RIGHT], f"two-hand frame {index}: {found}"
            for hand in array.hands:
                joints, pixels = _joints(hand)
                assert np.isfinite(joints).all() and (joints[:, 2] > 0).all()
                truth = int(np.flatnonzero(frame.is_left == (hand.handedness == Hand.LEFT))[0])
                errors.append(_pixel_error(hand, frame.keypoints_2d[truth]))
                # the hand is where its side's truth is, not where the other hand is
                other = frame.keypoints_2d[1 - truth]
                sides.append(
                    np.linalg.norm(pixels - frame.keypoints_2d[truth], axis=1).mean()
                    < np.linalg.norm(pixels - other, axis=1).mean()
                )

        # the labels of the last two-hand frame against the rendered truth
        assert wait_for(lambda: _at(received["segmentation"], 6), 10)
        labels = image_to_numpy(_at(received["segmentation"], 6))
        assert labels.shape == (480, 640) and labels.max() < NUM_LABELS
        truth_hand = hand_of_label(two.frame(3).segmentation)
        predicted_hand = hand_of_label(labels)
        both = (truth_hand > 0) & (predicted_hand > 0)
        iou = both.sum() / max(((truth_hand > 0) | (predicted_hand > 0)).sum(), 1)
        same_side = (truth_hand[both] == predicted_hand[both]).mean() if both.any() else 0.0
    finally:
        ros.close()
    assert np.mean(errors) < MAX_MEAN_PIXEL_ERROR and all(sides), (errors, sides)
    assert iou > 0.3 and same_side > 0.7, (iou, same_side)

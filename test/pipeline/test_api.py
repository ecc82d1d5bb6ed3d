"""The ROS-free API: the README's five lines track a rendered hand with the shipped checkpoints."""

import numpy as np
import pytest

import handperception.api as hp
from handperception.sources.synthetic_hands import SyntheticHandsSource


def test_the_default_tracker_finds_a_rendered_hand_near_the_truth():
    camera = hp.PinholeCamera.from_fov(640, 480, 60.0)
    tracker = hp.load_hand_tracker(device="cpu")
    source = SyntheticHandsSource(camera, seed=1)
    errors = []
    for index in range(1, 6):
        frame = source.frame(index)
        hands = tracker.process(frame.rgb, camera, time_s=index / 30).hands
        assert all(isinstance(hand, hp.HandEstimate) for hand in hands)
        if hands:
            pixels = hands[0].joints_2d
            errors.append(np.median(np.linalg.norm(pixels - frame.keypoints_2d[0], axis=1)))
    assert len(errors) >= 3, "the hand was found on fewer than 3 of 5 frames"
    # An untrained network is ~50 px off on these frames (see test/ros/test_hand_pose_node.py).
    assert np.median(errors) < 25.0


def test_config_fields_reach_the_tracker_and_bad_ones_are_refused():
    tracker = hp.load_hand_tracker(device="cpu", max_hands=1, mirrored=True)
    assert tracker.config.max_hands == 1 and tracker.config.mirrored
    assert tracker.config.crop_size > 0  # the checkpoint's own size
    with pytest.raises(TypeError, match="colour"):
        hp.load_hand_tracker(device="cpu", colour="blue")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        hp.load_hand_tracker(device="cpu", pose_checkpoint="missing.pt")

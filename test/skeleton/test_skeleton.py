import numpy as np
import pytest

from handperception.skeleton import (
    BONES,
    FINGER_JOINTS,
    FINGERTIPS,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    finger_of_joint,
)
from handperception.skeleton.frames import wrist_frame
from handperception.skeleton.parts import relabel_hands


def test_freihand_order():
    assert NUM_JOINTS == 21
    assert JOINT_NAMES[:5] == ("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip")
    assert (
        JOINT_NAMES[5] == "index_mcp"
        and JOINT_NAMES[12] == "middle_tip"
        and JOINT_NAMES[20] == "little_tip"
    )
    assert FINGERTIPS == (4, 8, 12, 16, 20)


def test_parents_chain_each_finger_to_the_wrist():
    assert PARENTS[0] == -1
    assert [PARENTS[j] for j in FINGER_JOINTS[1]] == [0, 5, 6, 7]
    assert len(BONES) == 20 and all(PARENTS[child] == parent for parent, child in BONES)
    assert finger_of_joint(0) == -1 and finger_of_joint(4) == 0 and finger_of_joint(17) == 4
    with pytest.raises(ValueError):
        finger_of_joint(21)


def _flat_hand():
    joints = np.zeros((21, 3))
    joints[0] = [0.0, 0.0, 0.5]
    for f, joints_of_finger in enumerate(FINGER_JOINTS):
        across = 0.02 * (2 - f)  # middle finger on the x axis, thumb side at +y
        for k, j in enumerate(joints_of_finger):
            joints[j] = [0.08 + 0.025 * k, across, 0.5]
    return joints


def test_wrist_frame_axes():
    rotation, origin = wrist_frame(_flat_hand())
    np.testing.assert_allclose(origin, [0, 0, 0.5])
    np.testing.assert_allclose(rotation[:, 0], [1, 0, 0], atol=1e-12)  # towards the middle MCP
    np.testing.assert_allclose(rotation[:, 1], [0, 1, 0], atol=1e-12)  # towards the index side
    np.testing.assert_allclose(rotation[:, 2], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)


def test_wrist_frame_rejects_degenerate_and_nan():
    with pytest.raises(ValueError, match="degenerate"):
        wrist_frame(np.zeros((21, 3)))
    joints = _flat_hand()
    joints[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        wrist_frame(joints)


def test_relabel_hands_moves_whole_blocks_keeping_each_part():
    labels = np.array([[0, 1, 6], [7, 9, 12]], dtype=np.uint8)  # bg, L palm, L little; R ...
    np.testing.assert_array_equal(relabel_hands(labels, (1, 0)), [[0, 7, 12], [1, 3, 6]])
    np.testing.assert_array_equal(relabel_hands(labels, (0, None)), [[0, 1, 6], [0, 0, 0]])
    np.testing.assert_array_equal(relabel_hands(labels, (None, 0)), [[0, 0, 0], [1, 3, 6]])
    assert relabel_hands(labels, (0, 1)).dtype == np.uint8
    with pytest.raises(ValueError, match="0 or 1"):
        relabel_hands(labels, (0, 2))
    with pytest.raises(ValueError, match="one entry per hand"):
        relabel_hands(labels, (0,))

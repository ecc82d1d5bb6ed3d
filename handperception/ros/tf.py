"""Sending transforms on /tf: the one place a node publishes tf.

On a robot tf2_ros is installed and its TransformBroadcaster is used, so the node behaves like
any other tf broadcaster. ROS 2 from PyPI wheels has no tf2_ros; there a plain publisher sends
tf2_msgs/TFMessage (built from tools/tf2_msgs by `make setup` when no tf2_msgs exists) on /tf
with the QoS TransformBroadcaster uses. Same topic, type, hash and QoS: rviz, tf2 listeners and
bags cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

# Absolute on purpose: tf is one tree per robot, not per namespace (tf2_ros uses "/tf" too).
TF_TOPIC = "/tf"
# tf2_ros.TransformBroadcaster's default, QoSProfile(depth=100): reliable, volatile, keep last.
TF_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)


class _TFMessageBroadcaster:
    """tf2_ros.TransformBroadcaster's publishing half where tf2_ros is missing (its attribute
    and method names, so TransformPublisher drives either the same way)."""

    def __init__(self, node: Node, qos: QoSProfile):
        self.pub_tf = node.create_publisher(TFMessage, TF_TOPIC, qos)

    def sendTransform(self, transforms: list[TransformStamped]) -> None:
        self.pub_tf.publish(TFMessage(transforms=transforms))


try:
    from tf2_ros import TransformBroadcaster
except ImportError:  # ROS 2 from PyPI wheels
    TransformBroadcaster = _TFMessageBroadcaster


class TransformPublisher:
    """Publishes lists of geometry_msgs/TransformStamped on /tf for ``node``.

    Create it where the node creates its publishers (``configure`` for a lifecycle node) and call
    ``send`` from its callbacks, e.g. with msgconv.transforms.hand_transforms(hands, header).
    """

    def __init__(self, node: Node):
        self._broadcaster = TransformBroadcaster(node, TF_QOS)

    def send(self, transforms: Sequence[TransformStamped]) -> None:
        """Publish ``transforms`` as one TFMessage; nothing for an empty list, since every tf
        listener on the robot would wake for an empty message (a frame without hands)."""
        if transforms:
            self._broadcaster.sendTransform(list(transforms))

    def subscription_count(self) -> int:
        """Matched /tf subscribers: a node may skip building transforms when this is 0, and a
        test waits for it before sending (a reliable subscriber misses what precedes matching)."""
        return self._broadcaster.pub_tf.get_subscription_count()

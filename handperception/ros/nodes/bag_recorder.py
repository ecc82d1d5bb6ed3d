"""bag_recorder: records topics to a rosbag2 bag (a directory: metadata.yaml and an MCAP file,
what ``ros2 bag info/play`` take), standing in for ``ros2 bag record`` where rosbag2 is not
installed. Topic types come from the ROS graph, so only names are configured; relative names
resolve in the recorder's namespace (and remap), as a subscriber's do."""

from __future__ import annotations

from rclpy.qos import ReliabilityPolicy

from handperception.ros.bag import BagWriter
from handperception.ros.entry import run_single_node
from handperception.ros.introspection import message_class
from handperception.ros.node_base import HandperceptionNode
from handperception.ros.qos import results_qos


class BagRecorderNode(HandperceptionNode):
    def __init__(self, **kwargs):
        super().__init__("bag_recorder", **kwargs)
        self.declare(
            "topics",
            ["image_raw", "camera_info"],
            "topics to record, relative to the namespace (types come from the graph)",
        )
        self.declare("path", "out/recording", "output bag directory (must not exist, or be empty)")
        self._writer: BagWriter | None = None
        self._topics: list[str] = []
        self._subscriptions_by_topic: dict[str, object] = {}
        self._discovery_timer = None

    def configure(self) -> None:
        self._writer = BagWriter(self.params.path)
        self._topics = [self.resolve_topic_name(topic) for topic in self.params.topics]

    def activate(self) -> None:
        self._discovery_timer = self.create_timer(
            0.2, lambda: self.guarded(self._subscribe_known_topics)
        )
        self._subscribe_known_topics()

    def _subscribe_known_topics(self) -> None:
        known = dict(self.get_topic_names_and_types())
        for topic in self._topics:
            if topic in self._subscriptions_by_topic or topic not in known:
                continue
            full_type = known[topic][0]
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            qos = results_qos(depth=100)
            if any(p.qos_profile.reliability != ReliabilityPolicy.RELIABLE for p in publishers):
                qos.reliability = ReliabilityPolicy.BEST_EFFORT
            self._writer.add_topic(topic, full_type)
            self._subscriptions_by_topic[topic] = self.create_subscription(
                message_class(full_type),
                topic,
                lambda data, t=topic: self.guarded(self._record, t, data),
                qos,
                raw=True,
            )
            self.get_logger().info(f"recording {topic} ({full_type}) to {self.params.path}")

    def _record(self, topic: str, serialized: bytes) -> None:
        self._writer.write(topic, serialized, self.get_clock().now().nanoseconds)
        self.stats.record()

    def deactivate(self) -> None:
        if self._discovery_timer is not None:
            self.destroy_timer(self._discovery_timer)
        for subscription in self._subscriptions_by_topic.values():
            self.destroy_subscription(subscription)
        self._subscriptions_by_topic.clear()

    def cleanup(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def destroy_node(self):
        self.cleanup()
        return super().destroy_node()


def main(argv=None) -> int:
    return run_single_node(BagRecorderNode, argv)

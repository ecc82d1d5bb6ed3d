"""Message classes from the type names the ROS graph reports ('sensor_msgs/msg/Image'), for
nodes that subscribe to whatever a graph publishes (the recorder, the runner's topic monitor)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from rclpy.node import Node


def message_class(full_type: str) -> type:
    package, kind, name = full_type.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def stamped_topics(node: Node, wanted: Callable[[str], bool]) -> Iterator[tuple[str, type]]:
    """(topic, message class) of every topic ``node`` sees whose messages carry a header (a
    std_msgs/Header, so their latency can be measured).

    ``wanted(topic)`` is asked first, so the type of a topic left out is never imported.
    """
    for topic, types in node.get_topic_names_and_types():
        if not wanted(topic):
            continue
        msg_type = message_class(types[0])
        if "header" in msg_type.get_fields_and_field_types():
            yield topic, msg_type

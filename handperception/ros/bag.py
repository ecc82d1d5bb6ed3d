"""Recording ROS 2 messages to an MCAP bag (rosbag2's default storage) without rosbag2.

rosbag2 is not available as a wheel; the ``mcap`` library writes the same container. Messages
are stored exactly as they travelled (CDR bytes from a raw subscription), with the ``ros2msg``
schema rosbag2 writes (the .msg definition followed by every nested definition), so
``ros2 bag info/play``, Foxglove and ``mcap-ros2-support`` read the result.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

from mcap.writer import CompressionType, Writer

_PRIMITIVES = {
    "bool",
    "byte",
    "char",
    "float32",
    "float64",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "string",
    "wstring",
    "time",
    "duration",
}
_SEPARATOR = "=" * 80


def share_directory(package: str) -> Path:
    """share/<package> of an installed ROS package (ament index, else this Python's prefix)."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [
        sys.prefix
    ]
    for prefix in prefixes:
        candidate = Path(prefix) / "share" / package
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ROS package '{package}' not found under {prefixes}")


def _definition_text(full_type: str) -> str:
    package, kind, name = full_type.split("/")
    return (share_directory(package) / kind / f"{name}.msg").read_text()


def _nested_types(text: str, package: str) -> list[str]:
    nested = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "=" in line.split()[0] or len(line.split()) < 2:
            continue
        field_type = re.sub(r"\[.*\]$", "", line.split()[0])
        field_type = re.sub(r"<=\d+$", "", field_type)
        if field_type in _PRIMITIVES or field_type.startswith(("string<", "wstring<")):
            continue
        if field_type == "Header":
            field_type = "std_msgs/Header"
        parts = field_type.split("/")
        nested.append(
            "/".join((parts[0], "msg", parts[-1]))
            if len(parts) > 1
            else f"{package}/msg/{parts[0]}"
        )
    return nested


def message_definition(full_type: str) -> str:
    """rosbag2's ``ros2msg`` schema text for a type like 'sensor_msgs/msg/Image'."""
    main = _definition_text(full_type)
    seen, order, stack = {full_type}, [], [(full_type, main)]
    while stack:
        current, text = stack.pop(0)
        for nested in _nested_types(text, current.split("/")[0]):
            if nested not in seen:
                seen.add(nested)
                nested_text = _definition_text(nested)
                order.append((nested, nested_text))
                stack.append((nested, nested_text))
    parts = [main.rstrip("\n")]
    for nested, text in order:
        package, _, name = nested.split("/")
        parts.append(f"{_SEPARATOR}\nMSG: {package}/{name}\n{text.rstrip(chr(10))}")
    return "\n".join(parts) + "\n"


class McapBagWriter:
    """Thread-safe writer of serialized (CDR) ROS 2 messages into one MCAP file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")
        self._writer = Writer(self._file, compression=CompressionType.LZ4)
        self._writer.start(profile="ros2", library="handperception")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add_topic(self, topic: str, full_type: str) -> None:
        with self._lock:
            if topic in self._channels:
                return
            if full_type not in self._schemas:
                self._schemas[full_type] = self._writer.register_schema(
                    name=full_type, encoding="ros2msg", data=message_definition(full_type).encode()
                )
            self._channels[topic] = self._writer.register_channel(
                topic=topic, message_encoding="cdr", schema_id=self._schemas[full_type]
            )
            self.counts[topic] = 0

    def write(
        self, topic: str, serialized: bytes, log_time_ns: int, publish_time_ns: int | None = None
    ) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._writer.add_message(
                channel_id=self._channels[topic],
                log_time=log_time_ns,
                data=serialized,
                publish_time=log_time_ns if publish_time_ns is None else publish_time_ns,
                sequence=self.counts[topic],
            )
            self.counts[topic] += 1

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._writer.finish()
                self._file.close()

"""Recording ROS 2 messages to a rosbag2 bag without rosbag2.

rosbag2 is not available as a wheel; rosbags writes the same bag: a directory with
``metadata.yaml`` and one MCAP file, so ``ros2 bag info/play``, Foxglove and rosbags read it.
Messages are stored exactly as they travelled (CDR bytes from a raw subscription). Each topic's
type is parsed from the installed .msg files (rosbags parses them and writes rosbag2's
``ros2msg`` schema and type hash from them): the definitions of the interfaces actually on the
wire, this project's own included, which no bundled type store knows.

Format version 8, not rosbags' latest 9: version 9 writes the QoS profiles as a YAML list, which
Humble's rosbag2 (it writes version 5 and accepts any number) fails to parse, while Jazzy, Kilted
and Rolling read version 8. Chunks are not compressed, as ``ros2 bag record`` does by default:
the recorder shares its process with the perception nodes; ``ros2 bag convert`` compresses
later.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from rosbags.interfaces import Connection
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.base import Nodetype
from rosbags.typesys.store import Typestore

BAG_VERSION = 8


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


def _nested_type(field: tuple) -> str | None:
    """The message type a parsed field holds (itself or as array/sequence elements), if any."""
    kind, argument = field
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        kind, argument = argument[0]
    return argument if kind == Nodetype.NAME else None


def _register_installed(typestore: Typestore, full_type: str) -> None:
    """Parse ``full_type`` (like 'sensor_msgs/msg/Image') and every type it nests from their
    installed .msg files into ``typestore``."""
    pending = [full_type]
    while pending:
        name = pending.pop()
        if name in typestore.fielddefs:
            continue
        package, kind, message = name.split("/")
        text = (share_directory(package) / kind / f"{message}.msg").read_text()
        types = get_types_from_msg(text, name)
        typestore.register(types)
        _, fields = types[name]
        pending += [nested for _, field in fields if (nested := _nested_type(field))]


class BagWriter:
    """Thread-safe writer of serialized (CDR) ROS 2 messages into a new rosbag2 directory.

    ``path`` must not exist, or be an empty directory: a bag is never overwritten or merged
    into, as ``ros2 bag record -o`` refuses an existing folder. Writes after ``close`` are
    ignored (a subscription callback may still be running while the recorder shuts down).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists():
            if not self.path.is_dir() or any(self.path.iterdir()):
                raise FileExistsError(
                    f"bag path {self.path} exists; a bag is written into a new (or empty) "
                    "directory: choose another path or remove it"
                )
            self.path.rmdir()  # rosbags creates the directory itself
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._typestore = get_typestore(Stores.EMPTY)
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()
        self._closed = False

    def add_topic(self, topic: str, full_type: str) -> None:
        with self._lock:
            if topic in self._connections:
                return
            _register_installed(self._typestore, full_type)
            self._connections[topic] = self._writer.add_connection(
                topic, full_type, typestore=self._typestore
            )

    def write(self, topic: str, serialized: bytes, log_time_ns: int) -> None:
        with self._lock:
            if not self._closed:
                self._writer.write(self._connections[topic], log_time_ns, serialized)

    def close(self) -> None:
        """Finish the MCAP file and write ``metadata.yaml``; safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._writer.close()

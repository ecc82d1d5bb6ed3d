"""The bag recorder's writer: a rosbag2 directory that rosbags (and so ``ros2 bag``) reads back,
with every message's bytes exactly as they travelled."""

import json

import pytest
import yaml
from rclpy.serialization import serialize_message
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from handperception.ros.bag import BagWriter, share_directory
from handperception_msgs.msg import Hand, HandArray

IMAGE, HANDS = "sensor_msgs/msg/Image", "handperception_msgs/msg/HandArray"


def installed_type_hash(full_type: str) -> str:
    """The type hash rosidl generated for the installed interface (what its publishers send)."""
    package, kind, name = full_type.split("/")
    description = json.loads((share_directory(package) / kind / f"{name}.json").read_text())
    return next(h["hash_string"] for h in description["type_hashes"] if h["type_name"] == full_type)


def test_recorded_bag_reads_back_with_rosbags(tmp_path):
    header = Header(frame_id="camera_optical_frame")
    images = [
        serialize_message(
            Image(header=header, height=2, width=3, encoding="mono8", step=3, data=bytes([i] * 6))
        )
        for i in range(3)
    ]
    hands = [serialize_message(HandArray(header=header, hands=[Hand(id=i)])) for i in range(2)]
    path = tmp_path / "recording"
    writer = BagWriter(path)
    writer.add_topic("/camera/image_raw", IMAGE)
    writer.add_topic("/hands", HANDS)
    writer.add_topic("/hands", HANDS)  # a topic seen again (rediscovered) is added once
    for i, data in enumerate(images):
        writer.write("/camera/image_raw", data, 1_000 + 10 * i)
    for i, data in enumerate(hands):
        writer.write("/hands", data, 1_005 + 10 * i)
    writer.close()
    writer.write("/hands", hands[0], 2_000)  # a late callback after close is ignored
    writer.close()

    metadata = yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert (metadata["version"], metadata["storage_identifier"]) == (8, "mcap")
    assert {
        t["topic_metadata"]["type"]: t["topic_metadata"]["type_description_hash"]
        for t in metadata["topics_with_message_count"]
    } == {IMAGE: installed_type_hash(IMAGE), HANDS: installed_type_hash(HANDS)}
    with Reader(path) as reader:
        assert {(c.topic, c.msgtype, c.msgcount) for c in reader.connections} == {
            ("/camera/image_raw", IMAGE, 3),
            ("/hands", HANDS, 2),
        }
        recorded = [(c.topic, t, bytes(raw)) for c, t, raw in reader.messages()]
    assert recorded == sorted(
        [("/camera/image_raw", 1_000 + 10 * i, d) for i, d in enumerate(images)]
        + [("/hands", 1_005 + 10 * i, d) for i, d in enumerate(hands)],
        key=lambda message: message[1],
    )
    # The stored definitions alone decode this project's own types (no typestore needed).
    with AnyReader([path]) as reader:
        decoded = [
            reader.deserialize(raw, c.msgtype)
            for c, _, raw in reader.messages()
            if c.topic == "/hands"
        ]
    assert [m.hands[0].id for m in decoded] == [0, 1]
    assert decoded[0].header.frame_id == "camera_optical_frame"


def test_writer_takes_a_new_or_empty_directory_only(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    BagWriter(empty).close()
    assert (empty / "metadata.yaml").is_file()
    with pytest.raises(FileExistsError, match="choose another path or remove it"):
        BagWriter(empty)
    writer = BagWriter(tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="no_such_msgs"):
        writer.add_topic("/x", "no_such_msgs/msg/Thing")
    writer.close()

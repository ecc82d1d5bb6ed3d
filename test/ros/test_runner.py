"""The embedded runner: starts the configured graph, passes frames end to end, shuts down in
bounded time."""

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from handperception.ros.graph_config import graph_nodes
from handperception.ros.runner import run_graph

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.yaml"


def read_bag(path: Path) -> dict[str, list]:
    """Every topic the bag has (recorded messages or not) -> its messages, decoded."""
    with AnyReader([path]) as reader:
        messages: dict[str, list] = {connection.topic: [] for connection in reader.connections}
        for connection, _, raw in reader.messages():
            messages[connection.topic].append(reader.deserialize(raw, connection.msgtype))
    return messages


def stamp_ns(header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


def test_config_names_known_nodes(tmp_path):
    assert graph_nodes(DEMO) == [
        "camera_source",
        "hand_pose",
        "gaze",
        "two_hand_pose",
        "hand_mesh",
        "annotator",
        "bag_recorder",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("teleporter:\n  ros__parameters: {}\n")
    with pytest.raises(ValueError, match="unknown node"):
        graph_nodes(bad)
    with pytest.raises(FileNotFoundError):
        graph_nodes(tmp_path / "missing.yaml")


@pytest.mark.slow
def test_demo_graph_end_to_end(tmp_path):
    frames = 24
    overrides = {
        "camera_source": {"max_frames": frames, "width": 160, "height": 120},
        "annotator": {"video_path": str(tmp_path / "annotated.avi")},
        "bag_recorder": {"path": str(tmp_path / "demo_bag")},
    }
    started = time.monotonic()
    result = run_graph(DEMO, overrides, max_wall_s=60)
    assert time.monotonic() - started < 30, (
        "start, 24 frames and shutdown must take seconds, not minutes"
    )
    assert result.frames_published == frames
    assert result.topics["/camera/image_raw"]["count"] >= frames - 3  # the monitor may join late
    annotated_frames = result.nodes["annotator"]["count"]
    assert (
        annotated_frames >= frames // 2
    )  # depth-1 image QoS: a busy node skips frames, never lags

    video = cv2.VideoCapture(str(tmp_path / "annotated.avi"))
    written = 0
    while video.read()[0]:
        written += 1
    assert annotated_frames <= written <= frames

    bag = read_bag(tmp_path / "demo_bag")
    images, infos = bag["/camera/image_raw"], bag["/camera/camera_info"]
    assert len(images) >= frames - 3 and len(infos) >= frames - 3
    first = images[0]
    assert (first.width, first.height, first.encoding, first.header.frame_id) == (
        160,
        120,
        "rgb8",
        "camera_optical_frame",
    )
    pixels = np.frombuffer(first.data, np.uint8).reshape(120, 160, 3)
    assert pixels.std() > 10  # the test pattern, not an empty frame
    assert infos[0].k[0] > 0 and infos[0].width == 160
    annotated = bag["/annotator/image"]
    assert annotated and {stamp_ns(a.header) for a in annotated} <= {
        stamp_ns(i.header) for i in images
    }
    # both hand nodes' wrist frames (the two-hand node's under its tf_prefix), on /tf at the
    # stamps of the HandArrays holding those hands
    wrists = {
        (stamp_ns(array.header), f"{prefix}hand_{hand.id}_wrist")
        for topic, prefix in (("/hands", ""), ("/two_hands", "two_hands/"))
        for array in bag[topic]
        for hand in array.hands
    }
    transforms = {
        (stamp_ns(transform.header), transform.child_frame_id)
        for message in bag["/tf"]
        for transform in message.transforms
        if transform.child_frame_id.endswith("_wrist")  # not the gazes' frames
    }
    assert wrists and transforms and transforms <= wrists
    # the two-hand node's part labels: mono8 frames of the camera's, at its images' stamps
    segmentations = bag["/two_hand_pose/segmentation"]
    assert segmentations and {stamp_ns(s.header) for s in segmentations} <= {
        stamp_ns(i.header) for i in images
    }
    first = segmentations[0]
    assert (first.width, first.height, first.encoding) == (160, 120, "mono8")
    assert np.frombuffer(first.data, np.uint8).max() <= 12


@pytest.mark.slow
def test_cli_runs_and_writes_summary(tmp_path):
    out = tmp_path / "demo"
    old_bag = out / "recording"  # an earlier run's: replaced, as the video and summary are
    old_bag.mkdir(parents=True)
    (old_bag / "metadata.yaml").write_text("rosbag2_bagfile_information: {}\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "handperception.cli.main",
            "run",
            "--config",
            str(DEMO),
            "--frames",
            "10",
            "--out",
            str(out),
            "--set",
            "camera_source.width=96",
            "--set",
            "camera_source.height=64",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert "/camera/image_raw" in completed.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 10
    assert (out / "annotated.mp4").stat().st_size > 0
    assert len(read_bag(out / "recording")["/camera/image_raw"]) >= 7

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
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from handperception.ros.graph_config import graph_nodes
from handperception.ros.runner import run_graph

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.yaml"


def read_bag(path: Path) -> dict[str, list]:
    messages: dict[str, list] = {}
    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for _, channel, _, decoded in reader.iter_decoded_messages():
            messages.setdefault(channel.topic, []).append(decoded)
    return messages


def test_config_names_known_nodes(tmp_path):
    assert graph_nodes(DEMO) == ["camera_source", "hand_pose", "annotator", "bag_recorder"]
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
        "bag_recorder": {"path": str(tmp_path / "demo.mcap")},
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

    bag = read_bag(tmp_path / "demo.mcap")
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
    assert annotated and {
        a.header.stamp.sec * 10**9 + a.header.stamp.nanosec for a in annotated
    } <= {i.header.stamp.sec * 10**9 + i.header.stamp.nanosec for i in images}


@pytest.mark.slow
def test_cli_runs_and_writes_summary(tmp_path):
    out = tmp_path / "demo"
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
    assert (out / "annotated.mp4").stat().st_size > 0 and (
        out / "recording.mcap"
    ).stat().st_size > 0

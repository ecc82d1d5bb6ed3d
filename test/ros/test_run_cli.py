"""``handperception run`` as a user meets it: a mistake in what was typed or named is one line and
exit status 2, a node that cannot start is exit status 1 with its reason, ``--every-frame``
processes every frame of a folder, and summary.json is strict JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "config" / "demo.yaml")
CONFIGS = {
    "broken.yaml": "/**/camera_source:\n  ros__parameters:\n    fps: [30\n",
    "teleporter.yaml": "/**/teleporter:\n  ros__parameters: {}\n",
    "malformed.yaml": "/**/camera_source:\n  fps: 30.0\n",  # no ros__parameters
}
ERROR = "handperception run: error: "


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handperception.cli.main", "run", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def error_line(completed: subprocess.CompletedProcess) -> str:
    """The command's one error line, the last of stderr (node logs may precede it)."""
    lines = completed.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith(ERROR)] == lines[-1:], completed.stderr
    return lines[-1]


# (arguments, what the line says, whether it is all of stderr: no node has started)
MISTAKES = {
    "missing config": (["--config", "missing.yaml"], "missing.yaml does not exist", True),
    "YAML syntax error": (["--config", "broken.yaml"], "broken.yaml: YAML syntax error at", True),
    "unknown node": (["--config", "teleporter.yaml"], "unknown node(s) ['teleporter']", True),
    "malformed parameter file": (
        ["--config", "malformed.yaml"],
        "malformed.yaml is not a ROS 2 parameters file rcl can read: ",
        False,  # rcl logs its own line first
    ),
    "--set for a node the config does not run": (
        ["--config", DEMO, "--set", "camera.fps=15"],
        "parameters given for ['camera']",
        True,
    ),
    "--set of a parameter the node does not have": (
        ["--config", DEMO, "--set", "camera_source.fsp=15"],
        "camera_source has no parameter fsp",
        True,
    ),
    "a source that cannot open": (
        ["--config", DEMO, "--set", "camera_source.source=video:/nonexistent.mp4"],
        "cannot be opened: video file /nonexistent.mp4 does not exist",
        False,  # the node logs its failure
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_one_line_and_exit_status_2(tmp_path, mistake):
    for name, text in CONFIGS.items():
        (tmp_path / name).write_text(text)
    args, says, alone = MISTAKES[mistake]
    completed = run_cli(*args, "--out", "out", cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    line = error_line(completed)
    assert says in line, line
    if alone:
        assert completed.stderr.strip() == line
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.slow
def test_a_node_that_fails_to_configure_is_exit_status_1_with_its_reason(tmp_path):
    completed = run_cli(
        "--config",
        DEMO,
        "--set",
        "camera_source.source=synthetic:pattern",
        "--set",
        "hand_pose.pose_checkpoint=missing.pt",
        cwd=tmp_path,
    )
    assert completed.returncode == 1, completed.stderr[-2000:]
    line = error_line(completed)
    assert line.startswith(f"{ERROR}hand_pose did not configure: FileNotFoundError: ")
    assert "missing.pt does not exist" in line


@pytest.mark.slow
def test_every_frame_processes_every_image_of_a_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(12):
        cv2.imwrite(str(images / f"{index:02d}.png"), rng.integers(0, 256, (120, 160, 3), np.uint8))
    completed = run_cli(
        "--config",
        DEMO,
        "--set",
        f"camera_source.source=folder:{images}",
        "--set",
        "camera_source.fps=240",  # far faster than the graph: without pacing, frames are lost
        "--every-frame",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    out = tmp_path / "out"

    def no_constants(name):
        raise AssertionError(f"summary.json holds {name}: not strict JSON")

    summary = json.loads((out / "summary.json").read_text(), parse_constant=no_constants)
    assert (summary["frames"], summary["finished"], summary["every_frame"]) == (12, True, True)
    nodes = summary["nodes"]
    assert nodes["hand_pose"]["count"] == nodes["annotator"]["count"] == 12
    assert "superseded" not in nodes["hand_pose"]["drops"]
    assert "superseded" not in nodes["annotator"]["drops"]
    with AnyReader([out / "recording"]) as bag:
        hands = [connection for connection in bag.connections if connection.topic == "/hands"]
        assert len(list(bag.messages(connections=hands))) == 12
    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    written = 0
    while video.read()[0]:
        written += 1
    assert written == 12


def test_ros_security_enforced_without_a_keystore_is_one_line_naming_it(tmp_path):
    """SROS2's variables reach rcl (the wheels honour them): Enforce with no keystore refuses to
    start, and the line says it is security, not the parameters file."""
    completed = subprocess.run(
        [sys.executable, "-m", "handperception.cli.main", "run", "--config", DEMO, "--out", "out"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            **os.environ,
            "ROS_SECURITY_ENABLE": "true",
            "ROS_SECURITY_STRATEGY": "Enforce",
            "ROS_SECURITY_KEYSTORE": str(tmp_path / "no_keystore"),
        },
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    line = error_line(completed)
    assert "ROS 2 security (ROS_SECURITY_* variables) refused to start" in line, line
    assert "no_keystore" in line and "parameters file" not in line

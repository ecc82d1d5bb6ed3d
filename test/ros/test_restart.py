"""The runner's restart policy: a node that fails mid-run is recreated and frames flow again.

A fault is injected with a test-only node kind (``run_graph``'s ``node_classes``): an annotator
whose timer raises once it is active. The exception escapes ``guarded`` (it is no frame's
work): what a bug in a timer or a subscription callback does. In one process the graph's
executor keeps it with the node and the runner replaces that node; on a robot the node's
process ends and launch's ``respawn`` starts it again.
"""

import threading
import time

import pytest

from handperception.ros.nodes.annotator import AnnotatorNode
from handperception.ros.nodes.camera_source import CameraSourceNode
from handperception.ros.runner import RESTART_LIMIT, NodeFailed, run_graph

CONFIG = """\
/**/camera_source:
  ros__parameters:
    source: synthetic:pattern
    width: 64
    height: 48
    fps: 30.0
    image_topic: camera/image_raw
    camera_info_topic: camera/camera_info
/**/annotator:
  ros__parameters:
    image_topic: camera/image_raw
    hands_topic: ""
    gaze_topic: ""
    result_wait: 0.0
"""


def _config(tmp_path):
    path = tmp_path / "graph.yaml"
    path.write_text(CONFIG)
    return path


def _faulty(base: type, failures: int, after_s: float = 0.4) -> type:
    """``base`` whose instances raise out of a timer ``after_s`` after activating, until
    ``failures`` faults were injected across all of them (a restart is a new instance)."""
    left = [failures]

    class Faulty(base):
        frames: list = []  # frames each instance took, in order of creation (no references kept)

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.index = len(self.frames)
            self.frames.append(0)

        def activate(self) -> None:
            super().activate()
            if left[0] > 0:
                self._fault = self.create_timer(after_s, self._fail)

        def _fail(self) -> None:
            left[0] -= 1
            raise RuntimeError("injected fault")

        def on_frame(self, frame):
            self.frames[self.index] += 1
            return super().on_frame(frame)

    return Faulty


def test_a_node_whose_callback_raises_is_restarted_and_frames_flow_again(tmp_path, capfd):
    # The annotator activates before the camera, which waits 0.5 s for it to be heard: the
    # fault comes about 1 s into 4 s of frames.
    annotator = _faulty(AnnotatorNode, failures=1, after_s=1.5)
    frames = 120
    result = run_graph(
        _config(tmp_path),
        {"camera_source": {"max_frames": frames}},
        max_wall_s=60,
        node_classes={"annotator": annotator},
    )
    assert result.restarts == {"camera_source": 0, "annotator": 1}
    first, second = annotator.frames
    assert first > 0, "the first annotator ran before its fault"
    assert second >= 20, "the restarted annotator takes frames again"
    # The run's accounting spans the restart: both instances' frames are in the summary.
    assert result.nodes["annotator"]["count"] >= first + second - 2
    assert result.topics["/annotator/image"]["count"] >= second - 2
    log = capfd.readouterr().err
    assert "[annotator]: failed mid-run: RuntimeError('injected fault')" in log
    assert "test_restart.py" in log  # its traceback, to the line that raised
    # The failed node was finalised before its successor took its name: /rosout still serves it.
    assert "Publisher already registered for node name: 'annotator'" not in log


def test_a_destroyed_node_is_recreated(tmp_path):
    annotator = _faulty(AnnotatorNode, failures=0)

    def destroy_soon(nodes):
        threading.Timer(1.5, nodes["annotator"].destroy_node).start()

    result = run_graph(
        _config(tmp_path),
        {"camera_source": {"max_frames": 90}},
        max_wall_s=60,
        on_ready=destroy_soon,
        node_classes={"annotator": annotator},
    )
    assert result.restarts["annotator"] == 1
    assert len(annotator.frames) == 2 and annotator.frames[-1] >= 10


def test_a_node_failing_again_and_again_ends_the_run(tmp_path):
    annotator = _faulty(AnnotatorNode, failures=100, after_s=0.1)
    started = time.monotonic()
    with pytest.raises(NodeFailed) as error:
        run_graph(_config(tmp_path), max_wall_s=30, node_classes={"annotator": annotator})
    assert time.monotonic() - started < 20
    assert len(annotator.frames) == RESTART_LIMIT + 1
    assert str(error.value) == (
        "annotator failed (RuntimeError('injected fault')) and was not restarted: "
        f"it failed {RESTART_LIMIT + 1} times within 60 s"
    )


def test_a_failed_camera_ends_the_run_instead_of_replaying_its_source(tmp_path):
    camera = _faulty(CameraSourceNode, failures=1)
    with pytest.raises(NodeFailed, match="camera_source failed .* a new camera would start"):
        run_graph(_config(tmp_path), max_wall_s=30, node_classes={"camera_source": camera})
    assert len(camera.frames) == 1

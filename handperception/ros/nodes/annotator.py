"""annotator: draws every result onto its source frame and writes an annotated video (and
optionally republishes it as an Image for rviz/Foxglove). Results are matched to frames by
header stamp, so slow nodes never draw onto the wrong frame."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import cv2
import numpy as np
from sensor_msgs.msg import Image

from handperception.msgconv.images import numpy_to_image
from handperception.msgconv.results import msg_to_gaze, msg_to_hand
from handperception.ros.entry import run_single_node
from handperception.ros.node_base import Allowed, CameraFrame, ImageNode
from handperception.ros.qos import results_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.viz.overlay import draw_gaze, draw_hands, draw_hud
from handperception_msgs.msg import GazeArray, HandArray


class AnnotatorNode(ImageNode):
    def __init__(self, **kwargs):
        super().__init__("annotator", **kwargs)
        self.declare("hands_topic", "hands", "HandArray topic to draw ('' to skip)")
        self.declare("gaze_topic", "gaze", "GazeArray topic to draw ('' to skip)")
        self.declare("video_path", "", "annotated video file (.mp4/.avi); '' writes none")
        self.declare(
            "video_fps",
            30.0,
            "frame rate written into the video",
            Allowed(0.0, 240.0, open_low=True),
        )
        self.declare("publish_image", True, "publish annotated frames on ~/image")
        self.declare(
            "result_wait",
            0.3,
            "seconds of stamps to wait for results of a frame",
            Allowed(0.0, 10.0),
        )
        self._awaiting_results: collections.deque = collections.deque(maxlen=120)
        self._results: dict[int, dict[str, list]] = collections.defaultdict(dict)
        self._writer = None
        self._lock = threading.Lock()
        self.frames_written = 0
        self._result_subscriptions: list = []

    def configure(self) -> None:
        self._image_pub = self.create_lifecycle_publisher(Image, "~/image", results_qos(2))

    def activate(self) -> None:
        super().activate()
        for topic, msg_type, key in (
            (self.params.hands_topic, HandArray, "hands"),
            (self.params.gaze_topic, GazeArray, "gaze"),
        ):
            if topic:
                self._result_subscriptions.append(
                    self.create_subscription(
                        msg_type,
                        topic,
                        lambda msg, k=key: self.guarded(self._on_result, k, msg),
                        results_qos(),
                    )
                )

    def deactivate(self) -> None:
        super().deactivate()
        for subscription in self._result_subscriptions:
            self.destroy_subscription(subscription)
        self._result_subscriptions.clear()

    def _on_result(self, key: str, msg) -> None:
        items = msg.hands if key == "hands" else msg.gazes
        convert = msg_to_hand if key == "hands" else msg_to_gaze
        with self._lock:
            self._results[stamp_to_ns(msg.header.stamp)][key] = [convert(item) for item in items]

    def on_frame(self, frame: CameraFrame) -> bool:
        stamp = stamp_to_ns(frame.header.stamp)
        with self._lock:
            self._awaiting_results.append((stamp, frame))
        self._flush(older_than=stamp - int(self.params.result_wait * 1e9))
        return True

    def _flush(self, older_than: int | None = None) -> None:
        while True:
            with self._lock:
                if not self._awaiting_results or (
                    older_than is not None and self._awaiting_results[0][0] > older_than
                ):
                    return
                stamp, source = self._awaiting_results.popleft()
                results = self._results.pop(stamp, {})
                for old in [s for s in self._results if s < stamp]:
                    del self._results[old]
            self._emit(source, results)

    def _emit(self, source: CameraFrame, results: dict[str, list]) -> None:
        frame = source.rgb.copy()
        hands, gazes = results.get("hands", []), results.get("gaze", [])
        draw_hands(frame, hands)
        for gaze in gazes:
            draw_gaze(frame, gaze, source.camera.camera.project)
        snapshot = self.stats.snapshot()
        draw_hud(
            frame,
            [
                f"frame {self.frames_written}  {len(hands)} hands  {len(gazes)} faces",
                f"{snapshot.rate_hz:.1f} Hz  latency p50 {snapshot.latency_p50_ms:.0f} ms",
            ],
        )
        if self.params.video_path:
            self._write_video(frame)
        if self.params.publish_image:
            self._image_pub.publish(numpy_to_image(frame, "rgb8", source.header))
        self.frames_written += 1

    def _write_video(self, frame: np.ndarray) -> None:
        if self._writer is None:
            path = Path(self.params.video_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            codec = "mp4v" if path.suffix.lower() in (".mp4", ".mov") else "MJPG"
            self._writer = cv2.VideoWriter(
                str(path),
                cv2.VideoWriter_fourcc(*codec),
                self.params.video_fps,
                (frame.shape[1], frame.shape[0]),
            )
            if not self._writer.isOpened():
                raise OSError(f"OpenCV cannot write video {path} with codec {codec}")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def cleanup(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def destroy_node(self):
        self.guarded(self.cleanup)
        return super().destroy_node()


def main(argv=None) -> int:
    return run_single_node(AnnotatorNode, argv)

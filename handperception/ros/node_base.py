"""The node pattern every handperception node follows.

Why a base class: users compare nodes by the same diagnostics and expect the same behaviour from
all of them: parameters declared with descriptions (so ``ros2 param describe`` helps), the model
loaded in the lifecycle *configure* step (an inactive node costs almost nothing), images taken
with depth-1 QoS (the newest frame, never a backlog), the source header copied to every output,
and a callback that fails logs its cause, counts a drop and leaves the node running.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image

from handperception.msgconv.images import ImageConversionError
from handperception.ros.qos import image_qos, results_qos
from handperception.ros.stamps import stamp_to_ns
from handperception.ros.sync import ApproximateTimeSynchronizer
from handperception.runtime.stats import RateLatencyMonitor

FAILED = object()  # what ``guarded`` returns when the work raised


class InputRejected(Exception):
    """Input the node cannot use (bad image, missing calibration): a counted drop, not a crash."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


class HandperceptionNode(LifecycleNode):
    """Lifecycle node with declared parameters, diagnostics and guarded callbacks.

    Subclasses override ``configure`` (load models, create publishers), ``activate`` (create
    subscriptions) and ``deactivate``/``cleanup``; each returns None or raises.
    With ``autostart`` (default true) the node configures and activates itself once spinning,
    so ``ros2 run``, launch files and the embedded runner need no lifecycle manager. A node
    whose work can end (a camera replaying a file) sets ``finished``; its process then exits.
    """

    def __init__(self, node_name: str, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self.stats = RateLatencyMonitor()
        self.is_active = False
        self.finished = False
        self.autostart = self.declare("autostart", True, "configure and activate on start-up")
        self.diagnostics_period = self.declare(
            "diagnostics_period", 1.0, "seconds between /diagnostics messages (0 disables)"
        )
        self._diagnostics_pub = self.create_publisher(
            DiagnosticArray, "/diagnostics", results_qos()
        )
        self._diagnostics_timer = None
        if self.diagnostics_period > 0:
            self._diagnostics_timer = self.create_timer(
                self.diagnostics_period, self._publish_diagnostics
            )
        self._autostart_timer = self.create_timer(0.01, self._autostart) if self.autostart else None

    # -- parameters ---------------------------------------------------------------------------
    def declare(self, name: str, default: Any, description: str, read_only: bool = False) -> Any:
        descriptor = ParameterDescriptor(description=description, read_only=read_only)
        return self.declare_parameter(name, default, descriptor).value

    # -- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        """Load models and create publishers."""

    def activate(self) -> None:
        """Create subscriptions and timers that do work."""

    def deactivate(self) -> None:
        """Destroy what activate created."""

    def cleanup(self) -> None:
        """Release what configure created."""

    def _transition(self, step, name: str) -> TransitionCallbackReturn:
        try:
            step()
        except Exception as error:  # a failed transition is reported, the node stays alive
            self.get_logger().error(f"{name} failed: {error!r}\n{traceback.format_exc()}")
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition(self.configure, "configure")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition(self.activate, "activate")
        if result == TransitionCallbackReturn.SUCCESS:
            result = super().on_activate(state)
        self.is_active = result == TransitionCallbackReturn.SUCCESS
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.is_active = False
        result = self._transition(self.deactivate, "deactivate")
        return (
            super().on_deactivate(state) if result == TransitionCallbackReturn.SUCCESS else result
        )

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._transition(self.cleanup, "cleanup")

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return TransitionCallbackReturn.SUCCESS

    def _autostart(self) -> None:
        self.destroy_timer(self._autostart_timer)
        self._autostart_timer = None
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    # -- guarded work ---------------------------------------------------------------------------
    def guarded(self, work, *args: Any) -> Any:
        """Run one unit of work; a rejected input or any exception is logged and counted, and
        FAILED is returned instead of the work's result."""
        try:
            return work(*args)
        except (InputRejected, ImageConversionError) as rejected:
            reason = getattr(rejected, "reason", "bad_image")
            self.stats.drop(reason)
            self.get_logger().warning(
                f"dropped input ({reason}): {rejected}", throttle_duration_sec=2.0
            )
        except Exception as error:  # the node must never die on one bad callback
            self.stats.drop("exception")
            self.get_logger().error(
                f"callback failed: {error!r}\n{traceback.format_exc()}", throttle_duration_sec=2.0
            )
        return FAILED

    def latency_since(self, header) -> float:
        """Seconds from a header stamp to now on this node's clock."""
        return (self.get_clock().now().nanoseconds - stamp_to_ns(header.stamp)) * 1e-9

    # -- diagnostics ----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        snapshot = self.stats.snapshot()
        status = DiagnosticStatus()
        status.name = f"{self.get_fully_qualified_name()}: rate and latency"
        status.hardware_id = self.get_name()
        status.level = DiagnosticStatus.OK
        status.message = f"{snapshot.rate_hz:.1f} Hz, p50 {snapshot.latency_p50_ms:.1f} ms"
        if snapshot.dropped:
            status.level = DiagnosticStatus.WARN
            status.message += f", {snapshot.dropped} dropped"
        values = {**snapshot.as_dict(), **{f"dropped.{k}": v for k, v in snapshot.drops.items()}}
        values.pop("drops")
        status.values = [KeyValue(key=key, value=str(value)) for key, value in values.items()]
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [status]
        self._diagnostics_pub.publish(array)


class ImageNode(HandperceptionNode):
    """A node that consumes a camera: image + camera_info paired by stamp.

    Subclasses implement ``on_frame(image, camera_info)`` (camera_info is None when
    ``use_camera_info`` is false); it runs guarded on the node's own worker thread, and its
    latency (now - image stamp) is recorded after it returns, unless it returned False (nothing
    published). The worker always takes the newest paired frame: a frame replaced by a newer one
    before the worker got to it is counted as ``superseded`` (the node is slower than the
    camera) instead of queueing, so latency never grows with a backlog.
    """

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "on_frame", None)):
            raise TypeError(f"{cls.__name__} must define on_frame(image, camera_info)")

    def __init__(self, node_name: str, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self.image_topic = self.declare(
            "image_topic", "/camera/image_raw", "input sensor_msgs/Image topic"
        )
        self.camera_info_topic = (
            self.declare(
                "camera_info_topic",
                "",
                "sensor_msgs/CameraInfo topic; empty: camera_info beside image_topic",
            )
            or self.image_topic.rsplit("/", 1)[0] + "/camera_info"
        )
        self.use_camera_info = self.declare(
            "use_camera_info", True, "pair each image with its CameraInfo (needed for metric 3D)"
        )
        self.image_reliability = self.declare(
            "image_reliability",
            "best_effort",
            "QoS reliability of the image subscription: best_effort|reliable",
        )
        self.sync_slop = self.declare(
            "sync_slop", 0.01, "seconds an image and its camera_info stamps may differ"
        )
        self._subscriptions_active: list = []
        self._camera_info_seen = False
        self._sync = ApproximateTimeSynchronizer(
            2, 5, int(self.sync_slop * 1e9), self._frame, self._on_unpaired
        )
        self._pending: tuple[Image, CameraInfo | None] | None = None
        self._pending_changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._worker_stop = False

    def activate(self) -> None:
        self._worker_stop = False
        self._worker = threading.Thread(
            target=self._work, name=f"{self.get_name()}-frames", daemon=True
        )
        self._worker.start()
        qos = image_qos(self.image_reliability)
        self._subscriptions_active.append(
            self.create_subscription(Image, self.image_topic, self._on_image, qos)
        )
        if self.use_camera_info:
            self._subscriptions_active.append(
                self.create_subscription(
                    CameraInfo, self.camera_info_topic, self._on_camera_info, results_qos()
                )
            )

    def deactivate(self) -> None:
        for subscription in self._subscriptions_active:
            self.destroy_subscription(subscription)
        self._subscriptions_active.clear()
        self._stop_worker()

    def _stop_worker(self) -> None:
        with self._pending_changed:
            self._worker_stop = True
            self._pending = None
            self._pending_changed.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=10.0)
        self._worker = None

    def destroy_node(self):
        self._stop_worker()
        return super().destroy_node()

    def _on_image(self, image: Image) -> None:
        if self.use_camera_info:
            self._sync.add(0, stamp_to_ns(image.header.stamp), image)
        else:
            self._frame(image, None)

    def _on_unpaired(self, topic: int, msg) -> None:
        if topic != 0:
            return  # a CameraInfo without its image costs nothing
        reason = "no_camera_info" if not self._camera_info_seen else "unpaired_camera_info"
        self.stats.drop(reason)
        self.get_logger().warning(
            f"image at {msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d} s has no CameraInfo "
            f"on {self.camera_info_topic} within {self.sync_slop} s; dropped",
            throttle_duration_sec=5.0,
        )

    def _on_camera_info(self, info: CameraInfo) -> None:
        self._camera_info_seen = True
        self._sync.add(1, stamp_to_ns(info.header.stamp), info)

    def _frame(self, image: Image, info: CameraInfo | None) -> None:
        with self._pending_changed:
            if self._pending is not None:
                self.stats.drop("superseded")
            self._pending = (image, info)
            self._pending_changed.notify()

    def _work(self) -> None:
        while True:
            with self._pending_changed:
                while self._pending is None and not self._worker_stop:
                    self._pending_changed.wait()
                if self._worker_stop:
                    return
                image, info = self._pending
                self._pending = None
            result = self.guarded(self.on_frame, image, info)
            if result is not FAILED and result is not False:
                self.stats.record(self.latency_since(image.header))

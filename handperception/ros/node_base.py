"""The node pattern every handperception node follows.

Why a base class: users compare nodes by the same diagnostics and expect the same behaviour from
all of them: parameters declared with descriptions and allowed values (so ``ros2 param
describe`` helps and a wrong value is refused with its reason), read when the node configures
(change one, reconfigure, and it applies), the model loaded in the lifecycle *configure* step
(an inactive node costs almost nothing), images taken with depth-1 QoS (the newest frame, never
a backlog), the source header copied to every output, and a callback that fails logs its cause,
counts a drop and leaves the node running.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle.publisher import LifecyclePublisher
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from handperception.geometry.camera import UNCALIBRATED, CalibrationError, CameraModel
from handperception.msgconv.camera_info import NO_CAMERA_INFO, camera_from_info
from handperception.msgconv.images import ImageConversionError, compressed_to_rgb8, image_to_rgb8
from handperception.ros.qos import RELIABILITIES, camera_info_qos, image_qos, results_qos
from handperception.ros.stamps import BAD_STAMP, stamp_problem, stamp_to_ns
from handperception.ros.sync import ApproximateTimeSynchronizer
from handperception.runtime.stats import RateLatencyMonitor

FAILED = object()  # what ``guarded`` returns when the work raised
# A dropped input is warned about at most once per reason in this many seconds: a broken camera
# would otherwise log every frame, and one reason must not hide another's first warning.
WARN_PERIOD_S = 5.0
INACTIVE = "inactive"  # an input that arrived or waited while the node deactivated


class InputRejected(Exception):
    """Input the node cannot use (bad image, missing calibration): a counted drop, not a crash."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


class ParametersRefused(ValueError):
    """Parameter values a node cannot run with: configure fails with this one-line reason and
    the node stays unconfigured, alive, until the values are fixed."""


@dataclass(frozen=True)
class Allowed:
    """The values a numeric parameter accepts, ``low``..``high`` (either end open), plus an
    optional ``extra`` value outside that interval (0 meaning "automatic"); or, for a string,
    its ``choices`` or a regular expression it must match in full (``pattern``).

    One object serves rclpy and the node: the interval's closed hull becomes the descriptor's
    ``integer_range``/``floating_point_range``, which rclpy enforces on ``set_parameters`` and
    ``ros2 param describe`` shows; the node checks the rest (open ends, ``extra``, choices),
    and values given at start-up, which rclpy would refuse by raising in the constructor.
    """

    low: float = 0
    high: float = 0
    open_low: bool = False
    open_high: bool = False
    extra: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str = ""

    def admits(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        if self.pattern:
            return re.fullmatch(self.pattern, value) is not None
        if value == self.extra:
            return True
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def describe(self, name: str) -> str:
        """E.g. ``0 < fps <= 240``, ``crop_size = 0 or 16 <= crop_size <= 512``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.pattern:
            return f"{name} matching {self.pattern}"
        low, high = ("<" if self.open_low else "<="), ("<" if self.open_high else "<=")
        interval = f"{self.low:g} {low} {name} {high} {self.high:g}"
        return interval if self.extra is None else f"{name} = {self.extra:g} or {interval}"

    def descriptor_range(self, default: Any) -> dict[str, list]:
        """The descriptor's range fields for a parameter declared with ``default``."""
        if self.choices or self.pattern:
            return {}
        low = self.low if self.extra is None else min(self.low, self.extra)
        high = self.high if self.extra is None else max(self.high, self.extra)
        if isinstance(default, float):
            return {
                "floating_point_range": [
                    FloatingPointRange(from_value=float(low), to_value=float(high))
                ]
            }
        return {"integer_range": [IntegerRange(from_value=int(low), to_value=int(high))]}


def one_of(*choices: str) -> Allowed:
    return Allowed(choices=choices)


def _as_declared(value: Any, default: Any) -> Any:
    """An integer given for a double parameter (``fps: 15`` in YAML, ``--set
    camera_source.fps=15``, ``-p fps:=15``) means that double; rclpy would refuse its type."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class HandperceptionNode(LifecycleNode):
    """Lifecycle node with declared parameters, diagnostics and guarded callbacks.

    Subclasses declare their parameters in ``__init__`` (``declare``) and use them from
    ``self.params``, which the node reads from the parameter server each time it configures.
    They override ``configure`` (load models, create publishers), ``activate`` (create
    subscriptions) and ``deactivate``/``cleanup``; each returns None or raises. Publishers
    created in ``configure`` (lifecycle ones, and plain ones such as tf's) are destroyed at
    cleanup (or when configure fails), so configuring again never duplicates them.
    With ``autostart`` (default true) the node configures and activates itself once spinning,
    so ``ros2 run``, launch files and the embedded runner need no lifecycle manager. A node
    whose work can end (a camera replaying a file) sets ``finished``; its process then exits.
    """

    def __init__(self, node_name: str, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self.stats = RateLatencyMonitor()
        self.is_active = False
        self.finished = False
        self.params = SimpleNamespace()
        self._allowed: dict[str, Allowed | None] = {}
        self._refused_at_start: dict[str, str] = {}
        self._configured_publishers: list = []
        self._diagnostics_timer = None
        self._last_warned: dict[str, float] = {}
        self._warn_lock = threading.Lock()
        self.add_on_set_parameters_callback(self._check_new_values)
        self.declare("autostart", True, "configure and activate on start-up")
        self.declare(
            "diagnostics_period",
            1.0,
            "seconds between /diagnostics messages (0 disables)",
            Allowed(0.0, 3600.0),
        )
        self._diagnostics_pub = self.create_publisher(
            DiagnosticArray, "/diagnostics", results_qos()
        )
        autostart = self.get_parameter("autostart").value
        # On the steady clock: under use_sim_time the node's clock stands still until the first
        # /clock message, and a node must load its model before the simulation runs.
        self._autostart_timer = (
            self.create_timer(0.01, self._autostart, clock=Clock(clock_type=ClockType.STEADY_TIME))
            if autostart
            else None
        )

    # -- parameters ---------------------------------------------------------------------------
    def declare(
        self,
        name: str,
        default: Any,
        description: str,
        allowed: Allowed | None = None,
    ) -> None:
        """Declare a parameter with its description and allowed values (see ``Allowed``).

        A value given at start-up (parameter overrides, a params file, ``-p``) that is not
        allowed does not stop the node: the parameter keeps its default and the refusal is
        remembered, so configure fails naming it until a valid value is set.
        """
        descriptor = ParameterDescriptor(
            description=description,
            **(allowed.descriptor_range(default) if allowed else {}),
        )
        if allowed is not None:
            descriptor.additional_constraints = allowed.describe(name)
        self._allowed[name] = allowed
        # rclpy keeps start-up values here and offers no public getter
        given = self._parameter_overrides.get(name)
        value = default if given is None else _as_declared(given.value, default)
        expected = Parameter.Type.from_parameter_value(default)
        if Parameter.Type.from_parameter_value(value) != expected:
            problem = f"is not of type {expected.name.lower()}"
        else:
            problem = self._problem(name, value)
        self.declare_parameter(
            name, default if problem else value, descriptor, ignore_override=True
        )
        if problem:
            self._refused_at_start[name] = f"{name} = {value!r}, given at start-up, {problem}"

    def _problem(self, name: str, value: Any) -> str | None:
        """What is wrong with ``value`` for ``name`` by its ``Allowed``, or None."""
        allowed = self._allowed.get(name)
        if allowed is None or allowed.admits(value):
            return None
        return f"is not allowed ({allowed.describe(name)})"

    def _check_new_values(self, parameters: list[Parameter]) -> SetParametersResult:
        """rclpy has already checked types and range hulls; this refuses what only ``Allowed``
        knows, and forgets a start-up refusal once its parameter got a valid value."""
        for parameter in parameters:
            problem = self._problem(parameter.name, parameter.value)
            if problem:
                reason = f"{parameter.name} = {parameter.value!r} {problem}"
                return SetParametersResult(successful=False, reason=reason)
        for parameter in parameters:
            self._refused_at_start.pop(parameter.name, None)
        return SetParametersResult(successful=True)

    def read_parameters(self) -> SimpleNamespace:
        """Every declared parameter's current value, as attributes; what configure runs with.

        Raises ParametersRefused listing every start-up value that was not allowed.
        """
        if self._refused_at_start:
            raise ParametersRefused(
                "; ".join(self._refused_at_start.values())
                + ". Set valid values and configure again."
            )
        return SimpleNamespace(**{name: self.get_parameter(name).value for name in self._allowed})

    # -- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        """Load models and create publishers."""

    def activate(self) -> None:
        """Create subscriptions and timers that do work."""

    def deactivate(self) -> None:
        """Destroy what activate created."""

    def cleanup(self) -> None:
        """Release what configure created (its publishers are destroyed by the base class)."""

    def _transition(self, step, name: str) -> TransitionCallbackReturn:
        try:
            step()
        except ParametersRefused as refused:  # the reason is the whole story: no traceback
            self.get_logger().error(f"{name} refused: {refused}")
            return TransitionCallbackReturn.FAILURE
        except Exception as error:  # a failed transition is reported, the node stays alive
            self.get_logger().error(f"{name} failed: {error!r}\n{traceback.format_exc()}")
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        self.params = self.read_parameters()
        # Remembered, even when configure fails half-way, so cleanup destroys them: configuring
        # again never leaves two publishers of one node on a topic.
        existing = set(self.publishers)
        try:
            self.configure()
        finally:
            self._configured_publishers = [p for p in self.publishers if p not in existing]
        if self.params.diagnostics_period > 0:
            self._diagnostics_timer = self.create_timer(
                self.params.diagnostics_period, self._publish_diagnostics
            )

    def _release_configured(self) -> None:
        for publisher in self._configured_publishers:
            if isinstance(publisher, LifecyclePublisher):
                self.destroy_lifecycle_publisher(publisher)
            else:
                self.destroy_publisher(publisher)
        self._configured_publishers.clear()
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._transition(self._configure, "configure")
        if result != TransitionCallbackReturn.SUCCESS:
            self.guarded(self.cleanup)  # whatever the failed configure had opened
            self._release_configured()
        return result

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
        result = self._transition(self.cleanup, "cleanup")
        self._release_configured()
        return result

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
            self.drop_input(rejected.reason, str(rejected))
        except Exception as error:  # the node must never die on one bad callback
            self.stats.drop("exception")
            self.get_logger().error(
                f"callback failed: {error!r}\n{traceback.format_exc()}", throttle_duration_sec=2.0
            )
        return FAILED

    def drop_input(self, reason: str, detail: str) -> None:
        """Count one input dropped for ``reason`` and say why in one warning, at most once per
        reason every WARN_PERIOD_S."""
        self.stats.drop(reason)
        now = time.monotonic()
        with self._warn_lock:
            if now - self._last_warned.get(reason, -WARN_PERIOD_S) < WARN_PERIOD_S:
                return
            self._last_warned[reason] = now
        self.get_logger().warning(f"dropped input ({reason}): {detail}")

    def latency_since(self, header) -> float | None:
        """Seconds from a header stamp to now on this node's clock; None while that clock
        reads 0 (sim time before the first /clock message), when there is no "now"."""
        now_ns = self.get_clock().now().nanoseconds
        return (now_ns - stamp_to_ns(header.stamp)) * 1e-9 if now_ns > 0 else None

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
        values = {
            **snapshot.as_dict(),
            **{f"dropped.{k}": v for k, v in snapshot.drops.items()},
            **{f"result_dropped.{k}": v for k, v in snapshot.result_drops.items()},
        }
        values.pop("drops")
        values.pop("result_drops")
        status.values = [KeyValue(key=key, value=str(value)) for key, value in values.items()]
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [status]
        self._diagnostics_pub.publish(array)


IMAGE_TRANSPORTS = ("raw", "compressed")  # image_transport's names for these two
IMAGE_PIXELS = ("auto", "raw", "rectified")
# Calibration problems that mean "there is none": the driver was never calibrated, or the node
# takes no camera_info. The camera is then guessed from fallback_horizontal_fov, with a warning.
# Any other (NaN, an absurd focal length, another image size) is a broken calibration that a
# guess would hide: those frames are dropped, counted by the reason.
_FALLBACK_REASONS = (UNCALIBRATED, NO_CAMERA_INFO)


@dataclass(frozen=True)
class CameraFrame:
    """One image as an ImageNode hands it on: decoded, with the camera that took it."""

    header: Header  # the source image's: every output copies it
    rgb: np.ndarray  # (H, W, 3) uint8, whatever the encoding or transport was
    camera: CameraModel  # pixels -> rays: camera_info's, ideal for rectified images, or a guess


def is_rectified_topic(topic: str) -> bool:
    """Whether an image topic carries rectified pixels by image_proc's names (image_rect,
    image_rect_color, ...): its camera_info still holds the raw image's distortion, which these
    pixels no longer have."""
    return topic.rstrip("/").rpartition("/")[2].startswith("image_rect")


class ImageNode(HandperceptionNode):
    """A node that consumes a camera: image + camera_info paired by stamp.

    Subclasses implement ``on_frame(frame: CameraFrame)``; it runs guarded on the node's own
    worker thread, and its latency (now - image stamp) is recorded after it returns, unless it
    returned False (nothing published: processed, without a latency). The worker always takes
    the newest paired frame: a frame replaced by a newer one before the worker got to it is
    counted as ``superseded`` (the node is slower than the camera) instead of queueing, so
    latency never grows with a backlog.

    Every image taken is accounted for once: ``received`` = processed + superseded + the other
    drops, each counted as soon as its fate is known: ``bad_stamp`` (``ros.stamps``) on arrival;
    ``no_camera_info`` when a newer image replaces it before any CameraInfo came;
    ``unpaired_camera_info`` once its CameraInfo cannot come any more (``ros.sync``); a bad image
    or calibration by its reason; ``inactive`` when the node deactivates with it waiting.

    The base does what every camera consumer needs, so each node gets it the same way: raw or
    compressed images (``image_transport``) in any encoding ``msgconv.images`` reads, and the
    camera model: camera_info's calibration with its distortion (``image_pixels``), or, when
    the driver has no calibration or ``use_camera_info`` is false, a pinhole camera of
    ``fallback_horizontal_fov``, announced by one warning instead of a drop on every frame.
    """

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "on_frame", None)):
            raise TypeError(f"{cls.__name__} must define on_frame(frame)")

    def __init__(self, node_name: str, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self.declare(
            "image_topic",
            "image",
            "input sensor_msgs/Image topic (relative: remap `image`, as image pipelines do)",
        )
        self.declare(
            "image_transport",
            "raw",
            "raw: sensor_msgs/Image on the image topic; compressed: sensor_msgs/CompressedImage "
            "(jpeg, png) on <image topic>/compressed, as image_transport names it",
            one_of(*IMAGE_TRANSPORTS),
        )
        self.declare(
            "camera_info_topic",
            "",
            "sensor_msgs/CameraInfo topic; empty: a `camera_info` remap, else camera_info "
            "beside the (remapped) image topic",
        )
        self.declare(
            "use_camera_info",
            True,
            "pair each image with its CameraInfo (metric 3D needs the real intrinsics); "
            "false: fallback_horizontal_fov",
        )
        self.declare(
            "fallback_horizontal_fov",
            60.0,
            "degrees; the camera assumed when there is no calibration (all-zero K, or "
            "use_camera_info false); 0.6 to 168, the focal lengths a calibration may have",
            Allowed(0.6, 168.0),
        )
        self.declare(
            "image_pixels",
            "auto",
            "raw: the driver's pixels, undistorted with camera_info's D before lifting; "
            "rectified: image_proc's image_rect, lifted with camera_info's P alone; auto: "
            "rectified when the image topic's name starts with image_rect",
            one_of(*IMAGE_PIXELS),
        )
        self.declare(
            "image_reliability",
            "best_effort",
            "QoS reliability of the image subscription",
            one_of(*RELIABILITIES),
        )
        self.declare(
            "sync_slop",
            0.01,
            "seconds an image and its camera_info stamps may differ",
            Allowed(0.0, 1.0, open_low=True),
        )
        self._subscriptions_active: list = []
        self._camera_info_seen = False
        self._sync: ApproximateTimeSynchronizer | None = None
        self.camera_info_topic = ""
        self._rectified = False
        self._warned: set[str] = set()
        self._pending: tuple[Image | CompressedImage, CameraInfo | None] | None = None
        self._held: Image | CompressedImage | None = None  # waiting for the first CameraInfo
        self._pending_changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._worker_stop = False
        # Images whose fate is settled, processed or dropped wherever: what a batch run
        # (--every-frame) waits on before the camera sends the next one.
        self.frames_handled = 0
        self._handled_lock = threading.Lock()

    def _resolve_camera_info_topic(self, image_topic: str) -> str:
        """The parameter when set; else a remap of ``camera_info`` when one was given; else
        camera_info beside the (resolved) image topic, as image_transport's camera subscriber
        does: ``-r image:=/cam/image_rect`` alone pairs with /cam/camera_info."""
        if self.params.camera_info_topic:
            return self.resolve_topic_name(self.params.camera_info_topic)
        remapped = self.resolve_topic_name("camera_info")
        if remapped != self.resolve_topic_name("camera_info", only_expand=True):
            return remapped
        return image_topic.rsplit("/", 1)[0] + "/camera_info"

    def activate(self) -> None:
        self._sync = ApproximateTimeSynchronizer(
            2, 5, int(self.params.sync_slop * 1e9), self._frame, self._on_unpaired
        )
        self._warned.clear()
        self._worker_stop = False
        self._worker = threading.Thread(
            target=self._work, name=f"{self.get_name()}-frames", daemon=True
        )
        self._worker.start()
        image_topic = self.resolve_topic_name(self.params.image_topic)  # remaps applied
        self._rectified = self.params.image_pixels == "rectified" or (
            self.params.image_pixels == "auto" and is_rectified_topic(image_topic)
        )
        compressed = self.params.image_transport == "compressed"
        image = self.create_subscription(
            CompressedImage if compressed else Image,
            f"{image_topic}/compressed" if compressed else image_topic,
            self._on_image,
            image_qos(self.params.image_reliability),
        )
        self._subscriptions_active.append(image)
        inputs = image.topic_name
        if self.params.use_camera_info:
            self.camera_info_topic = self._resolve_camera_info_topic(image_topic)
            self._subscriptions_active.append(
                self.create_subscription(
                    CameraInfo, self.camera_info_topic, self._on_camera_info, camera_info_qos()
                )
            )
            pixels = "rectified: P" if self._rectified else "raw: K and D"
            inputs += f" + {self.camera_info_topic} ({pixels})"
        self.get_logger().info(f"taking images from {inputs}")

    def deactivate(self) -> None:
        for subscription in self._subscriptions_active:
            self.destroy_subscription(subscription)
        self._subscriptions_active.clear()
        sync, self._sync = self._sync, None
        waiting = [msg for topic, msg in sync.drain() if topic == 0] if sync else []
        held, self._held = self._held, None
        for _ in waiting + ([held] if held is not None else []):
            self._drop_image(INACTIVE)
        self._stop_worker()

    def _stop_worker(self) -> None:
        with self._pending_changed:
            self._worker_stop = True
            if self._pending is not None:
                self._drop_image(INACTIVE)
            self._pending = None
            self._pending_changed.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=10.0)
        self._worker = None

    def destroy_node(self):
        self._stop_worker()
        return super().destroy_node()

    def _on_image(self, image: Image | CompressedImage) -> None:
        """Every image taken ends as exactly one of processed, superseded or dropped with its
        reason (``stats``), counted as soon as its fate is known."""
        self.stats.receive()
        stamp = image.header.stamp
        problem = stamp_problem(stamp, self.get_clock().now().nanoseconds)
        sync = self._sync
        if problem:
            self._drop_image(
                BAD_STAMP, f"image stamped {stamp.sec} s {stamp.nanosec} ns: {problem}"
            )
        elif sync is None:
            self._drop_image(INACTIVE)
        elif not self.params.use_camera_info:
            self._frame(image, None)
        elif not self._camera_info_seen:
            # Before the first CameraInfo only the newest image waits for it (its CameraInfo may
            # be on its way); the one it replaces has none and is dropped now.
            held, self._held = self._held, image
            if held is not None:
                self._on_unpaired(0, held)
        else:
            sync.add(0, stamp_to_ns(stamp), image)

    def _on_unpaired(self, topic: int, msg) -> None:
        if topic != 0:
            return  # a CameraInfo without its image costs nothing
        reason = "no_camera_info" if not self._camera_info_seen else "unpaired_camera_info"
        self._drop_image(
            reason,
            f"image at {msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d} s has no CameraInfo "
            f"on {self.camera_info_topic} within {self.params.sync_slop} s",
        )

    def _on_camera_info(self, info: CameraInfo) -> None:
        sync = self._sync
        if sync is None:
            return
        self._camera_info_seen = True
        # One stamped as no image may be (zero, far ahead) pairs with nothing, and would make
        # the pairing, which trusts stamps to increase, give up on the images after it.
        if stamp_problem(info.header.stamp, self.get_clock().now().nanoseconds) is None:
            sync.add(1, stamp_to_ns(info.header.stamp), info)
        held, self._held = self._held, None
        if held is not None:
            sync.add(0, stamp_to_ns(held.header.stamp), held)

    def _frame(self, image: Image | CompressedImage, info: CameraInfo | None) -> None:
        with self._pending_changed:
            if self._worker_stop:
                self._drop_image(INACTIVE)
                return
            if self._pending is not None:
                self._drop_image("superseded")
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
            result = self.guarded(self._handle, image, info)
            if result is not FAILED:
                self.stats.record(None if result is False else self.latency_since(image.header))
            self._count_handled()

    def _drop_image(self, reason: str, detail: str | None = None) -> None:
        """One image that will not reach ``on_frame``: a drop by ``reason`` (warned about with
        ``detail`` when given), and handled, so a batch run sends the next frame at once."""
        if detail is None:
            self.stats.drop(reason)
        else:
            self.drop_input(reason, detail)
        self._count_handled()

    def _count_handled(self) -> None:
        with self._handled_lock:  # the worker and the executor's callbacks both count
            self.frames_handled += 1

    def _handle(self, image: Image | CompressedImage, info: CameraInfo | None) -> Any:
        """Decode the image, find its camera, and hand both to ``on_frame``."""
        rgb = (
            compressed_to_rgb8(image)
            if isinstance(image, CompressedImage)
            else image_to_rgb8(image)
        )
        camera = self._camera(info, (rgb.shape[1], rgb.shape[0]))
        return self.on_frame(CameraFrame(image.header, rgb, camera))

    def _camera(self, info: CameraInfo | None, size: tuple[int, int]) -> CameraModel:
        """The calibration (ideal for rectified pixels), else the field-of-view guess when
        there is none, warned about once per reason; a broken one is a drop with its reason."""
        try:
            model, _ = camera_from_info(info, size, None)
        except CalibrationError as error:
            if error.reason not in _FALLBACK_REASONS:
                raise InputRejected(error.reason, str(error)) from error
            model, why = camera_from_info(info, size, self.params.fallback_horizontal_fov)
            if error.reason not in self._warned:
                self._warned.add(error.reason)
                source = (
                    "use_camera_info is false"
                    if info is None
                    else f"CameraInfo on {self.camera_info_topic}"
                )
                self.get_logger().warning(
                    f"{source}: {why} (fallback_horizontal_fov). Metric 3D is only as right as "
                    "this guess; calibrate the camera for real intrinsics. Warned once."
                )
            return model
        return CameraModel(model.camera) if self._rectified else model

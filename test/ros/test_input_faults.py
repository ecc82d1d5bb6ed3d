"""Inputs a hostile or broken camera sends: floods, bad stamps, broken calibrations. Every image
an ImageNode takes must end as exactly one of processed, superseded or dropped with a named
reason, and none of them may corrupt the latency statistics or publish a result."""

import math
import time

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from rosutil import CameraProbe, RosHarness, wait_for
from std_msgs.msg import Header

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import numpy_to_image
from handperception.ros.node_base import ImageNode
from handperception.ros.stamps import stamp_problem

CAMERA = PinholeCamera.from_fov(32, 24, 60.0)
NS = 1_000_000_000


class CountingNode(ImageNode):
    """Counts the frames it is handed, taking ``delay`` seconds over each (a model's time)."""

    def __init__(self, delay: float = 0.0, **kwargs):
        super().__init__("counting", **kwargs)
        self.delay, self.frames, self.stamps = delay, 0, []

    def on_frame(self, frame):
        time.sleep(self.delay)
        self.frames += 1
        self.stamps.append(frame.header.stamp.sec)


@pytest.fixture
def harness():
    ros = RosHarness()
    yield ros
    ros.close()


def _start(ros, delay=0.0, overrides=()):
    node = ros.add(
        CountingNode(
            delay,
            context=ros.context,
            parameter_overrides=list(overrides),
            cli_args=["--ros-args", "-r", "image:=/camera/image_raw"],
        )
    )
    probe = ros.add(Node("probe", context=ros.context))
    camera = CameraProbe(probe, CAMERA)
    assert wait_for(lambda: camera.matched() and node.is_active)
    return node, probe, camera


def _header(ns: int, nanosec: int | None = None) -> Header:
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = divmod(ns, NS)
    if nanosec is not None:
        header.stamp.nanosec = nanosec
    return header


def _send(camera, header, info=True, encoding="rgb8"):
    if info:
        camera.infos.publish(camera_info_msg(CAMERA, header))
    image = numpy_to_image(np.zeros((24, 32, 3), np.uint8), "rgb8", header)
    image.encoding = encoding
    camera.images.publish(image)


def _accounted(node) -> bool:
    snapshot = node.stats.snapshot()
    return snapshot.received == snapshot.count + snapshot.dropped


def test_stamp_problems():
    now = 1_700_000_000 * NS
    ok = _header(now - NS // 10).stamp
    assert stamp_problem(ok, now) is None
    assert stamp_problem(_header(now + NS).stamp, now) is None  # 1 s of clock skew is tolerated
    assert "ahead" in stamp_problem(_header(now + NS + 1).stamp, now)
    assert "zero" in stamp_problem(_header(0).stamp, now)
    assert "negative" in stamp_problem(_header(-5 * NS).stamp, now)
    assert "nanosec" in stamp_problem(_header(now, nanosec=NS).stamp, now)
    # a sim clock before its first /clock message reads 0: nothing is in the future yet
    assert stamp_problem(_header(now + 3600 * NS).stamp, 0) is None
    assert stamp_problem(_header(1).stamp, 0) is None  # 1 ns after the start of sim time


@pytest.mark.slow
def test_a_flood_of_images_is_accounted_for_exactly(harness):
    """300 images as fast as they can be sent, some of them bad, into a node taking 5 ms a
    frame: received = processed + superseded + every other drop, exactly."""
    node, _, camera = _start(harness, delay=0.005)
    _send(camera, _header(NS))  # the first CameraInfo, so that images pair from the start
    assert wait_for(lambda: node.frames == 1)
    sent = {"bad_stamp": 0, "bad_image": 0, "no_info": 0}
    for sec in range(2, 302):
        if sec % 23 == 0:
            _send(camera, _header(0), info=False)
            sent["bad_stamp"] += 1
        elif sec % 17 == 0:
            _send(camera, _header(sec * NS), encoding="rgba8")  # 3-channel rows called 4
            sent["bad_image"] += 1
        else:
            _send(camera, _header(sec * NS), info=sec % 11 != 0)
            sent["no_info"] += sec % 11 == 0
        time.sleep(0.002)  # 500 Hz: faster than the node, slow enough for the node to take many
    time.sleep(0.5)
    # One more good frame, sent once things are quiet: its CameraInfo ends any image's wait.
    _send(camera, _header(400 * NS))
    assert wait_for(lambda: 400 in node.stamps, 10)
    assert wait_for(lambda: _accounted(node), 10)
    snapshot = node.stats.snapshot()
    drops = dict(snapshot.drops)
    assert snapshot.count == node.frames  # processed: what on_frame was handed
    assert snapshot.received == node.frames + sum(drops.values())
    assert node.frames_handled == snapshot.received  # what a batch run waits on
    assert set(drops) <= {"superseded", "bad_stamp", "bad_image", "unpaired_camera_info"}
    # best-effort depth-1 images may be lost before the node takes them (never counted: not
    # received), so the counts are at most what was sent
    assert 0 < drops.get("bad_stamp", 0) <= sent["bad_stamp"]
    assert drops.get("bad_image", 0) <= sent["bad_image"]
    assert drops.get("unpaired_camera_info", 0) <= sent["no_info"]
    assert snapshot.received <= 302 and snapshot.count >= 2
    assert snapshot.latency_max_ms < 1e15  # stamps of 1 s: 56 years, but never a zero stamp's


def test_bad_stamps_are_dropped_and_never_reach_the_latency_statistics(harness):
    node, probe, camera = _start(harness)
    now = probe.get_clock().now().nanoseconds
    _send(camera, _header(now - NS // 100))  # 10 ms old
    assert wait_for(lambda: node.frames == 1)
    for count, header in enumerate(
        (
            _header(0),  # unset
            _header(now + 3600 * NS),  # an hour ahead
            _header(now, nanosec=1_500_000_000),  # not a time
        ),
        start=1,
    ):
        _send(camera, header)  # one at a time: a depth-1 subscription keeps only the newest
        assert wait_for(lambda count=count: node.stats.snapshot().drops.get("bad_stamp") == count)
    now = probe.get_clock().now().nanoseconds
    _send(camera, _header(now - NS // 100))
    assert wait_for(lambda: node.frames == 2)
    snapshot = node.stats.snapshot()
    assert snapshot.count == 2 and snapshot.received == 5 and snapshot.dropped == 3
    assert 0 < snapshot.latency_max_ms < 5_000  # the two good frames' own latencies


def test_with_sim_time_stamps_are_judged_by_the_sim_clock(harness):
    node, probe, camera = _start(harness, overrides=[Parameter("use_sim_time", value=True)])
    clock = probe.create_publisher(Clock, "/clock", 10)
    _send(camera, _header(40 * NS))  # no /clock yet: processed, no latency to record
    assert wait_for(lambda: node.frames == 1)
    assert math.isnan(node.stats.snapshot().latency_max_ms)
    assert wait_for(
        lambda: (
            clock.publish(Clock(clock=_header(50 * NS).stamp))
            or (node.get_clock().now().nanoseconds == 50 * NS)
        )
    )
    _send(camera, _header(100 * NS + 1))  # 50 s ahead of the sim clock
    assert wait_for(lambda: node.stats.snapshot().drops.get("bad_stamp") == 1)
    _send(camera, _header(50 * NS - NS // 4))  # a quarter of a simulated second old
    assert wait_for(lambda: node.frames == 2)
    assert node.stats.snapshot().latency_max_ms == pytest.approx(250.0)


def _with(values, index, value):
    values = list(values)
    values[index] = value
    return values


K, P = list(camera_info_msg(CAMERA).k), list(camera_info_msg(CAMERA).p)
# CAMERA is 32 pixels wide: focal lengths from 1.6 to 3200 px are accepted
BROKEN_CALIBRATIONS = [
    ("camera_info_non_finite", dict(k=_with(K, 0, math.nan))),
    ("camera_info_non_finite", dict(k=_with(K, 4, math.inf))),
    ("camera_info_non_finite", dict(p=_with(P, 0, math.nan))),
    ("camera_info_non_finite", dict(p=_with(P, 3, math.inf))),
    ("camera_info_bad_focal", dict(k=_with(K, 0, -27.7))),
    ("camera_info_bad_focal", dict(k=_with(K, 0, 1e-6), p=_with(P, 0, 1e-6))),
    ("camera_info_bad_focal", dict(k=_with(K, 0, 1.5))),  # 0.047 widths
    ("camera_info_bad_focal", dict(k=_with(K, 4, 3300.0))),  # 103 widths
    ("camera_info_bad_focal", dict(p=_with(P, 5, 1e12))),  # K is fine, P is not
    ("camera_info_bad_principal_point", dict(k=_with(K, 2, 49.0))),  # 32 + 16 = 48 the most
    ("camera_info_bad_principal_point", dict(p=_with(P, 6, -12.5))),  # -12 the least
    ("camera_info_malformed", dict(k=_with(K, 8, 0.0))),
]


@pytest.mark.parametrize("pixels", ["raw", "rectified"])
def test_a_broken_calibration_is_a_drop_with_its_reason_and_one_warning(harness, capfd, pixels):
    node, _, camera = _start(harness, overrides=[Parameter("image_pixels", value=pixels)])
    sec = 1
    for _, fields in BROKEN_CALIBRATIONS:
        for _ in range(3):
            header = _header(sec * NS)
            info = camera_info_msg(CAMERA, header)
            for key, value in fields.items():
                setattr(info, key, value)
            camera.infos.publish(info)
            camera.images.publish(numpy_to_image(np.zeros((24, 32, 3), np.uint8), "rgb8", header))
            assert wait_for(lambda sec=sec: node.stats.snapshot().dropped == sec)
            sec += 1
    snapshot = node.stats.snapshot()
    expected = {}
    for reason, _ in BROKEN_CALIBRATIONS:
        expected[reason] = expected.get(reason, 0) + 3
    assert snapshot.drops == expected and snapshot.received == sec - 1
    assert node.frames == 0 and snapshot.count == 0
    log = capfd.readouterr().err
    for reason in expected:  # one line per reason, not one per frame; never a traceback
        assert log.count(f"dropped input ({reason})") == 1, reason
    assert "Traceback" not in log and "ERROR" not in log
    _send(camera, _header(sec * NS))  # a good calibration again: frames go through
    assert wait_for(lambda: node.frames == 1)

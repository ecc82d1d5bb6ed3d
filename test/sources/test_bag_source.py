"""Replaying a bag (``bag:<path>``): the recorded frames in order, with their recorded stamps,
frame_id and calibration, paced by the recording; a clear error when the image topic is unclear.

Bags are written with the recorder's own writer from CDR that rosbags serializes (no rclpy)."""

import cv2
import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from handperception.geometry.camera import CameraModel, PinholeCamera
from handperception.ros.bag import BagWriter
from handperception.sources import open_source
from handperception.sources.bag import BagSource, camera_info_topic

TYPES = get_typestore(Stores.ROS2_KILTED)
T = TYPES.types
IMAGE, INFO = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
K = np.array([100.0, 0, 15.5, 0, 101.0, 11.5, 0, 0, 1])
D = np.array([-0.1, 0.01, 0.0, 0.0, 0.0])
START_NS = 1_700_000_000 * 10**9  # stamps and log times: a 10 Hz camera
PERIOD_NS = 100_000_000


def header(stamp_ns: int, frame_id: str = "left_optical"):
    time = T["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return T["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)


def image(rgb: np.ndarray, stamp_ns: int):
    height, width, _ = rgb.shape
    message = T[IMAGE](header(stamp_ns), height, width, "rgb8", 0, width * 3, rgb.ravel())
    return bytes(TYPES.serialize_cdr(message, IMAGE))


def camera_info(stamp_ns: int, k: np.ndarray = K, width: int = 32, height: int = 24):
    roi = T["sensor_msgs/msg/RegionOfInterest"](0, 0, 0, 0, False)
    p = np.hstack([k.reshape(3, 3), np.zeros((3, 1))]).ravel()
    message = T[INFO](
        header(stamp_ns), height, width, "plumb_bob", D, k, np.eye(3).ravel(), p, 0, 0, roi
    )
    return bytes(TYPES.serialize_cdr(message, INFO))


def frames(n: int = 5) -> list[np.ndarray]:
    return list(np.random.default_rng(0).integers(0, 256, (n, 24, 32, 3), dtype=np.uint8))


def write_bag(path, topics: dict[str, str], messages: list[tuple[str, bytes, int]]):
    writer = BagWriter(path)
    for topic, full_type in topics.items():
        writer.add_topic(topic, full_type)
    for topic, data, log_ns in messages:
        writer.write(topic, data, log_ns)
    writer.close()
    return path


@pytest.fixture
def camera_bag(tmp_path):
    """5 rgb8 images and their CameraInfo, each info logged just after its image."""
    messages = []
    for i, rgb in enumerate(frames()):
        stamp = START_NS + i * PERIOD_NS
        messages.append(("/left/image_raw", image(rgb, stamp), stamp + 5_000_000))
        messages.append(("/left/camera_info", camera_info(stamp), stamp + 6_000_000))
    topics = {"/left/image_raw": IMAGE, "/left/camera_info": INFO, "/hands": INFO}
    return write_bag(tmp_path / "recording", topics, messages)


def test_bag_source_replays_recorded_frames_stamps_and_calibration(camera_bag):
    source = open_source(f"bag:{camera_bag}")
    assert isinstance(source, BagSource)
    replayed = [source.read_recorded() for _ in range(5)]
    assert source.read_recorded() is None and source.read() is None
    source.close()
    for i, (frame, rgb) in enumerate(zip(replayed, frames())):
        np.testing.assert_array_equal(frame.rgb, rgb)
        assert frame.stamp_ns == START_NS + i * PERIOD_NS
        assert frame.frame_id == "left_optical"
        # the first image, logged before any CameraInfo, gets the first one too
        np.testing.assert_allclose(frame.camera.raw.matrix.ravel(), K)
        assert frame.camera.distortion == tuple(D)
        assert frame.due_s == pytest.approx(i * 0.1)
    assert (source.camera.width, source.camera.height) == (32, 24)


def test_rate_loop_and_a_bag_directory_opened_by_path(camera_bag):
    source = open_source(str(camera_bag), loop=True, rate=2.0)
    replayed = [source.read_recorded() for _ in range(12)]
    source.close()
    assert [f.stamp_ns for f in replayed] == [START_NS + (i % 5) * PERIOD_NS for i in range(12)]
    np.testing.assert_array_equal(replayed[5].rgb, replayed[0].rgb)
    # twice as fast; the second pass starts one frame interval after the first one's last frame
    assert [f.due_s for f in replayed] == pytest.approx([i * 0.05 for i in range(12)])


def test_image_topic_must_be_clear(tmp_path, camera_bag):
    with pytest.raises(ValueError, match=r"no image topic '/right/image_raw' .*/left/image_raw"):
        BagSource(camera_bag, image_topic="/right/image_raw")
    two = write_bag(tmp_path / "two", {"/left/image_raw": IMAGE, "/right/image_raw": IMAGE}, [])
    with pytest.raises(ValueError, match=r"2 .* topics \(/left/image_raw, /right/image_raw\)"):
        BagSource(two)
    none = write_bag(tmp_path / "none", {"/left/camera_info": INFO}, [])
    with pytest.raises(ValueError, match=r"no sensor_msgs/msg/Image .* topics \(none\)"):
        BagSource(none)
    with pytest.raises(ValueError, match="does not exist"):
        open_source(f"bag:{tmp_path / 'missing'}")


def test_compressed_images_uncalibrated_info_and_bare_mcap(tmp_path):
    """A png CompressedImage (lossless) decodes to the recorded pixels; an all-zero K (a driver
    without calibration) gives the horizontal_fov guess, as for videos; a camera_info_url
    calibration replaces the recorded one."""
    rgb = frames(1)[0]
    _, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    compressed = T[COMPRESSED](header(START_NS), "rgb8; png compressed bgr8", png.ravel())
    messages = [
        ("/cam/image_raw/compressed", bytes(TYPES.serialize_cdr(compressed, COMPRESSED)), 1),
        ("/cam/camera_info", camera_info(START_NS, np.zeros(9)), 2),
    ]
    bag = write_bag(
        tmp_path / "compressed",
        {"/cam/image_raw/compressed": COMPRESSED, "/cam/camera_info": INFO},
        messages,
    )
    source = BagSource(next(bag.glob("*.mcap")), horizontal_fov_deg=90.0)
    frame = source.read_recorded()
    source.close()
    np.testing.assert_array_equal(frame.rgb, rgb)
    assert frame.camera.camera.fx == pytest.approx(16.0)  # 32 px wide, 90 deg
    calibration = PinholeCamera(50.0, 50.0, 16.0, 12.0, 32, 24)
    calibrated = open_source(str(bag), camera=calibration)
    assert calibrated.read_recorded().camera == CameraModel(calibration)
    calibrated.close()


def test_camera_info_topic_beside_the_image():
    assert camera_info_topic("/cam/image_raw") == "/cam/camera_info"
    assert camera_info_topic("/cam/image_raw/compressed") == "/cam/camera_info"
    assert camera_info_topic("/image") == "/camera_info"

"""What real camera drivers send: packed YUV, Bayer mosaics, compressed frames, calibrations that
are missing or broken, and distorted lenses (issue #13, the part without ROS nodes)."""

import struct
import zlib

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from handperception.geometry import camera as geometry
from handperception.geometry.camera import CalibrationError, CameraModel, PinholeCamera
from handperception.msgconv import images
from handperception.msgconv.camera_info import (
    CAMERA_INFO_MISMATCH,
    NO_CAMERA_INFO,
    camera_from_info,
    camera_info_msg,
)
from handperception.msgconv.images import (
    BAD_IMAGE,
    TOO_LARGE,
    UNSUPPORTED_ENCODING,
    ImageConversionError,
    compressed_to_rgb8,
    image_to_rgb8,
    numpy_to_image,
    rgb8_to_compressed,
)

FLAT_COLOURS = [(200, 100, 30), (0, 0, 255), (255, 255, 255), (0, 0, 0)]


def _flat(colour, height=8, width=10) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, 3)).copy()


def _smooth(height=24, width=32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    channels = [40 + 5 * x, 30 + 6 * y, 200 - 3 * x - 2 * y]
    return np.stack(channels, axis=2).clip(0, 255).astype(np.uint8)


def _padded(msg: Image, extra: int) -> Image:
    """The same image with ``extra`` bytes of 0xFF padding after each row."""
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    padding = np.full((msg.height, extra), 0xFF, np.uint8)
    msg.data = np.hstack([rows, padding]).tobytes()
    msg.step += extra
    return msg


# -- Bayer ------------------------------------------------------------------------------------
def _mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """What a sensor behind a ``pattern`` colour filter (ROS naming: the top-left 2x2 block,
    row by row) records of ``rgb``: built by hand, independently of OpenCV."""
    mosaic = np.empty(rgb.shape[:2], rgb.dtype)
    for index, colour in enumerate(pattern):
        dy, dx = divmod(index, 2)
        mosaic[dy::2, dx::2] = rgb[dy::2, dx::2, "rgb".index(colour)]
    return mosaic


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
@pytest.mark.parametrize("colour", FLAT_COLOURS[:2])
def test_every_bayer_pattern_gives_back_the_colour(pattern, colour):
    rgb = _flat(colour)
    decoded = image_to_rgb8(numpy_to_image(_mosaic(rgb, pattern), f"bayer_{pattern}8"))
    np.testing.assert_array_equal(decoded[1:-1, 1:-1], rgb[1:-1, 1:-1])
    # 16 bits: 257 * v is v in 8 bits
    wide = _mosaic(rgb.astype(np.uint16) * 257, pattern)
    decoded = image_to_rgb8(numpy_to_image(wide, f"bayer_{pattern}16"))
    np.testing.assert_array_equal(decoded[1:-1, 1:-1], rgb[1:-1, 1:-1])


def test_bayer_with_padded_rows_and_big_endian_16_bit():
    rgb = _flat(FLAT_COLOURS[0])
    msg = numpy_to_image(_mosaic(rgb, "rggb"), "bayer_rggb8")
    np.testing.assert_array_equal(image_to_rgb8(_padded(msg, 6))[1:-1, 1:-1], rgb[1:-1, 1:-1])
    wide = _mosaic(rgb.astype(np.uint16) * 257, "grbg")
    msg = Image(height=8, width=10, encoding="bayer_grbg16", is_bigendian=1, step=20)
    msg.data = wide.astype(">u2").tobytes()
    np.testing.assert_array_equal(image_to_rgb8(msg)[1:-1, 1:-1], rgb[1:-1, 1:-1])


# -- YUV 4:2:2 --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "encoding, row",
    [
        ("yuv422", [128, 16, 128, 235]),  # UYVY: U Y0 V Y1
        ("uyvy", [128, 16, 128, 235]),
        ("yuv422_yuy2", [16, 128, 235, 128]),  # YUYV: Y0 U Y1 V
        ("yuyv", [16, 128, 235, 128]),
    ],
)
def test_yuv422_byte_order_hand_packed(encoding, row):
    """Video-range BT.601: Y = 16 is black, Y = 235 white, U = V = 128 no colour."""
    msg = Image(height=1, width=2, encoding=encoding, step=4, data=bytes(row))
    np.testing.assert_array_equal(image_to_rgb8(msg), [[[0, 0, 0], [255, 255, 255]]])


def test_yuv422_chroma_hand_computed():
    y, u, v = 82, 90, 240  # a saturated red in video-range BT.601
    expected = [
        1.164 * (y - 16) + 1.596 * (v - 128),
        1.164 * (y - 16) - 0.813 * (v - 128) - 0.391 * (u - 128),
        1.164 * (y - 16) + 2.018 * (u - 128),
    ]
    msg = Image(height=1, width=2, encoding="yuv422", step=4, data=bytes([u, y, v, y]))
    decoded = image_to_rgb8(msg)
    np.testing.assert_allclose(decoded[0, 0], np.clip(expected, 0, 255), atol=1)
    np.testing.assert_array_equal(decoded[0, 0], decoded[0, 1])


@pytest.mark.parametrize(
    "encoding, code",
    [("yuv422", cv2.COLOR_RGB2YUV_UYVY), ("yuv422_yuy2", cv2.COLOR_RGB2YUV_YUY2)],
)
def test_yuv422_round_trips_from_rgb(encoding, code):
    # A flat colour loses nothing to chroma subsampling; these colours are also exact in 8-bit YUV.
    for colour in [(128, 128, 128), *FLAT_COLOURS[1:]]:
        rgb = _flat(colour)
        np.testing.assert_array_equal(
            image_to_rgb8(numpy_to_image(cv2.cvtColor(rgb, code), encoding)), rgb
        )
    # Any flat colour: every pixel alike, within 8-bit YUV rounding.
    rgb = _flat(FLAT_COLOURS[0])
    decoded = image_to_rgb8(numpy_to_image(cv2.cvtColor(rgb, code), encoding))
    assert np.all(decoded == decoded[0, 0]) and np.abs(decoded.astype(int) - rgb).max() <= 2
    # A smooth image: one U and V per two pixels costs a few levels; padded rows are skipped.
    rgb = _smooth()
    msg = _padded(numpy_to_image(cv2.cvtColor(rgb, code), encoding), 4)
    error = np.abs(image_to_rgb8(msg).astype(int) - rgb)
    assert error.max() <= 6 and error.mean() < 2


def test_yuv422_of_odd_width_is_a_bad_image():
    msg = Image(height=1, width=3, encoding="yuv422", step=6, data=bytes(6))
    with pytest.raises(ImageConversionError, match="3 pixels wide") as raised:
        image_to_rgb8(msg)
    assert raised.value.reason == BAD_IMAGE


def test_sixteen_bit_colour_is_scaled_to_eight_bits():
    rgb = _smooth()
    wide = rgb.astype(np.uint16) * 257
    np.testing.assert_array_equal(image_to_rgb8(numpy_to_image(wide[..., ::-1], "bgr16")), rgb)
    np.testing.assert_array_equal(image_to_rgb8(numpy_to_image(wide, "rgb16")), rgb)


def test_conversion_errors_carry_their_reason():
    msg = numpy_to_image(_smooth(), "rgb8")
    msg.encoding = "nv21"
    with pytest.raises(ImageConversionError) as raised:
        image_to_rgb8(msg)
    assert raised.value.reason == UNSUPPORTED_ENCODING
    msg = Image(width=100000, height=100000, encoding="mono8", step=100000)
    with pytest.raises(ImageConversionError) as raised:
        image_to_rgb8(msg)
    assert raised.value.reason == TOO_LARGE


# -- CompressedImage --------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_png_is_exact_and_jpeg_close():
    rgb = _smooth()
    png = rgb8_to_compressed(rgb, fmt="png")
    assert png.format == "rgb8; png compressed bgr8"
    np.testing.assert_array_equal(compressed_to_rgb8(png), rgb)
    jpeg = rgb8_to_compressed(rgb, quality=95)
    assert jpeg.format == "rgb8; jpeg compressed bgr8"
    assert np.abs(compressed_to_rgb8(jpeg).astype(int) - rgb).mean() < 3


def test_grey_png_and_an_rgb_ordered_encoder_give_rgb():
    grey = _smooth()[:, :, 0]
    ok, data = cv2.imencode(".png", grey)
    msg = CompressedImage(format="mono8; png compressed mono8", data=data.tobytes())
    np.testing.assert_array_equal(compressed_to_rgb8(msg), np.repeat(grey[:, :, None], 3, 2))
    # A publisher that hands its rgb8 array to the encoder as is says so in the format.
    rgb = _smooth()
    ok, data = cv2.imencode(".png", rgb)
    msg = CompressedImage(format="rgb8; png compressed rgb8", data=data.tobytes())
    np.testing.assert_array_equal(compressed_to_rgb8(msg), rgb)


def test_huge_header_is_refused_before_decoding(monkeypatch):
    header = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)  # 8-bit RGB, 1e10 pixels
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b"")
    assert len(data) < 100

    def never(*_):
        raise AssertionError("decoded a frame that should have been refused from its header")

    monkeypatch.setattr(images.cv2, "imdecode", never)
    with pytest.raises(ImageConversionError) as raised:
        compressed_to_rgb8(CompressedImage(format="png", data=data))
    assert raised.value.reason == TOO_LARGE
    # The caller's own limit, below Pillow's: a 32x24 frame against 500 pixels.
    with pytest.raises(ImageConversionError, match="32x24") as raised:
        compressed_to_rgb8(rgb8_to_compressed(_smooth(), fmt="png"), max_pixels=500)
    assert raised.value.reason == TOO_LARGE


def test_corrupt_or_unsupported_compressed_data():
    png = bytearray(rgb8_to_compressed(_smooth(), fmt="png").data)
    start = png.find(b"IDAT") + 8
    png[start : start + 40] = bytes(b ^ 0x55 for b in png[start : start + 40])
    cases = [
        ("jpeg", b"not a jpeg at all", BAD_IMAGE),
        ("png", bytes(png), BAD_IMAGE),  # a valid header, then a corrupt body
        ("png", b"", BAD_IMAGE),
        ("16UC1; compressedDepth png", bytes(png), UNSUPPORTED_ENCODING),
        ("theora", b"x", UNSUPPORTED_ENCODING),
    ]
    for fmt, data, reason in cases:
        with pytest.raises(ImageConversionError) as raised:
            compressed_to_rgb8(CompressedImage(format=fmt, data=data))
        assert raised.value.reason == reason, (fmt, raised.value)


# -- calibrations -----------------------------------------------------------------------------
CAMERA = PinholeCamera(500.0, 510.0, 320.0, 240.0, 640, 480)
SIZE = (640, 480)


def _info(**fields) -> CameraInfo:
    info = camera_info_msg(CAMERA)
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def test_a_valid_calibration_is_used_as_is():
    model, why = camera_from_info(_info(), SIZE, 60.0)
    assert why is None and model.camera == CAMERA and model.is_ideal


def test_uncalibrated_driver_falls_back_to_the_field_of_view_with_a_reason():
    model, why = camera_from_info(_info(k=[0.0] * 9, p=[0.0] * 12), SIZE, 90.0)
    assert model.camera == PinholeCamera.from_fov(640, 480, 90.0) and model.is_ideal
    assert model.camera.fx == pytest.approx(320.0)
    assert geometry.UNCALIBRATED in why and "90 deg" in why
    model, why = camera_from_info(None, SIZE, 60.0)
    assert NO_CAMERA_INFO in why and model.camera == PinholeCamera.from_fov(640, 480, 60.0)


def _with(values, index, value):
    values = list(values)
    values[index] = value
    return values


K, P = list(camera_info_msg(CAMERA).k), list(camera_info_msg(CAMERA).p)


@pytest.mark.parametrize(
    "fields, reason",
    [
        (dict(k=_with(K, 0, float("nan"))), geometry.NON_FINITE),
        (dict(p=_with(P, 5, float("inf"))), geometry.NON_FINITE),
        (dict(d=[0.1, float("nan"), 0, 0, 0]), geometry.NON_FINITE),
        (dict(k=[0.0] * 9), geometry.UNCALIBRATED),
        (dict(k=_with(K, 0, -500.0)), geometry.BAD_FOCAL),
        (dict(k=_with(K, 4, 0.5)), geometry.BAD_FOCAL),
        (dict(p=_with(P, 0, 2e6)), geometry.BAD_FOCAL),
        (dict(k=_with(K, 2, 2000.0)), geometry.BAD_PRINCIPAL_POINT),
        (dict(p=_with(P, 6, -300.0)), geometry.BAD_PRINCIPAL_POINT),
        (dict(k=_with(K, 8, 0.0)), geometry.MALFORMED),
        (dict(r=[1.0, 0, 0, 0, 1, 0, 0, 0, 2]), geometry.MALFORMED),
        (dict(d=[0.1, 0, 0], distortion_model="plumb_bob"), geometry.MALFORMED),
        (dict(d=[0.1], distortion_model="kannala_brandt"), geometry.UNSUPPORTED_DISTORTION),
        (dict(width=320, height=240), CAMERA_INFO_MISMATCH),
    ],
)
def test_unusable_calibrations_raise_their_reason_without_a_fallback(fields, reason):
    with pytest.raises(CalibrationError) as raised:
        camera_from_info(_info(**fields), SIZE, None)
    assert raised.value.reason == reason, raised.value
    model, why = camera_from_info(_info(**fields), SIZE, 60.0)
    assert reason in why and model.is_ideal


def test_pinhole_from_camera_info_refuses_an_infinite_p():
    with pytest.raises(CalibrationError, match="CameraInfo.p contains NaN"):
        PinholeCamera.from_camera_info(_info(p=_with(P, 0, float("inf"))))


def test_zero_r_and_an_unknown_model_without_distortion_are_accepted():
    model, why = camera_from_info(_info(r=[0.0] * 9, d=[], distortion_model=""), SIZE, None)
    assert why is None and model.is_ideal


def test_field_of_view_must_be_an_angle_a_lens_has():
    with pytest.raises(ValueError, match="field of view"):
        camera_from_info(None, SIZE, 180.0)


# -- distortion -------------------------------------------------------------------------------
POINTS = np.random.default_rng(0).uniform([-0.5, -0.35, 1.0], [0.5, 0.35, 1.0], (200, 3))
POINTS *= np.random.default_rng(1).uniform(0.3, 2.0, (200, 1))  # 3D, within a 53x39 deg view


def _round_tripped(model: CameraModel) -> CameraModel:
    """The model as a driver would send it, read back: tests the message fields too."""
    info = camera_info_msg(model)
    again, why = camera_from_info(info, SIZE, None)
    assert why is None and again == model
    return again


@pytest.mark.parametrize(
    "model_name, d",
    [
        ("plumb_bob", (-0.28, 0.07, 0.001, -0.0005, 0.0)),
        ("rational_polynomial", (-0.3, 0.1, 0.0005, 0.0002, -0.01, 0.02, 0.01, 0.005)),
    ],
)
def test_undistort_inverts_opencv_projection(model_name, d):
    model = _round_tripped(CameraModel(CAMERA, CAMERA, d, model_name))
    distorted, _ = cv2.projectPoints(POINTS, np.zeros(3), np.zeros(3), CAMERA.matrix, np.array(d))
    ideal = model.undistort(distorted.reshape(-1, 2))
    np.testing.assert_allclose(ideal, CAMERA.project(POINTS), atol=1e-3)
    assert np.abs(distorted.reshape(-1, 2) - ideal).max() > 10  # the lens matters here


def test_undistort_equidistant_and_into_a_rectified_camera():
    d = (0.05, -0.01, 0.002, -0.0005)
    rectified = PinholeCamera(420.0, 420.0, 330.0, 235.0, 640, 480)  # P differs from K
    model = _round_tripped(CameraModel(rectified, CAMERA, d, "equidistant"))
    distorted, _ = cv2.fisheye.projectPoints(
        POINTS[:, None], np.zeros(3), np.zeros(3), CAMERA.matrix, np.array(d)
    )
    np.testing.assert_allclose(
        model.undistort(distorted.reshape(-1, 2)), rectified.project(POINTS), atol=1e-3
    )


def test_undistort_applies_the_stereo_rectification():
    rotation, _ = cv2.Rodrigues(np.array([0.01, -0.02, 0.005]))
    d = (-0.1, 0.01, 0.0, 0.0, 0.0)
    model = _round_tripped(CameraModel(CAMERA, CAMERA, d, "plumb_bob", tuple(rotation.ravel())))
    distorted, _ = cv2.projectPoints(POINTS, np.zeros(3), np.zeros(3), CAMERA.matrix, np.array(d))
    expected = CAMERA.project(POINTS @ rotation.T)  # the rectified frame sees R X
    np.testing.assert_allclose(model.undistort(distorted.reshape(-1, 2)), expected, atol=1e-3)


def test_zero_distortion_is_the_identity():
    pixels = CAMERA.project(POINTS).reshape(10, 20, 2)
    for model in [_round_tripped(CameraModel(CAMERA, CAMERA, (0.0,) * 5)), CameraModel(CAMERA)]:
        np.testing.assert_array_equal(model.undistort(pixels), pixels)
    assert model.undistort(np.zeros((0, 2))).shape == (0, 2)
    with pytest.raises(ValueError, match="NaN"):
        model.undistort([[np.nan, 1.0]])

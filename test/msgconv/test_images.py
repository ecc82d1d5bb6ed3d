import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from handperception.msgconv.images import (
    ENCODINGS,
    ImageConversionError,
    compressed_to_numpy,
    image_to_numpy,
    image_to_rgb8,
    numpy_to_compressed,
    numpy_to_image,
)

RNG = np.random.default_rng(0)


def _random(encoding, height=7, width=5):
    dtype, channels = ENCODINGS[encoding]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype == np.float32:
        return RNG.normal(size=shape).astype(np.float32)
    return RNG.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_round_trip_every_encoding(encoding):
    array = _random(encoding)
    msg = numpy_to_image(array, encoding)
    assert msg.step == array.shape[1] * array.itemsize * (1 if array.ndim == 2 else array.shape[2])
    np.testing.assert_array_equal(image_to_numpy(msg), array)


def test_padded_rows_and_big_endian_are_read_correctly():
    array = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    # 2 bytes of padding per row
    msg = Image(height=3, width=4, encoding="16UC1", is_bigendian=1, step=10)
    rows = [
        np.concatenate([row.astype(">u2").view(np.uint8), np.zeros(2, np.uint8)]) for row in array
    ]
    msg.data = np.concatenate(rows).tobytes()
    np.testing.assert_array_equal(image_to_numpy(msg), array)


def test_colour_encodings_convert_to_rgb():
    rgb = _random("rgb8")
    np.testing.assert_array_equal(
        image_to_rgb8(numpy_to_image(rgb[:, :, ::-1].copy(), "bgr8")), rgb
    )
    bgra = np.concatenate([rgb[:, :, ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(image_to_rgb8(numpy_to_image(bgra, "bgra8")), rgb)
    gray = _random("mono8")
    np.testing.assert_array_equal(
        image_to_rgb8(numpy_to_image(gray, "mono8")), np.repeat(gray[:, :, None], 3, 2)
    )
    with pytest.raises(ImageConversionError, match="not a colour image"):
        image_to_rgb8(numpy_to_image(_random("32FC1"), "32FC1"))


@pytest.mark.parametrize(
    "fields, message, reason",
    [
        (dict(encoding="nv21"), "unsupported image encoding 'nv21'", "unsupported_encoding"),
        (dict(height=0), "empty image", "bad_image"),
        (dict(step=10), "step 10 is smaller than one row", "bad_image"),
        (dict(height=5), "data has 105 bytes but step\\*height", "bad_image"),
        (dict(width=100000, height=100000, step=300000), "exceeds", "too_large"),
    ],
)
def test_inconsistent_images_are_rejected_with_the_reason(fields, message, reason):
    msg = numpy_to_image(_random("rgb8"), "rgb8")
    for key, value in fields.items():
        setattr(msg, key, value)
    with pytest.raises(ImageConversionError, match=message) as raised:
        image_to_numpy(msg)
    assert raised.value.reason == reason


def test_numpy_to_image_rejects_mismatched_arrays():
    with pytest.raises(ImageConversionError, match="dtype"):
        numpy_to_image(np.zeros((4, 4, 3), np.float32), "rgb8")
    with pytest.raises(ImageConversionError, match="shape"):
        numpy_to_image(np.zeros((4, 4), np.uint8), "rgb8")
    with pytest.raises(ImageConversionError, match="empty"):
        numpy_to_image(np.zeros((0, 4, 3), np.uint8), "rgb8")


def test_png_is_lossless_for_colour_and_depth():
    rgb = _random("rgb8", 16, 16)
    decoded, encoding = compressed_to_numpy(numpy_to_compressed(rgb, "rgb8", "png"))
    assert encoding == "bgr8"
    np.testing.assert_array_equal(decoded[:, :, ::-1], rgb)
    depth = _random("16UC1", 16, 16)
    decoded, encoding = compressed_to_numpy(numpy_to_compressed(depth, "16UC1", "png"))
    assert encoding == "16UC1"
    np.testing.assert_array_equal(decoded, depth)
    # 16-bit colour: image_transport's rgb16 is handed to the encoder as is, and says so
    wide = _random("rgb16", 16, 16)
    msg = numpy_to_compressed(wide, "rgb16", "png")
    assert msg.format == "rgb16; png compressed rgb16"
    decoded, encoding = compressed_to_numpy(msg)
    assert encoding == "rgb16"
    np.testing.assert_array_equal(decoded, wide)


def test_jpeg_is_close_and_rejects_bad_data():
    smooth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    rgb = np.stack([smooth, smooth[:, ::-1], np.full_like(smooth, 128)], axis=2)
    decoded, _ = compressed_to_numpy(numpy_to_compressed(rgb, "rgb8", "jpeg", quality=95))
    assert np.abs(decoded[:, :, ::-1].astype(int) - rgb).mean() < 3
    with pytest.raises(ImageConversionError, match="could not decode"):
        compressed_to_numpy(CompressedImage(format="jpeg", data=b"not a jpeg at all"))
    with pytest.raises(ImageConversionError, match="unsupported compressed format"):
        compressed_to_numpy(CompressedImage(format="theora", data=b"x"))
    with pytest.raises(ImageConversionError, match="8-bit"):
        numpy_to_compressed(_random("16UC1"), "16UC1", "jpeg")
    with pytest.raises(ImageConversionError, match="to_rgb8 first"):
        numpy_to_compressed(_random("yuv422"), "yuv422", "png")

"""sensor_msgs/Image and CompressedImage <-> numpy.

Why not cv_bridge: it is not available for ROS 2 outside a ROS install, and PyPI's ROS 1
``cv-bridge`` silently corrupts 16-bit images and fails under numpy 2 (see shared notes). These
few functions validate every field of the message instead of trusting it, because a malformed
image from a driver must become a clear error, never garbage pixels. Pixel formats are converted
by OpenCV (the same ``cvtColor`` codes cv_bridge uses), never by hand.
"""

from __future__ import annotations

import io
import sys

import cv2
import numpy as np
import PIL.Image
from sensor_msgs.msg import CompressedImage, Image

# Why an ImageConversionError was raised: short codes a node counts its drops by.
BAD_IMAGE = "bad_image"  # inconsistent fields, corrupt or empty data
TOO_LARGE = "too_large"  # more pixels than the caller's limit
UNSUPPORTED_ENCODING = "unsupported_encoding"  # an encoding or format this module cannot read

_U8, _U16 = np.dtype(np.uint8), np.dtype(np.uint16)
_BAYER = ("rggb", "bggr", "gbrg", "grbg")  # colour filter patterns, named from the top-left pixel
# encoding -> (numpy dtype, channels). Packed YUV 4:2:2 has two bytes per pixel (a luma byte and
# every other pixel's U or V), which OpenCV reads as a two-channel image.
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (_U8, 3),
    "bgr8": (_U8, 3),
    "rgba8": (_U8, 4),
    "bgra8": (_U8, 4),
    "mono8": (_U8, 1),
    "8UC1": (_U8, 1),
    "8UC3": (_U8, 3),
    "rgb16": (_U16, 3),
    "bgr16": (_U16, 3),
    "mono16": (_U16, 1),
    "16UC1": (_U16, 1),
    "32FC1": (np.dtype(np.float32), 1),
    "uyvy": (_U8, 2),
    "yuv422": (_U8, 2),
    "yuyv": (_U8, 2),
    "yuv422_yuy2": (_U8, 2),
    **{
        f"bayer_{p}{bits}": (dtype, 1) for p in _BAYER for bits, dtype in (("8", _U8), ("16", _U16))
    },
}

# How each colour encoding becomes RGB (None: already RGB). ROS's "yuv422" is UYVY and
# "yuv422_yuy2" is YUYV (the older names of "uyvy" and "yuyv"). OpenCV 5's four-letter Bayer
# codes name the pattern from the top-left pixel, as ROS does (its two-letter codes are offset:
# RGGB is BayerBG); test_images.py checks every pattern against a mosaic of a known image.
_TO_RGB = {
    "rgb8": None,
    "rgb16": None,
    "bgr8": cv2.COLOR_BGR2RGB,
    "bgr16": cv2.COLOR_BGR2RGB,
    "8UC3": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "mono16": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
    **{
        f"bayer_{p}{bits}": getattr(cv2, f"COLOR_Bayer{p.upper()}2RGB")
        for p in _BAYER
        for bits in ("8", "16")
    },
}
_CHROMA_PAIRS = ("uyvy", "yuv422", "yuyv", "yuv422_yuy2")  # U and V shared by two pixels

MAX_PIXELS = 8192 * 8192
_HOST_BIG_ENDIAN = sys.byteorder == "big"


class ImageConversionError(ValueError):
    """An image message that cannot be turned into pixels (or pixels into a message).

    ``reason`` (BAD_IMAGE, TOO_LARGE or UNSUPPORTED_ENCODING) is what a node counts the drop as.
    """

    def __init__(self, detail: str, reason: str = BAD_IMAGE):
        super().__init__(detail)
        self.reason = reason


def image_to_numpy(msg: Image) -> np.ndarray:
    """(H, W) or (H, W, C) array viewing a sensor_msgs/Image, in its own encoding.

    Raises ImageConversionError naming the problem for an unknown encoding, an empty or huge
    image, or a step/data size inconsistent with width, height and encoding.
    """
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}' (supported: {', '.join(ENCODINGS)})",
            UNSUPPORTED_ENCODING,
        )
    dtype, channels = ENCODINGS[encoding]
    height, width = int(msg.height), int(msg.width)
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if height * width > MAX_PIXELS:
        raise ImageConversionError(
            f"image of {width}x{height} exceeds the {MAX_PIXELS}-pixel limit", TOO_LARGE
        )
    row_bytes = width * channels * dtype.itemsize
    step = int(msg.step)
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than one row of {width} {encoding} pixels ({row_bytes} bytes)"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != step * height:
        raise ImageConversionError(
            f"data has {data.size} bytes but step*height is {step}*{height}={step * height}"
        )
    rows = data.reshape(height, step)[:, :row_bytes]
    array = np.ascontiguousarray(rows).view(dtype) if step != row_bytes else rows.view(dtype)
    if dtype.itemsize > 1 and bool(msg.is_bigendian) != _HOST_BIG_ENDIAN:
        array = array.byteswap()
    shape = (height, width) if channels == 1 else (height, width, channels)
    return array.reshape(shape)


def _checked_array(array: np.ndarray, encoding: str) -> np.ndarray:
    """``array`` as the dtype and shape ``encoding`` stores, or ImageConversionError."""
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"unsupported image encoding '{encoding}'", UNSUPPORTED_ENCODING)
    dtype, channels = ENCODINGS[encoding]
    array = np.asarray(array)
    if array.dtype != dtype:
        raise ImageConversionError(f"encoding {encoding} needs dtype {dtype}, got {array.dtype}")
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim == 3 and channels == 1 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ImageConversionError(
            f"encoding {encoding} needs shape (H, W{'' if channels == 1 else f', {channels}'}), "
            f"got {array.shape}"
        )
    if array.size == 0:
        raise ImageConversionError("empty image")
    return array


def numpy_to_image(array: np.ndarray, encoding: str, header=None) -> Image:
    """A sensor_msgs/Image holding ``array`` (which must already match ``encoding``)."""
    array = _checked_array(array, encoding)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(_HOST_BIG_ENDIAN)
    dtype, channels = ENCODINGS[encoding]
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg


def to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a colour, mono, YUV 4:2:2 or Bayer image, what the
    models take. 16-bit images are scaled to 8 bits (65535 -> 255), as cv_bridge does."""
    if encoding not in _TO_RGB:
        raise ImageConversionError(
            f"encoding '{encoding}' is not a colour image; colour models need one of "
            f"{', '.join(_TO_RGB)}",
            UNSUPPORTED_ENCODING,
        )
    if encoding in _CHROMA_PAIRS and array.shape[1] % 2:
        raise ImageConversionError(
            f"{encoding} pairs pixels for chroma, but the image is {array.shape[1]} pixels wide"
        )
    code = _TO_RGB[encoding]
    rgb = np.ascontiguousarray(array) if code is None else cv2.cvtColor(array, code)
    return rgb if rgb.dtype == np.uint8 else cv2.convertScaleAbs(rgb, alpha=255 / 65535)


def image_to_rgb8(msg: Image) -> np.ndarray:
    """The (H, W, 3) uint8 RGB pixels of a sensor_msgs/Image in any encoding ``to_rgb8`` reads."""
    return to_rgb8(image_to_numpy(msg), msg.encoding)


def _stores_rgb_order(fmt: str) -> bool:
    """Whether a CompressedImage's pixels were encoded from an RGB-ordered array.

    image_transport's ``format`` is "<encoding>; <codec> compressed <target>": the target is the
    channel order handed to the encoder, which image_transport makes bgr8/bgr16 so the file holds
    true colours; a publisher that encodes its rgb8 array as is says "compressed rgb8", and its
    file holds red and blue swapped.
    """
    _, _, target = fmt.lower().partition("compressed ")
    return target.strip().startswith("rgb")


def _checked_compressed(msg: CompressedImage, max_pixels: int) -> np.ndarray:
    """The bytes of a jpeg or png CompressedImage whose header declares at most ``max_pixels``.

    Why read the header first: decoding allocates what the header declares, so a few bytes
    claiming 100000x100000 pixels would cost 30 GB before any check on the decoded array.
    Pillow's ``Image.open`` reads only the header; it also refuses anything but JPEG and PNG,
    so OpenCV never runs one of its other decoders on data from the network.
    """
    fmt = msg.format.lower()
    if "compresseddepth" in fmt or not any(codec in fmt for codec in ("jpeg", "jpg", "png")):
        raise ImageConversionError(
            f"unsupported compressed format '{msg.format}' (jpeg or png)", UNSUPPORTED_ENCODING
        )
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size == 0:
        raise ImageConversionError("empty compressed image")
    try:
        with PIL.Image.open(io.BytesIO(buffer), formats=("JPEG", "PNG")) as header:
            width, height = header.size
    except PIL.Image.DecompressionBombError as error:
        raise ImageConversionError(f"{msg.format} header: {error}", TOO_LARGE) from error
    except OSError as error:
        raise ImageConversionError(
            f"could not decode {msg.format} data ({buffer.size} bytes): {error}"
        ) from error
    if width * height > max_pixels:
        raise ImageConversionError(
            f"{msg.format} image of {width}x{height} exceeds the {max_pixels}-pixel limit",
            TOO_LARGE,
        )
    return buffer


def _decode(buffer: np.ndarray, flags: int, fmt: str) -> np.ndarray:
    array = cv2.imdecode(buffer, flags)
    if array is None:
        raise ImageConversionError(f"could not decode {fmt} data ({buffer.size} bytes)")
    return array


def compressed_to_rgb8(msg: CompressedImage, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The (H, W, 3) uint8 RGB pixels of a jpeg or png sensor_msgs/CompressedImage.

    What image_transport's ``compressed`` transport publishes; grey and 16-bit images become
    8-bit RGB. Raises ImageConversionError: UNSUPPORTED_ENCODING for another format (theora,
    compressedDepth, ...), TOO_LARGE when the header declares more than ``max_pixels`` (checked
    before decoding), BAD_IMAGE for corrupt data.
    """
    buffer = _checked_compressed(msg, max_pixels)
    # IMREAD_COLOR_BGR hands back the file's channels in stored order: the RGB array a
    # "compressed rgb8" publisher encoded. EXIF orientation is ignored (IMREAD_UNCHANGED ignores
    # it too), because camera_info's calibration describes the pixels as the camera wrote them.
    order = cv2.IMREAD_COLOR_BGR if _stores_rgb_order(msg.format) else cv2.IMREAD_COLOR_RGB
    return _decode(buffer, order | cv2.IMREAD_IGNORE_ORIENTATION, msg.format)


def compressed_to_numpy(
    msg: CompressedImage, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, str]:
    """Decode a jpeg/png CompressedImage, keeping depth and channels (16-bit depth PNGs).

    Returns (array, encoding): mono8, 16UC1, or bgr8, bgra8, bgr16 (rgb... when the format
    says the encoder was given RGB order). Raises like ``compressed_to_rgb8``.
    """
    array = _decode(_checked_compressed(msg, max_pixels), cv2.IMREAD_UNCHANGED, msg.format)
    wide = array.dtype == np.uint16
    if array.ndim == 2:
        return array, "16UC1" if wide else "mono8"
    order = "rgb" if _stores_rgb_order(msg.format) else "bgr"
    return array, order + ("a" if array.shape[2] == 4 else "") + ("16" if wide else "8")


def numpy_to_compressed(
    array: np.ndarray, encoding: str, fmt: str = "jpeg", header=None, quality: int = 90
) -> CompressedImage:
    """Encode an array to a CompressedImage (image_transport's format string convention:
    colour is handed to the encoder in BGR order, so the file holds true colours)."""
    if fmt not in ("jpeg", "png"):
        raise ImageConversionError(
            f"unsupported compressed format '{fmt}' (jpeg or png)", UNSUPPORTED_ENCODING
        )
    array = _checked_array(array, encoding)
    if encoding in _CHROMA_PAIRS:
        raise ImageConversionError(
            f"{encoding} cannot be compressed as is; convert it with to_rgb8 first",
            UNSUPPORTED_ENCODING,
        )
    to_bgr = {"rgb8": cv2.COLOR_RGB2BGR, "rgba8": cv2.COLOR_RGBA2BGRA}
    pixels = cv2.cvtColor(array, to_bgr[encoding]) if encoding in to_bgr else array
    if fmt == "jpeg" and pixels.dtype != np.uint8:
        raise ImageConversionError("jpeg holds 8-bit images only; use png for 16-bit depth")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpeg" else []
    ok, buffer = cv2.imencode("." + ("jpg" if fmt == "jpeg" else "png"), pixels, params)
    if not ok:
        raise ImageConversionError(
            f"OpenCV could not encode a {pixels.shape} {pixels.dtype} image as {fmt}"
        )
    target = {"rgb8": "bgr8", "rgba8": "bgra8"}.get(encoding, encoding)
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = f"{encoding}; {fmt} compressed {target}"
    msg.data = buffer.tobytes()
    return msg


def rgb8_to_compressed(
    rgb: np.ndarray, header=None, fmt: str = "jpeg", quality: int = 90
) -> CompressedImage:
    """An (H, W, 3) uint8 RGB frame as a jpeg or png CompressedImage ("rgb8; jpeg compressed
    bgr8"), what a camera source publishes on a ``compressed`` topic."""
    return numpy_to_compressed(rgb, "rgb8", fmt, header, quality)

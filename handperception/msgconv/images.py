"""sensor_msgs/Image and CompressedImage <-> numpy.

Why not cv_bridge: it is not available for ROS 2 outside a ROS install, and PyPI's ROS 1
``cv-bridge`` silently corrupts 16-bit images and fails under numpy 2 (see shared notes). These
few functions validate every field of the message instead of trusting it, because a malformed
image from a driver must become a clear error, never garbage pixels.
"""
from __future__ import annotations

import sys

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

# encoding -> (numpy dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "8UC3": (np.dtype(np.uint8), 3),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}

# How each colour encoding becomes RGB (None: already RGB).
_TO_RGB = {
    "rgb8": None,
    "bgr8": cv2.COLOR_BGR2RGB,
    "8UC3": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
}

MAX_PIXELS = 8192 * 8192
_HOST_BIG_ENDIAN = sys.byteorder == "big"


class ImageConversionError(ValueError):
    """An image message that cannot be turned into pixels (or pixels into a message)."""


def image_to_numpy(msg: Image) -> np.ndarray:
    """(H, W) or (H, W, C) array viewing a sensor_msgs/Image, in its own encoding.

    Raises ImageConversionError naming the problem for an unknown encoding, an empty or huge
    image, or a step/data size inconsistent with width, height and encoding.
    """
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}' (supported: {', '.join(ENCODINGS)})"
        )
    dtype, channels = ENCODINGS[encoding]
    height, width = int(msg.height), int(msg.width)
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if height * width > MAX_PIXELS:
        raise ImageConversionError(f"image of {width}x{height} exceeds the {MAX_PIXELS}-pixel limit")
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


def numpy_to_image(array: np.ndarray, encoding: str, header=None) -> Image:
    """A sensor_msgs/Image holding ``array`` (which must already match ``encoding``)."""
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"unsupported image encoding '{encoding}'")
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
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(_HOST_BIG_ENDIAN)
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg


def to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a colour or mono8 image, what the models take."""
    if encoding not in _TO_RGB:
        raise ImageConversionError(
            f"encoding '{encoding}' is not a colour image; colour models need one of {', '.join(_TO_RGB)}"
        )
    code = _TO_RGB[encoding]
    return np.ascontiguousarray(array) if code is None else cv2.cvtColor(array, code)


def image_to_rgb8(msg: Image) -> np.ndarray:
    return to_rgb8(image_to_numpy(msg), msg.encoding)


def compressed_to_numpy(msg: CompressedImage) -> tuple[np.ndarray, str]:
    """Decode a jpeg/png CompressedImage; returns (array, encoding) with encoding bgr8, mono8 or 16UC1."""
    fmt = msg.format.lower()
    if "jpeg" not in fmt and "jpg" not in fmt and "png" not in fmt:
        raise ImageConversionError(f"unsupported compressed format '{msg.format}' (jpeg or png)")
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size == 0:
        raise ImageConversionError("empty compressed image")
    array = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageConversionError(f"could not decode {msg.format} data ({buffer.size} bytes)")
    if array.ndim == 2:
        return array, "16UC1" if array.dtype == np.uint16 else "mono8"
    if array.shape[2] == 4:
        return array, "bgra8"
    return array, "bgr8"


def numpy_to_compressed(array: np.ndarray, encoding: str, fmt: str = "jpeg", header=None, quality: int = 90) -> CompressedImage:
    """Encode an array to a CompressedImage (image_transport's format string convention)."""
    if fmt not in ("jpeg", "png"):
        raise ImageConversionError(f"unsupported compressed format '{fmt}' (jpeg or png)")
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"unsupported image encoding '{encoding}'")
    to_bgr = {"rgb8": cv2.COLOR_RGB2BGR, "rgba8": cv2.COLOR_RGBA2BGRA}
    pixels = cv2.cvtColor(array, to_bgr[encoding]) if encoding in to_bgr else array
    if fmt == "jpeg" and pixels.dtype != np.uint8:
        raise ImageConversionError("jpeg holds 8-bit images only; use png for 16-bit depth")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpeg" else []
    ok, buffer = cv2.imencode("." + ("jpg" if fmt == "jpeg" else "png"), pixels, params)
    if not ok:
        raise ImageConversionError(f"OpenCV could not encode a {pixels.shape} {pixels.dtype} image as {fmt}")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = f"{encoding}; {fmt} compressed {'bgr8' if encoding in ('rgb8', 'bgr8') else encoding}"
    msg.data = buffer.tobytes()
    return msg

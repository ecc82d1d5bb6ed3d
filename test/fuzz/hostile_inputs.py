"""Hypothesis strategies for what a hostile or broken camera driver can send an image node.

Why a module of its own: every image node is fuzzed with the same inputs (the harness finds the
nodes from NODE_KINDS), so a new node gets them all without new code, and a new kind of bad
input added here reaches every node. Each ``FuzzInput`` carries a short ``label`` naming what is
wrong with it, which is what a report shows (the messages themselves can be 100 MB).

The weights are deliberate: a third of the inputs are well-formed, so that they reach the
pipeline (what it does with noise, odd sizes and intrinsics is what is checked there); the rest
are wrong in one aspect or two, so that each check a node makes is reached on its own.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import PIL.Image
from hypothesis import strategies as st
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from handperception.geometry.camera import PinholeCamera
from handperception.msgconv.camera_info import camera_info_msg
from handperception.msgconv.images import ENCODINGS

UINT32_MAX = 2**32 - 1
INT32_MAX = 2**31 - 1
FRAME_ID = "camera_optical_frame"
MISMATCHED_SEC = 12345  # the stamp of a CameraInfo that belongs to no image
BOGUS_ENCODINGS = ("", "RGB8", "rgb8 ", "jpeg", "bayer_xyzw8", "16FC3", "64FC1", "rgb\x00", "ü")
HOSTILE_FLOATS = (
    float("nan"),
    float("inf"),
    -float("inf"),
    0.0,
    -1.0,
    1e-300,
    1e-3,
    1e7,
    1e300,
    -1e300,
)
# Well-formed sizes worth a special case: a pixel, a strip, the 3x7 noise image that once gave
# a hand behind the camera, a common camera.
SPECIAL_SIZES = ((1, 1), (7, 3), (1, 64), (64, 1), (2, 2), (640, 480))


@dataclass
class FuzzInput:
    """One image (raw or compressed) and how its CameraInfo goes with it.

    ``info`` None: no CameraInfo is sent; ``info_late``: it is sent after the image. ``stamp``
    is "now" (stamped when sent, so latency is meaningful) or an explicit (sec, nanosec).
    ``paired``: whether a CameraInfo with the image's stamp is sent at all (the harness stamps
    both alike when it sends them), i.e. whether the node can account for the image at once
    (else it waits in the synchroniser).
    """

    image: Image | CompressedImage
    info: CameraInfo | None
    info_late: bool
    stamp: tuple[int, int] | None
    frame_id: str
    label: str

    @property
    def paired(self) -> bool:
        return self.info is not None and self.info.header.stamp.sec != MISMATCHED_SEC


def _noise(seed: int, size: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _row_bytes(encoding: str, width: int) -> int:
    dtype, channels = ENCODINGS.get(encoding, (np.dtype(np.uint8), 3))
    return width * channels * dtype.itemsize


@st.composite
def raw_images(draw, faults: frozenset = frozenset()) -> tuple[Image, str, tuple[int, int]]:
    """A sensor_msgs/Image of a valid encoding, size, step and length, but for its ``faults``:
    a bogus ``encoding``, a ``size`` of zero or billions, a wrong ``step``, ``data`` cut short,
    too long or empty."""
    valid = st.sampled_from(["rgb8"] * 6 + sorted(ENCODINGS))
    bogus = st.one_of(st.sampled_from(BOGUS_ENCODINGS), st.text(max_size=12))
    encoding = draw(bogus if "encoding" in faults else valid)
    size_kind = draw(st.sampled_from(["zero", "declared_huge"] if "size" in faults else
                                     ["small"] * 4 + ["special"]))  # fmt: skip
    if size_kind == "small":
        width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    elif size_kind == "special":
        width, height = draw(st.sampled_from(SPECIAL_SIZES))
    elif size_kind == "zero":
        width, height = draw(st.sampled_from([(0, 0), (0, 16), (16, 0)]))
    else:  # a header claiming more pixels than any camera, with a few bytes behind it
        width, height = draw(st.integers(8193, UINT32_MAX)), draw(st.integers(8193, UINT32_MAX))
    row = _row_bytes(encoding, width)
    step_kind = draw(st.sampled_from(["zero", "short", "huge", "any"] if "step" in faults else
                                     ["right"] * 4 + ["padded"]))  # fmt: skip
    step = {
        "right": row,
        "zero": 0,
        "short": max(row - 1, 0),
        "padded": row + draw(st.integers(1, 16)),
        "huge": UINT32_MAX,
        "any": draw(st.integers(0, UINT32_MAX)),
    }[step_kind]
    step = min(step, UINT32_MAX)
    exact = step * height if size_kind != "declared_huge" else 0
    exact = exact if exact <= 4_000_000 else 0  # a wrong step must not ask for gigabytes
    data_kind = draw(st.sampled_from(["truncated", "oversized", "empty"] if "data" in faults
                                     else ["exact"]))  # fmt: skip
    length = {
        "exact": exact,
        "truncated": draw(st.integers(0, max(exact - 1, 0))),
        "oversized": exact + draw(st.integers(1, 4096)),
        "empty": 0,
    }[data_kind]
    image = Image(height=height, width=width, encoding=encoding, step=step)
    image.is_bigendian = draw(st.sampled_from([0, 0, 0, 1]))
    pixels = draw(st.sampled_from(["noise", "noise", "black", "white"]))
    if pixels == "noise":
        image.data = _noise(draw(st.integers(0, 2**32 - 1)), length)
    else:
        image.data = bytes([0 if pixels == "black" else 255]) * length
    label = (
        f"raw {encoding!r} {width}x{height} step={step_kind}({step}) data={data_kind}({length}) "
        f"{pixels}{' bigendian' if image.is_bigendian else ''}"
    )
    return image, label, (width, height)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height and whose one IDAT holds a few zero rows:
    the shape of a decompression bomb, without its cost to build."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (min(width, 4096) * 3 + 1) * 4)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _encoded(seed: int, width: int, height: int, fmt: str) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


@st.composite
def compressed_images(draw, faults: frozenset = frozenset()) -> tuple[CompressedImage, str, tuple]:
    """A sensor_msgs/CompressedImage, a small JPEG or PNG but for its ``faults``: a ``format``
    other than those, or ``bytes`` truncated, random, empty, or a header declaring a huge image
    (a decompression bomb)."""
    fmt = draw(
        st.sampled_from(
            ["theora", "", "16UC1; compressedDepth png", "gif"]
            if "format" in faults
            else ["jpeg", "png", "rgb8; jpeg compressed bgr8", "bgr8; png compressed bgr8", "jpg"]
        )
    )
    kind = draw(
        st.sampled_from(
            ["truncated", "garbage", "bomb", "empty"] if "bytes" in faults else ["valid"]
        )
    )
    codec = "PNG" if "png" in fmt else "JPEG"
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    seed = draw(st.integers(0, 2**32 - 1))
    if kind == "valid":
        data = _encoded(seed, width, height, codec)
    elif kind == "truncated":
        whole = _encoded(seed, width, height, codec)
        data = whole[: draw(st.integers(0, len(whole) - 1))]
    elif kind == "garbage":
        data = _noise(seed, draw(st.integers(1, 4096)))
    elif kind == "bomb":
        side = draw(st.sampled_from([9000, 20000, 100000, 2**31 - 1]))
        data = _png_header_only(side, side)
        width = height = side
    else:
        data = b""
    label = f"compressed {fmt!r} {kind} {width}x{height} ({len(data)} bytes)"
    return CompressedImage(format=fmt, data=data), label, (width, height)


def _camera(width: int, height: int, fov: float) -> PinholeCamera:
    return PinholeCamera.from_fov(max(width, 1), max(height, 1), fov)


@st.composite
def camera_infos(
    draw, width: int, height: int, faulty: bool = False
) -> tuple[CameraInfo | None, bool, str]:
    """The image's CameraInfo (any field of view, or all zeros: uncalibrated, sent before the
    image or just after it); ``faulty``: missing, of another size, or broken in K, P, D or R."""
    kind = draw(
        st.sampled_from(
            ["missing", "other_size", "bad_k", "bad_p", "bad_d", "bad_r", "absurd_focal"]
            if faulty
            else ["match"] * 6 + ["late", "zeros"]
        )
    )
    if kind == "missing":
        return None, False, "no camera_info"
    fov = draw(st.floats(1.0, 179.0))
    info = camera_info_msg(_camera(width, height, fov))
    label = f"camera_info {kind}"
    if kind == "zeros":
        info.k, info.p = [0.0] * 9, [0.0] * 12
    elif kind == "other_size":
        info.width, info.height = width + 1, height
    elif kind in ("bad_k", "bad_p"):
        field = kind[-1].lower()
        values = list(getattr(info, field))
        indices = draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=3))
        for index in indices:
            values[index] = draw(st.sampled_from(HOSTILE_FLOATS))
        setattr(info, field, values)
        label += f" {field}[{indices}]={[values[i] for i in indices]}"
    elif kind == "absurd_focal":
        focal = draw(st.sampled_from([1e-9, 1e-3, 0.5, 2e6, 1e9, 1e300]))
        k, p = list(info.k), list(info.p)
        k[0] = k[4] = p[0] = p[5] = focal
        info.k, info.p = k, p
        label += f" f={focal:g}"
    elif kind == "bad_d":
        info.distortion_model = draw(
            st.sampled_from(["plumb_bob", "rational_polynomial", "equidistant", "", "fisheye?"])
        )
        count = draw(st.integers(0, 16))
        info.d = [draw(st.sampled_from(HOSTILE_FLOATS)) for _ in range(count)]
        label += f" {info.distortion_model!r} d={list(info.d)}"
    elif kind == "bad_r":
        info.r = [draw(st.sampled_from(HOSTILE_FLOATS)) for _ in range(9)]
    return info, kind == "late", label


@st.composite
def stamps(draw, faulty: bool = False) -> tuple[tuple[int, int] | None, str]:
    """ "now"; ``faulty``: zero, negative, the future, or a nanosec field of a second or more."""
    kind = draw(
        st.sampled_from(["zero", "future", "far_future", "nanosec", "neg"] if faulty else ["now"])
    )
    stamp = {
        "now": None,
        "zero": (0, 0),
        "future": (2_000_000_000, 0),  # 2033
        "far_future": (INT32_MAX, 999_999_999),
        "nanosec": (1_700_000_000, draw(st.integers(1_000_000_000, UINT32_MAX))),
        "neg": (-1, 0),
    }[kind]
    return stamp, "" if stamp is None else f"stamp {kind}{stamp}"


RAW_FAULTS = ("encoding", "size", "step", "data", "camera_info", "stamp", "frame_id")
COMPRESSED_FAULTS = ("format", "bytes", "camera_info", "stamp", "frame_id")


@st.composite
def fuzz_inputs(draw, transport: str = "raw") -> FuzzInput:
    """One input for an image node taking ``transport`` (raw or compressed): a third are
    well-formed (odd sizes, encodings and intrinsics, so the pipeline runs on them), the rest
    wrong in one aspect or two (RAW_FAULTS, COMPRESSED_FAULTS)."""
    aspects = RAW_FAULTS if transport == "raw" else COMPRESSED_FAULTS
    count = draw(st.sampled_from([0, 0, 1, 1, 1, 2]))
    faults = frozenset(
        draw(st.lists(st.sampled_from(aspects), min_size=count, max_size=count, unique=True))
    )
    images = raw_images(faults) if transport == "raw" else compressed_images(faults)
    image, label, (width, height) = draw(images)
    info, late, info_label = draw(camera_infos(width, height, "camera_info" in faults))
    stamp, stamp_label = draw(stamps("stamp" in faults))
    frame_id = draw(
        st.sampled_from(["", "/camera", "a b", "x" * 300] if "frame_id" in faults else [FRAME_ID])
    )
    labels = [label, info_label, stamp_label, "" if frame_id == FRAME_ID else f"frame {frame_id!r}"]
    if info is not None and "camera_info" in faults and draw(st.integers(0, 4)) == 0:
        info.header.stamp.sec = MISMATCHED_SEC
        labels.append("camera_info stamp mismatched")
    return FuzzInput(image, info, late, stamp, frame_id, "; ".join(x for x in labels if x))


def large_inputs() -> list[FuzzInput]:
    """The few large inputs sent to every node once (too slow to draw often): a real 8K frame,
    an image at the pixel limit, and declared sizes far past it."""
    cases = []
    for width, height, encoding in ((7680, 4320, "rgb8"), (8192, 8192, "mono8")):
        _, channels = ENCODINGS[encoding]
        image = Image(height=height, width=width, encoding=encoding, step=width * channels)
        image.data = bytes(width * height * channels)
        info = camera_info_msg(_camera(width, height, 60.0))
        label = f"raw {encoding} {width}x{height} ({len(image.data) >> 20} MiB)"
        cases.append(FuzzInput(image, info, False, None, FRAME_ID, label))
    image = Image(height=100_000, width=100_000, encoding="rgb8", step=300_000, data=b"\x00" * 10)
    cases.append(FuzzInput(image, None, False, None, FRAME_ID, "raw declared 100000x100000"))
    return cases

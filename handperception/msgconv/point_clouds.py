"""sensor_msgs/PointCloud2 <-> (N, 3) numpy points.

Why here and not sensor_msgs_py: sensor_msgs_py (``point_cloud2``) has no PyPI wheel. A
cloud's fields are described in the message (name, offset, datatype), so reading x, y and z is
one numpy structured view; like ``msgconv.images`` every field is checked against the data
first, because a malformed cloud from a driver must become a clear error, never garbage points.
"""

from __future__ import annotations

import sys

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

BAD_CLOUD = "bad_cloud"  # fields, sizes or data that do not agree
_FLOAT_TYPES = {PointField.FLOAT32: "f4", PointField.FLOAT64: "f8"}
_HOST_BIG_ENDIAN = sys.byteorder == "big"


class PointCloudError(ValueError):
    """A PointCloud2 whose x, y, z cannot be read; ``reason`` is what a node counts it as."""

    def __init__(self, detail: str, reason: str = BAD_CLOUD):
        super().__init__(detail)
        self.reason = reason


def cloud_to_points(msg: PointCloud2) -> np.ndarray:
    """(N, 3) float64 x, y, z of every point of a cloud (organised or not), NaN kept (a
    driver's "no return"). PointCloudError for missing or non-float x/y/z fields or data whose
    size disagrees with width, height, point_step and row_step."""
    fields = {field.name: field for field in msg.fields}
    missing = [name for name in "xyz" if name not in fields]
    if missing:
        raise PointCloudError(f"PointCloud2 has no field {', '.join(missing)}")
    width, height = int(msg.width), int(msg.height)
    step, row_step = int(msg.point_step), int(msg.row_step)
    if row_step < width * step:
        raise PointCloudError(f"row_step {row_step} is below width {width} x point_step {step}")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != row_step * height:
        raise PointCloudError(
            f"data has {data.size} bytes but row_step*height is {row_step}*{height}"
        )
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for name in "xyz":
        field = fields[name]
        kind = _FLOAT_TYPES.get(field.datatype)
        if kind is None or field.count != 1:
            raise PointCloudError(f"field {name} must be one FLOAT32 or FLOAT64")
        if field.offset + int(kind[1]) > step:
            raise PointCloudError(f"field {name} lies beyond point_step {step}")
        names.append(name)
        formats.append(order + kind)
        offsets.append(field.offset)
    layout = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": step})
    rows = data.reshape(height, row_step)[:, : width * step] if height else data[:0]
    points = np.ascontiguousarray(rows).view(layout).reshape(-1)
    return np.stack([points[name].astype(np.float64) for name in "xyz"], axis=1)


def points_to_cloud(points: np.ndarray, header=None) -> PointCloud2:
    """An unorganised (height 1) cloud of x, y, z float32 from (N, 3) metres."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1:] != (3,):
        raise ValueError(f"points must be (N, 3), got {points.shape}")
    msg = PointCloud2()
    if header is not None:
        msg.header = header
    msg.height, msg.width = 1, len(points)
    msg.fields = [
        PointField(name=name, offset=4 * i, datatype=PointField.FLOAT32, count=1)
        for i, name in enumerate("xyz")
    ]
    msg.is_bigendian = _HOST_BIG_ENDIAN
    msg.point_step, msg.row_step = 12, 12 * len(points)
    msg.is_dense = bool(np.isfinite(points).all())
    msg.data = np.ascontiguousarray(points).tobytes()
    return msg

"""PinholeCamera -> sensor_msgs/CameraInfo (the reverse is PinholeCamera.from_camera_info)."""
from __future__ import annotations

from sensor_msgs.msg import CameraInfo

from handperception.geometry.camera import PinholeCamera


def camera_info_msg(camera: PinholeCamera, header=None) -> CameraInfo:
    """A rectified (plumb_bob, zero distortion) CameraInfo with K, R = I and P = [K | 0]."""
    info = CameraInfo()
    if header is not None:
        info.header = header
    info.width, info.height = camera.width, camera.height
    info.distortion_model = "plumb_bob"
    info.d = [0.0] * 5
    info.k = [camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info

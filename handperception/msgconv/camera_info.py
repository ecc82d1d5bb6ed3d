"""sensor_msgs/CameraInfo <-> the camera models of ``geometry.camera``.

Why a fallback lives here: many drivers publish an all-zero or broken CameraInfo until someone
calibrates them, and a node that drops every frame for it is useless, while one that silently
guesses intrinsics reports wrong metres. ``camera_from_info`` makes the choice explicit: the
calibration when it can be trusted, else a field-of-view guess with the reason to warn about,
else an error naming the reason.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo

from handperception.geometry.camera import CalibrationError, CameraModel, PinholeCamera

# Reasons of the CalibrationError raised here, besides those of geometry.camera.
NO_CAMERA_INFO = "no_camera_info"  # no CameraInfo arrived with the image
CAMERA_INFO_MISMATCH = "camera_info_mismatch"  # calibrated for another size (binning, ROI)


def camera_info_msg(camera: PinholeCamera | CameraModel, header=None) -> CameraInfo:
    """A CameraInfo describing ``camera``.

    A PinholeCamera is an ideal (rectified) camera: plumb_bob with zero distortion, K, R = I and
    P = [K | 0]. A CameraModel also gives its raw K, distortion and R, with P = [camera | 0].
    """
    model = camera if isinstance(camera, CameraModel) else CameraModel(camera)
    ideal, raw = model.camera, model.raw
    info = CameraInfo()
    if header is not None:
        info.header = header
    info.width, info.height = ideal.width, ideal.height
    info.distortion_model = model.distortion_model
    info.d = list(model.distortion) if model.distortion else [0.0] * 5
    info.k = raw.matrix.ravel().tolist()
    rectification = np.eye(3).ravel() if model.rectification is None else model.rectification
    info.r = [float(value) for value in rectification]
    info.p = np.hstack([ideal.matrix, np.zeros((3, 1))]).ravel().tolist()
    return info


def _calibrated(info: CameraInfo | None, width: int, height: int) -> CameraModel:
    if info is None:
        raise CalibrationError(NO_CAMERA_INFO, "no CameraInfo came with the image")
    model = CameraModel.from_camera_info(info)
    if (model.camera.width, model.camera.height) != (width, height):
        raise CalibrationError(
            CAMERA_INFO_MISMATCH,
            f"CameraInfo is {model.camera.width}x{model.camera.height} but the image is "
            f"{width}x{height}",
        )
    return model


def camera_from_info(
    info: CameraInfo | None, image_size: tuple[int, int], fallback_fov_deg: float | None
) -> tuple[CameraModel, str | None]:
    """The camera model for an image of ``image_size`` (width, height) and its CameraInfo.

    Returns (model, None) when ``info`` is a usable calibration for an image of this size, and
    otherwise, with a ``fallback_fov_deg``, (the centred camera with that horizontal field of
    view, the reason in words, for a warning). Without a fallback, raises CalibrationError
    whose ``reason`` is NO_CAMERA_INFO, CAMERA_INFO_MISMATCH or one of geometry.camera's.
    ``info`` is None when the node does not use camera_info.
    """
    width, height = image_size
    try:
        return _calibrated(info, width, height), None
    except CalibrationError as error:
        if fallback_fov_deg is None:
            raise
        camera = PinholeCamera.from_fov(width, height, fallback_fov_deg)
        why = (
            f"{error} ({error.reason}); assuming a {fallback_fov_deg:g} deg horizontal field "
            "of view and no distortion"
        )
        return CameraModel(camera), why

"""Pinhole camera model: how pixels map to rays, through crops and resizes.

Why its own module: metric 3D needs the *real* intrinsics of the robot's camera (users'
most common complaint about hand trackers is a hard-coded focal length), and crops, resizes and
the synthetic renderer must all agree on how pixels map to rays.
Convention (OpenCV): the centre of pixel (0, 0) is at (0.0, 0.0); camera optical frame
x right, y down, z forward, metres.
A real camera's calibration (sensor_msgs/CameraInfo: K, D, R, P) is checked before it is
trusted (``checked_pinhole``, ``CameraModel.from_camera_info``), and its lens distortion is
removed from keypoints (``CameraModel.undistort``) rather than from whole images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from handperception.validation import float_array

# Focal lengths, in image widths, outside which a calibration is a unit or field-order bug, not a
# lens: 0.05 widths is a 169 deg horizontal field of view (fisheyes beyond are equidistant
# models with a larger f), 100 widths 0.57 deg (narrower than any telescope camera on a robot).
# Relative to the width, because pixels are: fx = 1e6 is absurd for 64 pixels (joints published
# kilometres away) and merely long for 8K.
MIN_FOCAL_WIDTHS = 0.05
MAX_FOCAL_WIDTHS = 100.0
# The principal point lies within the image, give or take half its size (an off-centre crop of a
# larger sensor); farther is another resolution's calibration.
PRINCIPAL_POINT_MARGIN = 0.5

# Why a calibration was refused (CalibrationError.reason): short codes a node counts drops by.
UNCALIBRATED = "camera_info_uncalibrated"  # K all zeros: the driver has no calibration
NON_FINITE = "camera_info_non_finite"  # NaN or infinity in K, D, R or P
BAD_FOCAL = "camera_info_bad_focal"  # fx or fy outside [MIN, MAX]_FOCAL_WIDTHS x width
BAD_PRINCIPAL_POINT = "camera_info_bad_principal_point"  # far outside the image
MALFORMED = "camera_info_malformed"  # wrong sizes, not a pinhole matrix, R not a rotation
UNSUPPORTED_DISTORTION = "camera_info_unsupported_distortion"  # unknown model, non-zero D

# distortion_model -> the numbers of coefficients OpenCV's functions for it accept. ROS writes 5
# for plumb_bob, 8 for rational_polynomial and 4 for equidistant (OpenCV's fisheye model).
DISTORTION_LENGTHS = {
    "plumb_bob": (4, 5, 8, 12, 14),
    "rational_polynomial": (4, 5, 8, 12, 14),
    "equidistant": (4,),
}
# Iterating undistortion to 1e-9 px costs microseconds for 21 joints; OpenCV's default (5
# iterations) left 3e-3 px on test_real_camera_input's lens, and more on wider ones.
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9)


class CalibrationError(ValueError):
    """Camera intrinsics that cannot be trusted; ``reason`` is one of the codes above."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of an undistorted pinhole camera (rectified images)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_matrix(cls, k: np.ndarray, width: int, height: int) -> PinholeCamera:
        k = np.asarray(k, dtype=np.float64).reshape(3, 3)
        return cls(
            float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), int(width), int(height)
        )

    @classmethod
    def from_camera_info(cls, info) -> PinholeCamera:
        """The ideal camera of a sensor_msgs/CameraInfo (or anything with its fields).

        Uses P (the rectified projection) when it is set, as image_proc does for rectified
        images, and K otherwise. Raises CalibrationError (a ValueError) saying why the message
        cannot be trusted; ``CameraModel.from_camera_info`` also keeps the distortion.
        """
        return _pinholes_from_info(info)[0]

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> PinholeCamera:
        """The camera with this horizontal field of view and square pixels, centred: the guess
        for a camera without a usable calibration."""
        if not 0 < horizontal_fov_deg < 180:
            raise ValueError(
                f"horizontal field of view must be in (0, 180) deg, got {horizontal_fov_deg}"
            )
        f = 0.5 * width / np.tan(np.radians(horizontal_fov_deg) / 2)
        return cls(f, f, (width - 1) / 2, (height - 1) / 2, width, height)

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) metres, camera frame -> (..., 2) pixels. Points must have z > 0."""
        points = np.asarray(points, dtype=np.float64)
        z = points[..., 2]
        if np.any(z <= 0):
            raise ValueError("cannot project points at or behind the camera (z <= 0)")
        u = self.fx * points[..., 0] / z + self.cx
        v = self.fy * points[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(..., 2) pixels and (...) metric depth along z -> (..., 3) metres, camera frame."""
        pixels = np.asarray(pixels, dtype=np.float64)
        depth = np.asarray(depth, dtype=np.float64)
        x = (pixels[..., 0] - self.cx) / self.fx * depth
        y = (pixels[..., 1] - self.cy) / self.fy * depth
        return np.stack([x, y, depth], axis=-1)

    def crop(self, x0: float, y0: float, width: int, height: int) -> PinholeCamera:
        """The camera that sees the crop whose top-left pixel is (x0, y0)."""
        return replace(self, cx=self.cx - x0, cy=self.cy - y0, width=int(width), height=int(height))

    def resize(self, width: int, height: int) -> PinholeCamera:
        """The camera after resizing the whole image to width x height (pixel-centre aligned)."""
        sx, sy = width / self.width, height / self.height
        return PinholeCamera(
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            int(width),
            int(height),
        )


def checked_pinhole(matrix, width: int, height: int, name: str = "K") -> PinholeCamera:
    """The PinholeCamera of a 3x3 intrinsic matrix, or CalibrationError saying why not.

    Why more than PinholeCamera's positive focal lengths: a calibration arrives from a driver,
    and NaN, a focal length in metres or a principal point of another resolution would place
    every hand at a wrong depth without any error. Accepted: fx and fy within
    [MIN_FOCAL_WIDTHS, MAX_FOCAL_WIDTHS] x width, the principal point within
    [-PRINCIPAL_POINT_MARGIN, 1 + PRINCIPAL_POINT_MARGIN] x the image's size on each axis.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (3, 3):
        raise CalibrationError(MALFORMED, f"{name} must be 3x3, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise CalibrationError(NON_FINITE, f"{name} contains NaN or infinite values")
    if width <= 0 or height <= 0:
        raise CalibrationError(MALFORMED, f"image size must be positive, got {width}x{height}")
    fx, fy, cx, cy = m[0, 0], m[1, 1], m[0, 2], m[1, 2]
    low, high = MIN_FOCAL_WIDTHS * width, MAX_FOCAL_WIDTHS * width
    if not (low <= fx <= high and low <= fy <= high):
        raise CalibrationError(
            BAD_FOCAL,
            f"{name} focal lengths fx={fx:g}, fy={fy:g} px are outside [{low:g}, {high:g}] "
            f"({MIN_FOCAL_WIDTHS:g} to {MAX_FOCAL_WIDTHS:g} times the width of {width} px)",
        )
    if m[1, 0] != 0 or not np.array_equal(m[2], [0, 0, 1]) or abs(m[0, 1]) > 1e-6 * fx:
        raise CalibrationError(
            MALFORMED, f"{name} is not a pinhole matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]"
        )
    margin = PRINCIPAL_POINT_MARGIN
    if not (
        -margin * width <= cx <= (1 + margin) * width
        and -margin * height <= cy <= (1 + margin) * height
    ):
        raise CalibrationError(
            BAD_PRINCIPAL_POINT,
            f"{name} principal point ({cx:g}, {cy:g}) is more than {margin:g} image sizes "
            f"outside a {width}x{height} image",
        )
    return PinholeCamera(float(fx), float(fy), float(cx), float(cy), int(width), int(height))


def _field(info, name: str, size: int) -> np.ndarray:
    """One of CameraInfo's arrays, checked for size and finiteness."""
    values = np.asarray(getattr(info, name), dtype=np.float64).ravel()
    if values.size != size:
        raise CalibrationError(
            MALFORMED, f"CameraInfo.{name} has {values.size} values, expected {size}"
        )
    if not np.all(np.isfinite(values)):
        raise CalibrationError(NON_FINITE, f"CameraInfo.{name} contains NaN or infinite values")
    return values


def _pinholes_from_info(info) -> tuple[PinholeCamera, PinholeCamera]:
    """(ideal camera, raw camera K) of a CameraInfo; the ideal one is P's when P is set."""
    width, height = int(info.width), int(info.height)
    k = _field(info, "k", 9).reshape(3, 3)
    p = _field(info, "p", 12).reshape(3, 4)
    if not np.any(k):
        raise CalibrationError(UNCALIBRATED, "CameraInfo.k is all zeros (uncalibrated camera)")
    raw = checked_pinhole(k, width, height, "K")
    return (checked_pinhole(p[:, :3], width, height, "P") if np.any(p) else raw), raw


@dataclass(frozen=True)
class CameraModel:
    """A camera as ROS calibrates it: the ideal pinhole camera results are lifted with, and how
    the raw image's pixels map into it (K, distortion D, rectification R).

    Why: a driver's image_raw is distorted, and lifting its keypoints with a pinhole model puts
    a hand near the border of a wide-angle image centimetres off. ``undistort`` maps raw pixels
    to ``camera`` as image_geometry's rectifyPoint does and as image_proc builds image_rect, so
    keypoints from image_raw after ``undistort`` and keypoints from image_rect agree. Crops stay
    on the distorted image; only keypoints are undistorted, before lifting.
    """

    camera: PinholeCamera  # the ideal camera (P; K when P is unset)
    raw: PinholeCamera | None = None  # K, the raw image's intrinsics; None: the same as camera
    distortion: tuple[float, ...] = ()
    distortion_model: str = "plumb_bob"
    rectification: tuple[float, ...] | None = None  # R, row-major; None: the identity

    def __post_init__(self) -> None:
        if self.raw is None:
            object.__setattr__(self, "raw", self.camera)
        object.__setattr__(self, "distortion", tuple(float(c) for c in self.distortion))
        if not all(np.isfinite(self.distortion)):
            raise CalibrationError(NON_FINITE, "distortion contains NaN or infinite values")
        lengths = DISTORTION_LENGTHS.get(self.distortion_model)
        if any(self.distortion) and lengths is None:
            raise CalibrationError(
                UNSUPPORTED_DISTORTION,
                f"distortion model '{self.distortion_model}' is not one of "
                f"{', '.join(DISTORTION_LENGTHS)}",
            )
        if any(self.distortion) and len(self.distortion) not in lengths:
            raise CalibrationError(
                MALFORMED,
                f"{self.distortion_model} takes {' or '.join(map(str, lengths))} coefficients, "
                f"got {len(self.distortion)}",
            )
        if self.rectification is not None:
            r = np.asarray(self.rectification, dtype=np.float64).reshape(3, 3)
            if not (np.allclose(r @ r.T, np.eye(3), atol=1e-4) and np.linalg.det(r) > 0):
                raise CalibrationError(MALFORMED, "R is not a rotation matrix")

    @classmethod
    def from_camera_info(cls, info) -> CameraModel:
        """K, D, R and P of a sensor_msgs/CameraInfo (or anything with its fields), checked.

        An all-zero R (drivers without a calibration send one) is the identity, an all-zero P
        means the ideal camera is K. Raises CalibrationError with the reason.
        """
        camera, raw = _pinholes_from_info(info)
        r = _field(info, "r", 9)
        identity = not np.any(r) or np.array_equal(r, np.eye(3).ravel())
        d = np.asarray(info.d, dtype=np.float64).ravel()
        return cls(
            camera, raw, tuple(d.tolist()), info.distortion_model, None if identity else tuple(r)
        )

    @property
    def is_ideal(self) -> bool:
        """Whether raw pixels already are the ideal camera's (no distortion, R = I, P = K)."""
        return not any(self.distortion) and self.rectification is None and self.raw == self.camera

    def undistort(self, pixels) -> np.ndarray:
        """(..., 2) pixels of the raw image -> (..., 2) pixels of the ideal ``camera``.

        For pixels of a raw (distorted) image only: an image_rect topic's pixels are already
        ideal. The identity when ``is_ideal``.
        """
        pixels = float_array(pixels, "pixels", (..., 2))
        if self.is_ideal or pixels.size == 0:
            return pixels.copy()
        points = pixels.reshape(-1, 1, 2)
        r = np.eye(3) if self.rectification is None else np.reshape(self.rectification, (3, 3))
        distorted = any(self.distortion)
        fisheye = distorted and self.distortion_model == "equidistant"
        undistort_points = cv2.fisheye.undistortPoints if fisheye else cv2.undistortPoints
        ideal = undistort_points(
            points,
            self.raw.matrix,
            np.array(self.distortion) if distorted else np.zeros(5),
            R=r,
            P=self.camera.matrix,
            criteria=_UNDISTORT_CRITERIA,
        )
        return ideal.reshape(pixels.shape)

"""Camera calibration files in the ROS ``camera_calibration_parsers`` YAML format.

Why: users point the camera source at the same calibration file their ROS camera driver uses
(``camera_info_url``), so metric 3D uses their real intrinsics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from handperception.geometry.camera import PinholeCamera


def load_calibration(path: str | Path) -> PinholeCamera:
    path = Path(str(path).removeprefix("file://"))
    if not path.is_file():
        raise FileNotFoundError(f"calibration file {path} does not exist")
    data = yaml.safe_load(path.read_text())
    try:
        width, height = int(data["image_width"]), int(data["image_height"])
        matrix = data.get("projection_matrix") or data["camera_matrix"]
        values = np.asarray(matrix["data"], dtype=np.float64)
    except (KeyError, TypeError) as missing:
        raise ValueError(
            f"{path} is not a ROS camera calibration YAML (missing {missing})"
        ) from None
    k = values.reshape(3, 4)[:, :3] if values.size == 12 else values.reshape(3, 3)
    return PinholeCamera.from_matrix(k, width, height)

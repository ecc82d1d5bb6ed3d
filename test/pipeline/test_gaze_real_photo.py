"""The shipped gaze model on a real photograph: scikit-image's astronaut portrait (Eileen
Collins, NASA, public domain; installed with scikit-image, nothing fetched). She looks into the
lens, so her gaze must point from her eyes back to the camera: the one real face in this
repository's dependencies, a check that the synthetic-trained model transfers at all."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import angular_error_deg
from handperception.pipeline.gaze import GazeConfig
from handperception.pipeline.loading import load_gaze_pipeline

# Measured with gaze_tiny: 4.1 deg (40 deg field of view) and 3.2 deg (60 deg); the geometric
# peer (MediaPipe's iris through an eyeball model) 22-24 deg on the same face.
TOLERANCE_DEG = 12.0


@pytest.mark.parametrize("fov_deg", [40.0, 60.0])
def test_the_astronaut_looking_into_the_lens_looks_at_the_camera(fov_deg):
    pytest.importorskip("mediapipe")
    from skimage import data

    from handperception.pipeline.faces import MediaPipeFaceMesh

    image = data.astronaut()
    camera = PinholeCamera.from_fov(image.shape[1], image.shape[0], fov_deg)
    pipeline = load_gaze_pipeline("checkpoints/gaze_tiny.pt", GazeConfig(max_faces=2), "cpu")
    pipeline.detector = MediaPipeFaceMesh(max_faces=2, static_image_mode=True)
    (gaze,) = pipeline.process(image, camera, 0.0).gazes
    towards_camera = -gaze.origin / np.linalg.norm(gaze.origin)
    assert angular_error_deg(gaze.direction, towards_camera) < TOLERANCE_DEG
    x0, y0, width, height = gaze.face_roi  # her face: left of centre, upper third
    assert 150 < x0 + width / 2 < 300 and 80 < y0 + height / 2 < 200

"""Synthetic eye patches, gazemaps, face images and the contact sheet."""

from dataclasses import replace

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import normalize_eye, pitchyaw_error_deg, vector_to_pitchyaw
from handperception.synth.eye_face import FaceSpec, sample_face
from handperception.synth.eye_model import EyeParams, EyeSpec, sample_eye_params
from handperception.synth.eye_sheet import eye_contact_sheet
from handperception.synth.eyes import (
    pitchyaw_from_gazemaps,
    render_eye_batch,
    render_eye_patch,
    sample_eye_patch,
)

CLEAN = EyeSpec(
    noise_std=(0.0, 0.0), blur_sigma=(0.0, 0.0), openness=(1.0, 1.0), iris_albedo=(0.1, 0.1)
)


def _params(gaze_deg, head_deg=(0.0, 0.0)) -> EyeParams:
    base = sample_eye_params(CLEAN, 0, 0)
    return replace(
        base, gaze_pitchyaw=np.radians(gaze_deg), head_pitchyaw=np.radians(head_deg), glint=0.0
    )


def _centroid(m: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[: m.shape[0], : m.shape[1]]
    return np.array([(m * xs).sum(), (m * ys).sum()]) / m.sum()


def test_same_seed_same_bytes_and_index_matters():
    a, b = sample_eye_patch(EyeSpec(), 5, 3), sample_eye_patch(EyeSpec(), 5, 3)
    assert a.image.tobytes() == b.image.tobytes() and a.gazemaps.tobytes() == b.gazemaps.tobytes()
    assert (
        a.image.shape == (36, 60) and a.image.dtype == np.uint8 and a.gazemaps.shape == (2, 36, 60)
    )
    assert sample_eye_patch(EyeSpec(), 5, 4).image.tobytes() != a.image.tobytes()


def test_frontal_eye_is_centred_and_iris_moves_with_gaze():
    straight = render_eye_patch(_params((0, 0))).gazemaps
    # Frontal head: the symmetric eyeball map is centred horizontally on the patch (x = 29.5).
    assert _centroid(straight[0])[0] == pytest.approx(29.5, abs=1e-3)
    assert _centroid(straight[1])[0] == pytest.approx(29.5, abs=1e-3)
    left = render_eye_patch(_params((0, 20))).gazemaps  # positive yaw looks to image left
    up = render_eye_patch(_params((15, 0))).gazemaps  # positive pitch looks up
    assert _centroid(left[1])[0] < _centroid(straight[1])[0] - 4
    assert _centroid(up[1])[1] < _centroid(straight[1])[1] - 3
    # Expected shift for yaw 20 deg: R_px * sqrt(1 - (r/R)^2) * sin(20 deg), R_px = 960 * R / 0.6.
    p = _params((0, 20))
    depth_px = 960 / 0.6 * np.sqrt(p.eyeball_radius**2 - p.iris_radius**2)
    shift = _centroid(straight[1])[0] - _centroid(left[1])[0]
    assert shift == pytest.approx(depth_px * np.sin(np.radians(20)), rel=0.03)


def test_gazemaps_read_out_matches_labels():
    batch = render_eye_batch(EyeSpec(), seed=1, start=0, count=16, progress=False)
    for maps, gaze in zip(batch["gazemaps"], batch["gaze_pitchyaw"]):
        assert pitchyaw_error_deg(pitchyaw_from_gazemaps(maps), gaze) < 1.5


def test_dark_pupil_lies_on_the_iris_map():
    # A wide pupil (radius ~4.7 px, ~70 px area) so the darkest 3% of pixels are pupil, not lashes.
    for gaze in [(0, 0), (10, -20), (-12, 25), (5, 30)]:
        patch = render_eye_patch(replace(_params(gaze), pupil_ratio=0.5))
        dark = patch.image <= np.percentile(patch.image, 3)
        assert np.linalg.norm(_centroid(dark.astype(float)) - _centroid(patch.gazemaps[1])) < 1.5


def test_spec_ranges_are_respected_for_extrapolation_sets():
    spec = EyeSpec(
        gaze_pitch_deg=(30.0, 40.0), gaze_yaw_deg=(-50.0, -40.0), max_eye_in_head_deg=60.0
    )
    for i in range(20):
        p = sample_eye_params(spec, 2, i)
        pitch, yaw = np.degrees(p.gaze_pitchyaw)
        assert 30 <= pitch <= 40 and -50 <= yaw <= -40
        assert pitchyaw_error_deg(p.gaze_pitchyaw, p.head_pitchyaw) <= 60.0


def test_bad_specs_raise():
    with pytest.raises(ValueError, match="gaze_pitch_deg"):
        EyeSpec(gaze_pitch_deg=(10.0, -10.0))
    with pytest.raises(ValueError, match="skin_albedo"):
        EyeSpec(skin_albedo=(float("nan"), 0.5))
    with pytest.raises(ValueError, match="unknown EyeSpec keys"):
        EyeSpec.from_dict({"gaze_pich_deg": [0, 1]})
    assert EyeSpec.from_dict({"gaze_yaw_deg": [-5, 5]}).gaze_yaw_deg == (-5, 5)
    with pytest.raises(ValueError, match="no head pose"):
        sample_eye_params(EyeSpec(gaze_yaw_deg=(60, 60), head_yaw_deg=(-30, -30)), 0, 0)
    with pytest.raises(ValueError, match="count"):
        render_eye_batch(EyeSpec(), 0, 0, 0)
    with pytest.raises(ValueError, match="shape"):
        pitchyaw_from_gazemaps(np.zeros((36, 60)))


def test_face_labels_are_consistent():
    spec = FaceSpec(camera=PinholeCamera.from_fov(160, 120, 60.0))
    face = sample_face(spec, 0, 1)
    assert face.image.shape == (120, 160)
    np.testing.assert_allclose(
        face.eye_centres_px, face.camera.project(face.eye_centres_3d), atol=1e-9
    )
    assert np.linalg.norm(face.eyeball_centres_3d[0] - face.eyeball_centres_3d[1]) == pytest.approx(
        0.062
    )
    # Both eyes verge on one target in the camera's z = 0 plane.
    t = -face.eyeball_centres_3d[:, 2] / face.gaze_vectors[:, 2]
    targets = face.eyeball_centres_3d + t[:, None] * face.gaze_vectors
    np.testing.assert_allclose(targets[0], targets[1], atol=1e-9)
    assert sample_face(spec, 0, 1).image.tobytes() == face.image.tobytes()


def test_face_eye_normalises_to_the_direct_patch():
    """Warping the face image with normalize_eye gives the patch rendered directly in the
    normalised camera with the normalised gaze and head pose: the two renderers, the labels and
    the normalisation all agree."""
    clean = replace(CLEAN, openness=(0.8, 1.0), iris_albedo=(0.05, 0.5))
    spec = FaceSpec(camera=PinholeCamera.from_fov(640, 480, 50.0), distance=(0.4, 0.5), eye=clean)
    face = sample_face(spec, 3, 2)
    norm = normalize_eye(face.camera.matrix, face.eye_centres_3d[0], face.head_rotation)
    warped = norm.warp_image(face.image).astype(float)
    params = EyeParams(
        gaze_pitchyaw=vector_to_pitchyaw(norm.gaze_to_normalized(face.gaze_vectors[0])),
        head_pitchyaw=vector_to_pitchyaw(norm.head_rotation @ [0, 0, -1.0]),
        side=1,
        **face.look,
    )
    direct = render_eye_patch(params).image.astype(float)
    assert np.corrcoef(warped.ravel(), direct.ravel())[0, 1] > 0.8


def test_contact_sheet_writes_png(tmp_path):
    batch = render_eye_batch(EyeSpec(), 0, 0, 4, progress=False)
    path = eye_contact_sheet(batch, tmp_path / "sheet.png", columns=2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""The gaze pipeline: faces -> head pose -> normalised eyes -> gaze, on synthetic faces with
exact labels (``synth.eye_face``), and its handling of bad input. MediaPipe parts are skipped
where mediapipe is not installed."""

import numpy as np
import pytest
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import (
    angular_error_deg,
    normalize_eye,
    pitchyaw_to_vector,
)
from handperception.geometry.head_pose import FACE_MODEL, HeadPose
from handperception.models.gaze import DeepPictorialGaze
from handperception.pipeline.faces import YUNET_LANDMARKS, FaceDetection, yunet_faces
from handperception.pipeline.gaze import GazeConfig, GazePipeline
from handperception.pipeline.gaze_estimators import EyeBatch, IrisGeometryGaze, NetworkEyeGaze
from handperception.pipeline.interface import FramePipeline
from handperception.pipeline.loading import load_gaze_pipeline
from handperception.pipeline.tracking import BoxIdentities
from handperception.synth.eye_face import FaceSpec, sample_face

SPEC = FaceSpec()  # 320x240, 60 degree field of view
FACES = 10
# Measured on these 10 faces: all found, mean 18.1, median 13.6, max 49 degrees; MediaPipe puts
# the synthetic eye corners ~3 px off (12 px on two faces), ~15 degrees at a 6-12 px eyeball
# radius. Its eye-centre error on them: median 3.5 px, max 12.3 px.
GEOMETRIC_MEAN_TOLERANCE_DEG = 22.0


def rgb(image):
    return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=-1))


@pytest.fixture(scope="module")
def faces():
    return [sample_face(SPEC, 0, index) for index in range(FACES)]


@pytest.fixture(scope="module")
def mediapipe_detector():
    pytest.importorskip("mediapipe")
    from handperception.pipeline.faces import MediaPipeFaceMesh

    return MediaPipeFaceMesh(max_faces=2, static_image_mode=True)


class FixedFaces:
    """A face detector that finds the given faces in every frame."""

    has_iris = True

    def __init__(self, detections):
        self.detections = detections

    def detect(self, rgb):
        return list(self.detections)

    def reset(self):
        pass


class NaNGaze:
    needs_iris = False

    def estimate(self, eyes):
        return np.full((len(eyes), 3), np.nan)


class FixedPitchYaw(torch.nn.Module):
    """Stands in for DeepPictorialGaze: records its input, answers one pitch/yaw for all."""

    def __init__(self, pitchyaw):
        super().__init__()
        self.pitchyaw = torch.tensor(pitchyaw, dtype=torch.float32)
        self.seen = None

    def estimate(self, x):
        self.seen = x.clone()
        return self.pitchyaw.expand(len(x), 2), torch.zeros(len(x), 2, 36, 60)


def test_pipeline_declares_the_frame_interface(mediapipe_detector):
    assert isinstance(GazePipeline(mediapipe_detector, IrisGeometryGaze()), FramePipeline)


def test_mediapipe_finds_synthetic_faces_and_their_eyes(faces, mediapipe_detector):
    eye_errors = []
    for face in faces:
        detections = mediapipe_detector.detect(rgb(face.image))
        if not detections:
            continue
        (detection,) = detections
        # Ordered (right, left) of the subject, near the rendered eye centres.
        eye_errors.append(np.abs(detection.eye_centres_px - face.eye_centres_px).max())
        assert np.abs(detection.iris_px - face.eye_centres_px).max() < 20.0
        x0, y0, x1, y1 = detection.box_xyxy
        middle = face.eye_centres_px.mean(0)
        assert x0 < middle[0] < x1 and y0 < middle[1] < y1
    assert len(eye_errors) >= FACES - 1
    assert np.median(eye_errors) < 5.0 and np.max(eye_errors) < 15.0


def test_geometric_peer_is_within_tolerance_of_the_truth(faces, mediapipe_detector):
    pipeline = GazePipeline(mediapipe_detector, IrisGeometryGaze())
    errors, depth_errors = [], []
    for face in faces:
        result = pipeline.process(rgb(face.image), face.camera, 0.0)
        assert result.drops == []
        for gaze in result.gazes:
            assert np.all(np.isfinite(gaze.direction)) and 0.0 <= gaze.confidence <= 1.0
            errors.append(float(angular_error_deg(gaze.direction, face.gaze_vectors.sum(0))))
            depth_errors.append(abs(gaze.origin[2] / face.eye_centres_3d[:, 2].mean() - 1))
    assert len(errors) >= FACES - 1
    assert np.mean(errors) < GEOMETRIC_MEAN_TOLERANCE_DEG
    assert np.median(depth_errors) < 0.1  # measured 6 %; one bad head pose fit is 60 % off


def test_untrained_network_gives_one_finite_unit_gaze_per_face_with_ids(faces, mediapipe_detector):
    torch.manual_seed(0)
    pipeline = GazePipeline(mediapipe_detector, NetworkEyeGaze(DeepPictorialGaze()))
    for time_s in (0.0, 0.1, 0.2):
        result = pipeline.process(rgb(faces[1].image), faces[1].camera, time_s)
        (gaze,) = result.gazes
        assert np.all(np.isfinite(gaze.direction))
        assert np.linalg.norm(gaze.direction) == pytest.approx(1.0)
        assert gaze.track_id == 0  # the same face keeps its id frame to frame


def test_a_face_moving_between_frames_keeps_its_id_and_a_new_face_gets_another(faces):
    face = faces[1]
    detection = _fake_detection(face)
    pipeline = GazePipeline(FixedFaces([detection]), IrisGeometryGaze())
    first = pipeline.process(rgb(face.image), face.camera, 0.0).gazes[0].track_id
    moved = _fake_detection(face, shift=4.0)
    pipeline.detector = FixedFaces([moved, _fake_detection(face, shift=-120.0)])
    ids = [g.track_id for g in pipeline.process(rgb(face.image), face.camera, 0.1).gazes]
    assert ids[0] == first and ids[1] != first


def test_a_face_found_twice_is_published_once(faces):
    """MediaPipe's tracking mode now and then returns one face twice, a pixel or two apart."""
    face = faces[1]
    twice = FixedFaces([_fake_detection(face), _fake_detection(face, shift=2.0)])
    result = GazePipeline(twice, IrisGeometryGaze()).process(rgb(face.image), face.camera, 0.0)
    assert len(result.gazes) == 1 and result.drops == ["duplicate"]


def test_blank_frame_gives_no_gaze(mediapipe_detector):
    pipeline = GazePipeline(mediapipe_detector, IrisGeometryGaze())
    result = pipeline.process(np.zeros((240, 320, 3), np.uint8), SPEC.camera, 0.0)
    assert result.gazes == [] and result.drops == []


def test_nan_estimates_are_dropped_never_published(faces):
    face = faces[1]
    pipeline = GazePipeline(FixedFaces([_fake_detection(face)]), NaNGaze())
    result = pipeline.process(rgb(face.image), face.camera, 0.0)
    assert result.gazes == [] and result.drops == ["nonfinite_gaze"]


def test_bad_frames_are_refused_or_dropped(faces, mediapipe_detector):
    pipeline = GazePipeline(mediapipe_detector, IrisGeometryGaze())
    tiny = PinholeCamera.from_fov(16, 12, 60.0)
    assert pipeline.process(np.zeros((12, 16, 3), np.uint8), tiny, 0.0).drops == ["image_too_small"]
    with pytest.raises(ValueError, match="uint8"):
        pipeline.process(np.zeros((240, 320, 3), np.uint16), SPEC.camera, 0.0)
    # The face pushed against the left border: either a finite gaze or a counted drop.
    image = np.zeros_like(faces[1].image)
    image[:, :200] = faces[1].image[:, 120:]
    result = pipeline.process(rgb(image), SPEC.camera, 0.0)
    assert all(np.all(np.isfinite(g.direction)) for g in result.gazes)
    assert len(result.gazes) + len(result.drops) <= 1


def test_huge_frame_is_detected_on_a_shrunk_copy(faces, mediapipe_detector):
    face = faces[1]
    big = np.repeat(np.repeat(face.image, 8, axis=0), 8, axis=1)  # 2560x1920
    camera = face.camera.resize(2560, 1920)
    result = GazePipeline(mediapipe_detector, IrisGeometryGaze()).process(rgb(big), camera, 0.0)
    (gaze,) = result.gazes
    assert angular_error_deg(gaze.direction, face.gaze_vectors.sum(0)) < 30.0


def test_low_confidence_faces_are_dropped(faces):
    face = faces[1]
    weak = FaceDetection(**{**_fake_detection(face).__dict__, "score": 0.2})
    result = GazePipeline(FixedFaces([weak]), IrisGeometryGaze()).process(
        rgb(face.image), face.camera, 0.0
    )
    assert result.gazes == [] and result.drops == ["low_confidence"]


def test_smoothing_keeps_unit_directions_and_lags_a_jump(faces):
    face = faces[1]
    pipeline = GazePipeline(
        FixedFaces([_fake_detection(face)]), IrisGeometryGaze(), GazeConfig(smoothing=True)
    )
    before = pipeline.process(rgb(face.image), face.camera, 0.0).gazes[0].direction
    moved = _fake_detection(face, iris_shift=3.0)
    raw = GazePipeline(FixedFaces([moved]), IrisGeometryGaze()).process(
        rgb(face.image), face.camera, 0.0
    )
    pipeline.detector = FixedFaces([moved])
    after = pipeline.process(rgb(face.image), face.camera, 0.05).gazes[0].direction
    assert np.linalg.norm(after) == pytest.approx(1.0)
    jump = angular_error_deg(before, raw.gazes[0].direction)
    assert 0.0 < angular_error_deg(before, after) < jump


def test_network_estimator_mirrors_left_eyes_hand_computed():
    # Normalising an eye straight ahead of a frontal head is the identity rotation, so the
    # de-normalised gaze is pitchyaw_to_vector of the prediction; the left eye's yaw is negated.
    k = PinholeCamera.from_fov(640, 480, 60.0).matrix
    eye = normalize_eye(k, np.array([0.0, 0.0, 0.6]), np.eye(3))
    np.testing.assert_allclose(eye.rotation, np.eye(3), atol=1e-12)
    patches = np.zeros((2, 36, 60), np.uint8)
    patches[:, :, :10] = 255  # a bright stripe on the patch's left
    model = FixedPitchYaw([0.1, 0.2])
    gazes = NetworkEyeGaze(model).estimate(
        EyeBatch(patches, [eye, eye], np.array([False, True]), np.zeros((2, 3)), SPEC.camera)
    )
    np.testing.assert_allclose(gazes[0], pitchyaw_to_vector(np.array([0.1, 0.2])), atol=1e-6)
    np.testing.assert_allclose(gazes[1], pitchyaw_to_vector(np.array([0.1, -0.2])), atol=1e-6)
    assert model.seen[0, 0, 0, 0] > 0 > model.seen[1, 0, 0, 0]  # only the left patch mirrored


def test_iris_geometry_hand_computed():
    # Eyeball 0.5 m straight ahead; the iris pixel at the principal point meets the iris sphere
    # on the camera's side, so the eye looks straight into the camera (0, 0, -1).
    camera = PinholeCamera(500.0, 500.0, 320.0, 240.0, 640, 480)
    eyes = EyeBatch(
        np.zeros((1, 36, 60), np.uint8),
        [None],
        np.array([False]),
        np.array([[0.0, 0.0, 0.5]]),
        camera,
        iris_px=np.array([[320.0, 240.0]]),
    )
    np.testing.assert_allclose(IrisGeometryGaze().estimate(eyes), [[0.0, 0.0, -1.0]], atol=1e-12)
    with pytest.raises(ValueError, match="iris"):
        IrisGeometryGaze().estimate(
            EyeBatch(eyes.patches, [None], eyes.is_left, eyes.eyeball_centres, camera)
        )


def test_yunet_rows_become_faces_hand_computed():
    # x, y, w, h; (x, y) of "right eye", "left eye" (given swapped), nose, mouth corners; score.
    row = [10, 20, 100, 120, 80, 60, 40, 61, 60, 90, 45, 110, 75, 111, 0.9]
    (face,) = yunet_faces(np.array([row]), factor=0.5)
    np.testing.assert_allclose(face.box_xyxy, [20, 40, 220, 280])
    assert face.landmark_names == YUNET_LANDMARKS and face.iris_px is None
    np.testing.assert_allclose(face.eye_centres_px, [[80, 122], [160, 120]])
    np.testing.assert_allclose(face.landmarks_px[2:], [[120, 180], [90, 220], [150, 222]])
    assert face.score == pytest.approx(0.9)
    assert yunet_faces(np.array([row[:-1] + [np.nan]])) == []


def test_box_identities_follow_overlapping_boxes_and_expire():
    ids = BoxIdentities(iou_threshold=0.3, max_missed=1)
    assert ids.assign(np.array([[0, 0, 10, 10], [50, 50, 60, 60]])) == [0, 1]
    assert ids.assign(np.array([[51, 51, 61, 61]])) == [1]
    assert ids.assign(np.zeros((0, 4))) == []
    assert ids.assign(np.array([[1, 1, 11, 11]])) == [2]  # id 0 missed 2 > 1 frames: ended


def test_loading_errors_name_the_fix():
    with pytest.raises(ValueError, match="one of"):
        load_gaze_pipeline("x.pt", GazeConfig(), "cpu", backend="magic")
    with pytest.raises(ValueError, match="one of"):
        load_gaze_pipeline("x.pt", GazeConfig(), "cpu", detector="haar")
    with pytest.raises(ValueError, match="handperception train gaze"):
        load_gaze_pipeline("missing_gaze.pt", GazeConfig(), "cpu")
    with pytest.raises(ValueError, match="face_detection_yunet"):
        load_gaze_pipeline("unused", GazeConfig(), "cpu", detector="opencv")
    with pytest.raises(ValueError, match="iris"):
        load_gaze_pipeline("unused", GazeConfig(), "cpu", backend="geometric", detector="opencv")


def test_config_is_checked():
    with pytest.raises(ValueError, match="max_faces"):
        GazeConfig(max_faces=0)
    with pytest.raises(ValueError, match="min_cutoff"):
        GazeConfig(min_cutoff=0.0)


def _fake_detection(face, shift=0.0, iris_shift=0.0):
    """A detection at the sample's true landmarks (the face model at its true pose), moved
    ``shift`` pixels right, with the iris at the eye centres moved ``iris_shift`` pixels right."""
    names = tuple(FACE_MODEL)
    points = np.array([FACE_MODEL[name] for name in names])
    landmarks = face.camera.project(points @ face.head_rotation.T + face.head_translation)
    landmarks = landmarks + [shift, 0.0]
    eyes = face.eye_centres_px + [shift, 0.0]
    return FaceDetection(
        box_xyxy=np.concatenate([landmarks.min(0) - 10, landmarks.max(0) + 10]),
        score=1.0,
        landmark_names=names,
        landmarks_px=landmarks,
        eye_centres_px=eyes,
        iris_px=eyes + [iris_shift, 0.0],
    )


@pytest.mark.parametrize("translation", [(0.0, 0.0, -0.5), (0.0, 0.0, 0.005), (12.0, 0.0, 16.1)])
def test_a_gaze_origin_behind_the_camera_or_too_far_is_dropped_never_published(
    faces, monkeypatch, translation
):
    """A head pose fit (facing the camera) that puts the eyes, whose midpoint is the gaze
    origin, behind the camera: at z = -0.5 m, or at z = -1.6 mm (the eye centres lie 6.6 mm in
    front of the head frame's origin); or 20.06 and 20.09 m away. The head-pose module refuses
    most such fits itself; this is the check on what is published."""
    face = faces[1]
    fitted = HeadPose(np.eye(3), np.array(translation), 0.0)
    monkeypatch.setattr(
        "handperception.pipeline.gaze.estimate_head_pose", lambda *args, **kwargs: fitted
    )
    pipeline = GazePipeline(FixedFaces([_fake_detection(face)]), IrisGeometryGaze())
    result = pipeline.process(rgb(face.image), face.camera, 0.0)
    assert result.gazes == [] and result.drops == ["implausible_depth"]

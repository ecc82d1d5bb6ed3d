"""A synthetic camera watching one or two people's faces, and in the ``people`` scene two hands
in front of one person, with the ground truth of every frame.

Why: the gaze node, its tests and the demo need faces whose gaze is known exactly, moving as
people do in front of a robot: heads turning and drifting slowly, eyes following a target that
wanders around the camera. Each face is ``synth.eye_face``'s renderer (the same eyes the gaze
models are trained on) at the head pose of its frame; the hands are ``SyntheticHandsSource``'s,
rendered over the faces so they occlude them as they would. Motion is periodic over the loop, so
the replayed loop has no jump, and frames are rendered on first use and cached for one loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import pitchyaw_to_rotation
from handperception.sources.looped import LoopedScene
from handperception.sources.synthetic_hands import SyntheticHandsSource
from handperception.synth.backgrounds import random_background
from handperception.synth.eye_face import paint_face, render_face
from handperception.synth.eye_model import EyeSpec, sample_look
from handperception.synth.render import HandFrame, sample_skin

# Where each face sits: (x, y) of its eyes as fractions of the image, and its depth (metres),
# near enough for MediaPipe's face mesh to find the rendered faces in about 19 frames of 20
# (measured over seeds 0-3; farther faces are missed more often). With hands, the person stands
# to the side, behind them (the hands move at 0.45-0.6 m over the middle of the image and would
# hide a face there).
_PLACES = {
    (1, False): [(0.5, 0.4, 0.5)],
    (2, False): [(0.28, 0.4, 0.5), (0.72, 0.42, 0.55)],
    (1, True): [(0.84, 0.32, 0.6)],
}
HEAD_SWING_DEG = (6.0, 12.0, 4.0)  # pitch, yaw, roll amplitudes of the head's motion
HEAD_SWAY_M = 0.03  # amplitude of the head's drift, metres
TARGET_RANGE_M = (0.2, 0.12)  # the gaze target's x, y amplitudes around the camera, metres


@dataclass(frozen=True)
class FaceTruth:
    """One face in one frame, camera frame, metres; per eye ordered (right, left) of the person.

    eye_centres_3d (2, 3): eye-corner midpoints (what gaze normalisation centres on);
    eyeball_centres_3d (2, 3); eye_centres_px (2, 2) pixels; gaze_vectors (2, 3) unit, each eye's;
    origin (3,) the midpoint of the eye centres and gaze (3,) unit, from it to the target: the
    face's one gaze, what a ``GazeEstimate`` estimates; target (3,) what both eyes look at;
    head_rotation (3, 3) head -> camera, head_translation (3,) between the eyeballs;
    face_box (x0, y0, x1, y1) pixels of the visible face, ends exclusive."""

    eye_centres_3d: np.ndarray
    eyeball_centres_3d: np.ndarray
    eye_centres_px: np.ndarray
    gaze_vectors: np.ndarray
    origin: np.ndarray
    gaze: np.ndarray
    target: np.ndarray
    head_rotation: np.ndarray
    head_translation: np.ndarray
    face_box: tuple[int, int, int, int]


@dataclass(frozen=True)
class FacesFrame:
    """rgb (H, W, 3) uint8; faces: the truth of each face in the image, in the source's order;
    hands: the hands' full HandFrame (labels exact, its rgb is ``rgb``) or None."""

    rgb: np.ndarray
    faces: tuple[FaceTruth, ...]
    hands: HandFrame | None


@dataclass(frozen=True)
class _FaceTrack:
    """One head over the loop: rotations (T, 3, 3), translations (T, 3), targets (T, 3); its
    look (``sample_look``) and skin (3,) sRGB stay fixed."""

    rotations: np.ndarray
    translations: np.ndarray
    targets: np.ndarray
    look: dict
    skin: np.ndarray


def _face_track(
    rng: np.random.Generator, camera: PinholeCamera, place: tuple, frames: int
) -> _FaceTrack:
    x, y, depth = place
    centre = camera.unproject(np.array([x * camera.width, y * camera.height]), depth)
    phase = np.linspace(0, 2 * np.pi, frames, endpoint=False)[:, None]
    offsets = rng.uniform(0, 2 * np.pi, size=(3, 3))
    # Whole periods over the loop (1 or 2 per axis), so the last frame leads into the first.
    swing = np.radians(HEAD_SWING_DEG) * np.sin(phase * [2, 1, 1] + offsets[0])
    rotations = np.stack([pitchyaw_to_rotation(s[:2], roll=s[2]) for s in swing])
    sway = HEAD_SWAY_M * np.sin(phase * [1, 2, 1] + offsets[1]) * [1.0, 0.5, 1.0]
    wander = np.sin(phase * [1, 2] + offsets[2, :2]) * TARGET_RANGE_M
    targets = np.concatenate([wander, np.zeros((frames, 1))], axis=1)
    return _FaceTrack(
        rotations, centre + sway, targets, sample_look(rng, EyeSpec()), sample_skin(rng)
    )


class SyntheticFacesSource(LoopedScene):
    """Frames of ``faces`` (1 or 2) people looking around the camera over a fixed background;
    with ``hands`` one person holds up two hands (``SyntheticHandsSource``'s) in front of them.

    ``read`` returns RGB frames in a loop of ``loop_frames``; ``frame(i)`` the FacesFrame of
    frame i (image and truth) for tests and evaluation. A face none of whose pixels is in the
    image has no truth in that frame (the defaults keep every face in view).
    """

    def __init__(
        self,
        camera: PinholeCamera,
        seed: int = 0,
        faces: int = 1,
        hands: bool = False,
        loop_frames: int = 60,
    ):
        if (faces, hands) not in _PLACES:
            raise ValueError(
                f"a synthetic faces scene has 1 or 2 faces, or 1 with hands; got {faces} "
                f"face(s){' with hands' if hands else ''}"
            )
        super().__init__(loop_frames)
        self.camera = camera
        rng = np.random.default_rng([seed, faces, int(hands), 11])
        self._tracks = [
            _face_track(rng, camera, place, loop_frames) for place in _PLACES[faces, hands]
        ]
        self._hands = (
            SyntheticHandsSource(camera, seed, hands=2, loop_frames=loop_frames) if hands else None
        )
        self._background = (
            self._hands.background
            if self._hands is not None
            else random_background(rng, camera.height, camera.width)
        )
        self.name = "synthetic people" if hands else "synthetic faces"

    @property
    def background(self) -> np.ndarray:
        """(H, W, 3) float32 sRGB: the fixed background behind the faces."""
        return self._background

    def render_frame(self, index: int) -> FacesFrame:
        image = self._background.copy()
        truths, drawn = [], []
        for track in self._tracks:
            rotation, translation = track.rotations[index], track.translations[index]
            target = track.targets[index]
            face = render_face(self.camera, rotation, translation, target, track.look)
            if face is None:
                continue
            drawn.append((translation[2], face, track.skin))
            origin = face.eye_centres_3d.mean(axis=0)
            truths.append(
                FaceTruth(
                    eye_centres_3d=face.eye_centres_3d,
                    eyeball_centres_3d=face.eyeball_centres_3d,
                    eye_centres_px=face.eye_centres_px,
                    gaze_vectors=face.gaze_vectors,
                    origin=origin,
                    gaze=(target - origin) / np.linalg.norm(target - origin),
                    target=target,
                    head_rotation=rotation,
                    head_translation=translation,
                    face_box=face.face_box,
                )
            )
        # Farthest first, so a nearer face covers a farther one.
        for _, face, skin in sorted(drawn, key=lambda item: -item[0]):
            paint_face(image, face, skin)
        if self._hands is not None:
            hands = self._hands.render(index, image)
            return FacesFrame(hands.rgb, tuple(truths), hands)
        rgb = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        return FacesFrame(rgb, tuple(truths), None)

"""A synthetic camera watching one or two moving hands, with ground truth for every frame.

Why a sequence and not independent samples: nodes track, smooth and measure plausibility over
time, so the demo and the node tests need motion a real hand could make (smooth joint
trajectories within the limits, a slowly drifting wrist). Frames are rendered on first use and
cached for one loop, so a 30 Hz camera replays them at rate even where rendering is slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.kinematics import HandParameters, mean_shape
from handperception.sources.looped import LoopedScene
from handperception.synth.backgrounds import random_background
from handperception.synth.poses import sample_pose_trajectory
from handperception.synth.render import HandFrame, render_hands, sample_skin
from handperception.synth.scenes import viewpoint_rotation


@dataclass(frozen=True)
class HandTrack:
    """The smooth motion of one hand over the loop: poses (T, 15, 3), wrist path (T, 3) metres,
    rotations (T, 3, 3)."""

    is_left: bool
    poses: np.ndarray
    positions: np.ndarray
    rotations: np.ndarray


def _track(
    rng: np.random.Generator, camera: PinholeCamera, is_left: bool, frames: int, pixel: np.ndarray
) -> HandTrack:
    poses = sample_pose_trajectory(rng, frames, amplitude=0.8)
    phase = np.linspace(0, 2 * np.pi, frames, endpoint=False)
    depth = rng.uniform(0.45, 0.6)
    centre = camera.unproject(pixel, depth)
    sway = 0.04 * np.stack([np.sin(phase), 0.5 * np.sin(2 * phase), 0.3 * np.cos(phase)], axis=1)
    # The right hand shows its back, the left its palm (as a person facing a robot holds them),
    # each turning +-40 deg: both sides of both hands within the trained viewpoint range
    # (config/splits/hands19.yaml).
    azimuth = (160 if is_left else 20) + 40 * np.sin(phase + rng.uniform(0, np.pi))
    rotations = np.stack(
        [viewpoint_rotation(a, 10 * np.cos(p), 8 * np.sin(p)) for a, p in zip(azimuth, phase)]
    )
    return HandTrack(is_left, poses, centre + sway, rotations)


class SyntheticHandsSource(LoopedScene):
    """Frames of ``hands`` (1 or 2) hands moving over a fixed background: a right hand's back, and
    with two hands also a left hand's palm.

    ``read`` returns RGB frames in a loop of ``loop_frames``; ``frame(i)`` the full HandFrame
    (keypoints, segmentation, depth, visibility) of frame i for tests and evaluation.
    """

    def __init__(self, camera: PinholeCamera, seed: int = 0, hands: int = 1, loop_frames: int = 60):
        if hands not in (1, 2):
            raise ValueError(f"a synthetic hands scene has 1 or 2 hands, got {hands}")
        super().__init__(loop_frames)
        self.name = "synthetic hands"
        self.camera = camera
        rng = np.random.default_rng([seed, hands])
        sides = [False] if hands == 1 else [True, False]
        pixels = [
            np.array(
                [
                    camera.width * (0.35 if left else 0.65) if hands == 2 else camera.width / 2,
                    camera.height * 0.55,
                ]
            )
            for left in sides
        ]
        self._tracks = [
            _track(rng, camera, left, loop_frames, pixel) for left, pixel in zip(sides, pixels)
        ]
        self._skins = np.stack([sample_skin(rng)] * hands)
        self._background = random_background(rng, camera.height, camera.width)
        self._seed = seed

    @property
    def background(self) -> np.ndarray:
        """(H, W, 3) float32 sRGB: the fixed background the hands move over."""
        return self._background

    def render_frame(self, index: int) -> HandFrame:
        return self.render(index, self._background)

    def render(self, index: int, background: np.ndarray) -> HandFrame:
        """The hands of frame ``index`` over ``background`` (H, W, 3) sRGB, not cached: a scene
        that draws more behind the hands (``sources.synthetic_faces``) renders them over it."""
        index %= self._loop_frames
        tracks = self._tracks
        pose = np.stack([t.poses[index] for t in tracks])
        shape = mean_shape(len(tracks))
        rotation = np.stack([t.rotations[index] for t in tracks])
        is_left = np.array([t.is_left for t in tracks])
        at_origin = HandParameters(pose, shape, rotation, np.zeros((len(tracks), 3)), is_left)
        wrists = np.stack([t.positions[index] for t in tracks])
        hands = HandParameters(pose, shape, rotation, wrists - at_origin.keypoints()[:, 0], is_left)
        # One appearance for the whole sequence (sleeve, lighting, skin texture are drawn from
        # this generator in a fixed order): the same seed on every frame, or the person's arm
        # and the room's light would change from frame to frame.
        appearance = np.random.default_rng([self._seed, len(tracks)])
        return render_hands(appearance, self.camera, hands, self._skins, background, effects=False)

"""The gaze pipeline's time per face, end to end on a 640x480 frame with one face (detection,
head pose, eye normalisation, gaze, tracking; no ROS), for the network backend and the geometric
peer on the same frames, with how far each is from the frames' true gaze.

Why beside the gaze node's graph benchmark: the node's latency adds DDS and the camera; this is
the floor under it, and the number the issue's budget (p50 <= 15 ms, p95 <= 25 ms per face on
the 2-core CPU) is about once the image has arrived.
"""

from __future__ import annotations

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.geometry.gaze import angular_error_deg
from handperception.pipeline.gaze import GazeConfig
from handperception.pipeline.loading import load_gaze_pipeline
from handperception.runtime.timing import summarize_ms, time_calls
from handperception.sources.synthetic_faces import SyntheticFacesSource

GAZE_CHECKPOINT = "checkpoints/gaze_tiny.pt"


def bench_gaze_pipeline(
    device: str = "cpu", frames: int = 60, checkpoint: str = GAZE_CHECKPOINT
) -> dict:
    """Per backend: latency per face (``summarize_ms`` over ``frames`` frames of the synthetic
    one-face scene, each processed in order as a camera would give them), faces found per frame
    and the median angular error (degrees) and origin error (metres) of the faces found; or
    {"skipped": reason} for a backend that cannot load (no checkpoint, no MediaPipe)."""
    camera = PinholeCamera.from_fov(640, 480, 60.0)
    source = SyntheticFacesSource(camera, seed=0, faces=1, loop_frames=max(frames, 2))
    scene = [source.frame(index) for index in range(frames)]
    results = {
        "image": "640x480, one synthetic face (synthetic:face), max_faces 1",
        "frames": frames,
    }
    for backend in ("network", "geometric"):
        try:
            # max_faces = the faces in view: MediaPipe runs its face detector on every frame
            # while it tracks fewer (docs/gaze.md#speed), which is not a per-face cost.
            pipeline = load_gaze_pipeline(checkpoint, GazeConfig(max_faces=1), device, backend)
        except ValueError as error:
            results[backend] = {"skipped": str(error)}
            continue
        found = []

        def process(index: int, pipeline=pipeline, found=found) -> None:
            frame = scene[index % frames]
            result = pipeline.process(frame.rgb, camera, index / 30.0)
            if index < frames:
                found.append((frame, result.gazes))

        times = time_calls(process, frames)
        results[backend] = {**summarize_ms(times), **_accuracy(found)}
    return results


def _accuracy(found: list) -> dict:
    angles, origins, counts = [], [], []
    for frame, gazes in found:
        counts.append(len(gazes))
        for gaze in gazes[:1]:
            (truth,) = frame.faces
            angles.append(float(angular_error_deg(gaze.direction, truth.gaze)))
            origins.append(float(np.linalg.norm(gaze.origin - truth.origin)))
    return {
        "faces_per_frame": round(float(np.mean(counts)), 3),
        "median_angular_error_deg": round(float(np.median(angles)), 2) if angles else None,
        "median_origin_error_m": round(float(np.median(origins)), 4) if origins else None,
    }

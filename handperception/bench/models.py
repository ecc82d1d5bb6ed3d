"""Model-only times (no ROS, no cropping): the floor under each node's end-to-end latency."""

from __future__ import annotations

import numpy as np
import torch

from handperception.runtime.timing import summarize_ms, time_calls


def _synchronised(device: str):
    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def bench_models(device: str = "cpu", repeats: int = 100, crop_size: int = 96) -> dict:
    """Pose net on one crop, detector on one 640x480 frame (letterbox included)."""
    from handperception.models.detector import HandDetector
    from handperception.models.pose2p5d import HandPoseNet

    sync = _synchronised(device)
    results = {}
    with torch.no_grad():
        for size in ("tiny", "resnet18"):
            model = HandPoseNet(size).to(device).eval()
            crop = torch.rand(1, 3, crop_size, crop_size, device=device)

            def forward(_index, model=model, crop=crop):
                model(crop)
                sync()

            results[f"pose_net_{size}_{crop_size}px"] = summarize_ms(time_calls(forward, repeats))
        detector = HandDetector("tiny").to(device).eval()
        frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)

        def detect(_index):
            detector.detect([frame])
            sync()

        results["detector_tiny_640x480"] = summarize_ms(time_calls(detect, repeats))
    return results

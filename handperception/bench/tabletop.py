"""Tabletop detection: the pipeline alone on synthetic 640x480 depth frames (issue #18's goal:
<= 50 ms per frame on the 2-core CPU).

Four scenes of 1-4 objects (``synth.tabletop``), rendered once and cycled through, both as
32FC1 metres and as 16UC1 millimetres; each call is depth image -> plane, objects, poses and
closed meshes (``TabletopPipeline.from_depth``), the node's work without its messages. Also
reported: objects found against objects placed (a regression that loses objects must not look
like a speed-up).
"""

from __future__ import annotations

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.pipeline.tabletop import TabletopConfig, TabletopPipeline
from handperception.runtime.timing import summarize_ms, time_calls
from handperception.synth.tabletop import TabletopSpec, render_tabletop

SCENES = 4


def bench_tabletop(repeats: int = 40, config: TabletopConfig | None = None) -> dict:
    """p50/p95 of ``repeats`` detections per depth encoding, and the objects found per scene."""
    camera = PinholeCamera.from_fov(640, 480, 60.0)
    scenes = [
        render_tabletop(camera, seed, TabletopSpec(objects=seed + 1)) for seed in range(SCENES)
    ]
    pipeline = TabletopPipeline(config)
    frames = {
        "depth_32fc1": [scene.depth for scene in scenes],
        "depth_16uc1": [scene.depth_mm() for scene in scenes],
    }
    results = {
        name: summarize_ms(
            time_calls(lambda i, d=depths: pipeline.from_depth(d[i % SCENES], camera), repeats)
        )
        for name, depths in frames.items()
    }
    found = [len(pipeline.from_depth(scene.depth, camera).objects) for scene in scenes]
    return {
        "frame": "640x480, 60 deg, table 0.6 m below the camera, 0.5 m ahead",
        "config": vars(pipeline.config),
        "detection": results["depth_32fc1"],
        "detection_16uc1": results["depth_16uc1"],
        "objects_placed": [len(scene.meshes) for scene in scenes],
        "objects_found": found,
        "all_found": bool(np.array_equal(found, [len(scene.meshes) for scene in scenes])),
    }

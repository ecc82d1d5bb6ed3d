"""``synthetic:tabletop``: a depth camera over a table with objects (``synth.tabletop``).

Why a still camera rendered once: a robot's head camera over a table stands still while it
looks for objects to grasp, and the tabletop pipeline works on single frames; one frame at any
rate costs nothing. Besides ``read`` (the RGB every source gives), ``read_rgbd`` gives the
depth, which the camera source publishes on its depth topic.
"""

from __future__ import annotations

import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.synth.tabletop import TabletopSpec, render_tabletop


class SyntheticTabletopSource:
    """``read`` gives the RGB, ``read_rgbd`` (RGB, depth float32 metres, 0 = no return);
    ``scene`` is the rendered frame with its ground truth (``synth.tabletop.TabletopScene``)."""

    name = "synthetic tabletop"

    def __init__(self, camera: PinholeCamera, seed: int = 0, spec: TabletopSpec | None = None):
        self.camera = camera
        self.scene = render_tabletop(camera, seed, spec)

    def read(self) -> np.ndarray:
        return self.scene.rgb

    def read_rgbd(self) -> tuple[np.ndarray, np.ndarray]:
        return self.scene.rgb, self.scene.depth

    def close(self) -> None:
        pass

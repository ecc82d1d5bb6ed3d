"""A synthetic camera scene that plays a loop of rendered frames.

Why shared: every synthetic scene (hands, faces, people) is a camera whose frames are costly to
render and whose motion loops, so each frame is rendered once, kept, and replayed; rendering the
loop at start-up (``prepare``) lets the camera keep its rate from the first frame. A scene says
how to render frame ``i`` and what it is called.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm


class LoopedScene:
    """``read`` returns the RGB of frames 0, 1, ... looping over ``loop_frames``; ``frame(i)`` the
    whole rendered frame (with its ground truth) of frame i, rendered once and kept. Subclasses
    define ``render_frame(index)`` (an object with an ``rgb`` (H, W, 3) uint8) and ``name``."""

    name = "scene"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "render_frame", None)):
            raise TypeError(f"{cls.__name__} must define render_frame(index)")

    def __init__(self, loop_frames: int) -> None:
        if loop_frames < 2:
            raise ValueError(f"loop_frames must be >= 2, got {loop_frames}")
        self._loop_frames = loop_frames
        self._cache: dict[int, object] = {}
        self._index = 0

    def frame(self, index: int):
        index %= self._loop_frames
        if index not in self._cache:
            self._cache[index] = self.render_frame(index)
        return self._cache[index]

    def prepare(self) -> None:
        """Render the whole loop now (at start-up) so the camera keeps its rate from frame one."""
        for index in tqdm(
            range(self._loop_frames), desc=f"rendering {self.name}", unit="frame", leave=False
        ):
            self.frame(index)

    def read(self) -> np.ndarray:
        frame = self.frame(self._index)
        self._index += 1
        return frame.rgb

    def close(self) -> None:
        self._cache.clear()

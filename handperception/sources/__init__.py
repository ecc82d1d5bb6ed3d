"""Where frames come from: video files, image folders, webcams, the synthetic engine."""

from handperception.sources.frames import FrameSource, open_source

__all__ = ["FrameSource", "open_source"]

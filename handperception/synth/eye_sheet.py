"""Contact sheet of synthetic eye patches: each patch with its gaze arrow beside its gazemaps.

Why: label bugs in gaze data (a flipped yaw, maps from the wrong eye) are invisible in loss
curves but obvious on a sheet, so every change to the eye renderer gets looked at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def eye_contact_sheet(
    batch: dict[str, np.ndarray], path: str | Path, columns: int = 4, title: str = ""
) -> Path:
    """Write a PNG of a batch from ``render_eye_batch`` (needs image, gazemaps, gaze_pitchyaw).

    Each cell is the grey patch with a green arrow (the gaze's image-plane direction, length
    proportional to its sine, drawn from the eyeball map's centroid) and, to its right, the
    eyeball map (blue) and iris map (red) overlaid. Returns the path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, maps, gaze = batch["image"], batch["gazemaps"], batch["gaze_pitchyaw"]
    if len(images) == 0 or columns <= 0:
        raise ValueError("eye_contact_sheet needs at least one sample and a positive column count")
    rows = int(np.ceil(len(images) / columns))
    height, width = images.shape[1:3]
    fig, axes = plt.subplots(
        rows, 2 * columns, figsize=(2 * columns * 1.6, rows * 1.15), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    ys, xs = np.mgrid[:height, :width]
    for i in range(len(images)):
        ax_img, ax_map = (
            axes[i // columns, 2 * (i % columns)],
            axes[i // columns, 2 * (i % columns) + 1],
        )
        ax_img.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        eyeball = maps[i, 0]
        cx, cy = (eyeball * xs).sum() / eyeball.sum(), (eyeball * ys).sum() / eyeball.sum()
        pitch, yaw = gaze[i]
        length = 0.45 * width
        ax_img.arrow(
            cx,
            cy,
            -length * np.cos(pitch) * np.sin(yaw),
            -length * np.sin(pitch),
            color="lime",
            width=0.5,
            head_width=2.5,
            length_includes_head=True,
        )
        ax_img.set_title(f"p {np.degrees(pitch):+.0f} y {np.degrees(yaw):+.0f}", fontsize=6, pad=1)
        overlay = np.stack([maps[i, 1], np.zeros_like(eyeball), maps[i, 0]], axis=-1)
        ax_map.imshow(np.clip(overlay, 0, 1))
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout(pad=0.2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path

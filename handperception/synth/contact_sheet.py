"""Contact sheet of synthetic samples: RGB with the skeleton, and the part segmentation.

Why: a generator can pass every numeric test and still draw something that is not a hand;
every synth run writes this PNG so a person can see what the networks will be fed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handperception.skeleton.definition import BONES, finger_of_joint
from handperception.skeleton.palette import FINGER_RGB, PALM_RGB, unit_rgb

# matplotlib colours: one per finger (thumb..little), palm bones (from the wrist) grey.
FINGER_COLOURS = tuple(unit_rgb(rgb) for rgb in FINGER_RGB)
PALM_COLOUR = unit_rgb(PALM_RGB)


def segmentation_colours() -> np.ndarray:
    """(13, 3) float RGB in [0, 1] per label: background black, left parts light, right dark."""
    base = np.array([(0.6, 0.6, 0.6), *FINGER_COLOURS])
    return np.concatenate([[[0.0, 0.0, 0.0]], 0.5 + 0.5 * base, 0.8 * base])


def save_contact_sheet(
    items: list[dict[str, np.ndarray]], path: str | Path, columns: int = 4
) -> Path:
    """Write a PNG grid: per item, RGB with skeleton lines (dots: visible joints, crosses:
    occluded or outside) and the segmentation blended over the RGB."""
    if not items:
        raise ValueError("contact sheet needs at least one item")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(items) / columns))
    figure, axes = plt.subplots(rows, 2 * columns, figsize=(4 * columns, 2.1 * rows), squeeze=False)
    colours = segmentation_colours()
    for ax in axes.ravel():
        ax.axis("off")
    for number, item in enumerate(items):
        row, column = divmod(number, columns)
        rgb_ax, seg_ax = axes[row, 2 * column], axes[row, 2 * column + 1]
        rgb = item["rgb"]
        rgb_ax.imshow(rgb)
        for keypoints, visible in zip(item["keypoints_2d"], item["visibility"]):
            for parent, child in BONES:
                finger = finger_of_joint(child)
                colour = PALM_COLOUR if parent == 0 else FINGER_COLOURS[finger]
                rgb_ax.plot(*keypoints[[parent, child]].T, color=colour, linewidth=1.2)
            rgb_ax.scatter(*keypoints[visible].T, s=5, c="white", zorder=3)
            rgb_ax.scatter(*keypoints[~visible].T, s=8, c="black", marker="x", zorder=3)
        overlay = 0.4 * rgb / 255.0 + 0.6 * colours[item["segmentation"]]
        seg_ax.imshow(np.clip(overlay, 0, 1))
        for ax in (rgb_ax, seg_ax):
            ax.set_xlim(-0.5, rgb.shape[1] - 0.5)
            ax.set_ylim(rgb.shape[0] - 0.5, -0.5)
    figure.tight_layout(pad=0.2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

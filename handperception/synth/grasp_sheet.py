"""Contact sheet of synthetic objects and grasps: 3D views of the mesh with the hand skeleton.

Why: a grasp generator can meet every numeric threshold and still produce hands that hover
beside the object or clip through it; a grid of 3D views shows at a glance whether the fingers
wrap the objects. Everything is drawn in the object's own frame so sizes compare across cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from handperception.skeleton.definition import BONES, FINGERTIPS, finger_of_joint
from handperception.synth.contact_sheet import FINGER_COLOURS, PALM_COLOUR
from handperception.synth.objects import ObjectSample


class HandDrawing(NamedTuple):
    """A hand to draw, object frame, metres: keypoints (21, 3); contacts (5,) bool fingers
    touching; skin (M, 3) surface samples and skin_finger (M,) their finger, -1 palm."""

    keypoints: np.ndarray
    contacts: np.ndarray
    skin: np.ndarray
    skin_finger: np.ndarray


def save_grasp_sheet(
    objects: list[ObjectSample],
    path: str | Path,
    hands: list[HandDrawing | None] | None = None,
    titles: list[str] | None = None,
    columns: int = 4,
) -> Path:
    """Write a PNG grid, one 3D cell per object (its local mesh, translucent grey).

    hands: optional, per object None or a HandDrawing; bones and skin dots are coloured per
    finger, fingertips of touching fingers get a large dot. titles: optional per-cell captions.
    Returns the path written.
    """
    if not objects:
        raise ValueError("grasp sheet needs at least one object")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    hands = hands if hands is not None else [None] * len(objects)
    titles = titles if titles is not None else [obj.kind for obj in objects]
    if len(hands) != len(objects) or len(titles) != len(objects):
        raise ValueError(
            f"need one hand entry and title per object, got {len(hands)} and {len(titles)} "
            f"for {len(objects)}"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(objects) / columns))
    figure = plt.figure(figsize=(3.2 * columns, 3.2 * rows))
    for number, (obj, hand, title) in enumerate(zip(objects, hands, titles)):
        ax = figure.add_subplot(rows, columns, number + 1, projection="3d")
        mesh = obj.local_mesh
        ax.plot_trisurf(
            *mesh.vertices.T,
            triangles=mesh.faces,
            color="#b0b0b0",
            alpha=0.45,
            linewidth=0.0,
            shade=True,
        )
        points = [mesh.vertices]
        if hand is not None:
            keypoints, contacts, skin, skin_finger = hand
            colours = np.array([PALM_COLOUR, *FINGER_COLOURS])[skin_finger + 1]
            ax.scatter(*skin.T, c=colours, s=1.0, alpha=0.35, depthshade=False, linewidths=0)
            for parent, child in BONES:
                colour = PALM_COLOUR if parent == 0 else FINGER_COLOURS[finger_of_joint(child)]
                ax.plot(*keypoints[[parent, child]].T, color=colour, linewidth=2.2)
            tips = keypoints[list(FINGERTIPS)]
            ax.scatter(
                *tips.T, c=list(FINGER_COLOURS), s=np.where(contacts, 40, 8), depthshade=False
            )
            points.append(keypoints)
            _look_along_knuckles(ax, keypoints)
        _equal_axes(ax, np.concatenate(points))
        ax.set_title(title, fontsize=8, pad=0)
        ax.tick_params(labelsize=5)
    figure.tight_layout(pad=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _look_along_knuckles(ax, keypoints: np.ndarray) -> None:
    """View from 30 degrees off the knuckle line (index MCP minus little MCP), where the fingers'
    curl around the object is seen nearly edge-on."""
    knuckles = keypoints[5] - keypoints[17]
    knuckles /= np.linalg.norm(knuckles)
    ax.view_init(
        elev=float(np.degrees(np.arcsin(np.clip(knuckles[2], -1, 1)))),
        azim=float(np.degrees(np.arctan2(knuckles[1], knuckles[0]))) + 30.0,
    )


def _equal_axes(ax, points: np.ndarray) -> None:
    """Same scale on x, y and z (else spheres look like eggs), cube around the points."""
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    half = float(np.max(points.max(axis=0) - points.min(axis=0))) / 2 + 1e-3
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
        setter(c - half, c + half)
    ax.set_box_aspect((1, 1, 1))


def save_grasps_sheet(grasps: list, path: str | Path, columns: int = 4) -> Path:
    """``save_grasp_sheet`` for ``grasps.GraspSample``s: each hand's skeleton and skin in its
    object's frame, captioned with kind, size, side and fingers touching."""
    drawings, titles = [], []
    for grasp in grasps:
        surface = grasp.surface()
        rotation, centre = grasp.object.pose[:3, :3], grasp.object.pose[:3, 3]
        drawings.append(
            HandDrawing(
                grasp.keypoints_object,
                grasp.finger_contacts,
                (surface.points - centre) @ rotation,
                surface.finger,
            )
        )
        side = "left" if grasp.is_left else "right"
        titles.append(
            f"{grasp.object.kind} {grasp.object.size * 100:.1f} cm, {side}, "
            f"{int(grasp.finger_contacts.sum())} fingers"
        )
    return save_grasp_sheet([g.object for g in grasps], path, drawings, titles, columns)

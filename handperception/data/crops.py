"""Single-hand crops of a common-format sample's labelled hands, framed as the node frames them.

Why one place: training on a real dataset and evaluating on one must frame each hand like the
node's tracker does (``geometry.crops.box_from_keypoints``, around the hand's 2D keypoints), or the
network is taught or scored on crops it never meets at run time.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

# What the pose training loop reads from an item (``train.pose.batch_to_inputs``).
TRAINING_FIELDS = ("rgb", "keypoints_2d", "keypoints_3d", "visibility", "K", "is_left")


def labelled_hand_crops(sample: dict, crop_size: int) -> Iterator[dict[str, np.ndarray]]:
    """One item per labelled hand of ``sample`` (``handperception.data`` format), in the synthetic
    crops' layout: rgb (S, S, 3) uint8; keypoints_2d (1, 21, 2) float32 crop pixels, the
    projection of keypoints_3d (1, 21, 3) float32 metres with K (3, 3) float64, the crop's
    intrinsics; visibility (1, 21) labelled and inside the crop; is_left (1,) bool.

    Hands a dataset marks invalid (``hand_valid``) or with no labelled joint are skipped.
    """
    from handperception.data.common import project
    from handperception.geometry.camera import PinholeCamera
    from handperception.geometry.crops import box_from_keypoints, crop_and_resize

    rgb = sample["rgb"]
    camera = PinholeCamera.from_matrix(sample["K"], rgb.shape[1], rgb.shape[0])
    valid = sample.get("hand_valid", np.ones(len(sample["keypoints_3d"]), bool))
    for hand in np.flatnonzero(valid & sample["visibility"].any(-1)):
        labelled = sample["visibility"][hand]
        box = box_from_keypoints(sample["keypoints_2d"][hand][labelled])
        crop, crop_camera = crop_and_resize(rgb, camera, box, crop_size)
        joints = sample["keypoints_3d"][hand].astype(np.float32)
        # The loaders' projection: unlabelled joints stored as zeros get (0, 0), not an error.
        uv, inside = project(joints.astype(np.float64), crop_camera.matrix, crop_size, crop_size)
        yield {
            "rgb": crop,
            "keypoints_2d": uv[None].astype(np.float32),
            "keypoints_3d": joints[None],
            "visibility": (labelled & inside)[None],
            "K": crop_camera.matrix.astype(np.float64),
            "is_left": np.asarray(sample["is_left"][hand], dtype=bool).reshape(1),
        }

"""Contact and penetration between a hand and an object: the one home of this maths.

Why here, below synthesis, evaluation and the grasp node: the grasp sampler accepts or rejects
proposals with exactly the numbers the evaluation reports (penetration depth, interpenetration
volume, contact ratio; the GraspTTA / GanHand metric family), so both must call one
implementation. The object is a signed-distance callable, so analytic shapes (spheres, boxes)
and mesh SDFs are scored by the same code.

Units: metres throughout (inputs and outputs); volumes in cubic metres.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from handperception.validation import float_array

# (M, 3) points in metres -> (M,) signed distances to the object surface, negative inside.
SignedDistance = Callable[[np.ndarray], np.ndarray]


def _signed_distances(object_sdf: SignedDistance, points: np.ndarray) -> np.ndarray:
    distances = float_array(object_sdf(points), "object_sdf(points)")
    if distances.shape != (points.shape[0],):
        raise ValueError(
            f"object_sdf must return shape ({points.shape[0]},) for {points.shape[0]} points, "
            f"got {distances.shape}"
        )
    return distances


def _points(points: Any, name: str) -> np.ndarray:
    array = float_array(points, name)
    if array.ndim < 2 or array.shape[-1] != 3 or array.size == 0:
        raise ValueError(
            f"{name} must be a non-empty (..., 3) array of points, got shape {array.shape}"
        )
    return array.reshape(-1, 3)


def penetration_depth(hand_points: Any, object_sdf: SignedDistance) -> float:
    """Deepest point of the hand inside the object, metres (0 when nothing penetrates).

    Args:
        hand_points: (M, 3) hand surface points (e.g. mesh vertices), metres.
        object_sdf: signed distance of the object, negative inside.
    """
    distances = _signed_distances(object_sdf, _points(hand_points, "hand_points"))
    return float(max(0.0, -distances.min()))


def interpenetration_volume(
    hand_samples: Any,
    object_sdf: SignedDistance,
    volume_per_sample: float,
    hand_sdf: Any = None,
) -> float:
    """Volume of the hand that lies inside the object, cubic metres.

    Estimated by counting hand-occupancy samples inside the object, each standing for
    ``volume_per_sample``. Two ways to get samples:

    * voxel: the centres of a regular grid of voxel size ``v`` covering the hand, with
      ``hand_sdf`` the hand's signed distance at each centre (only centres with
      ``hand_sdf < 0`` are hand); ``volume_per_sample = v ** 3``;
    * Monte Carlo: M points drawn uniformly inside the hand (``hand_sdf`` None);
      ``volume_per_sample = hand_volume / M``.

    Args:
        hand_samples: (M, 3) sample positions, metres.
        object_sdf: signed distance of the object, negative inside.
        volume_per_sample: positive volume each sample represents, cubic metres.
        hand_sdf: optional (M,) hand signed distances at the samples, negative inside the hand.
    """
    points = _points(hand_samples, "hand_samples")
    if not np.isfinite(volume_per_sample) or volume_per_sample <= 0:
        raise ValueError(f"volume_per_sample must be finite and > 0, got {volume_per_sample}")
    inside_hand = np.ones(points.shape[0], dtype=bool)
    if hand_sdf is not None:
        inside_hand = float_array(hand_sdf, "hand_sdf", (points.shape[0],)) < 0
    inside_object = _signed_distances(object_sdf, points) < 0
    return float(np.count_nonzero(inside_hand & inside_object) * volume_per_sample)


def contact_ratio(fingertips: Any, object_sdf: SignedDistance, threshold: float = 0.005) -> float:
    """Fraction of fingertips within ``threshold`` metres of the object surface
    (``|sdf| <= threshold``).

    A fingertip sunk deeper than the threshold is not counted as contact: that failure is what
    ``penetration_depth`` reports, and counting it here would reward penetrating grasps.

    Args:
        fingertips: (F, 3) or (N, F, 3) fingertip positions (skeleton.FINGERTIPS joints), metres.
        object_sdf: signed distance of the object, negative inside.
        threshold: contact distance, metres, >= 0.
    """
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"contact threshold must be finite and >= 0, got {threshold}")
    distances = _signed_distances(object_sdf, _points(fingertips, "fingertips"))
    return float(np.mean(np.abs(distances) <= threshold))

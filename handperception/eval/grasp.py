"""Physical plausibility and diversity of proposed grasps (the GraspTTA / GanHand metric family).

Why these four: a grasp can have perfect-looking keypoints yet sink into the object
(penetration depth and interpenetration volume), hover off it (contact ratio), or a generator
can collapse onto one grasp per object (diversity). The object is given as a signed-distance
callable so analytic shapes (spheres, boxes) and mesh SDFs are scored by the same code.

Units: metres throughout (inputs and outputs); volumes in cubic metres.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.spatial.distance import pdist

from handperception.eval._arrays import float_array

# (M, 3) points in metres -> (M,) signed distances to the object surface, negative inside.
SignedDistance = Callable[[np.ndarray], np.ndarray]


def _signed_distances(object_sdf: SignedDistance, points: np.ndarray) -> np.ndarray:
    distances = float_array(object_sdf(points), "object_sdf(points)")
    if distances.shape != (points.shape[0],):
        raise ValueError(f"object_sdf must return shape ({points.shape[0]},) for {points.shape[0]} points, got {distances.shape}")
    return distances


def _points(points: Any, name: str) -> np.ndarray:
    array = float_array(points, name)
    if array.ndim < 2 or array.shape[-1] != 3 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty (..., 3) array of points, got shape {array.shape}")
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
    """Fraction of fingertips within ``threshold`` metres of the object surface (``|sdf| <= threshold``).

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


@dataclass(frozen=True)
class GraspDiversity:
    """How spread out a set of grasps is.

    Attributes:
        mean_pairwise_distance: mean over grasp pairs of the mean per-keypoint distance, metres.
        cluster_entropy: entropy of the k-means cluster occupancy divided by log(k), in [0, 1]
            (1 = grasps spread evenly over k clusters, 0 = all in one).
        cluster_sizes: (k,) number of grasps per cluster.
    """

    mean_pairwise_distance: float
    cluster_entropy: float
    cluster_sizes: np.ndarray


def grasp_diversity(grasp_keypoints: Any, num_clusters: int = 20, max_iterations: int = 100) -> GraspDiversity:
    """Diversity of G grasps from their hand keypoints (e.g. the 21 joints in the object frame).

    The k-means is deterministic (farthest-point initialisation from grasp 0, then Lloyd
    iterations) so the same grasps always give the same entropy.

    Args:
        grasp_keypoints: (G, K, 3) keypoints of each grasp, metres, in a common (object) frame.
        num_clusters: k, with 2 <= k <= G.
        max_iterations: cap on Lloyd iterations.
    """
    grasps = float_array(grasp_keypoints, "grasp_keypoints", (None, None, 3))
    count, keypoints = grasps.shape[:2]
    if keypoints == 0:
        raise ValueError("grasp_keypoints has no keypoints")
    if int(num_clusters) != num_clusters or not 2 <= num_clusters <= count:
        raise ValueError(f"num_clusters must be an integer in 2..{count} (the number of grasps), got {num_clusters}")
    pairwise = sum(pdist(grasps[:, k]) for k in range(keypoints)) / keypoints
    sizes = _kmeans_cluster_sizes(grasps.reshape(count, -1), int(num_clusters), max_iterations)
    fractions = sizes[sizes > 0] / count
    entropy = float(-(fractions * np.log(fractions)).sum() / np.log(num_clusters))
    return GraspDiversity(mean_pairwise_distance=float(np.mean(pairwise)), cluster_entropy=entropy, cluster_sizes=sizes)


def _kmeans_cluster_sizes(vectors: np.ndarray, k: int, max_iterations: int) -> np.ndarray:
    """(k,) cluster sizes of deterministic k-means on (G, D) vectors."""
    chosen = [0]
    nearest = np.linalg.norm(vectors - vectors[0], axis=1)
    for _ in range(1, k):
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(vectors - vectors[chosen[-1]], axis=1))
    centres = vectors[chosen].copy()
    labels = np.full(vectors.shape[0], -1)
    for _ in range(max_iterations):
        distances = np.linalg.norm(vectors[:, None, :] - centres[None, :, :], axis=2)
        new_labels = np.argmin(distances, axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for cluster in range(k):
            members = labels == cluster
            if members.any():
                centres[cluster] = vectors[members].mean(axis=0)
    return np.bincount(labels, minlength=k)

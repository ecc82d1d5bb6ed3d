"""Diversity of proposed grasps (the GraspTTA / GanHand metric family), and the summary a grasp
generator is reported by.

Why: a generator can collapse onto one grasp per object while every single grasp looks
plausible; the plausibility of each grasp (penetration, contact) is ``geometry.contact``.
Units: metres (summaries in cm, cm^3 and %, as GraspTTA reports them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from handperception.validation import float_array

# GraspTTA's number of k-means clusters for the diversity entropy.
DIVERSITY_CLUSTERS = 20


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


def grasp_diversity(
    grasp_keypoints: Any, num_clusters: int = 20, max_iterations: int = 100
) -> GraspDiversity:
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
        raise ValueError(
            f"num_clusters must be an integer in 2..{count} (the number of grasps), "
            f"got {num_clusters}"
        )
    pairwise = sum(pdist(grasps[:, k]) for k in range(keypoints)) / keypoints
    sizes = _kmeans_cluster_sizes(grasps.reshape(count, -1), int(num_clusters), max_iterations)
    fractions = sizes[sizes > 0] / count
    entropy = float(-(fractions * np.log(fractions)).sum() / np.log(num_clusters))
    return GraspDiversity(
        mean_pairwise_distance=float(np.mean(pairwise)),
        cluster_entropy=entropy,
        cluster_sizes=sizes,
    )


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


def summarise_grasps(
    penetration_depth: Any,
    penetration_volume: Any,
    contact_ratio: Any,
    grasp_keypoints: Any,
    num_clusters: int = DIVERSITY_CLUSTERS,
) -> dict[str, float]:
    """Means over G grasps in GraspTTA's units and the set's diversity, so every generator
    evaluation reads on one scale.

    Args:
        penetration_depth: (G,) deepest skin point inside the object, metres.
        penetration_volume: (G,) hand volume inside the object, m^3.
        contact_ratio: (G,) fraction of fingers touching, in [0, 1].
        grasp_keypoints: (G, K, 3) the grasps' keypoints in the object frame, metres.
        num_clusters: k of the diversity entropy, lowered to G when fewer grasps (a set of one
            grasp has diversity 0).
    """
    keypoints = float_array(grasp_keypoints, "grasp_keypoints", (None, None, 3))
    columns = [
        float_array(values, name, (len(keypoints),))
        for values, name in (
            (penetration_depth, "penetration_depth"),
            (penetration_volume, "penetration_volume"),
            (contact_ratio, "contact_ratio"),
        )
    ]
    if len(keypoints) == 0:
        raise ValueError("no grasps to summarise")
    depth, volume, ratio = columns
    clusters = min(num_clusters, len(keypoints))
    return {
        "penetration_volume_cm3": float(volume.mean() * 1e6),
        "penetration_depth_cm": float(depth.mean() * 100),
        "contact_ratio_pct": float(ratio.mean() * 100),
        "diversity_entropy": grasp_diversity(keypoints, clusters).cluster_entropy
        if clusters >= 2
        else 0.0,
        "grasps": float(len(keypoints)),
    }

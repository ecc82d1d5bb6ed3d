"""Losses of grasp generation: the CVAE's training loss and the terms grasp refinement minimises.

Why these terms (GraspTTA, Jiang et al. ICCV 2021; HALO, Karunratanakul et al. 3DV 2021): a
sampled grasp is close to a good one but sinks into the object or hovers above it. Refinement
moves the keypoints to lower

* penetration, seen from both sides: the hand's occupancy (HALO, differentiable in the
  keypoints) at points inside the object, and the object's signed distance at the hand's skin
  (here the finger capsules' axes, whose skin is ``radius`` away: depth = radius - sdf);
* contact: each finger's skin nearest the object, and the palm's, pulled onto the surface
  (gap = sdf - radius, when positive), the rule by which the metrics count a finger touching;
* implausibility: the project's biomechanical hinges (``losses.biomechanical``) and a drift term
  keeping each bone at its starting length, so the hand cannot escape the object by shrinking.

The object is a set of oriented surface samples (points and outward normals), which both a
synthetic mesh and a depth camera's cloud give; its signed distance near the surface is the
distance to the nearest sample, signed by that sample's normal (``oriented_point_sdf``). All
lengths in metres; every refinement term returns one value per hand (B,) so proposals refine
independently.
"""

from __future__ import annotations

import torch

from handperception.losses.biomechanical import bone_lengths


def cvae_loss(
    reconstruction: torch.Tensor,
    target: torch.Tensor,
    mean: torch.Tensor,
    log_variance: torch.Tensor,
    kl_weight: float,
) -> dict[str, torch.Tensor]:
    """The CVAE's loss: reconstruction + kl_weight * KL(q(z | hand, object) || N(0, I)).

    reconstruction: mean squared keypoint distance in cm^2 (a Gaussian likelihood of 1 cm, up
    to its constant and a factor of 2); kl: summed over latent dimensions, averaged over the
    batch. Shapes: keypoints (B, 21, 3) metres, mean and log_variance (B, latent).
    Returns {"reconstruction", "kl", "total"} scalars.
    """
    if reconstruction.shape != target.shape:
        raise ValueError(
            f"reconstruction {tuple(reconstruction.shape)} and target {tuple(target.shape)} differ"
        )
    if not kl_weight >= 0:
        raise ValueError(f"kl_weight must be >= 0, got {kl_weight}")
    squared_cm = ((reconstruction - target) * 100.0).pow(2).sum(-1)
    kl = 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance).sum(-1)
    terms = {"reconstruction": squared_cm.mean(), "kl": kl.mean()}
    terms["total"] = terms["reconstruction"] + kl_weight * terms["kl"]
    return terms


def oriented_point_sdf(
    queries: torch.Tensor,
    surface_points: torch.Tensor,
    surface_normals: torch.Tensor,
    nearest: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B, M, 3) query points -> (B, M) signed distance, metres, negative inside: the distance to
    the nearest surface sample, signed by which side of that sample's tangent plane the point
    lies on. Surface (S, 3) points and outward unit normals. ``nearest``: (B * M,) index of each
    query's nearest sample when the caller found them faster (a KD-tree, for the tens of
    thousands of points a metric reads), else found here by brute force.

    Why not the point-to-plane distance: near an edge (a box's, a cylinder's rim) the nearest
    sample's plane runs on past the surface and underestimates the distance by millimetres,
    which is the whole contact tolerance; the distance to a sample overestimates by at most
    about half the samples' spacing, and only where the point lies beside them."""
    flat = queries.reshape(-1, 3)
    if nearest is None:
        nearest = torch.cdist(flat, surface_points).argmin(dim=1)
    offsets = flat - surface_points.index_select(0, nearest)
    side = torch.sign((offsets * surface_normals.index_select(0, nearest)).sum(-1))
    distances = torch.sqrt((offsets * offsets).sum(-1) + 1e-12) * side
    return distances.view(queries.shape[:-1])


def occupancy_penetration(
    halo, keypoints: torch.Tensor, is_left: torch.Tensor, interior_points: torch.Tensor
) -> torch.Tensor:
    """(B,) expected number of object-interior points inside each hand: the sum of HALO's
    occupancy probabilities at (B, P, 3) points inside the object, for (B, 21, 3) keypoints.
    Times the volume each interior point stands for, it estimates the interpenetration volume."""
    return halo.occupancy(interior_points, keypoints, is_left).sum(-1)


def capsule_penetration(clearance: torch.Tensor) -> torch.Tensor:
    """(B,) summed depth (metres) of capsule skin inside the object, from (B, M) clearances of
    capsule-axis points (the object's signed distance there minus the capsule's radius)."""
    return torch.relu(-clearance).sum(-1)


def contact_gap(clearance: torch.Tensor) -> torch.Tensor:
    """(B,) mean gap (metres) between the object and M skin parts that should touch it (each
    finger's closest skin, the palm), from their (B, M) clearances; a part inside the object is
    penetration's business."""
    return torch.relu(clearance).mean(-1)


def bone_length_drift(keypoints: torch.Tensor, initial_lengths: torch.Tensor) -> torch.Tensor:
    """(B,) mean relative change of the 20 bones' lengths from (B, 20) ``initial_lengths``."""
    return ((bone_lengths(keypoints) - initial_lengths).abs() / initial_lengths).mean(-1)

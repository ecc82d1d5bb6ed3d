"""2.5D -> metric 3D: the one home of lifting a hand pose to the camera frame.

Why 2.5D (Iqbal et al., ECCV 2018): a crop cannot tell a small near hand from a large far one,
so the pose network predicts what the image does determine: each joint's pixel position and its
depth relative to the wrist in units of one reference bone (wrist -> middle MCP). Metric 3D then
needs the crop's real intrinsics and metric bone lengths, to solve for the root depth.

Two variants, named for where they run:
- ``lift_reference_bone`` (torch, differentiable, training and claims): the root depth that makes
  the reference bone exactly its length, the paper's closed form. Cheap and differentiable, but a
  few millimetres of depth error in that one bone can move the root by tens of centimetres.
- ``lift_all_bones`` (numpy, run time: the node, evaluation): the root depth at which all 20
  bones of the mean hand fit best, kept short of the foreshortening bound. This is what metric
  3D published by the stack comes from.
``backproject_2p5d`` places a 2.5D pose at a known root depth (training, with the label's).
"""

from __future__ import annotations

import numpy as np
import torch

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.definition import BONES, FINGER_JOINTS, NUM_JOINTS, ROOT
from handperception.skeleton.kinematics import MEAN_BONE_LENGTHS
from handperception.validation import float_array

REFERENCE_BONE_JOINTS = (ROOT, FINGER_JOINTS[2][0])
MEAN_REFERENCE_LENGTH_M = float(MEAN_BONE_LENGTHS[BONES.index(REFERENCE_BONE_JOINTS)])
BONE_PAIRS = np.array(BONES)


def intrinsics_tensor(
    camera: PinholeCamera | torch.Tensor, batch: int, like: torch.Tensor
) -> torch.Tensor:
    """A PinholeCamera (shared) or (B, 3, 3) K matrices -> (B, 3, 3) tensor like `like`."""
    if isinstance(camera, PinholeCamera):
        k = torch.as_tensor(camera.matrix, dtype=like.dtype, device=like.device)
        return k.expand(batch, 3, 3)
    k = torch.as_tensor(camera, dtype=like.dtype, device=like.device)
    if tuple(k.shape) != (batch, 3, 3):
        raise ValueError(
            f"camera must be a PinholeCamera or ({batch}, 3, 3) intrinsics, got {tuple(k.shape)}"
        )
    return k


def _rays_and_offsets(uv, depth, camera, bone_length_m):
    """Checked inputs -> (B, J, 2) normalised image coordinates, (B, J) metric relative depth,
    (B,) or scalar length."""
    if uv.ndim != 3 or uv.shape[-1] != 2 or tuple(depth.shape) != tuple(uv.shape[:2]):
        raise ValueError(
            f"uv must be (B, J, 2) and depth (B, J), got {tuple(uv.shape)} and {tuple(depth.shape)}"
        )
    length = torch.as_tensor(bone_length_m, dtype=uv.dtype, device=uv.device)
    if torch.any(length <= 0) or not torch.all(torch.isfinite(length)):
        raise ValueError("bone_length_m must be positive and finite")
    k = intrinsics_tensor(camera, uv.shape[0], uv)
    x = (uv[..., 0] - k[:, None, 0, 2]) / k[:, None, 0, 0]
    y = (uv[..., 1] - k[:, None, 1, 2]) / k[:, None, 1, 1]
    relative = depth * (length[:, None] if length.ndim == 1 else length)
    return torch.stack([x, y], dim=-1), relative, length


def backproject_2p5d(
    uv: torch.Tensor,
    depth: torch.Tensor,
    camera: PinholeCamera | torch.Tensor,
    root_depth: torch.Tensor,
    bone_length_m: float | torch.Tensor = MEAN_REFERENCE_LENGTH_M,
) -> torch.Tensor:
    """2.5D with a known root depth (B,) metres -> (B, 21, 3) metres, camera frame.

    Shapes and units of the other arguments as in lift_reference_bone. Training uses it with the
    labelled root depth, which keeps the 3D loss away from the root solve's degenerate cases.
    """
    normalized, relative, _ = _rays_and_offsets(uv, depth, camera, bone_length_m)
    z = root_depth[:, None] + relative
    return torch.cat([normalized * z[..., None], z[..., None]], dim=-1)


def lift_reference_bone(
    uv: torch.Tensor,
    depth: torch.Tensor,
    camera: PinholeCamera | torch.Tensor,
    bone_length_m: float | torch.Tensor = MEAN_REFERENCE_LENGTH_M,
) -> torch.Tensor:
    """2.5D -> metric 3D keypoints in the crop camera's frame.

    Args:
        uv: (B, 21, 2) pixels in the crop whose camera is `camera`.
        depth: (B, 21) root-relative depth in reference-bone units.
        camera: the crop's PinholeCamera (the full camera after ``crop``/``resize``) or (B, 3, 3)
            intrinsics per sample.
        bone_length_m: metric length of the reference bone wrist -> middle MCP, scalar or (B,).
    Returns:
        (B, 21, 3) metres, camera frame (x right, y down, z forward). Differentiable.
    """
    normalized, relative, length = _rays_and_offsets(uv, depth, camera, bone_length_m)
    root = recover_root_depth(normalized, relative, REFERENCE_BONE_JOINTS, length)
    return backproject_2p5d(uv, depth, camera, root, bone_length_m)


def recover_root_depth(
    normalized_xy: torch.Tensor,
    relative_depth: torch.Tensor,
    bone: tuple[int, int],
    bone_length: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Absolute root depth from 2.5D keypoints (Iqbal et al., ECCV 2018).

    A 2.5D pose gives each joint's ray (normalized image coordinates ``K^-1 [u, v, 1]``) and its
    depth relative to the root. The absolute depth is the one that makes the reference bone
    (a, b) exactly ``bone_length`` long, the larger root of a quadratic. Networks predict
    relative depth in units of that bone, so ``bone_length=1`` then gives root depth in the same
    units; multiply by the metric bone length for metres.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates.
        relative_depth: (B, J) depth of each joint minus the root's, same unit as bone_length.
        bone: joint indices (a, b) of the reference bone.
        bone_length: length of that bone, scalar or (B,).
    Returns:
        (B,) root depth. Differentiable; clamped so it never goes below a small positive value.
    """
    a, b = bone
    xa, ya = normalized_xy[:, a, 0], normalized_xy[:, a, 1]
    xb, yb = normalized_xy[:, b, 0], normalized_xy[:, b, 1]
    za, zb = relative_depth[:, a], relative_depth[:, b]
    # |(x_a (z + z_a) - x_b (z + z_b), y_a (...) - y_b (...), z_a - z_b)|^2 = L^2, quadratic in z.
    dx, dy = xa - xb, ya - yb
    ex, ey = xa * za - xb * zb, ya * za - yb * zb
    qa = dx * dx + dy * dy
    qb = 2.0 * (dx * ex + dy * ey)
    length = torch.as_tensor(bone_length, dtype=normalized_xy.dtype, device=normalized_xy.device)
    qc = ex * ex + ey * ey + (za - zb) ** 2 - length**2
    discriminant = torch.clamp(qb * qb - 4.0 * qa * qc, min=0.0)
    root = (-qb + torch.sqrt(discriminant + 1e-12)) / (2.0 * qa.clamp(min=1e-12))
    return root.clamp(min=1e-3)


def recover_root_depth_from_bones(
    normalized_xy: np.ndarray,
    relative_depth: np.ndarray,
    bones: np.ndarray,
    bone_lengths: np.ndarray,
    depth_range: tuple[float, float] = (0.1, 4.0),
    samples: int = 96,
) -> np.ndarray:
    """Absolute root depth that makes *every* bone as long as the hand model says, least squares.

    ``recover_root_depth`` trusts one bone: an error of a few millimetres in that bone's relative
    depth (a network's typical error) can move the root by tens of centimetres, or leave its
    quadratic without a real root. Fitting all bones averages those errors. The cost is not
    convex in general, so it is searched on a grid over ``depth_range``, again on a finer grid
    around the best sample, and refined with a parabola through the best and its neighbours.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates ``K^-1 [u, v, 1]``.
        relative_depth: (B, J) joint depth minus the root's, metres.
        bones: (E, 2) joint index pairs (parent, child).
        bone_lengths: (E,) or (B, E) expected lengths, metres.
    Returns:
        (B,) root depth, metres.
    """
    xy = np.asarray(normalized_xy, dtype=np.float64)
    relative = np.asarray(relative_depth, dtype=np.float64)
    bones = np.asarray(bones)
    lengths = np.asarray(bone_lengths, dtype=np.float64)
    low, high = depth_range
    if not 0 < low < high or samples < 3:
        raise ValueError(
            "need 0 < depth_range[0] < depth_range[1] and samples >= 3, "
            f"got {depth_range}, {samples}"
        )
    grid = np.linspace(low, high, samples)
    parent, child = bones[:, 0], bones[:, 1]

    def cost(depths: np.ndarray) -> np.ndarray:  # depths (B, G) -> (B, G)
        z = depths[..., None] + relative[:, None, :]
        x, y = xy[:, None, :, 0] * z, xy[:, None, :, 1] * z
        length = np.sqrt(
            (x[..., child] - x[..., parent]) ** 2
            + (y[..., child] - y[..., parent]) ** 2
            + (z[..., child] - z[..., parent]) ** 2
        )
        expected = lengths if lengths.ndim == 1 else lengths[:, None, :]
        return ((length - expected) ** 2).sum(-1)

    rows = np.arange(len(xy))

    def best_sample(depths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        costs = cost(depths)
        return costs, np.clip(costs.argmin(axis=1), 1, samples - 2), depths[:, 1] - depths[:, 0]

    # Coarse to fine: the whole range, then the two cells around the best sample; then a
    # parabola through the finest best sample and its neighbours.
    depths = np.broadcast_to(grid, (len(xy), samples))
    costs, best, step = best_sample(depths)
    depths = depths[rows, best][:, None] + step[:, None] * np.linspace(-1.0, 1.0, samples)[None, :]
    costs, best, step = best_sample(depths)
    left, middle, right = costs[rows, best - 1], costs[rows, best], costs[rows, best + 1]
    curvature = left - 2 * middle + right
    safe = np.where(curvature > 1e-18, curvature, 1.0)
    shift = np.where(curvature > 1e-18, 0.5 * (left - right) / safe, 0.0)
    return depths[rows, best] + np.clip(shift, -1.0, 1.0) * step


def foreshortening_depth_bound(
    normalized_xy: np.ndarray,
    relative_depth: np.ndarray,
    bones: np.ndarray,
    bone_lengths: np.ndarray,
    outliers: int = 1,
) -> np.ndarray:
    """The root depth past which bones would span more of the view than they are long.

    A bone can be foreshortened, never stretched: its extent across the view, at root depth z,
    ``|n_c (z + r_c) - n_p (z + r_p)|``, grows with z and cannot exceed its length. Each bone so
    gives a depth the root cannot be beyond, reached when the bone lies across the view. Why it
    is needed: a network's relative depths come out flat and its 2D skeletons small, so every
    bone looks short and the all-bones fit (``recover_root_depth_from_bones``) puts the hand too
    far; the bones that lie across the view say how far it can be.

    Args:
        normalized_xy: (B, J, 2) normalized image coordinates; relative_depth (B, J) metres.
        bones: (E, 2) joint index pairs; bone_lengths (E,) or (B, E) metres.
        outliers: how many of the tightest bounds to pass over, for bones whose 2D came out
            too long.
    Returns:
        (B,) metres; inf where fewer than ``outliers + 1`` bones give a bound (e.g. all of them
        pointing at the camera).
    """
    xy = np.asarray(normalized_xy, dtype=np.float64)
    relative = np.asarray(relative_depth, dtype=np.float64)
    bones = np.asarray(bones)
    lengths = np.broadcast_to(np.asarray(bone_lengths, dtype=np.float64), (len(xy), len(bones)))
    if not 0 <= outliers < len(bones):
        raise ValueError(f"outliers must be in [0, {len(bones) - 1}], got {outliers}")
    parent, child = bones[:, 0], bones[:, 1]
    # |a z + b| = L with a = n_c - n_p, b = n_c r_c - n_p r_p: the larger root of a quadratic.
    a = xy[:, child] - xy[:, parent]
    b = xy[:, child] * relative[:, child, None] - xy[:, parent] * relative[:, parent, None]
    aa, ab, bb = (a * a).sum(-1), (a * b).sum(-1), (b * b).sum(-1)
    discriminant = ab * ab - aa * (bb - lengths**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (-ab + np.sqrt(np.maximum(discriminant, 0.0))) / aa
    valid = (aa > 1e-12) & (discriminant >= 0) & (depth > 0)
    return np.sort(np.where(valid, depth, np.inf), axis=-1)[:, outliers]


def normalized_coordinates(uv: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(B, J, 2) pixels and (B, 3, 3) intrinsics -> (B, J, 2) normalised image coordinates."""
    k = np.asarray(intrinsics, dtype=np.float64)
    return (np.asarray(uv, dtype=np.float64) - k[:, None, :2, 2]) / k[:, None, [0, 1], [0, 1]]


def lift_all_bones(
    uv: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    bone_length_m: float = MEAN_REFERENCE_LENGTH_M,
) -> np.ndarray:
    """2.5D -> metric 3D at run time: the root depth that fits all 20 bones of the mean hand
    (scaled so the reference bone is ``bone_length_m``), capped at the foreshortening bound.

    Why both: fitting every bone averages the network's depth noise, which the single reference
    bone cannot; but flat predicted relative depths make every bone look short and push the fit
    away from the camera, and the bones lying across the view say how far the hand can be
    (passing over one outlier bone). Measured on the synthetic interpolation split, the bound
    took MPJPE from 105.7 to 91.3 mm (docs/evaluation.md).

    Args:
        uv: (B, 21, 2) crop pixels; depth: (B, 21) root-relative depth in reference-bone units;
        intrinsics: (B, 3, 3) of each crop; bone_length_m: the reference bone, metres.
    Returns:
        (B, 21, 3) metres, camera frame.
    """
    if not bone_length_m > 0:
        raise ValueError(f"bone_length_m must be positive, got {bone_length_m}")
    uv = float_array(uv, "uv", (..., NUM_JOINTS, 2))
    depth = float_array(depth, "depth", (..., NUM_JOINTS))
    intrinsics = float_array(intrinsics, "intrinsics", (..., 3, 3))
    normalized = normalized_coordinates(uv, intrinsics)
    relative = np.asarray(depth, dtype=np.float64) * bone_length_m
    lengths = np.asarray(MEAN_BONE_LENGTHS) * (bone_length_m / MEAN_REFERENCE_LENGTH_M)
    fit = recover_root_depth_from_bones(normalized, relative, BONE_PAIRS, lengths)
    bound = foreshortening_depth_bound(normalized, relative, BONE_PAIRS, lengths, outliers=1)
    joint_depth = np.minimum(fit, bound)[:, None] + relative
    with np.errstate(over="ignore", invalid="ignore"):
        joints = np.concatenate(
            [normalized * joint_depth[..., None], joint_depth[..., None]], axis=-1
        )
    if not np.all(np.isfinite(joints)):
        # Finite but absurd input (keypoints 1e150 px off, a degenerate camera) overflows.
        raise ValueError("these keypoints and intrinsics do not lift to finite joints")
    return joints


def lift_hand_pair(
    uv: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    root_offset: np.ndarray,
    bone_length_m: float = MEAN_REFERENCE_LENGTH_M,
) -> np.ndarray:
    """Two hands of one crop -> metric 3D placed relative to each other (MRRPE's concern).

    Each hand alone is lifted by ``lift_all_bones``, which gets its distance from its own bones;
    when two hands overlap, one hand's depth errors move it independently of the other. The
    two-hand network predicts the wrists' depth difference directly (``root_offset``), so the
    pair keeps the mean of the two independent wrist depths and takes its difference from the
    network; each hand is then re-placed at its wrist depth along the same pixel rays.

    Args:
        uv: (B, 2, 21, 2) pixels of a first and a second hand; depth: (B, 2, 21) root-relative
        in reference-bone units; intrinsics: (B, 3, 3); root_offset: (B,) the second wrist's
        depth minus the first's, in reference-bone units; bone_length_m: the reference bone,
        metres.
    Returns:
        (B, 2, 21, 3) metres, camera frame.
    """
    uv = float_array(uv, "uv", (None, 2, NUM_JOINTS, 2))
    batch = len(uv)
    depth = float_array(depth, "depth", (batch, 2, NUM_JOINTS))
    intrinsics = float_array(intrinsics, "intrinsics", (batch, 3, 3))
    offset = float_array(root_offset, "root_offset", (batch,))
    pairs_k = np.repeat(intrinsics, 2, axis=0)
    alone = lift_all_bones(
        uv.reshape(-1, NUM_JOINTS, 2), depth.reshape(-1, NUM_JOINTS), pairs_k, bone_length_m
    ).reshape(batch, 2, NUM_JOINTS, 3)
    mean_root = alone[:, :, ROOT, 2].mean(axis=1)
    half = offset * bone_length_m / 2
    # Never behind the camera: a wild offset is clamped to keep both wrists in front of it.
    half = np.clip(half, -0.9 * mean_root, 0.9 * mean_root)
    roots = np.stack([mean_root - half, mean_root + half], axis=1)
    joint_depth = roots[..., None] + depth * bone_length_m
    normalized = normalized_coordinates(uv.reshape(-1, NUM_JOINTS, 2), pairs_k).reshape(
        batch, 2, NUM_JOINTS, 2
    )
    return np.concatenate([normalized * joint_depth[..., None], joint_depth[..., None]], axis=-1)

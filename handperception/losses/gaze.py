"""Training loss of Deep Pictorial Gaze: gazemaps per stack plus the gaze angles.

Why both terms: the gazemaps are the picture the angles are read from, so every stack is
supervised with the rendered maps (intermediate supervision keeps early stacks useful), and the
angle term trains the regressor and tunes the maps for what matters in the end. The maps are
pixel coverages in [0, 1] (anti-aliased edges), so the map term is a per-pixel binary cross-entropy
against soft targets; the angle term is the mean absolute pitch/yaw error in radians, which keeps
a steady gradient down to small errors where a squared error fades (and, unlike the angle between
vectors, has no singular gradient at zero error).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from handperception.models.gaze import GazeNetOutput

DEFAULT_WEIGHTS = {"gazemap": 1.0, "angle": 1.0}


def gaze_loss(
    output: GazeNetOutput,
    gazemaps: torch.Tensor,
    pitchyaw: torch.Tensor,
    weights: dict[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """Loss terms for one batch.

    Args:
        output: the network's output (gazemap logits per stack, pitch/yaw).
        gazemaps: (N, 2, 36, 60) target coverages in [0, 1] (eyeball, iris).
        pitchyaw: (N, 2) target radians, normalised camera.
        weights: override DEFAULT_WEIGHTS' "gazemap" and "angle".
    Returns:
        {"gazemap": mean over stacks of the per-pixel cross-entropy, "angle": mean |error|
        radians, "total": their weighted sum}.
    """
    merged = {**DEFAULT_WEIGHTS, **(weights or {})}
    unknown = set(merged) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown gaze loss weights {sorted(unknown)}; known: {DEFAULT_WEIGHTS}")
    if tuple(pitchyaw.shape) != tuple(output.pitchyaw.shape):
        raise ValueError(
            f"target pitchyaw {tuple(pitchyaw.shape)} does not match the prediction "
            f"{tuple(output.pitchyaw.shape)}"
        )
    for logits in output.gazemaps:
        if logits.shape != gazemaps.shape:
            raise ValueError(
                f"target gazemaps {tuple(gazemaps.shape)} do not match the prediction "
                f"{tuple(logits.shape)}"
            )
    terms = {
        "gazemap": torch.stack(
            [F.binary_cross_entropy_with_logits(logits, gazemaps) for logits in output.gazemaps]
        ).mean(),
        "angle": (output.pitchyaw - pitchyaw).abs().mean(),
    }
    terms["total"] = sum(merged[name] * value for name, value in terms.items())
    return terms

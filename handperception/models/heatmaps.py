"""Heatmap utilities: differentiable soft-argmax, peak sharpness, Gaussian targets, coordinates.

Convention: pixel centres at integer coordinates, in heatmap pixels (x = column, y = row), the
same as geometry.camera (OpenCV). A heatmap of stride s covers image pixels such that heatmap
pixel i is centred on image coordinate ``(i + 0.5) * s - 0.5`` (centre-aligned resizing, as
``PinholeCamera.resize``).
"""

from __future__ import annotations

import torch


def _check_heatmaps(heatmaps: torch.Tensor) -> None:
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must be (B, J, h, w), got {tuple(heatmaps.shape)}")


def spatial_softmax(heatmaps: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """(B, J, h, w) logits -> (B, J, h, w) probabilities summing to 1 per map; beta sharpens."""
    _check_heatmaps(heatmaps)
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta}")
    b, j, h, w = heatmaps.shape
    return torch.softmax(beta * heatmaps.reshape(b, j, h * w), dim=-1).reshape(b, j, h, w)


def _grids(h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(h, dtype=like.dtype, device=like.device)
    xs = torch.arange(w, dtype=like.dtype, device=like.device)
    return xs, ys


def expected_coordinates(probabilities: torch.Tensor) -> torch.Tensor:
    """(B, J, h, w) probabilities -> (B, J, 2) expected (x, y) in heatmap pixels."""
    _check_heatmaps(probabilities)
    xs, ys = _grids(*probabilities.shape[-2:], probabilities)
    x = (probabilities.sum(-2) * xs).sum(-1)
    y = (probabilities.sum(-1) * ys).sum(-1)
    return torch.stack([x, y], dim=-1)


def soft_argmax(heatmaps: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable argmax (integral regression, Sun et al. 2018).

    Args:
        heatmaps: (B, J, h, w) logits.
        beta: inverse temperature; larger approaches the hard argmax.
    Returns:
        (B, J, 2) expected (x, y) in heatmap pixels, and the (B, J, h, w) probabilities.
    """
    probabilities = spatial_softmax(heatmaps, beta)
    return expected_coordinates(probabilities), probabilities


def peak_mass(
    probabilities: torch.Tensor, coordinates: torch.Tensor, radius: float = 2.0
) -> torch.Tensor:
    """(B, J) share of each map's probability within `radius` heatmap pixels of `coordinates`.

    A confidence in [0, 1]: a sharp single peak puts nearly all its mass there, an ambiguous or
    flat map (occluded joint, two candidate locations) spreads it.
    """
    _check_heatmaps(probabilities)
    xs, ys = _grids(*probabilities.shape[-2:], probabilities)
    dx = xs[None, None, None, :] - coordinates[..., 0, None, None]
    dy = ys[None, None, :, None] - coordinates[..., 1, None, None]
    inside = (dx * dx + dy * dy <= radius * radius).to(probabilities.dtype)
    return (probabilities * inside).sum((-2, -1))


def gaussian_heatmaps(
    coordinates: torch.Tensor, height: int, width: int, sigma: float = 1.5
) -> torch.Tensor:
    """(B, J, 2) (x, y) heatmap pixels -> (B, J, height, width) Gaussians, peak 1 at each point."""
    if height <= 0 or width <= 0 or not sigma > 0:
        raise ValueError(f"need positive height, width and sigma, got {height}, {width}, {sigma}")
    if coordinates.ndim != 3 or coordinates.shape[-1] != 2:
        raise ValueError(f"coordinates must be (B, J, 2), got {tuple(coordinates.shape)}")
    xs, ys = _grids(height, width, coordinates)
    dx = xs[None, None, None, :] - coordinates[..., 0, None, None]
    dy = ys[None, None, :, None] - coordinates[..., 1, None, None]
    return torch.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))


def heatmap_to_image(coordinates: torch.Tensor, stride: float) -> torch.Tensor:
    """(..., 2) heatmap pixels -> (..., 2) input-image pixels for a heatmap of the given stride."""
    return (coordinates + 0.5) * stride - 0.5


def image_to_heatmap(coordinates: torch.Tensor, stride: float) -> torch.Tensor:
    """(..., 2) input-image pixels -> (..., 2) heatmap pixels; inverse of heatmap_to_image."""
    return (coordinates + 0.5) / stride - 0.5

"""A grasp generator: a conditional VAE over the 21 hand keypoints, given the object.

Why a CVAE (GraspTTA, Jiang et al. ICCV 2021; GanHand's family): an object affords many grasps,
so the generator must model a distribution, not regress one hand; its latent code ``z`` picks
the grasp, the object picks what is possible. Sampling ``z`` from the prior gives diverse
proposals that ``pipeline.grasp_refinement`` then pushes out of the object and onto its surface.

Object encoder: a basis point set (BPS, Prokudin et al. ICCV 2019): the distance from each of
``bps_points`` fixed points in a ball of ``bps_radius`` around the object frame's origin to the
nearest object surface point. It is a fixed-length, order-free code of any point cloud (a
mesh's samples or a depth camera's points), costs one distance matrix, and needs no learned
point network, which keeps the model tiny and CPU-fast. The basis is drawn from ``seed`` and
stored with the weights, so a checkpoint reads objects exactly as it was trained to.

Output: a wrist pose and an articulation, composed into keypoints (the loss is on those): the
decoder gives a rotation (the 6D representation, Zhou et al. CVPR 2019, as an offset from the
identity), the wrist's position, and per-keypoint offsets from the mean relaxed hand of that
side in the hand's own frame (``skeleton.kinematics.forward_kinematics``). An untrained
decoder thus already draws hands with a hand's proportions, and the rotation, which a grasp
varies most, is one well-conditioned output rather than 63 coupled ones.

Frames and units: everything is in the object frame (origin at the object's centre; the axes
as the caller's points are given: the basis code is not rotation invariant, so the sampled
grasps follow the object's orientation), metres. Inside the networks lengths are in
``_UNIT`` (10 cm), so inputs and targets are of order one. ``is_left`` conditions both the
encoder and the decoder: a left hand's grasp is not a right hand's.
"""

from __future__ import annotations

import torch
from torch import nn

from handperception.models.limits import check_integer, is_number
from handperception.skeleton.definition import NUM_JOINTS
from handperception.skeleton.kinematics import NUM_POSE_JOINTS, forward_kinematics

# Lengths inside the networks: 10 cm, a hand's size.
_UNIT = 0.1
# Decoder outputs: rotation (6D), wrist position, 21 keypoint offsets.
_POSE_OUTPUTS = 6 + 3
# BPS distances are clipped here (metres): beyond it a basis point only says "far".
_FAR = 0.3


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, outputs),
    )


def _basis(count: int, radius: float, seed: int) -> torch.Tensor:
    """(count, 3) points uniform in the ball of ``radius`` (metres), reproducible from seed."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(count, 3, generator=generator, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)
    radii = radius * torch.rand(count, 1, generator=generator, dtype=torch.float64) ** (1 / 3)
    return (directions * radii).float()


class GraspVAE(nn.Module):
    """p(keypoints | z, object, is_left) with q(z | keypoints, object, is_left).

    Args:
        bps_points: basis points of the object code.
        bps_radius: radius of the basis ball, metres (the objects' half-extent and a hand's
            reach around them).
        object_features: width of the object code after its MLP.
        latent: size of z.
        hidden: width of the encoder's and the decoder's MLPs.
        seed: of the basis.
    """

    def __init__(
        self,
        bps_points: int = 256,
        bps_radius: float = 0.12,
        object_features: int = 64,
        latent: int = 16,
        hidden: int = 256,
        seed: int = 0,
    ):
        super().__init__()
        config = {
            "bps_points": bps_points,
            "bps_radius": bps_radius,
            "object_features": object_features,
            "latent": latent,
            "hidden": hidden,
            "seed": seed,
        }
        self.check_config(config)
        self.config = config
        self.register_buffer("basis", _basis(bps_points, bps_radius, seed))
        # (2, 21, 3) the mean relaxed right and left hands, wrist at the origin, hand frame.
        mean_hands = forward_kinematics(
            torch.zeros(2, NUM_POSE_JOINTS, 3, dtype=torch.float64),
            is_left=torch.tensor([False, True]),
        )
        self.register_buffer("mean_hands", mean_hands.float(), persistent=False)
        self.object_encoder = _mlp(bps_points, hidden, object_features)
        keypoint_values = NUM_JOINTS * 3
        self.encoder = _mlp(keypoint_values + object_features + 1, hidden, 2 * latent)
        self.decoder = _mlp(latent + object_features + 1, hidden, _POSE_OUTPUTS + keypoint_values)

    @classmethod
    def check_config(cls, config: dict) -> None:
        """One-line ValueError unless ``config`` (every constructor argument) builds this model
        (a checkpoint's config comes from a file; see ``models.checkpoint``)."""
        check_integer("bps_points", config["bps_points"], 8, 4096)
        check_integer("object_features", config["object_features"], 4, 1024)
        check_integer("latent", config["latent"], 1, 256)
        check_integer("hidden", config["hidden"], 8, 2048)
        check_integer("seed", config["seed"], 0, 2**31 - 1)
        radius = config["bps_radius"]
        if not is_number(radius) or not 0.01 <= radius <= 1.0:
            raise ValueError(f"bps_radius must be a number in 0.01..1.0 metres, got {radius!r:.60}")

    @property
    def latent(self) -> int:
        return self.config["latent"]

    def encode_object(self, object_points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) object surface points, metres, object frame -> (B, object_features)."""
        if object_points.ndim != 3 or object_points.shape[-1] != 3 or object_points.shape[1] < 1:
            raise ValueError(
                f"object_points must be (B, N >= 1, 3) metres, got {tuple(object_points.shape)}"
            )
        points = object_points.to(self.basis.dtype)
        distances = torch.cdist(self.basis.expand(len(points), -1, -1), points).amin(dim=2)
        return self.object_encoder(distances.clamp(max=_FAR) / _UNIT)

    def posterior(
        self, keypoints: torch.Tensor, is_left: torch.Tensor, object_code: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | hand, object): mean and log-variance (B, latent) of keypoints (B, 21, 3)."""
        inputs = torch.cat(
            [keypoints.flatten(1) / _UNIT, object_code, _side(is_left, keypoints)], 1
        )
        mean, log_variance = self.encoder(inputs).chunk(2, dim=1)
        return mean, log_variance.clamp(-10.0, 10.0)

    def decode(
        self, z: torch.Tensor, is_left: torch.Tensor, object_code: torch.Tensor
    ) -> torch.Tensor:
        """p(hand | z, object): keypoints (B, 21, 3), metres, object frame."""
        side = _side(is_left, z)
        outputs = self.decoder(torch.cat([z, object_code, side], 1))
        rotation = _rotation_from_6d(outputs[:, :6])
        wrist = outputs[:, 6:9] * _UNIT
        local = self.mean_hands[side[:, 0].long()] + outputs[:, 9:].view(-1, NUM_JOINTS, 3) * _UNIT
        return local @ rotation.transpose(1, 2) + wrist[:, None]

    def forward(
        self, keypoints: torch.Tensor, is_left: torch.Tensor, object_points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction of (B, 21, 3) keypoints through a reparameterised z; returns
        (reconstruction (B, 21, 3), mean, log_variance (B, latent)) for ``losses.grasp``."""
        if tuple(keypoints.shape[1:]) != (NUM_JOINTS, 3):
            raise ValueError(f"keypoints must be (B, 21, 3) metres, got {tuple(keypoints.shape)}")
        keypoints = keypoints.to(self.basis.dtype)
        object_code = self.encode_object(object_points)
        mean, log_variance = self.posterior(keypoints, is_left, object_code)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        return self.decode(z, is_left, object_code), mean, log_variance

    @torch.no_grad()
    def sample(
        self,
        object_points: torch.Tensor,
        count: int,
        is_left: bool,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``count`` grasps (count, 21, 3), metres, object frame, of one object given by its
        (N, 3) surface points in the object frame; z from the prior N(0, I) via ``generator``."""
        points = torch.as_tensor(object_points, dtype=self.basis.dtype, device=self.basis.device)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
            raise ValueError(f"object_points must be (N >= 1, 3) metres, got {tuple(points.shape)}")
        if not bool(torch.isfinite(points).all()):
            raise ValueError("object_points contain NaN or infinite values")
        if isinstance(count, bool) or int(count) != count or count < 1:
            raise ValueError(f"count must be a positive integer, got {count!r}")
        object_code = self.encode_object(points[None]).expand(int(count), -1)
        z = torch.randn(int(count), self.latent, generator=generator, dtype=points.dtype).to(
            points.device
        )
        side = torch.full((int(count),), bool(is_left), device=points.device)
        return self.decode(z, side, object_code)


def _rotation_from_6d(values: torch.Tensor) -> torch.Tensor:
    """(B, 6) -> (B, 3, 3) rotations (columns: Gram-Schmidt of the two 3-vectors, offset by the
    identity's first two columns so zero outputs give the identity)."""
    a = values[:, :3] + values.new_tensor([1.0, 0.0, 0.0])
    b = values[:, 3:] + values.new_tensor([0.0, 1.0, 0.0])
    x = a / a.norm(dim=1, keepdim=True).clamp_min(1e-6)
    y = b - (x * b).sum(1, keepdim=True) * x
    y = y / y.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return torch.stack([x, y, torch.linalg.cross(x, y, dim=1)], dim=2)


def _side(is_left: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) bool -> (B, 1) float of ``like``'s dtype and device: 1 for a left hand."""
    side = torch.as_tensor(is_left, device=like.device)
    if tuple(side.shape) != (len(like),):
        raise ValueError(f"is_left must be ({len(like)},) bool, got {tuple(side.shape)}")
    return side.to(like.dtype)[:, None]

"""Training loop for the 2.5D hand pose network on fully labelled and 2D-only batches.

Why mixed: the biomechanical losses exist to make 2D-only data useful (Spurr et al. 2020), so
the loop alternates a batch with 3D labels and, when given, a batch whose 3D labels are hidden
from the loss. Batches are the dicts of ``synth.dataset`` collated by torch (one hand per crop).
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm import tqdm

from handperception.losses.pose import PoseLoss, PoseTarget
from handperception.models.pose2p5d import HandPoseNet
from handperception.train.augment import Augmentation
from handperception.train.data import endless


def _trainable_parameters(model: nn.Module, prefixes: tuple[str, ...] | None) -> list:
    """The parameters named by ``prefixes`` (all when None); the others stop needing gradients
    and frozen batch-norm layers go to eval mode."""
    if prefixes is None:
        return list(model.parameters())
    chosen = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith(tuple(prefixes)))
        if parameter.requires_grad:
            chosen.append(parameter)
    if not chosen:
        names = sorted({name.split(".")[0] for name, _ in model.named_parameters()})
        raise ValueError(f"trainable {list(prefixes)} names no parameter; the model has {names}")
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
            p.requires_grad for p in module.parameters()
        ):
            module.eval()
    return chosen


def batch_to_inputs(
    batch: dict, has_3d: bool, device: str | torch.device
) -> tuple[torch.Tensor, PoseTarget]:
    """Collated single-hand crops -> ((B, 3, H, W) float images in [0, 1], PoseTarget).

    Expects rgb (B, H, W, 3) uint8, keypoints_2d (B, 1, 21, 2), keypoints_3d (B, 1, 21, 3),
    visibility (B, 1, 21), K (B, 3, 3), is_left (B, 1). has_3d marks the whole batch.
    """
    uv = torch.as_tensor(batch["keypoints_2d"])
    if uv.ndim != 4 or uv.shape[1] != 1:
        raise ValueError(
            f"expected single-hand crops, keypoints_2d (B, 1, 21, 2); got {tuple(uv.shape)}"
        )
    rgb = torch.as_tensor(batch["rgb"])
    images = rgb.permute(0, 3, 1, 2).to(device=device, dtype=torch.float32) / 255.0
    floats = dict(device=device, dtype=torch.float32)
    target = PoseTarget(
        uv=uv[:, 0].to(**floats),
        visibility=torch.as_tensor(batch["visibility"])[:, 0].to(device),
        K=torch.as_tensor(batch["K"]).to(**floats),
        is_left=torch.as_tensor(batch["is_left"])[:, 0].to(device),
        has_3d=torch.full((len(images),), has_3d, device=device),
        xyz=torch.as_tensor(batch["keypoints_3d"])[:, 0].to(**floats),
    )
    return images, target


def train_pose(
    model: HandPoseNet,
    loader_3d,
    loader_2d_only=None,
    steps: int = 1000,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
    use_biomech: bool = True,
    progress: bool = True,
    loss_weights: dict[str, float] | None = None,
    augment: Augmentation | None = None,
    seed: int = 0,
    trainable: tuple[str, ...] | None = None,
) -> list[dict[str, float]]:
    """Adam with cosine learning-rate decay on PoseLoss for `steps` steps; returns one dict of
    loss terms per step.

    ``trainable``: names of the parameters to train, by prefix (e.g. ``("palm_facing",)``, a
    head on a trained backbone); None trains all. Frozen batch-norm layers keep their running
    statistics, so the frozen part computes exactly what it computed before.

    With loader_2d_only, even steps use a fully labelled batch and odd steps a 2D-only one;
    each loader is read epoch after epoch, reshuffled. ``augment`` changes every batch (its
    draws seeded by ``seed``). Each history entry has "step", "has_3d" and the
    weighted terms of PoseLoss (floats).
    """
    if steps <= 0 or not lr > 0:
        raise ValueError(f"steps and lr must be positive, got {steps}, {lr}")
    model = model.to(device).train()
    parameters = _trainable_parameters(model, trainable)
    criterion: nn.Module = PoseLoss(
        loss_weights, stride=model.backbone.output_stride, use_biomech=use_biomech
    )
    optimiser = torch.optim.Adam(parameters, lr=lr)
    # Cosine decay to zero: the last steps average out batch noise instead of bouncing on it.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    sources = [(endless(loader_3d), True)] + (
        [(endless(loader_2d_only), False)] if loader_2d_only is not None else []
    )
    generator = torch.Generator().manual_seed(seed)
    history = []
    bar = tqdm(range(steps), desc="train pose", unit="step", disable=not progress)
    for step in bar:
        batches, has_3d = sources[step % len(sources)]
        images, target = batch_to_inputs(next(batches), has_3d, device)
        if augment is not None:
            images, target = augment(images, target, generator)
        terms = criterion(model(images), target)
        optimiser.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimiser.step()
        schedule.step()
        record = {
            "step": step,
            "has_3d": has_3d,
            **{name: float(value.detach()) for name, value in terms.items()},
        }
        history.append(record)
        bar.set_postfix(loss=f"{record['total']:.3f}")
    return history

"""Train HALO (the keypoint-driven occupancy network) from a config dict (the YAML of
``handperception train halo``).

Data: a pool of synthetic hands (``synth.halo_samples``: shape, articulation and viewpoint from
the split, either side, anywhere in front of a camera), each with ``points_per_hand`` points near
and away from its skin labelled inside/outside exactly. Labelling costs about as much per point as
a training step, so the pool is drawn once and ``refresh`` of its hands are replaced by new ones
every step: the network sees ``pool + steps * refresh`` different hands for a fraction of the
cost of fresh ones every step. Each step takes ``hands`` hands of the pool and ``points`` of
their points; the loss is binary cross-entropy on the occupancy logits (Adam, cosine decay).

At the end the model is scored on held-out poses and shapes (``eval.halo``, IoU only: meshes
are ``handperception evaluate halo``'s job) and the scores are kept in the checkpoint's meta.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from handperception.train.config import merge_config as merge_defaults
from handperception.train.finish import finish_run
from handperception.train.schedule import RunProgress, cosine_lr, set_lr

DEFAULTS = {
    "model": {
        "hidden": 32,
        "layers": 1,
        "code": 16,
        "combine": "softmax",
        "temperature": 0.25,
        "palm_support": 0.03,
        "finger_support": 0.02,
    },
    "data": {
        "split": "interpolation",
        "pool": 1000,
        "points_per_hand": 4096,
        "near_fraction": 0.8,
        "refresh": 1,
        "seed": 0,
    },
    # threads: torch CPU threads while training (0: torch's default); small per-part matrices
    # gain nothing from a second thread and lose much when the cores are shared.
    # max_minutes: wall-time budget (null: none); the cosine decay ends with whichever of it and
    # the steps runs out first.
    "train": {
        "steps": 3000,
        "hands": 16,
        "points": 2048,
        "lr": 0.01,
        "device": "auto",
        "threads": 1,
        "max_minutes": None,
    },
    # Held-out IoU after training: hands per set (0: skip) and points per hand.
    "eval": {"hands": 50, "points": 20000},
    "out": "out/checkpoints/halo_tiny.pt",
}


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are a ConfigError (typos)."""
    return merge_defaults(DEFAULTS, config)


class HaloPool:
    """Training hands and their labelled points, refreshed a few hands at a time.

    keypoints (N, 21, 3), is_left (N,), points (N, Q, 3) float32 metres, occupancy (N, Q) bool.
    """

    def __init__(
        self,
        split: str,
        size: int,
        points_per_hand: int,
        near_fraction: float = 0.8,
        seed: int = 0,
        progress: bool = True,
    ):
        from handperception.synth.splits import load_split

        if size < 1 or points_per_hand < 1:
            raise ValueError(
                f"need pool >= 1 and points_per_hand >= 1, got {size}, {points_per_hand}"
            )
        self.spec = load_split(split)
        self.points_per_hand, self.near_fraction = points_per_hand, near_fraction
        self.rng = np.random.default_rng(seed)
        self.keypoints = np.empty((size, 21, 3), dtype=np.float32)
        self.is_left = np.empty(size, dtype=bool)
        self.points = np.empty((size, points_per_hand, 3), dtype=np.float32)
        self.occupancy = np.empty((size, points_per_hand), dtype=bool)
        for index in tqdm(range(size), desc="halo pool", unit="hand", disable=not progress):
            self.draw(index)

    def __len__(self) -> int:
        return len(self.is_left)

    def draw(self, index: int) -> None:
        """Replace hand ``index`` by a new one."""
        from handperception.synth.halo_samples import halo_points, sample_halo_hands

        hand = sample_halo_hands(self.rng, self.spec, "train", 1)
        points, inside = halo_points(
            self.rng,
            hand.keypoints[0],
            float(hand.scale[0]),
            bool(hand.is_left[0]),
            self.points_per_hand,
            self.near_fraction,
        )
        self.keypoints[index], self.is_left[index] = hand.keypoints[0], hand.is_left[0]
        self.points[index], self.occupancy[index] = points, inside

    def batch(self, hands: int, points: int, device) -> tuple[torch.Tensor, ...]:
        """(points (B, P, 3), keypoints (B, 21, 3), is_left (B,), occupancy (B, P) float) of
        ``hands`` random hands, ``points`` random points each."""
        chosen = self.rng.choice(len(self), size=min(hands, len(self)), replace=False)
        columns = np.stack(
            [self.rng.choice(self.points_per_hand, size=points, replace=False) for _ in chosen]
        )
        rows = chosen[:, None]
        arrays = (
            self.points[rows, columns],
            self.keypoints[chosen],
            self.is_left[chosen],
            self.occupancy[rows, columns].astype(np.float32),
        )
        return tuple(torch.as_tensor(a, device=device) for a in arrays)

    def refresh(self, count: int) -> None:
        for index in self.rng.choice(len(self), size=min(count, len(self)), replace=False):
            self.draw(int(index))


def fit_halo(
    model,
    pool: HaloPool,
    steps: int,
    hands: int = 16,
    points: int = 2048,
    lr: float = 3e-3,
    device: str | torch.device = "cpu",
    refresh: int = 1,
    progress: bool = True,
    max_minutes: float | None = None,
) -> list[dict[str, float]]:
    """Adam with cosine decay on the occupancy BCE for ``steps`` steps, or until ``max_minutes``
    of wall time if that comes first (the decay follows whichever is further along); one record
    per step (``total``: the loss, ``accuracy``: of the batch's inside/outside calls)."""
    if steps <= 0 or not lr > 0 or hands <= 0 or points <= 0 or refresh < 0:
        raise ValueError(
            "need steps > 0, lr > 0, hands > 0, points > 0 and refresh >= 0, got "
            f"{steps}, {lr}, {hands}, {points}, {refresh}"
        )
    if points > pool.points_per_hand:
        raise ValueError(f"points ({points}) exceeds the pool's points_per_hand")
    model = model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    run = RunProgress(steps, max_minutes)
    bar = tqdm(range(steps), desc="train halo", unit="step", disable=not progress)
    for step in bar:
        done = run(step)
        if done >= 1.0:
            break
        set_lr(optimiser, cosine_lr(done, lr))
        batch_points, keypoints, is_left, occupancy = pool.batch(hands, points, device)
        logits = model(batch_points, keypoints, is_left)
        loss = F.binary_cross_entropy_with_logits(logits, occupancy)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if refresh:
            pool.refresh(refresh)
        accuracy = float(((logits.detach() > 0) == (occupancy > 0.5)).float().mean())
        history.append({"step": step, "total": float(loss.detach()), "accuracy": accuracy})
        bar.set_postfix(loss=f"{history[-1]['total']:.4f}", acc=f"{accuracy:.3f}")
    return history


def train_halo(config: dict | None = None, progress: bool = True) -> dict:
    """Train, save the checkpoint (and a loss plot beside it); returns {"checkpoint", "history",
    "config", "model", "evaluation"}."""
    from handperception.models.halo import HaloNet
    from handperception.runtime.device import resolve_device

    config = merge_config(config)
    data, train = config["data"], config["train"]
    torch.manual_seed(data["seed"])
    device = resolve_device(train["device"])
    model = HaloNet(**config["model"])
    threads = torch.get_num_threads()
    if train["threads"]:
        torch.set_num_threads(train["threads"])
    try:
        return _train(model, config, device, progress)
    finally:
        torch.set_num_threads(threads)


def _train(model, config: dict, device: str, progress: bool) -> dict:
    from handperception.eval.halo import HALO_SPLITS, hand_ious, test_hands

    data, train, evaluation = config["data"], config["train"], config["eval"]
    pool = HaloPool(
        data["split"],
        data["pool"],
        data["points_per_hand"],
        data["near_fraction"],
        data["seed"],
        progress,
    )
    history = fit_halo(
        model,
        pool,
        train["steps"],
        train["hands"],
        train["points"],
        train["lr"],
        device,
        data["refresh"],
        progress,
        train["max_minutes"],
    )
    scores = {}
    if evaluation["hands"]:
        # held-out poses and held-out shapes (eval.halo: test partitions, disjoint seeds)
        for split in HALO_SPLITS[:2]:
            hands = test_hands(split, evaluation["hands"])
            ious = hand_ious(model, hands, evaluation["points"], device=device)
            scores[split] = {"iou": float(ious.mean()), "iou_median": float(np.median(ious))}
    model = model.cpu()
    return finish_run(config, model, "halo", history, scores)

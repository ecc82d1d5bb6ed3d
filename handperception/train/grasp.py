"""Train the grasp generator (``models.grasp_vae.GraspVAE``) from a config dict (the YAML of
``handperception train grasp``).

Data: synthetic grasps (``synth.grasps.grasp_object``: the parametric hand closed around an
object until it touches) on ``objects`` objects of a split's train partition, up to
``grasps_per_object`` grasps each (different approaches, one hand shape and side per grasp), so
the CVAE sees several grasps of one object and must model their spread, not their mean. Each
item is the grasp's 21 keypoints and the object's surface samples, both in the object's frame.
A grasp costs ~70 ms to make, so the set is made once and cached as one .npz (``cache_dir``;
null: in memory only). Training: Adam (cosine decay) on ``losses.grasp.cvae_loss``.

At the end the held-out reconstruction error (test partition of the same split) is kept in the
checkpoint's meta; raw-versus-refined metrics are ``train.grasp_evaluation``'s (the claim
``grasp-refinement``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from handperception.train.config import ConfigError
from handperception.train.config import merge_config as merge_defaults
from handperception.train.finish import finish_run
from handperception.train.schedule import RunProgress, cosine_lr, set_lr

DEFAULTS = {
    "model": {
        "bps_points": 256,
        "bps_radius": 0.12,
        "object_features": 64,
        "latent": 16,
        "hidden": 256,
        "seed": 0,
    },
    # objects: training objects; grasps_per_object: grasps kept per object (attempts stop at
    # 4 x that); test_objects: held-out objects for the reconstruction score (0: skip).
    "data": {
        "split": "interpolation",
        "objects": 300,
        "grasps_per_object": 6,
        "test_objects": 30,
        "seed": 0,
        "cache_dir": None,
    },
    # kl_weight: of the KL term against the reconstruction in cm^2 (small: the grasps of one
    # object differ by centimetres, and a strong prior would blur them into their mean).
    "train": {
        "steps": 4000,
        "batch_size": 64,
        "lr": 0.001,
        "kl_weight": 0.5,
        "threads": 1,
        "max_minutes": None,
    },
    "out": "out/checkpoints/grasp_tiny.pt",
}
_ATTEMPTS_PER_GRASP = 4


def merge_config(config: dict | None) -> dict:
    """DEFAULTS overridden by ``config``; unknown sections or keys are a ConfigError (typos)."""
    config = merge_defaults(DEFAULTS, config)
    data, train = config["data"], config["train"]
    for section, name, low in (
        ("data", "objects", 1),
        ("data", "grasps_per_object", 1),
        ("data", "test_objects", 0),
        ("data", "seed", 0),
        ("train", "steps", 1),
        ("train", "batch_size", 1),
        ("train", "threads", 0),
    ):
        value = config[section][name]
        if type(value) is not int or value < low:
            raise ConfigError(f"{section}.{name} must be an integer >= {low}, got {value!r}")
    for name in ("lr", "kl_weight"):
        value = train[name]
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"train.{name} must be a number >= 0, got {value!r}")
    if not train["lr"] > 0:
        raise ConfigError("train.lr must be positive")
    if train["max_minutes"] is not None and not train["max_minutes"] > 0:
        raise ConfigError(f"train.max_minutes must be positive or null, got {train['max_minutes']}")
    if data["cache_dir"] is not None and not isinstance(data["cache_dir"], str):
        raise ConfigError(f"data.cache_dir must be a path or null, got {data['cache_dir']!r}")
    return config


def grasp_set(
    split: str,
    partition: str,
    objects: int,
    grasps_per_object: int,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Grasps on ``objects`` objects of a split partition: {"keypoints" (G, 21, 3), "is_left"
    (G,), "object" (G,) index into "object_points" (O, 512, 3)}, float32 metres, object frame.
    Deterministic in its arguments; an object none of whose attempts is accepted is kept
    without grasps."""
    from handperception.skeleton.kinematics import sample_shapes
    from handperception.synth.grasps import grasp_object, sample_split_object
    from handperception.synth.splits import load_split
    from handperception.train.grasp_evaluation import object_in_own_frame

    spec = load_split(split)
    keypoints, is_left, owner, clouds = [], [], [], []
    for index in tqdm(
        range(objects), desc=f"grasps {partition}", unit="object", disable=not progress
    ):
        obj = sample_split_object(spec, partition, seed, index)
        clouds.append(object_in_own_frame(obj).points)
        rng = np.random.default_rng([seed, index, 1])
        kept = 0
        for _ in range(_ATTEMPTS_PER_GRASP * grasps_per_object):
            shape = sample_shapes(rng, 1)[0]
            shape[0] = spec.sample(rng, "shape", partition)["scale"]
            left = bool(rng.random() < 0.5)
            grasp = grasp_object(obj, rng, shape, left)
            if grasp is None:
                continue
            keypoints.append(grasp.keypoints_object)
            is_left.append(left)
            owner.append(index)
            kept += 1
            if kept == grasps_per_object:
                break
    if not keypoints:
        raise RuntimeError(f"no grasp accepted on {objects} objects of {split} {partition}")
    return {
        "keypoints": np.asarray(keypoints, dtype=np.float32),
        "is_left": np.asarray(is_left),
        "object": np.asarray(owner),
        "object_points": np.asarray(clouds, dtype=np.float32),
    }


def cached_grasp_set(data: dict, partition: str, objects: int, progress: bool = True) -> dict:
    """``grasp_set`` of a config's data section, read from / written to its cache_dir."""
    arguments = (data["split"], partition, objects, data["grasps_per_object"], data["seed"])
    if data["cache_dir"] is None:
        return grasp_set(*arguments, progress=progress)
    name = "grasps_{}_{}_{}x{}_seed{}.npz".format(*arguments).replace(":", "-")
    path = Path(data["cache_dir"]) / name
    if path.is_file():
        with np.load(path) as stored:
            return {key: stored[key] for key in stored.files}
    grasps = grasp_set(*arguments, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **grasps)
    return grasps


def _batch(grasps: dict, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
    return (
        torch.as_tensor(grasps["keypoints"][rows]),
        torch.as_tensor(grasps["is_left"][rows]),
        torch.as_tensor(grasps["object_points"][grasps["object"][rows]]),
    )


def fit_grasp_vae(
    model,
    grasps: dict,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    kl_weight: float = 0.5,
    seed: int = 0,
    progress: bool = True,
    max_minutes: float | None = None,
) -> list[dict[str, float]]:
    """Adam with cosine decay on the CVAE loss for ``steps`` steps (or ``max_minutes`` of wall
    time, whichever ends first); one record per step {"step", "total", "reconstruction",
    "kl"}."""
    from handperception.losses.grasp import cvae_loss

    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    run = RunProgress(steps, max_minutes)
    bar = tqdm(range(steps), desc="train grasp", unit="step", disable=not progress)
    for step in bar:
        done = run(step)
        if done >= 1.0:
            break
        set_lr(optimiser, cosine_lr(done, lr))
        rows = rng.choice(len(grasps["keypoints"]), size=batch_size)
        keypoints, is_left, object_points = _batch(grasps, rows)
        reconstruction, mean, log_variance = model(keypoints, is_left, object_points)
        terms = cvae_loss(reconstruction, keypoints, mean, log_variance, kl_weight)
        optimiser.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimiser.step()
        history.append({"step": step, **{name: float(v.detach()) for name, v in terms.items()}})
        bar.set_postfix(loss=f"{history[-1]['total']:.2f}", kl=f"{history[-1]['kl']:.2f}")
    return history


@torch.no_grad()
def reconstruction_error_mm(model, grasps: dict) -> float:
    """Mean keypoint error (mm) of the posterior-mean reconstruction of held-out grasps."""
    model.eval()
    keypoints, is_left, object_points = _batch(grasps, np.arange(len(grasps["keypoints"])))
    object_code = model.encode_object(object_points)
    mean, _ = model.posterior(keypoints, is_left, object_code)
    reconstruction = model.decode(mean, is_left, object_code)
    return float((reconstruction - keypoints).norm(dim=-1).mean() * 1000)


def train_grasp(config: dict | None = None, progress: bool = True) -> dict:
    """Make (or read) the grasp set, train, save the checkpoint (and a loss plot beside it);
    returns {"checkpoint", "history", "config", "model", "evaluation"}."""
    from handperception.models.grasp_vae import GraspVAE

    config = merge_config(config)
    data, train = config["data"], config["train"]
    torch.manual_seed(data["seed"])
    model = GraspVAE(**config["model"])
    threads = torch.get_num_threads()
    if train["threads"]:
        torch.set_num_threads(train["threads"])
    try:
        grasps = cached_grasp_set(data, "train", data["objects"], progress)
        history = fit_grasp_vae(
            model,
            grasps,
            train["steps"],
            train["batch_size"],
            train["lr"],
            train["kl_weight"],
            data["seed"],
            progress,
            train["max_minutes"],
        )
        evaluation = {"train_grasps": len(grasps["keypoints"])}
        if data["test_objects"]:
            test = cached_grasp_set(data, "test", data["test_objects"], progress)
            evaluation["test_reconstruction_mm"] = reconstruction_error_mm(model, test)
            evaluation["test_grasps"] = len(test["keypoints"])
    finally:
        torch.set_num_threads(threads)
    return finish_run(config, model, "grasp_vae", history, evaluation)

"""Save and load model checkpoints safely.

Why this format: a checkpoint must rebuild its model without code from the file itself, so it
stores the model's registered name and constructor config next to plain tensors, and is read
with ``torch.load(weights_only=True)`` only (no pickled code runs). A file is refused, in one
line, before it costs anything: its config is checked against the model's own limits
(``check_config``, every size bounded) before the model is built, so a few bytes cannot declare
a model of gigabytes; every tensor must be finite (NaN weights would fail every frame, after
configure had succeeded); and every tensor is checked against the freshly built model, so a
checkpoint from another size or version fails loudly, naming the keys, instead of silently
half-loading.

File: a dict {"format": "handperception", "model": name, "config": {...}, "state_dict": {...}}.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

import torch
from torch import nn

FORMAT = "handperception"


def model_builders() -> dict[str, Callable[..., nn.Module]]:
    """Registered model name -> constructor taking the checkpoint's config as keyword arguments.

    Each is a class with a ``check_config(arguments)`` classmethod that refuses, with a one-line
    ValueError, any arguments outside its limits without building anything.
    Imported here, at use, so every loader knows every model without import-order tricks.
    """
    from handperception.models.detector import HandDetector
    from handperception.models.digit import TwoHandNet
    from handperception.models.gaze import DeepPictorialGaze
    from handperception.models.grasp_vae import GraspVAE
    from handperception.models.halo import HaloNet
    from handperception.models.pose2p5d import HandPoseNet

    return {
        "hand_pose_net": HandPoseNet,
        "hand_detector": HandDetector,
        "deep_pictorial_gaze": DeepPictorialGaze,
        "two_hand_net": TwoHandNet,
        "halo": HaloNet,
        "grasp_vae": GraspVAE,
    }


class CheckpointError(ValueError):
    """A checkpoint file that is not in this format or does not fit the model."""


def save_checkpoint(
    path: str | Path, model: nn.Module, name: str, config: dict, meta: dict | None = None
) -> Path:
    """Write `model`'s state with its registered `name` and constructor `config`; returns path.

    config and meta hold plain values only (str, int, float, bool, lists, dicts), so the
    weights-only loader can read them back. meta records how the model was trained and what
    inference needs beyond the constructor (e.g. the crop size), see ``read_checkpoint``.
    """
    if name not in model_builders():
        raise ValueError(f"unknown model name {name!r}; registered: {sorted(model_builders())}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save(
        {
            "format": FORMAT,
            "model": name,
            "config": dict(config),
            "meta": dict(meta or {}),
            "state_dict": state,
        },
        path,
    )
    return path


def read_checkpoint(path: str | Path) -> dict:
    """The validated checkpoint dict (tensors on CPU); raises FileNotFoundError or
    CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for foreign or corrupt files
        # torch's own message runs to paragraphs; its first line says what failed.
        message = str(error).strip()
        reason = message.splitlines()[0] if message else type(error).__name__
        raise CheckpointError(
            f"{path} is not a readable weights-only checkpoint ({reason})"
        ) from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a {FORMAT!r} checkpoint (format: {found!r})")
    for key, kind in (("model", str), ("config", dict), ("state_dict", dict)):
        if not isinstance(data.get(key), kind):
            raise CheckpointError(f"{path}: field {key!r} missing or not a {kind.__name__}")
    if not isinstance(data.get("meta", {}), dict):
        raise CheckpointError(f"{path}: field 'meta' is not a dict")
    for key, tensor in data["state_dict"].items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {key!r:.80} is not a tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(
                f"{path}: tensor {key!r:.80} is not finite ({bad} of {tensor.numel()} values "
                "NaN or Inf)"
            )
    return data


def check_state_dict(
    model: nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Raise CheckpointError naming every missing, unexpected and mis-shaped key."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{key}: {tuple(state[key].shape)} in file, {tuple(expected[key].shape)} in model"
        for key in sorted(set(expected) & set(state))
        if tuple(state[key].shape) != tuple(expected[key].shape)
    ]
    problems = [
        f"{label} ({len(items)}): {', '.join(items)}"
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("mis-shaped", misshaped),
        )
        if items
    ]
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(problems))


def load_checkpoint(
    path: str | Path, expected_model: str | None = None, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint names, load its weights; returns (model in eval mode, config).

    expected_model: raise CheckpointError unless the file holds this registered model. The
    config is checked by the model's ``check_config`` (every constructor argument, defaults
    filled in) before anything is built.
    """
    data = read_checkpoint(path)
    name = data["model"]
    if expected_model is not None and name != expected_model:
        raise CheckpointError(f"{path} holds model {name!r}, expected {expected_model!r}")
    builders = model_builders()
    if name not in builders:
        raise CheckpointError(
            f"{path} holds unknown model {name!r}; registered: {sorted(builders)}"
        )
    builder = builders[name]
    config = data["config"]
    try:
        arguments = inspect.signature(builder).bind(**config)
        arguments.apply_defaults()
        builder.check_config(arguments.arguments)
    except (TypeError, ValueError) as error:
        reason = f"{error}"[:200]  # a hostile file's keys could be any length
        raise CheckpointError(f"{path}: its config does not build {name!r}: {reason}") from None
    model = builder(**config)
    check_state_dict(model, data["state_dict"], str(path))
    model.load_state_dict(data["state_dict"])
    return model.to(map_location).eval(), data["config"]


def initialise_from(model: nn.Module, path: str | Path, expected_model: str) -> list[str]:
    """Copy every tensor of checkpoint ``path`` whose name and shape ``model`` shares (to train a
    new head on a trained backbone); returns the model's tensors left as built, sorted."""
    data = read_checkpoint(path)
    if data["model"] != expected_model:
        raise CheckpointError(f"{path} holds model {data['model']!r}, expected {expected_model!r}")
    own = model.state_dict()
    shared = {
        name: tensor
        for name, tensor in data["state_dict"].items()
        if name in own and own[name].shape == tensor.shape
    }
    model.load_state_dict(shared, strict=False)
    return sorted(set(own) - set(shared))

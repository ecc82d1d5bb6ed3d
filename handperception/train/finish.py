"""The end of a training run: the checkpoint with its metadata, the loss plot beside it, and the
result every ``train_<name>`` returns (one place, so the trainers write runs alike)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handperception.models.checkpoint import save_checkpoint
from handperception.train.plots import plot_history


def finish_run(config: dict, model, model_name: str, history: list[dict], evaluation) -> dict:
    """Save ``model`` to ``config["out"]`` (metadata: data, train, the mean loss of the last 50
    steps, ``evaluation``), plot the total loss beside it; {"checkpoint", "history", "config",
    "model", "evaluation"}."""
    last = history[-min(50, len(history)) :]
    meta = {
        "data": config["data"],
        "train": config["train"],
        "final_loss": float(np.mean([record["total"] for record in last])),
        "evaluation": evaluation,
    }
    checkpoint = save_checkpoint(config["out"], model, model_name, model.config, meta)
    plot_history(
        [{"step": record["step"], "total": record["total"]} for record in history],
        Path(config["out"]).with_suffix(".loss.png"),
    )
    return {
        "checkpoint": checkpoint,
        "history": history,
        "config": config,
        "model": model,
        "evaluation": evaluation,
    }

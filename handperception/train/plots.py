"""Loss curves of a training run, so a user sees at a glance whether it converged."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_history(history: list[dict[str, float]], path: str | Path, smooth: int = 25) -> Path:
    """One line per loss term (moving average over ``smooth`` steps), log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    terms = sorted({key for record in history for key in record} - {"step", "has_3d"})
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for term in terms:
        # 2D-only steps have no 3D terms: each term is drawn over the steps that have it
        steps = np.array([record["step"] for record in history if term in record])
        values = np.array([record[term] for record in history if term in record], dtype=np.float64)
        window = max(1, min(smooth, len(values)))
        averaged = np.convolve(values, np.ones(window) / window, mode="valid")
        if averaged.size and np.all(averaged > 0):
            axis.plot(
                steps[window - 1 :], averaged, label=term, linewidth=2 if term == "total" else 1
            )
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel(f"loss (mean over {smooth} steps)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

"""``device: auto|cpu|cuda[:N]`` parameter resolution, shared by nodes, training and benchmarks."""

from __future__ import annotations


def resolve_device(name: str) -> str:
    """'auto' picks cuda when torch sees a GPU, else cpu; an explicit cuda without a GPU is an
    error."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device '{name}' requested but torch sees no CUDA GPU (use 'auto' or 'cpu')"
            )
        return name
    raise ValueError(f"unknown device '{name}' (auto, cpu, cuda or cuda:N)")

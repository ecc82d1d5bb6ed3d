"""A grasp generator checkpoint for the grasp-synthesis tests.

The shipped checkpoints/grasp_tiny.pt when it exists, else a locally trained
out/checkpoints/grasp_tiny.pt (``handperception train grasp``); until either is there, a small
GraspVAE fitted for 60 steps on six synthetic grasps of two objects (~5 s), whose samples are
hands around the object, which is all a test of the pipeline or the node asks. Made once per
test process.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import torch

from handperception.models.checkpoint import save_checkpoint
from handperception.runtime.paths import package_root

CANDIDATES = (
    package_root() / "checkpoints" / "grasp_tiny.pt",
    package_root() / "out" / "checkpoints" / "grasp_tiny.pt",
)
SMALL = {"bps_points": 64, "object_features": 16, "latent": 4, "hidden": 64}


@functools.lru_cache(maxsize=1)
def grasp_checkpoint() -> Path:
    """A checkpoint file of a grasp generator whose samples are hands near the object."""
    for candidate in CANDIDATES:
        if candidate.is_file():
            return candidate
    from handperception.models.grasp_vae import GraspVAE
    from handperception.train.grasp import fit_grasp_vae, grasp_set

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as conftest gives each test (see halo_fixtures)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            grasps = grasp_set("interpolation", "train", 2, 3, seed=0, progress=False)
            model = GraspVAE(**SMALL)
            fit_grasp_vae(model, grasps, 60, batch_size=6, lr=3e-3, progress=False)
    finally:
        torch.set_num_threads(threads)
    folder = Path(tempfile.mkdtemp(prefix="grasp_fit_"))
    atexit.register(shutil.rmtree, folder, True)
    return save_checkpoint(folder / "grasp_fit.pt", model, "grasp_vae", model.config)

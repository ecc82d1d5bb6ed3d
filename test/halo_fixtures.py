"""A HALO model whose surface is a hand, for the hand-mesh tests, and the hands it was fitted on.

The shipped checkpoints/halo_tiny.pt when it exists; until then a HaloNet fitted for 150 steps
(``train.halo.fit_halo``, ~5 s) to one relaxed right hand's capsule solid, the target
``handperception train halo`` learns from. Its surface lies within a few millimetres of that
solid (median), which is all a test of the pipeline or the node asks. HALO mirrors left hands
into right ones, so it meshes the same pose's left hand too. Fitted once per test process.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from handperception.models.checkpoint import load_checkpoint, save_checkpoint
from handperception.runtime.paths import package_root
from handperception.skeleton.kinematics import HandParameters

SHIPPED = package_root() / "checkpoints" / "halo_tiny.pt"
FIT_STEPS = 150  # ~5 s on a busy 2-core CPU; median distance to the solid ~4 mm
FIT_POINTS = 1024
FIT_LR = 0.01


def relaxed_hands(translations=((-0.12, 0.0, 0.5), (0.12, 0.0, 0.5))) -> np.ndarray:
    """(N, 21, 3) metres: relaxed mean hands, the first left and the others right, at
    ``translations`` (wrists; half a metre in front of the camera by default)."""
    count = len(translations)
    return HandParameters(
        pose=np.zeros((count, 15, 3)),
        shape=np.ones((count, 21)),
        global_rotation=np.tile(np.eye(3), (count, 1, 1)),
        translation=np.asarray(translations, dtype=np.float64),
        is_left=np.arange(count) == 0,
    ).keypoints()


class _OneHand:
    """The pool ``fit_halo`` draws batches from: one hand, its labelled points drawn once."""

    def __init__(self, keypoints: np.ndarray, count: int):
        from handperception.synth.halo_samples import halo_points

        rng = np.random.default_rng(0)
        points, inside = halo_points(rng, keypoints, 1.0, False, count)
        self.points_per_hand = count
        self.points = torch.as_tensor(points, dtype=torch.float32)[None]
        self.inside = torch.as_tensor(inside, dtype=torch.float32)[None]
        self.keypoints = torch.as_tensor(keypoints, dtype=torch.float32)[None]
        self.rng = np.random.default_rng(1)

    def batch(self, hands: int, points: int, device):
        columns = torch.as_tensor(self.rng.choice(self.points_per_hand, points, replace=False))
        return (
            self.points[:, columns],
            self.keypoints,
            torch.tensor([False]),
            self.inside[:, columns],
        )


@functools.lru_cache(maxsize=1)
def halo_checkpoint() -> Path:
    """A checkpoint file of a HALO model that meshes ``relaxed_hands()`` as hands."""
    if SHIPPED.is_file():
        return SHIPPED
    from handperception.models.halo import HaloNet
    from handperception.train.halo import fit_halo

    threads = torch.get_num_threads()
    # one thread, as conftest gives each test: a module fixture runs before that, and two threads
    # spin-waiting on a loaded 2-core machine fit several times slower
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = HaloNet()
            pool = _OneHand(relaxed_hands()[1], 4 * FIT_POINTS)
            fit_halo(model, pool, FIT_STEPS, 1, FIT_POINTS, FIT_LR, refresh=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    folder = Path(tempfile.mkdtemp(prefix="halo_fit_"))
    atexit.register(shutil.rmtree, folder, True)
    return save_checkpoint(folder / "halo_fit.pt", model.cpu(), "halo", model.config)


def halo_model():
    """The model of ``halo_checkpoint()``, in eval mode on the CPU."""
    return load_checkpoint(halo_checkpoint(), expected_model="halo")[0]

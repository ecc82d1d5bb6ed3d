"""Augmentation keeps images, 2D, 3D, intrinsics and handedness consistent (hand-computed cases
and invariants on rendered hands)."""

import math

import numpy as np
import pytest
import torch

from handperception.losses.biomechanical import BiomechanicalLoss
from handperception.losses.pose import PoseTarget
from handperception.train.augment import Augmentation, turn_zoom_shift
from handperception.train.data import synthetic_crops
from handperception.train.pose import batch_to_inputs

STILL = dict(
    mirror=0.0,
    rotation_deg=0.0,
    zoom=0.0,
    shift=0.0,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
    noise=0.0,
)


def _dot_target(u: float, v: float, k: list) -> tuple[torch.Tensor, PoseTarget]:
    """A 32 x 32 black image with one white pixel at (u, v), labelled as every joint of one hand."""
    images = torch.zeros(1, 3, 32, 32)
    images[0, :, int(v), int(u)] = 1.0
    kt = torch.tensor([k], dtype=torch.float32)
    uv = torch.tensor([[u, v]] * 21, dtype=torch.float32)[None]
    xyz = torch.cat(
        [
            (uv - kt[:, None, :2, 2]) / torch.stack([kt[:, 0, 0], kt[:, 1, 1]], -1)[:, None],
            torch.ones(1, 21, 1),
        ],
        -1,
    )
    target = PoseTarget(
        uv=uv,
        visibility=torch.ones(1, 21, dtype=torch.bool),
        K=kt,
        is_left=torch.tensor([False]),
        has_3d=torch.tensor([True]),
        xyz=xyz,
    )
    return images, target


def _peak(image: torch.Tensor) -> tuple[int, int]:
    """(3, H, W) -> (column, row) of channel 0's brightest pixel."""
    row, col = divmod(int(image[0].argmax()), image.shape[-1])
    return col, row


def test_nothing_drawn_changes_nothing():
    images, target = _dot_target(20.0, 9.0, [[40, 0, 15.5], [0, 40, 15.5], [0, 0, 1]])
    out, moved = Augmentation(**STILL)(images, target, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, images)
    torch.testing.assert_close(moved.uv, target.uv)
    torch.testing.assert_close(moved.K, target.K)


def test_a_quarter_turn_about_the_principal_point_moves_the_pixel_and_the_label_alike():
    # Principal point (12, 14), dot at (20, 9): offset (8, -5) turned +90 deg (x right, y down) is
    # (5, 8), so (17, 22); the joint (x, y) = (8, -5) / 40 turns to (5, 8) / 40 at the same depth.
    images, target = _dot_target(20.0, 9.0, [[40, 0, 12], [0, 40, 14], [0, 0, 1]])
    out, moved = turn_zoom_shift(
        images, target, torch.tensor([math.pi / 2]), torch.ones(1), torch.zeros(1, 2)
    )
    np.testing.assert_allclose(moved.uv[0, 0].numpy(), [17.0, 22.0], atol=1e-4)
    assert _peak(out[0]) == (17, 22)
    np.testing.assert_allclose(moved.xyz[0, 0].numpy(), [5 / 40, 8 / 40, 1.0], atol=1e-6)
    torch.testing.assert_close(moved.K, target.K)


def test_zoom_and_shift_move_the_focal_length_and_principal_point():
    # Zoom 2 about (12, 14), then 3 px right: (20, 9) -> (12 + 16 + 3, 14 - 10) = (31, 4); the
    # joints do not move, the camera does.
    images, target = _dot_target(20.0, 9.0, [[40, 0, 12], [0, 40, 14], [0, 0, 1]])
    out, moved = turn_zoom_shift(
        images, target, torch.zeros(1), torch.tensor([2.0]), torch.tensor([[3.0, 0.0]])
    )
    np.testing.assert_allclose(moved.uv[0, 0].numpy(), [31.0, 4.0], atol=1e-4)
    np.testing.assert_allclose(moved.K[0].numpy(), [[80, 0, 15], [0, 80, 14], [0, 0, 1]])
    torch.testing.assert_close(moved.xyz, target.xyz)
    assert out[0, 0, 4, 31] > 0.2  # the dot, spread over 2 x 2 pixels by the zoom
    # Shifted far enough, the joint leaves the crop and stops counting.
    _, gone = turn_zoom_shift(
        images, target, torch.zeros(1), torch.ones(1), torch.tensor([[20.0, 0.0]])
    )
    assert not gone.visibility.any()


def test_mirror_makes_the_camera_see_a_mirrored_hand():
    images, target = _dot_target(20.0, 9.0, [[40, 0, 12], [0, 40, 14], [0, 0, 1]])
    out, moved = Augmentation(**{**STILL, "mirror": 1.0})(
        images, target, torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(out, images.flip(-1))
    assert moved.uv[0, 0].tolist() == [11.0, 9.0] and moved.K[0, 0, 2].item() == 19.0
    assert moved.xyz[0, 0, 0].item() == pytest.approx(-8 / 40) and moved.is_left.tolist() == [True]


@pytest.fixture(scope="module")
def rendered():
    crops = synthetic_crops("interpolation", "train", 8, 48, seed=2, cache_dir=None)
    batch = {name: torch.as_tensor(array) for name, array in crops.arrays.items()}
    return batch_to_inputs(batch, True, "cpu")


def test_augmented_rendered_hands_stay_projections_of_valid_hands(rendered):
    images, target = rendered
    out, moved = Augmentation()(images, target, torch.Generator().manual_seed(1))
    assert out.shape == images.shape and 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    projected = (
        moved.xyz[..., :2]
        / moved.xyz[..., 2:]
        * torch.stack([moved.K[:, 0, 0], moved.K[:, 1, 1]], -1)[:, None]
    )
    torch.testing.assert_close(projected + moved.K[:, None, :2, 2], moved.uv, atol=1e-3, rtol=0)
    assert (
        moved.is_left.tolist() != target.is_left.tolist()
    )  # some mirrored: a right hand became a left one
    biomech = BiomechanicalLoss()
    assert float(biomech(target.xyz, target.is_left)["total"]) < 0.01
    assert (
        float(biomech(moved.xyz, moved.is_left)["total"]) < 0.01
    )  # still a valid hand of its new side
    assert float(biomech(moved.xyz, ~moved.is_left)["total"]) > 0.05  # ... and not of the other


def test_config_values():
    assert Augmentation.from_config(False) is None and Augmentation.from_config(None) is None
    assert Augmentation.from_config(True) == Augmentation()
    assert Augmentation.from_config({"mirror": 0.0}).mirror == 0.0
    with pytest.raises(ValueError, match="unknown augmentation keys"):
        Augmentation.from_config({"flip": 0.5})
    with pytest.raises(ValueError, match="probability"):
        Augmentation(mirror=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        Augmentation(noise=float("nan"))
    with pytest.raises(ValueError, match="below 1"):
        Augmentation(contrast=1.0)


def test_train_hand_augments_when_the_config_says_so(tmp_path, monkeypatch):
    from handperception.train import augment as module
    from handperception.train.hand import train_hand

    calls = []
    original = module.Augmentation.__call__

    def counting(self, images, target, generator):
        calls.append(self.rotation_deg)
        return original(self, images, target, generator)

    monkeypatch.setattr(module.Augmentation, "__call__", counting)
    config = {
        "data": {
            "crop_size": 32,
            "labelled_3d": 4,
            "labelled_2d_only": 0,
            "cache_dir": str(tmp_path),
        },
        "train": {"steps": 3, "batch_size": 2, "device": "cpu", "augment": {"rotation_deg": 10.0}},
        "out": str(tmp_path / "hand.pt"),
    }
    train_hand(config, progress=False)
    assert calls == [10.0, 10.0, 10.0]
    config["train"]["augment"] = False
    train_hand(config, progress=False)
    assert len(calls) == 3

"""The two-hand trainer's camera moves keep images, part labels, both slots' joints, K and the slot
order consistent (hand-computed cases), leave the batch untouched when off, and train."""

import math

import numpy as np
import pytest
import torch

from handperception.losses.two_hands import TwoHandTarget, wrist_depth_offset
from handperception.models.digit import TwoHandNet
from handperception.synth.splits import load_split
from handperception.synth.two_hand_items import mixed_item
from handperception.train.augment import CameraAugmentation, turn_zoom_shift_two_hands
from handperception.train.config import ConfigError
from handperception.train.data import ArrayDataset
from handperception.train.two_hand_data import batch_to_target
from handperception.train.two_hands import fit_two_hands, train_two_hands, training_batch

SIZE = 32
QUARTER = (torch.tensor([math.pi / 2]), torch.ones(1), torch.zeros(1, 2))


def _crop(centre: tuple[float, float], wrists: list[tuple[float, float]]):
    """A SIZE x SIZE crop (focal length 40 px, principal point ``centre``) of one hand per wrist:
    every joint of slot h at wrist h, depth 0.5 + 0.1 h m, 3D labels that project onto them.
    Images and part labels are random, so a wrongly moved pixel shows."""
    rng = np.random.default_rng(0)
    hands = len(wrists)
    k = torch.tensor([[[40.0, 0, centre[0]], [0, 40.0, centre[1]], [0, 0, 1]]])
    uv = torch.zeros(1, 2, 21, 2)
    uv[0, :hands] = torch.tensor(wrists, dtype=torch.float32)[:, None]
    depth = torch.tensor([0.5, 0.6])[None, :, None, None].expand(1, 2, 21, 1)
    xyz = torch.cat([(uv - k[0, :2, 2]) / 40.0 * depth, depth], -1)
    present = torch.tensor([[h < hands for h in range(2)]])
    target = TwoHandTarget(
        segmentation=torch.as_tensor(rng.integers(0, 13, (1, SIZE, SIZE))),
        has_segmentation=torch.tensor([True]),
        uv=uv,
        labelled=present[..., None].expand(1, 2, 21).clone(),
        present=present,
        is_left=torch.tensor([[True, False]]),
        K=k,
        xyz=xyz,
        has_3d=torch.tensor([True]),
    )
    return torch.as_tensor(rng.random((1, 3, SIZE, SIZE)), dtype=torch.float32), target


def test_a_quarter_turn_about_the_principal_point_moves_pixels_labels_and_joints_alike():
    # Principal point (12, 14): +90 deg (x right, y down) takes offset (x, y) to (-y, x), so the
    # joint at (20, 9), offset (8, -5), goes to (12 + 5, 14 + 8) = (17, 22); output pixel
    # (u, v) shows input pixel (12 + (v - 14), 14 - (u - 12)) = (v - 2, 26 - u).
    images, target = _crop((12.0, 14.0), [(20.0, 9.0)])
    out, moved = turn_zoom_shift_two_hands(images, target, *QUARTER)
    np.testing.assert_allclose(moved.uv[0, 0].numpy(), [[17.0, 22.0]] * 21, atol=1e-4)
    np.testing.assert_allclose(moved.xyz[0, 0, 0].numpy(), [5 / 40 * 0.5, 8 / 40 * 0.5, 0.5])
    torch.testing.assert_close(moved.K, target.K)
    assert moved.segmentation[0, 22, 17] == target.segmentation[0, 9, 20]
    assert moved.segmentation.dtype == target.segmentation.dtype
    v, u = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    source_u, source_v = v - 2, 26 - u
    inside = (source_u >= 0) & (source_u < SIZE) & (source_v >= 0) & (source_v < SIZE)
    shown = target.segmentation[0, source_v.clamp(0, SIZE - 1), source_u.clamp(0, SIZE - 1)]
    # Nearest sampling: every label is one the crop had there, no blend; outside is background.
    assert torch.equal(moved.segmentation[0], torch.where(inside, shown, 0))
    pixels = images[0][:, source_v.clamp(0, SIZE - 1), source_u.clamp(0, SIZE - 1)]
    torch.testing.assert_close(out[0], torch.where(inside, pixels, 0.0), atol=1e-5, rtol=0)
    # One hand stays in slot 0 whatever the turn.
    assert moved.present.tolist() == [[True, False]]


def test_a_turn_that_brings_the_second_wrist_left_swaps_every_slot_label():
    # About the centre (15.5, 15.5) a quarter turn takes wrist 0 (8, 4) to (27, 8) and wrist 1
    # (24, 26) to (5, 24): the second hand's wrist is now the leftmost, so it becomes slot 0.
    images, target = _crop((15.5, 15.5), [(8.0, 4.0), (24.0, 26.0)])
    target.segmentation[:] = 0
    target.segmentation[0, 3:6, 7:10] = 3  # slot 0's index finger around its wrist
    target.segmentation[0, 25:28, 23:26] = 9  # slot 1's index finger around its wrist
    out, moved = turn_zoom_shift_two_hands(images, target, *QUARTER)
    np.testing.assert_allclose(moved.uv[0, :, 0].numpy(), [[5.0, 24.0], [27.0, 8.0]], atol=1e-4)
    assert moved.is_left.tolist() == [[False, True]]
    assert moved.present.tolist() == [[True, True]]
    np.testing.assert_allclose(moved.xyz[0, :, 0, 2].numpy(), [0.6, 0.5], atol=1e-6)
    # The part labels' hand blocks swapped with the slots (labels 1-6 <-> 7-12).
    assert moved.segmentation[0, 24, 5] == 3 and moved.segmentation[0, 8, 27] == 9
    assert set(moved.segmentation.unique().tolist()) == {0, 3, 9}
    # The wrists' relative depth target, read from the swapped joints, changes sign.
    before, after = wrist_depth_offset(target.xyz), wrist_depth_offset(moved.xyz)
    assert after.item() == pytest.approx(-before.item()) and before.item() > 0
    # A small turn keeps the order and the labels' blocks.
    small = (torch.tensor([0.1]), torch.ones(1), torch.zeros(1, 2))
    _, kept = turn_zoom_shift_two_hands(images, target, *small)
    assert kept.is_left.tolist() == [[True, False]]
    assert set(kept.segmentation.unique().tolist()) == {0, 3, 9}


@pytest.fixture(scope="module")
def tiny_items():
    spec = load_split("interpolation")
    items = [mixed_item(spec, "train", 0, i, 48) for i in range(8)]
    return ArrayDataset({k: np.stack([item[k] for item in items]) for k in items[0]})


def test_without_augmentation_the_batch_is_untouched(tiny_items):
    assert CameraAugmentation.from_config(None) is None
    assert CameraAugmentation.from_config(False) is None
    assert CameraAugmentation.from_config({"rotation_deg": 0, "zoom": 0, "shift": 0}) is None
    generator = torch.Generator().manual_seed(3)
    state = generator.get_state()
    images, target = training_batch(tiny_items.arrays, "cpu", None, 0.0, generator)
    plain_images, plain = batch_to_target(tiny_items.arrays, "cpu")
    assert torch.equal(images, plain_images)
    for name, value in vars(plain).items():
        assert torch.equal(getattr(target, name), value), name
    # Nothing drawn: colour jitter after it sees the stream it saw before augmentation existed.
    assert torch.equal(generator.get_state(), state)


def test_augmented_rendered_crops_keep_projections_and_slot_order(tiny_items):
    augment = CameraAugmentation(rotation_deg=180.0, zoom=0.2, shift=0.1)
    _, target = training_batch(
        tiny_items.arrays, "cpu", augment, 0.0, torch.Generator().manual_seed(2)
    )
    _, plain = batch_to_target(tiny_items.arrays, "cpu")
    assert (target.is_left != plain.is_left).any()  # some turns swapped the slots
    present = target.present
    projected = (target.xyz @ target.K[:, None].transpose(-1, -2))[..., :2]
    projected = projected / target.xyz[..., 2:].clamp(min=1e-6)
    torch.testing.assert_close(projected[present], target.uv[present], atol=1e-3, rtol=0)
    both = present.all(-1)
    assert both.any() and torch.all(target.uv[both, 0, 0, 0] <= target.uv[both, 1, 0, 0])


def test_the_trainer_runs_with_augmentation_and_refuses_bad_ranges(tiny_items):
    torch.manual_seed(0)
    history = fit_two_hands(
        TwoHandNet(),
        tiny_items,
        steps=3,
        batch_size=4,
        progress=False,
        augment=CameraAugmentation.from_config(True),
    )
    assert len(history) == 3 and all(math.isfinite(h["total"]) for h in history)
    with pytest.raises(ConfigError, match="train.augment: unknown augmentation keys"):
        train_two_hands({"train": {"augment": {"rotate": 5}}}, progress=False)
    with pytest.raises(ConfigError, match="shift must be a finite number >= 0"):
        train_two_hands({"train": {"augment": {"shift": float("nan")}}}, progress=False)

"""The two-hand network (DIGIT): shapes and ranges, the fusion variants, and that a few steps on
tiny synthetic data lower both the segmentation and the pose loss."""

import numpy as np
import pytest
import torch

from handperception.losses.two_hands import TwoHandLoss, labels_at_stride, wrist_depth_offset
from handperception.models.digit import FUSIONS, TwoHandNet, predict_crops
from handperception.models.pose2p5d import TURN_SHARPNESS, image_turn
from handperception.skeleton.parts import NUM_LABELS
from handperception.synth.splits import load_split
from handperception.synth.two_hand_items import mixed_item
from handperception.train.data import ArrayDataset
from handperception.train.two_hand_data import batch_to_target
from handperception.train.two_hands import fit_two_hands


@pytest.mark.parametrize("fusion", FUSIONS)
def test_output_shapes_and_ranges(fusion):
    torch.manual_seed(0)
    model = TwoHandNet(fusion=fusion).eval()
    with torch.no_grad():
        out = model(torch.rand(3, 3, 64, 64))
    assert out.segmentation_logits.shape == (3, NUM_LABELS, 16, 16)
    assert out.heatmaps.shape == out.probabilities.shape == (3, 2, 21, 16, 16)
    assert out.uv.shape == (3, 2, 21, 2) and out.depth.shape == (3, 2, 21)
    assert out.presence_logit.shape == (3, 2) and out.root_offset.shape == (3,)
    # Each joint's map is a distribution; the wrist's relative depth is exactly zero.
    sums = out.probabilities.sum((-2, -1))
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)
    assert torch.all(out.depth[..., 0] == 0)
    assert torch.all((out.confidence >= 0) & (out.confidence <= 1 + 1e-6))
    # Expected coordinates lie inside the crop (pixel centres -0.5 .. 63.5).
    assert torch.all((out.uv > -0.5) & (out.uv < 63.5))


def test_fusion_variants_differ_in_what_the_pose_layers_read():
    widths = {f: TwoHandNet(fusion=f).fusion_layers[0][0].in_channels for f in FUSIONS}
    assert widths["probabilities"] == widths["hard"] == widths["none"] + NUM_LABELS
    with pytest.raises(ValueError, match="fusion must be one of"):
        TwoHandNet(fusion="soft")


def test_gradients_reach_the_segmentation_through_the_pose_only_with_probabilities():
    """DIGIT's point: the pose loss trains the segmentation branch through the probabilities;
    a hard mask passes no gradient back."""
    for fusion, expected in (("probabilities", True), ("hard", False)):
        torch.manual_seed(0)
        model = TwoHandNet(fusion=fusion)
        out = model(torch.rand(2, 3, 64, 64))
        out.uv.sum().backward()
        grad = model.segmentation_head.weight.grad
        assert (grad is not None and bool(grad.abs().sum() > 0)) == expected, fusion


def test_handedness_is_the_palm_side_times_the_knuckles_turn_and_never_moves_a_keypoint():
    """A left hand is palm-facing turned one way or back-facing turned the other: the sign of
    P(left) - 0.5 is the palm side's sign times the turn's, and its loss reaches the palm-side
    layer but no heatmap."""
    torch.manual_seed(0)
    model = TwoHandNet()
    out = model(torch.rand(4, 3, 64, 64))
    turn = image_turn(out.uv.detach().reshape(-1, 21, 2)).view(4, 2)
    expected = out.palm_facing_logit * torch.tanh(TURN_SHARPNESS * turn)
    torch.testing.assert_close(out.handedness_logit, expected, atol=1e-4, rtol=1e-4)
    out.handedness_logit.sum().backward()
    assert model.palm_facing.weight.grad.abs().sum() > 0
    assert model.pose_head.weight.grad is None or model.pose_head.weight.grad.abs().sum() == 0


def test_predict_crops_gives_numpy_labels_at_crop_resolution():
    crops = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    prediction = predict_crops(TwoHandNet(), crops)
    assert prediction.labels.shape == (2, 64, 64) and prediction.labels.dtype == np.uint8
    assert prediction.labels.max() < NUM_LABELS
    assert np.all((prediction.presence >= 0) & (prediction.presence <= 1))
    with pytest.raises(ValueError, match="uint8"):
        predict_crops(TwoHandNet(), crops.astype(np.float32))


def test_labels_at_stride_reads_each_cell_centre():
    labels = torch.arange(64).view(1, 8, 8)
    # Stride 4 on 8 pixels: cells centred on pixels 1.5 and 5.5 -> rounded to 2 and 6.
    picked = labels_at_stride(labels, 4, (2, 2))
    assert picked.tolist() == [[[2 * 8 + 2, 2 * 8 + 6], [6 * 8 + 2, 6 * 8 + 6]]]


def test_wrist_depth_offset_in_mean_reference_bones():
    xyz = torch.zeros(1, 2, 21, 3)
    xyz[0, 0, 9] = torch.tensor([0.0, -0.08, 0.0])  # left reference bone 8 cm
    xyz[0, 1, 9] = torch.tensor([0.0, -0.12, 0.0])  # right 12 cm -> unit 10 cm
    xyz[0, 0, :, 2] += 0.5
    xyz[0, 1, :, 2] += 0.55
    assert wrist_depth_offset(xyz).item() == pytest.approx(0.5, abs=1e-5)


@pytest.fixture(scope="module")
def tiny_items():
    spec = load_split("interpolation")
    items = [mixed_item(spec, "train", 0, i, 64) for i in range(24)]
    return ArrayDataset({k: np.stack([item[k] for item in items]) for k in items[0]})


def test_loss_masks_absent_hands_and_unlabelled_segmentation(tiny_items):
    torch.manual_seed(0)
    model = TwoHandNet()
    batch = {k: v[:8].copy() for k, v in tiny_items.arrays.items()}  # the test edits labels
    images, target = batch_to_target(batch, "cpu")
    loss = TwoHandLoss()
    terms = loss(model(images), target)
    assert all(torch.isfinite(v) for v in terms.values())
    # Without segmentation labels the term is exactly zero; presence labels still count.
    target.has_segmentation[:] = False
    assert loss(model(images), target)["segmentation"].item() == 0.0
    # Crops with no hand at all: no pose term, no NaN.
    target.present[:] = False
    terms = loss(model(images), target)
    assert terms["uv"].item() == 0.0 and "depth" not in terms and torch.isfinite(terms["total"])


def test_a_few_steps_lower_the_segmentation_and_the_pose_loss(tiny_items):
    torch.manual_seed(0)
    model = TwoHandNet()
    one_batch = ArrayDataset({k: v[:8] for k, v in tiny_items.arrays.items()})
    history = fit_two_hands(
        model, one_batch, steps=60, batch_size=8, lr=3e-3, colour_jitter=0.0, progress=False
    )

    def mean(term, part):
        return np.mean([h[term] for h in part])

    # Measured (first vs last 10 steps): segmentation 1.96 -> 0.80, uv 3.97 -> 3.65, heatmap
    # 8.14 -> 7.85, depth 0.54 -> 0.47; the pose terms fall slower, waiting for features.
    for term, ratio in (("segmentation", 0.6), ("uv", 0.95), ("heatmap", 0.98), ("depth", 0.92)):
        assert mean(term, history[-10:]) < ratio * mean(term, history[:10]), term

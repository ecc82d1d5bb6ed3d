"""Hand detector: letterbox mapping, decoding, targets, losses, a few training steps,
checkpoints."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from handperception.models.checkpoint import load_checkpoint, save_checkpoint
from handperception.models.detector import DetectorOutput, HandDetector, Letterbox, decode
from handperception.synth.splits import load_split
from handperception.train.detector import (
    HandBoxes,
    detector_loss,
    focal_loss,
    make_targets,
    match_frame,
    synthetic_batch,
    train_detector,
)


def test_letterbox_maps_and_round_trips():
    wide = Letterbox(1280, 720, 160, 120)  # 16:9 into 4:3: 160 x 90 with 15-row bars
    assert wide.resized_size == (160, 90)
    np.testing.assert_allclose(wide.offset, [0, 15])
    # The frame's centre lands on the input's centre; pixel (0, 0) at 0.5 * 0.125 - 0.5 (+ bar).
    np.testing.assert_allclose(
        wide.to_input(np.array([[639.5, 359.5], [0.0, 0.0]])), [[79.5, 59.5], [-0.4375, 14.5625]]
    )
    tall = Letterbox(480, 640, 160, 120)  # portrait: 90 x 120 with 35-column bars
    assert tall.resized_size == (90, 120)
    np.testing.assert_allclose(tall.offset, [35, 0])
    points = np.random.default_rng(1).uniform(-50, 700, size=(4, 7, 2))
    for box in (wide, tall, Letterbox(640, 480, 160, 120)):
        np.testing.assert_allclose(box.to_frame(box.to_input(points)), points, atol=1e-9)
    image = wide.apply(np.full((720, 1280, 3), 200, np.uint8))
    assert image.shape == (120, 160, 3)
    assert image[:15].max() == 0 and image[105:].max() == 0 and image[15:105].min() == 200
    with pytest.raises(ValueError, match="positive integers"):
        Letterbox(0, 480)


def hand_made_outputs() -> DetectorOutput:
    """Grid 30 x 40 (input 160 x 120): a left hand at cell (10, 5), a right hand at (30, 20)."""
    heatmap = torch.full((1, 2, 30, 40), -10.0)
    size, offset = torch.zeros(1, 2, 30, 40), torch.zeros(1, 2, 30, 40)
    heatmap[0, :, 5, 10] = torch.tensor([3.0, 1.0])
    heatmap[0, 0, 5, 11] = 2.5  # shoulder of the same peak: suppressed by the 3x3 NMS
    size[0, :, 5, 10], offset[0, :, 5, 10] = torch.tensor([8.0, 6.0]), torch.tensor([0.25, 0.5])
    heatmap[0, :, 20, 30] = torch.tensor([-1.0, 2.0])
    size[0, :, 20, 30] = torch.tensor([4.0, 4.0])
    heatmap[0, 1, 25, 2] = -2.0  # sigmoid 0.12: below the threshold
    return DetectorOutput(heatmap, size, offset)


def test_decode_recovers_boxes_scores_and_handedness():
    detections = decode(
        hand_made_outputs(), [Letterbox(640, 480, 160, 120)], score_threshold=0.3, max_hands=4
    )[0]
    assert [d.handedness for d in detections] == ["left", "right"]
    left, right = detections
    # Centre cell (10.25, 5.5) -> input (42.5, 23.5), half size (16, 12) input px, x4 to the frame.
    np.testing.assert_allclose(left.box_xyxy, [107.5, 47.5, 235.5, 143.5])
    assert left.score == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert left.handedness_score == pytest.approx(np.exp(3.0) / (np.exp(3.0) + np.exp(1.0)))
    # Input centre (121.5, 81.5) +- 8 -> frame (487.5, 327.5) +- 32.
    np.testing.assert_allclose(right.box_xyxy, [455.5, 295.5, 519.5, 359.5])
    assert right.handedness_score == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert len(decode(hand_made_outputs(), [Letterbox(640, 480)], 0.3, max_hands=1)[0]) == 1
    assert len(decode(hand_made_outputs(), [Letterbox(640, 480)], 0.1, max_hands=4)[0]) == 3
    with pytest.raises(ValueError, match="one letterbox per image"):
        decode(hand_made_outputs(), [], 0.3, 2)


def test_targets_decode_back_to_the_boxes_through_a_letterbox():
    letterbox = Letterbox(1280, 720, 160, 120)
    truth = HandBoxes(
        np.array(
            [
                [100.0, 200.0, 400.0, 520.0],
                [900.0, 100.0, 1100.0, 260.0],
                [600.0, 600.0, 700.0, 700.0],
            ]
        ),
        np.array([True, False, True]),
        np.array([True, True, False]),  # the third hand shows too few joints
    )
    targets = make_targets(truth, letterbox)
    assert (
        targets["mask"].sum() == 2
        and targets["heatmap"][0].max() == 1.0
        and targets["heatmap"][1].max() == 1.0
    )
    assert targets["ignore"].sum() > 0
    # Logits that reproduce the target peaks, decoded, give back the two valid boxes and sides.
    logits = torch.logit(torch.from_numpy(targets["heatmap"]).clamp(1e-4, 1 - 1e-4))[None]
    outputs = DetectorOutput(
        logits, torch.from_numpy(targets["size"])[None], torch.from_numpy(targets["offset"])[None]
    )
    detections = decode(outputs, [letterbox], score_threshold=0.9, max_hands=4)[0]
    by_side = {d.handedness: d.box_xyxy for d in detections}
    assert len(detections) == 2
    np.testing.assert_allclose(by_side["left"], truth.boxes[0], atol=1e-3)
    np.testing.assert_allclose(by_side["right"], truth.boxes[1], atol=1e-3)


def test_focal_loss_hand_computed():
    logits = torch.zeros(1, 1, 1, 3)
    target = torch.tensor([[[[1.0, 0.0, 0.0]]]])
    ignore = torch.tensor([[[0.0, 0.0, 1.0]]])
    # Positive and negative cell at p = 0.5 each cost 0.25 * ln 2; the ignored cell nothing.
    assert float(focal_loss(logits, target, ignore)) == pytest.approx(0.5 * np.log(2.0))


def test_match_frame_counts():
    truth = HandBoxes(
        np.array([[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 30.0, 10.0], [40.0, 0.0, 50.0, 10.0]]),
        np.array([True, False, True]),
        np.array([True, True, False]),
    )
    found = [
        SimpleNamespace(
            box_xyxy=np.array([0.0, 0.0, 10.0, 9.0]), handedness="left"
        ),  # hand 0, right side
        SimpleNamespace(
            box_xyxy=np.array([0.0, 0.0, 10.0, 10.0]), handedness="left"
        ),  # duplicate: FP
        SimpleNamespace(
            box_xyxy=np.array([40.0, 0.0, 50.0, 10.0]), handedness="right"
        ),  # ignored hand
    ]
    counts = match_frame(found, truth)
    assert counts == {
        "true_positives": 1,
        "false_positives": 1,
        "false_negatives": 1,
        "correct_side": 1,
        "correct_count": 1,
    }
    assert match_frame(found[:1] + found[2:], truth)["correct_count"] == 0


def test_a_few_steps_on_four_frames_lower_the_loss():
    torch.manual_seed(0)
    images, targets = synthetic_batch(
        load_split("interpolation"), "train", 3, [0, 1, 2, 3], (64, 48)
    )
    assert images.shape == (4, 3, 48, 64) and targets["mask"].sum() > 0
    model = HandDetector("tiny", 64, 48).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = detector_loss(model(images), targets)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_train_detector_api_and_checkpoint_round_trip(tmp_path):
    model, history = train_detector(2, batch_size=2, image_size=(64, 48), progress=False)
    assert [h["step"] for h in history] == [0, 1] and all(np.isfinite(h["total"]) for h in history)
    path = save_checkpoint(tmp_path / "detector.pt", model, "hand_detector", model.config)
    loaded, config = load_checkpoint(path, expected_model="hand_detector")
    assert config == {"size": "tiny", "input_width": 64, "input_height": 48}
    frame = np.random.default_rng(0).integers(0, 255, size=(100, 300, 3), dtype=np.uint8)
    batch, _ = model.prepare([frame])
    torch.testing.assert_close(loaded(batch).heatmap, model(batch).heatmap)
    detections = loaded.detect([frame], score_threshold=0.0, max_hands=3)[0]
    assert len(detections) == 3
    for d in detections:
        assert (
            -0.5 <= d.box_xyxy[0] <= d.box_xyxy[2] <= 299.5
            and -0.5 <= d.box_xyxy[1] <= d.box_xyxy[3] <= 99.5
        )
    # Continuing training updates the given model in place, at its own input size.
    before = model.heatmap_head[-1].weight.detach().clone()
    continued, _ = train_detector(1, batch_size=2, seed=1, progress=False, model=model)
    assert continued is model and not torch.equal(before, model.heatmap_head[-1].weight)
    with pytest.raises(ValueError, match="multiple of 4"):
        HandDetector("tiny", 62, 48)

"""The realism judge's protocol pieces (matching, errors, buckets), without MediaPipe."""

import numpy as np

from handperception.bench.realism import (
    HandJudgement,
    iris_errors,
    landmark_errors,
    markdown_report,
    match_hands,
    size_bucket,
    skin_bucket,
    summarise_hands,
    viewpoint_bucket,
)
from handperception.synth.scenes import viewpoint_rotation


def _hand(x0: float, y0: float, side: float) -> np.ndarray:
    """21 points spread over the square [x0, x0 + side] x [y0, y0 + side]."""
    t = np.linspace(0.0, 1.0, 21)
    return np.stack([x0 + side * t, y0 + side * t[::-1]], axis=1)


def test_hands_match_by_box_overlap_each_found_hand_once():
    left, right = _hand(0, 0, 40), _hand(30, 0, 40)
    # Found: one 5 px off the right hand (IoU 35/45), one far away (IoU 0).
    found = [_hand(200, 200, 10), _hand(35, 0, 40)]
    assert match_hands([left, right], found) == [None, 1]
    # The same found hand cannot serve two true hands; below IoU 0.25 nothing matches.
    assert match_hands([right, right], [right]) == [0, None]
    assert match_hands([left], [_hand(35, 0, 40)]) == [None]  # IoU 5/75


def test_landmark_errors_are_fractions_of_the_box_diagonal():
    truth = _hand(0, 0, 30)  # box 30 x 30, diagonal 42.43 px
    found = truth + [3.0, 4.0]  # 5 px off everywhere
    np.testing.assert_allclose(landmark_errors(truth, found), 5 / np.hypot(30, 30))


def test_buckets_follow_the_hand_frame_and_the_albedo():
    keypoints = np.array([[0.0, 0.0, 0.5]] * 21)
    # viewpoint_rotation(az, el): az 0 sees the back, 180 the palm, 90 a side, el 80 the tips.
    for azimuth, elevation, expected in ((0, 0, "back"), (180, 0, "palm"), (90, 0, "side")):
        rotation = viewpoint_rotation(azimuth, elevation, 30)
        assert viewpoint_bucket(rotation, False, keypoints) == expected
    assert viewpoint_bucket(viewpoint_rotation(0, 80, 0), False, keypoints) == "fingertips"
    assert viewpoint_bucket(viewpoint_rotation(0, -80, 0), True, keypoints) == "forearm"
    # Luma 0.299 R + 0.587 G + 0.114 B: 88/56/38 -> 63.5, 190/135/100 -> 147.4, 241/204/178 -> 212.
    assert [skin_bucket(np.array(c)) for c in ([88, 56, 38], [190, 135, 100], [241, 204, 178])] == [
        "dark",
        "medium",
        "light",
    ]
    assert size_bucket(_hand(0, 0, 40), 128, 128) == "small"  # 56.6 / 181 = 0.31


def test_iris_errors_pair_eyes_the_cheaper_way():
    truth = np.array([[100.0, 50.0], [140.0, 50.0]])
    found = np.array([[141.0, 50.0], [100.0, 52.0]])  # the image's other eye first
    assert iris_errors(truth, found) == (2.0, 1.0)


def test_summary_rates_and_report():
    judgements = [
        HandJudgement(0, 0, True, True, True, 0.05, 0.08, True, "back", "dark", "medium"),
        HandJudgement(1, 0, True, False, False, 0.2, 0.4, False, "side", "dark", "medium"),
        HandJudgement(2, 0, False, False, False, np.nan, np.nan, None, "side", "light", "small"),
        HandJudgement(3, 0, False, False, False, np.nan, np.nan, None, "palm", "light", "small"),
    ]
    summary = summarise_hands(judgements)
    assert summary["all"]["found"] == 0.5 and summary["all"]["within"] == 0.25
    assert summary["all"]["handedness_ok_of_found"] == 0.5
    assert summary["all"]["median_error_of_found"] == np.median([0.05, 0.2])
    assert summary["viewpoint"]["side"]["found"] == 0.5
    assert summary["skin"]["light"]["found"] == 0.0
    report = markdown_report({"kind": "hands", "n": 4, "seed": 0, **summary})
    assert "| all | 4 | 50.0 % | 25.0 % | 25.0 % | 50.0 % | 0.125 |" in report

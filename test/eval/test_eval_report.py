"""Standard keypoint metric set and the JSON / Markdown / PNG report writers."""

import json

import numpy as np
import pytest
from matplotlib.image import imread

from handperception.eval.report import (
    EvaluationReport,
    SplitResult,
    check_split_name,
    evaluate_keypoints,
)

RNG = np.random.default_rng(3)
# Six poses half a metre away, metres, on a 1/256 m grid so that shifting them by 1/128 m is exact
# in floating point (a root-relative error of 1e-17 would otherwise miss PCK's 0 mm threshold).
GT = RNG.integers(-12, 12, size=(6, 21, 3)) / 256 + [0.0, 0.0, 0.5]
STEP = 1 / 128  # metres, 7.8125 mm


def test_split_names():
    for name in (
        "interpolation",
        "extrapolation:shape",
        "extrapolation:object",
        "FreiHAND",
        "ho3d_v3",
    ):
        assert check_split_name(name) == name
    for name in ("extrapolation:colour", "", "my split", "extrapolation"):
        with pytest.raises(ValueError):
            check_split_name(name)


def test_translation_only_error():
    # Every joint 7.8 mm off along x: that absolute error, nothing after root or Procrustes
    # alignment.
    result = evaluate_keypoints(GT + [STEP, 0.0, 0.0], GT)
    m = result["metrics"]
    assert m["mpjpe_mm"] == pytest.approx(7.8125)
    assert m["rr_mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert m["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert m["auc_0_50"] == pytest.approx(1.0) and m["auc_20_50"] == pytest.approx(1.0)
    assert result["num_samples"] == 6
    assert "epe_2d_px" not in m


def test_finger_offset_and_2d():
    # Fingers (joints 1..20) shifted 29 mm, wrist exact: root-relative errors 0 (wrist) and 29 mm.
    pred = GT.copy()
    pred[:, 1:] += [0.029, 0.0, 0.0]
    gt_2d = RNG.uniform(0, 200, size=(6, 21, 2))
    result = evaluate_keypoints(pred, GT, pred_2d=gt_2d + [3.0, 4.0], gt_2d=gt_2d)
    m = result["metrics"]
    assert m["mpjpe_mm"] == pytest.approx(29.0 * 20 / 21)
    assert m["rr_mpjpe_mm"] == pytest.approx(29.0 * 20 / 21)
    # 20-50 mm, thresholds 20 + 30 i / 99: PCK = 1/21 (the wrist) up to i = 29 (28.8 mm) and 1
    # from i = 30 (29.1 mm): 29 intervals at 1/21, one mixed, 69 at 1, over 99 intervals.
    below, above = 1 / 21, 1.0
    expected_auc = (29 * below + 0.5 * (below + above) + 69 * above) / 99
    assert m["auc_20_50"] == pytest.approx(expected_auc)
    # 2D error is 5 px everywhere; over 0-30 px thresholds 30 i / 99 reach 5 px at i = 17.
    assert m["epe_2d_px"] == pytest.approx(5.0)
    assert m["pck_2d_10px"] == pytest.approx(1.0)
    assert m["auc_2d_0_30px"] == pytest.approx(82.5 / 99)
    assert set(result["curves"]) == {"pck_3d_rr", "pck_3d_pa", "pck_2d"}


def test_evaluate_keypoints_needs_both_2d_arrays():
    with pytest.raises(ValueError, match="both"):
        evaluate_keypoints(GT, GT, pred_2d=np.zeros((6, 21, 2)))


def _report():
    report = EvaluationReport(model="pose-test", metadata={"checkpoint": "none"})
    report.add(SplitResult("interpolation", **evaluate_keypoints(GT + [STEP, 0.0, 0.0], GT)))
    pred = GT.copy()
    pred[:, 1:] += [0.029, 0.0, 0.0]
    report.add(SplitResult("extrapolation:viewpoint", **evaluate_keypoints(pred, GT)))
    return report


def test_report_writers(tmp_path):
    report = _report()
    paths = report.write(tmp_path / "out")
    assert set(paths) == {"json", "markdown", "plot"}

    data = json.loads(paths["json"].read_text())
    assert data["model"] == "pose-test"
    assert [s["name"] for s in data["splits"]] == ["interpolation", "extrapolation:viewpoint"]
    assert data["splits"][0]["metrics"]["mpjpe_mm"] == pytest.approx(7.8125)
    restored = EvaluationReport.from_dict(data)
    curve = restored.splits["extrapolation:viewpoint"].curves["pck_3d_rr"]
    np.testing.assert_allclose(
        curve.values, report.splits["extrapolation:viewpoint"].curves["pck_3d_rr"].values
    )

    lines = paths["markdown"].read_text().splitlines()
    assert lines[0] == "## pose-test"
    header = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert header[:3] == ["split", "samples", "mpjpe_mm"]
    assert lines[3].count("---") == len(header)
    first_row = [cell.strip() for cell in lines[4].strip("|").split("|")]
    assert first_row[:3] == ["interpolation", "6", "7.812"]
    assert len(lines) == 6

    image = imread(paths["plot"])
    assert image.shape[:2] == (420, 1100)  # figsize (11, 4.2) at 100 dpi
    assert image.std() > 0  # something was drawn


def test_report_rejects_bad_content(tmp_path):
    report = _report()
    with pytest.raises(ValueError, match="already"):
        report.add(SplitResult("interpolation"))
    with pytest.raises(ValueError, match="no split has metric"):
        report.plot(tmp_path / "x.png", bar_metric="gaze_error_deg")
    with pytest.raises(ValueError, match="non-finite"):
        SplitResult("FreiHAND", metrics={"mpjpe_mm": float("nan")})


def test_report_without_keypoints_skips_plot(tmp_path):
    report = EvaluationReport(model="seg")
    report.add(SplitResult("interpolation", metrics={"miou": 0.75}, num_samples=3))
    paths = report.write(tmp_path)
    assert set(paths) == {"json", "markdown"}
    assert "| interpolation | 3 | 0.75 |" in paths["markdown"].read_text()

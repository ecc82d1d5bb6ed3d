import json

import pytest

from handperception.cli.main import main
from handperception.models.checkpoint import save_checkpoint
from handperception.models.digit import TwoHandNet
from handperception.models.pose2p5d import HandPoseNet


def _checkpoint(tmp_path):
    model = TwoHandNet("tiny")
    return save_checkpoint(
        tmp_path / "two.pt", model, "two_hand_net", model.config, {"crop_size": 64}
    )


def test_evaluate_two_hands_writes_json_markdown_and_plot(tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["evaluate", "two_hands", "--model", str(_checkpoint(tmp_path))]
    args += ["--split", "interpolation", "--count", "6", "--out", str(out), "--device", "cpu"]
    assert main(args) == 0
    report = json.loads((out / "evaluation.json").read_text())
    (split,) = report["splits"]
    assert split["name"] == "interpolation" and split["num_samples"] == 6
    metrics = split["metrics"]
    assert metrics["items"] == 6
    assert metrics["mpjpe_interacting_mm"] > 0 and 0 <= metrics["presence_accuracy"] <= 1
    assert report["metadata"]["crop_size"] == 64
    table = (out / "evaluation.md").read_text()
    assert "| interpolation | 6 |" in table and "MPJPE two (mm)" in table
    assert (out / "evaluation.png").stat().st_size > 0
    assert "MRRPE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra", [["--split", "extrapolation:object"], ["--dataset", "interhand", "--root", "."]]
)
def test_evaluate_two_hands_mistakes_exit_2(tmp_path, extra):
    args = ["evaluate", "two_hands", "--model", str(_checkpoint(tmp_path)), *extra]
    assert main(args + ["--out", str(tmp_path / "eval")]) == 2


def test_a_single_hand_checkpoint_is_a_one_line_error(tmp_path, capsys):
    path = save_checkpoint(
        tmp_path / "hand.pt", HandPoseNet("tiny"), "hand_pose_net", {"size": "tiny"}
    )
    args = ["evaluate", "two_hands", "--model", str(path), "--out", str(tmp_path / "eval")]
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("handperception evaluate: error: --model") and "\n" not in error

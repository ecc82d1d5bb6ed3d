"""`handperception train halo` and `handperception evaluate halo`."""

import json

import pytest
import torch

from handperception.cli.main import main
from handperception.models.checkpoint import load_checkpoint, save_checkpoint
from handperception.models.halo import HaloNet
from handperception.models.pose2p5d import HandPoseNet


def _checkpoint(tmp_path):
    """An untrained HaloNet that says "inside" near every bone: something to mesh."""
    torch.manual_seed(0)
    model = HaloNet(hidden=16, code=8)
    with torch.no_grad():
        model.out_bias.fill_(3.0)
    return save_checkpoint(tmp_path / "halo.pt", model, "halo", model.config)


def test_train_halo_saves_a_loadable_checkpoint_and_its_scores(tmp_path, capsys):
    config = tmp_path / "halo.yaml"
    config.write_text(
        "model: {hidden: 8, code: 4}\n"
        "data: {pool: 3, points_per_hand: 128}\n"
        "train: {steps: 2, hands: 2, points: 64, device: cpu}\n"
        "eval: {hands: 1, points: 200}\n"
        f"out: {tmp_path / 'halo.pt'}\n"
    )
    assert main(["train", "halo", "--config", str(config), "--set", "train.lr=0.005"]) == 0
    out = capsys.readouterr().out
    assert "saved" in out and "interpolation IoU" in out
    _, model_config = load_checkpoint(tmp_path / "halo.pt", "halo")
    assert model_config["hidden"] == 8
    assert (tmp_path / "halo.loss.png").is_file()


def test_train_halo_config_typo_is_one_line(tmp_path, capsys):
    config = tmp_path / "typo.yaml"
    config.write_text("train: {step: 3}\n")
    assert main(["train", "halo", "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert "unknown keys ['step'] in 'train'" in error and "\n" not in error


def test_evaluate_halo_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["evaluate", "halo", "--model", str(_checkpoint(tmp_path)), "--split", "interpolation"]
    assert main(args + ["--count", "2", "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    metrics = report["splits"]["interpolation"]
    assert metrics["items"] == 2 and 0.0 <= metrics["iou"] <= 1.0
    assert metrics["queries"] > 0 and "chamfer_mm" in metrics
    assert report["metadata"]["mesh_hands"] == 1
    table = (out / "evaluation.md").read_text()
    assert "held-out poses" in table and "Chamfer (mm)" in table
    assert "IoU" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--split", "extrapolation:viewpoint"], ["--dataset", "x"]])
def test_evaluate_halo_mistakes_exit_2(tmp_path, extra):
    args = ["evaluate", "halo", "--model", str(_checkpoint(tmp_path)), *extra]
    assert main(args + ["--out", str(tmp_path / "eval")]) == 2


def test_evaluate_halo_refuses_another_model_in_one_line(tmp_path, capsys):
    path = save_checkpoint(
        tmp_path / "hand.pt", HandPoseNet("tiny"), "hand_pose_net", {"size": "tiny"}
    )
    assert main(["evaluate", "halo", "--model", str(path), "--out", str(tmp_path / "e")]) == 2
    error = capsys.readouterr().err.strip()
    assert "expected 'halo'" in error and "\n" not in error

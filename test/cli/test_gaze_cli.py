import json

import pytest

from handperception.cli.main import main
from handperception.models.checkpoint import load_checkpoint, save_checkpoint
from handperception.models.gaze import DeepPictorialGaze


def test_train_gaze_cli_writes_a_loadable_checkpoint_and_loss_plot(tmp_path, capsys):
    out = tmp_path / "gaze.pt"
    settings = [
        "model.channels=8",
        "model.regressor_channels=8",
        "model.stacks=1",
        "data.train_patches=4",
        f"data.cache_dir={tmp_path / 'cache'}",
        "train.steps=2",
        "train.batch_size=4",
        "evaluate.patches=2",
        f"out={out}",
    ]
    args = ["train", "gaze", "--config", "config/train/gaze_tiny.yaml"]
    for item in settings:
        args += ["--set", item]
    assert main(args) == 0
    model, config = load_checkpoint(out, expected_model="deep_pictorial_gaze")
    assert config["channels"] == 8 and config["stacks"] == 1
    assert out.with_suffix(".loss.png").stat().st_size > 0
    assert (tmp_path / "cache" / "eyes_train_seed0_n4" / "manifest.json").is_file()
    assert "synthetic interpolation: mean" in capsys.readouterr().out


def test_evaluate_gaze_cli_writes_json_and_markdown(tmp_path):
    model = DeepPictorialGaze(stacks=1, channels=8, depth=1, regressor_channels=8)
    path = save_checkpoint(tmp_path / "g.pt", model, "deep_pictorial_gaze", model.config)
    out = tmp_path / "eval"
    args = ["evaluate", "gaze", "--model", str(path), "--split", "interpolation", "--n", "3"]
    assert main(args + ["--out", str(out), "--device", "cpu"]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert [s["name"] for s in report["splits"]] == ["interpolation"]
    assert set(report["splits"][0]["metrics"]) == {"mean_deg", "median_deg", "p90_deg"}
    assert (out / "evaluation.md").is_file()


@pytest.mark.parametrize(
    "extra", [["--split", "extrapolation:viewpoint"], ["--dataset", "freihand", "--root", "."]]
)
def test_evaluate_gaze_cli_mistakes_exit_2(tmp_path, extra, capsys):
    model = DeepPictorialGaze(stacks=1, channels=8, depth=1, regressor_channels=8)
    path = save_checkpoint(tmp_path / "g.pt", model, "deep_pictorial_gaze", model.config)
    assert main(["evaluate", "gaze", "--model", str(path), *extra]) == 2

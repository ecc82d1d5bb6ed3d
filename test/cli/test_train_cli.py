import pytest

from handperception.cli.main import main
from handperception.models.checkpoint import load_checkpoint
from handperception.train.hand import merge_config


def test_train_hand_cli_writes_a_loadable_checkpoint_and_loss_plot(tmp_path):
    out = tmp_path / "hand.pt"
    code = main(
        [
            "train",
            "hand",
            "--config",
            "config/train/hand_tiny.yaml",
            "--set",
            "data.crop_size=48",
            "--set",
            "data.labelled_3d=8",
            "--set",
            "data.labelled_2d_only=8",
            "--set",
            f"data.cache_dir={tmp_path / 'cache'}",
            "--set",
            "train.steps=4",
            "--set",
            "train.batch_size=4",
            "--set",
            f"out={out}",
        ]
    )
    assert code == 0
    model, config = load_checkpoint(out, expected_model="hand_pose_net")
    assert config["size"] == "tiny"
    assert out.with_suffix(".loss.png").stat().st_size > 0
    assert (
        len(list((tmp_path / "cache").glob("hands_*/shard_*.npz"))) == 2
    )  # labelled and 2D-only sets cached


def test_config_typos_are_errors():
    with pytest.raises(ValueError, match="unknown keys"):
        merge_config({"train": {"step": 10}})
    with pytest.raises(ValueError, match="unknown config section"):
        merge_config({"trian": {}})


def test_train_detector_cli_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "detector.pt"
    assert (
        main(
            [
                "train",
                "detector",
                "--steps",
                "2",
                "--batch-size",
                "2",
                "--eval-frames",
                "2",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    model, config = load_checkpoint(out, expected_model="hand_detector")
    assert config["size"] == "tiny"


def test_loss_weights_from_the_config_reach_the_loss(tmp_path):
    from handperception.train.hand import train_hand

    config = {
        "data": {
            "crop_size": 32,
            "labelled_3d": 4,
            "labelled_2d_only": 0,
            "cache_dir": str(tmp_path),
        },
        "train": {"steps": 2, "batch_size": 2, "device": "cpu", "loss_weights": {"biomech": 0.0}},
        "out": str(tmp_path / "hand.pt"),
    }
    history = train_hand(config, progress=False)["history"]
    assert [record["biomech"] for record in history] == [0.0, 0.0]
    assert all(record["uv"] > 0 for record in history)
    config["train"]["loss_weights"] = {"biomechanics": 1.0}
    with pytest.raises(ValueError, match="unknown loss weights"):
        train_hand(config, progress=False)


def test_the_2d_only_set_can_come_from_another_domain(tmp_path):
    """Spurr et al.'s setting: 3D labels from one split, 2D-only labels from another one's range."""
    import json

    from handperception.train.hand import train_hand

    config = {
        "data": {
            "crop_size": 32,
            "labelled_3d": 4,
            "labelled_2d_only": 6,
            "split_2d_only": "extrapolation:viewpoint",
            "partition_2d_only": "test",
            "cache_dir": str(tmp_path),
        },
        "train": {"steps": 2, "batch_size": 2, "device": "cpu"},
        "out": str(tmp_path / "hand.pt"),
    }
    train_hand(config, progress=False)
    manifests = [json.loads(path.read_text()) for path in tmp_path.glob("hands_*/manifest.json")]
    drawn = sorted((m["split"], m["partition"], m["length"]) for m in manifests)
    assert drawn == [("extrapolation:viewpoint", "test", 6), ("interpolation", "train", 4)]


def test_a_config_typo_is_one_line_before_any_rendering(tmp_path, capsys):
    from handperception.cli.main import main

    config = tmp_path / "typo.yaml"
    config.write_text("train: {step: 3}\n")
    for model in ("hand", "two_hands", "gaze"):
        assert main(["train", model, "--config", str(config)]) == 2
        error = capsys.readouterr().err.strip()
        assert "unknown keys ['step'] in 'train'" in error and "\n" not in error


def test_two_hands_trains_and_saves_a_loadable_checkpoint(tmp_path, capsys):
    from handperception.cli.main import main
    from handperception.models.checkpoint import load_checkpoint

    config = tmp_path / "two_hands.yaml"
    config.write_text(
        f"data: {{count: 4, crop_size: 32, cache_dir: {tmp_path}}}\n"
        "train: {steps: 2, batch_size: 2, device: cpu}\n"
        f"out: {tmp_path / 'two_hands.pt'}\n"
    )
    assert main(["train", "two_hands", "--config", str(config)]) == 0
    assert "saved" in capsys.readouterr().out
    model, model_config = load_checkpoint(tmp_path / "two_hands.pt", "two_hand_net")
    assert model_config["fusion"] == "probabilities"
    assert (tmp_path / "two_hands.loss.png").is_file()


def test_two_hands_real_entries_are_checked_before_rendering(tmp_path, capsys):
    from handperception.cli.main import main

    config = tmp_path / "bad.yaml"
    config.write_text("data: {real: [{root: /nowhere, split: train}]}\n")
    assert main(["train", "two_hands", "--config", str(config)]) == 2
    assert "data.real must be a list of ['count', 'root', 'split']" in capsys.readouterr().err


def test_two_hands_continues_from_a_checkpoint_and_refuses_another_model(tmp_path, capsys):
    from handperception.cli.main import main
    from handperception.models.checkpoint import read_checkpoint, save_checkpoint
    from handperception.models.detector import HandDetector
    from handperception.models.digit import TwoHandNet

    start = TwoHandNet()
    save_checkpoint(tmp_path / "start.pt", start, "two_hand_net", start.config, {})
    detector = HandDetector()
    save_checkpoint(tmp_path / "other.pt", detector, "hand_detector", detector.config, {})
    config = tmp_path / "two_hands.yaml"
    config.write_text(
        f"data: {{count: 4, crop_size: 32, cache_dir: {tmp_path}}}\n"
        "train: {steps: 1, batch_size: 2, device: cpu}\n"
        f"out: {tmp_path / 'continued.pt'}\n"
    )
    args = ["train", "two_hands", "--config", str(config), "--set"]
    assert main(args + [f"train.init_from={tmp_path / 'start.pt'}"]) == 0
    assert read_checkpoint(tmp_path / "continued.pt")["meta"]["as_built"] == []
    capsys.readouterr()
    assert main(args + [f"train.init_from={tmp_path / 'other.pt'}"]) == 2
    assert "two_hand_net" in capsys.readouterr().err

import json

from fixtures_datasets import write_freihand

from handperception.cli.main import main
from handperception.models.checkpoint import save_checkpoint
from handperception.models.pose2p5d import HandPoseNet


def _checkpoint(tmp_path):
    return save_checkpoint(
        tmp_path / "tiny.pt",
        HandPoseNet("tiny"),
        "hand_pose_net",
        {"size": "tiny"},
        {"crop_size": 48},
    )


def test_evaluate_writes_a_report_per_split(tmp_path):
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(_checkpoint(tmp_path)),
                "--split",
                "extrapolation:viewpoint",
                "--n",
                "4",
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    report = json.loads((out / "evaluation.json").read_text())
    (split,) = report["splits"]
    assert split["name"] == "extrapolation:viewpoint"
    assert split["num_samples"] == 4 and split["metrics"]["mpjpe_mm"] > 0
    assert (out / "evaluation.md").read_text().count("extrapolation:viewpoint") >= 1
    assert (out / "evaluation.png").stat().st_size > 0


def test_evaluate_on_a_real_dataset_layout(tmp_path):
    write_freihand(tmp_path / "FreiHAND", "training", count=3, versions=4)
    out = tmp_path / "eval_fh"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(_checkpoint(tmp_path)),
                "--dataset",
                "freihand",
                "--root",
                str(tmp_path / "FreiHAND"),
                "--n",
                "5",
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    report = json.loads((out / "evaluation.json").read_text())
    (split,) = report["splits"]
    assert (
        split["name"] == "freihand" and split["num_samples"] == 5
    )  # 12 items, --n 5, one hand each


def test_crop_size_comes_from_the_checkpoint(tmp_path):
    from handperception.pipeline.loading import DEFAULT_CROP_SIZE, trained_crop_size

    assert trained_crop_size(_checkpoint(tmp_path)) == 48
    bare = save_checkpoint(
        tmp_path / "bare.pt", HandPoseNet("tiny"), "hand_pose_net", {"size": "tiny"}
    )
    assert trained_crop_size(bare) == DEFAULT_CROP_SIZE

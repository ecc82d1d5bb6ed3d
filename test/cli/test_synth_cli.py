"""`handperception synth` writes shards, a manifest and a contact sheet."""

import json

import matplotlib.image
import numpy as np
import pytest

from handperception.cli.main import main
from handperception.synth.dataset import ShardDataset


def test_synth_cli_writes_shards_and_contact_sheet(tmp_path, capsys):
    out = tmp_path / "data"
    code = main(
        [
            "synth",
            "--kind",
            "hands",
            "--n",
            "20",
            "--split",
            "extrapolation:viewpoint",
            "--partition",
            "test",
            "--out",
            str(out),
            "--size",
            "48",
            "--shard-size",
            "8",
            "--sheet",
            "4",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.glob("shard_*.npz")) == [
        "shard_00000.npz",
        "shard_00001.npz",
        "shard_00002.npz",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "extrapolation:viewpoint" and manifest["length"] == 20
    shards = ShardDataset(out)
    assert len(shards) == 20 and shards[19]["rgb"].shape == (48, 48, 3)
    sheet = matplotlib.image.imread(out / "contact_sheet.png")
    assert sheet.ndim == 3 and sheet.shape[0] > 100
    assert np.std(sheet[..., :3]) > 0.05  # not a blank image
    assert "wrote 20 hands items" in capsys.readouterr().out


def test_synth_cli_rejects_unknown_split(tmp_path, capsys):
    argv = ["synth", "--n", "2", "--split", "extrapolation:pose", "--out", str(tmp_path)]
    assert main(argv) == 2  # a command-line mistake: one line on stderr, no traceback
    assert "unknown axis 'pose'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("eyes", {"image", "gazemaps", "gaze_pitchyaw"}),
        ("objects", {"object_kind", "object_size", "object_pose", "object_points"}),
        (
            "grasps",
            {
                "keypoints_world",
                "keypoints_object",
                "pose",
                "finger_contacts",
                "penetration_depth",
                "object_pose",
            },
        ),
    ],
)
def test_synth_cli_writes_item_kinds_with_contact_sheet(tmp_path, kind, fields):
    out = tmp_path / kind
    assert (
        main(
            [
                "synth",
                "--kind",
                kind,
                "--n",
                "4",
                "--shard-size",
                "3",
                "--out",
                str(out),
                "--sheet",
                "4",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.glob("shard_*.npz")) == ["shard_00000.npz", "shard_00001.npz"]
    shards = ShardDataset(out)
    assert len(shards) == 4 and fields <= set(shards[3])
    if kind == "grasps":
        assert all(
            shards[i]["penetration_depth"] <= 0.002 and shards[i]["finger_contacts"][0]
            for i in range(4)
        )
    sheet = matplotlib.image.imread(out / "contact_sheet.png")
    assert sheet.ndim == 3 and np.std(sheet[..., :3]) > 0.02


def test_synth_cli_objects_follow_the_object_split(tmp_path):
    out = tmp_path / "objects"
    main(
        [
            "synth",
            "--kind",
            "objects",
            "--n",
            "4",
            "--split",
            "extrapolation:object",
            "--partition",
            "test",
            "--out",
            str(out),
        ]
    )
    sizes = np.array([ShardDataset(out)[i]["object_size"] for i in range(4)])
    assert np.all((sizes < 0.04) | (sizes > 0.10))


def test_synth_cli_rejects_split_axes_for_eyes(tmp_path):
    with pytest.raises(ValueError, match="eye patches have no HANDS'19 axes"):
        main(
            [
                "synth",
                "--kind",
                "eyes",
                "--n",
                "2",
                "--split",
                "extrapolation:object",
                "--out",
                str(tmp_path),
            ]
        )

"""`handperception synth` writes shards, a manifest and a contact sheet."""
import json

import matplotlib.image
import numpy as np
import pytest

from handperception.cli.main import main
from handperception.synth.dataset import ShardDataset


def test_synth_cli_writes_shards_and_contact_sheet(tmp_path, capsys):
    out = tmp_path / "data"
    code = main(["synth", "--kind", "hands", "--n", "20", "--split", "extrapolation:viewpoint", "--partition", "test",
                 "--out", str(out), "--size", "48", "--shard-size", "8", "--sheet", "4"])
    assert code == 0
    assert sorted(p.name for p in out.glob("shard_*.npz")) == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "extrapolation:viewpoint" and manifest["length"] == 20
    shards = ShardDataset(out)
    assert len(shards) == 20 and shards[19]["rgb"].shape == (48, 48, 3)
    sheet = matplotlib.image.imread(out / "contact_sheet.png")
    assert sheet.ndim == 3 and sheet.shape[0] > 100
    assert np.std(sheet[..., :3]) > 0.05  # not a blank image
    assert "wrote 20 hands items" in capsys.readouterr().out


def test_synth_cli_rejects_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="unknown axis 'pose'"):
        main(["synth", "--n", "2", "--split", "extrapolation:pose", "--out", str(tmp_path)])

import json

import pytest

from handperception.cli.main import main


@pytest.mark.slow
def test_quick_claims_run_every_registered_claim_and_report(tmp_path):
    assert main(["claims", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "claims.json").read_text())
    runs = {run["name"]: run for run in report}
    for name in ("biomechanical-2d-data", "biomechanical-2d-data-same-domain"):
        claim = runs[name]
        assert claim["status"] in ("held", "not held")
        assert claim["result"]["metric"] == "depth_error_mm"
        variants = claim["result"]["variants"]
        bound = variants.pop("constraints_alone_on_labelled_2d")
        assert set(variants) == {"3d_only", "plus_2d_no_constraints", "plus_2d_with_constraints"}
        assert all(v["rr_mpjpe_mm"] > 0 and v["depth_error_mm"] > 0 for v in variants.values())
        assert bound["depth_error_mm"] > 0
        assert variants["3d_only"]["depth_gain_pct"] == 0.0
        assert (tmp_path / "claims.md").read_text().count(name) >= 1

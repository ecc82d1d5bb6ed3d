"""A non-editable install, as colcon's ament_python build makes one, finds its own files."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_prefix_install_finds_its_checkpoints_and_config(tmp_path):
    prefix = tmp_path / "install" / "handperception"
    # --ignore-installed: never uninstall the developer's own (editable) install on the way.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--ignore-installed",
            "--prefix",
            str(prefix),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    site = next(prefix.glob("lib/python*/site-packages"))
    probe = (
        "from handperception.runtime.paths import package_root, resolve_package_path\n"
        "print(package_root())\n"
        "print(resolve_package_path('checkpoints/hand_tiny.pt').is_file())\n"
        "print(resolve_package_path('config/demo.yaml').is_file())\n"
    )
    # No AMENT_PREFIX_PATH, run from elsewhere: only the install itself can say where it is.
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    root, checkpoint, config = result.stdout.split()
    assert Path(root) == prefix / "share" / "handperception"
    assert checkpoint == "True" and config == "True"

"""Where the package's own files (config/, checkpoints/, launch/) are, in a clone and in an install.

Why several places: a clone (``pip install -e .``) reads them from the source tree; a colcon
build installs them to ``<prefix>/share/handperception`` where ``<prefix>`` is the package's own
install folder (``install/handperception`` without ``--merge-install``), not Python's
``sys.prefix``. The ament index knows that prefix on a sourced workspace; without it, the share
folder is found from where this module was installed (``<prefix>/lib/pythonX.Y/site-packages``).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "handperception"


def package_root() -> Path:
    """The source tree's top (a clone) or ``<prefix>/share/handperception`` (an install)."""
    source_tree = Path(__file__).resolve().parents[2]
    if (source_tree / "package.xml").is_file() and (source_tree / "config").is_dir():
        return source_tree
    for share in _installed_share_candidates():
        if (share / "package.xml").is_file():
            return share
    return Path(sys.prefix) / "share" / PACKAGE


def _installed_share_candidates() -> list[Path]:
    candidates = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:  # no ROS install and no ament_index wheel: the other candidates remain
        pass
    else:
        try:
            candidates.append(Path(get_package_share_directory(PACKAGE)))
        except (PackageNotFoundError, OSError):  # not indexed, or no AMENT_PREFIX_PATH at all
            pass
    module = Path(__file__).resolve()
    # .../<prefix>/lib/pythonX.Y/site-packages/handperception/runtime/paths.py
    for parent in module.parents:
        if parent.name == "lib":
            candidates.append(parent.parent / "share" / PACKAGE)
    candidates.append(Path(sys.prefix) / "share" / PACKAGE)
    return candidates


def resolve_package_path(path: str | Path) -> Path:
    """A relative path is looked up from the working directory, then in the package (where the
    shipped checkpoints and configs live)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return package_root() / path

"""Where the package's own files (config/, checkpoints/) are, in a clone and in an install."""
from __future__ import annotations

import sys
from pathlib import Path


def package_root() -> Path:
    """The source tree's top (a clone) or share/handperception (an install)."""
    source_tree = Path(__file__).resolve().parents[2]
    if (source_tree / "package.xml").is_file():
        return source_tree
    return Path(sys.prefix) / "share" / "handperception"


def resolve_package_path(path: str | Path) -> Path:
    """A relative path is looked up from the working directory, then in the package (where the
    shipped checkpoints and configs live)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return package_root() / path

"""What every command checks in its arguments, and how a mistake is reported.

Why one place: a typo on the command line deserves one clear line and exit status 2 (the
convention argparse and POSIX tools follow), never a traceback from deep inside a model; and
every command should refuse the same mistakes the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class CommandLineError(Exception):
    """A mistake in what the user typed or named (a missing file, a bad value, a bad config):
    ``handperception`` prints it on one line and exits with status 2."""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block): ``prog: error: message``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def existing_file(text: str) -> Path:
    """argparse type: a path to a file that exists."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path

"""Every command-line mistake is one clear line on stderr and exit status 2, never a traceback."""

import pytest

from handperception.cli.main import main


def _exit_status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:  # argparse's own errors exit from inside parse_args
        return stop.code


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["synth", "--n", "-5", "--out", "{tmp}"], "--n: must be >= 1, got -5"),
        (["synth", "--size", "0", "--out", "{tmp}"], "--size: must be >= 1, got 0"),
        (["synth", "--n", "ten", "--out", "{tmp}"], "expected a whole number"),
        (["synth", "--split", "extrapolation:colour", "--out", "{tmp}"], "unknown axis 'colour'"),
        (["evaluate", "--model", "/nonexistent.pt"], "no such file: /nonexistent.pt"),
        (["evaluate", "--model", "{not_a_checkpoint}"], "--model"),
        (["evaluate", "--model", "checkpoints/hand_tiny.pt", "--split", "sideways"], "--split"),
        (["train", "hand"], "train hand needs --config"),
        (["train", "hand", "--config", "{tmp}/missing.yaml"], "does not exist"),
        (["train", "detector", "--steps", "0"], "--steps: must be >= 1"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_mistakes_exit_2_with_one_line(argv, says, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    argv = [a.format(tmp=tmp_path, not_a_checkpoint=junk) for a in argv]
    assert _exit_status(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], captured.err
    assert "Traceback" not in captured.err and not list(tmp_path.glob("shard_*"))

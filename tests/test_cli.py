"""The `editflow` command: every stage has a verb with a helpful --help."""
from __future__ import annotations

import subprocess
import sys

import pytest

from editflow.cli import VERBS, main


def test_top_level_help_lists_every_verb(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in ("crawl", "mine", "dataset", "train", "infer", "score", "report", "aggregate", "prepare-model"):
        assert f"  {verb}" in out


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verb_has_help(verb):
    proc = subprocess.run([sys.executable, "-m", "editflow", verb, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: editflow {verb}")
    assert len(proc.stdout.splitlines()) > 5  # a description and options, not a bare usage line


def test_unknown_verb_suggests(capsys):
    assert main(["tran"]) == 2
    assert "did you mean train" in capsys.readouterr().err

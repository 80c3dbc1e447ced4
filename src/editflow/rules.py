"""Helpers the Snakefile's rules share (imported by workflow/rules/common.smk).

Kept here, not in the .smk files, so tests can build small Snakefiles with the same helpers.
"""
from __future__ import annotations

import shlex
import sys


def editflow_command(use_conda: bool) -> str:
    """How a rule runs editflow: with the interpreter that runs Snakemake, so a virtualenv that
    is not activated still works; under --use-conda, the editflow of the rule's own env."""
    return "editflow" if use_conda else f"{shlex.quote(sys.executable)} -m editflow"


def logged(cmd: str, editflow: str) -> str:
    """A rule's shell command with stdout and stderr going to {log}; when it fails, the log's
    last lines go to Snakemake's own output, so the cause is on screen, not only in the file.
    `{EDITFLOW}` in `cmd` becomes `editflow` (the rule's command is complete when the rule is
    defined, as `snakemake --lint` wants)."""
    cmd = cmd.replace("{EDITFLOW}", editflow.replace("{", "{{").replace("}", "}}"))
    return (f"{cmd} > {{log:q}} 2>&1 || (status=$?; echo '--- last lines of {{log}}:' >&2;"
            f" tail -n 30 {{log:q}} >&2; exit $status)")

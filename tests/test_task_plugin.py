"""A new task is one module: a toy task defined outside the repository (a plugin module named in
EDITFLOW_TASK_MODULES) runs through the reduced DAG -- dataset, train, infer, score, tables --
with no file of the repository changed.

The same run covers two first-hour promises: the venv is *not* on PATH (rules run editflow
through Snakemake's own interpreter), and a config with its own `run_name` writes under
results/{run_name}/ only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from test_workflow import CONFIGS, E2E_TIMEOUT_S, ROOT, SNAKEMAKE, Run, failure_report, read_table

# Two examples per edit (the whole file and its first five lines), a target that is an
# encoding of the code (lines joined with " <NL> "), so decoding is not the identity.
TOY_MODULE = '''
"""toy-lines: a test task. The target is the new code with each newline written as <NL>."""
from editflow.tasks import Decoded, Example, TaskSpec

SEP = " <NL> "


def examples(edit):
    old, new = edit["old_source"] or "", edit["new_source"] or ""
    yield Example(old_code=old, target=new.replace("\\n", SEP), source=old, reference=new, key="file")
    head_old, head_new = "\\n".join(old.split("\\n")[:5]), "\\n".join(new.split("\\n")[:5])
    if head_old != head_new:
        yield Example(old_code=head_old, target=head_new.replace("\\n", SEP), source=head_old,
                      reference=head_new, key="head", meta={"lines": 5})


def decode(text, source):
    if "<NL>" not in text and "\\n" in text:
        return Decoded(source, ok=False, reason="not_encoded")
    return Decoded(text.replace(SEP, "\\n"))


TASK = TaskSpec(name="toy-lines", description="test task: Python file, newlines encoded", reads="python",
                examples=examples, decode=decode,
                labels={"artifact": "Python", "format": "a file format", "code_label": "Original Code"})
'''

TOY_CONFIG = """
run_name: toy
dataset: {tasks: [toy-lines]}
train: {tasks: [toy-lines]}
infer: {tasks: [toy-lines], shots: [0]}
benchmark: {sources: []}
"""


@pytest.mark.slow
@pytest.mark.timeout(E2E_TIMEOUT_S + 120)
def test_a_plugin_task_runs_through_the_reduced_dag(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "toy_task.py").write_text(textwrap.dedent(TOY_MODULE))
    config = tmp_path / "toy.yaml"
    config.write_text(TOY_CONFIG)
    workdir = tmp_path / "work"
    # No venv directory on PATH: what a user gets running .venv/bin/snakemake without activating.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if Path(p).resolve() != Path(sys.executable).parent.resolve())
    env = {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "EDITFLOW_TASK_MODULES": "toy_task", "PYTHONPATH": f"{plugins}{os.pathsep}{ROOT / 'src'}"}
    cmd = ["timeout", "-k", "10", str(E2E_TIMEOUT_S), SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(workdir), "--cores", "2", "--configfile", *CONFIGS, str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    run = Run(workdir, proc.returncode, proc.stdout, proc.stderr, 0.0)
    assert proc.returncode == 0, failure_report(run)

    results = workdir / "results"
    assert sorted(p.name for p in results.iterdir()) == ["toy"]      # run_name: toy, nothing else
    root = results / "toy"
    test = pq.read_table(root / "dataset" / "test.parquet").to_pylist()
    train = pq.read_table(root / "dataset" / "train.parquet").to_pylist()
    rows = test + train
    assert rows and {r["task"] for r in rows} == {"toy-lines"}
    assert len({r["example_id"] for r in rows}) == len(rows)           # unique per example
    per_edit: dict[str, set] = {}
    for r in rows:
        per_edit.setdefault(r["edit_id"], set()).add(r["split"])
        assert r["target"].replace(" <NL> ", "\n") == r["reference"]   # decode(target) == reference
    assert all(len(s) == 1 for s in per_edit.values())                 # one split per edit
    assert any(r["meta"] and json.loads(r["meta"]) == {"lines": 5} for r in rows)

    stats = json.loads((root / "dataset" / "stats.json").read_text())
    assert set(stats["funnel"]) == {"toy-lines", "all_tasks"} and stats["funnel_adds_up"]
    assert "test task: Python file, newlines encoded" in (root / "dataset" / "README.md").read_text()

    scores = pq.read_table(root / "metrics" / "smollm2-135m" / "toy-lines" / "0shot" / "base.parquet").to_pylist()
    assert scores and all(s["task"] == "toy-lines" for s in scores)
    for s in scores:  # every row scored on the decoded code, failures counted, never raised
        want = s["prediction"].replace(" <NL> ", "\n") if s["decode_ok"] else s["source"]
        assert s["applied_code"] == want
    assert (root / "models" / "smollm2-135m" / "toy-lines" / "run1" / "adapter" / "adapter_config.json").exists()
    systems = {(r["task"], r["system"]) for r in read_table(root / "tables" / "main.csv")}
    assert {("toy-lines", "base"), ("toy-lines", "finetuned")} <= systems

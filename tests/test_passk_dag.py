"""Execution-checked evaluation in the DAG: benchmark problems -> instruct examples that carry
their tests -> predictions -> sandboxed scores -> the pass@k table; training mixtures of mined
and synthetic edits; and the rules that connect them (planned by `snakemake -n`)."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from editflow.cli import main
from editflow.editbench.schema import Problem, to_table
from editflow.editeval.table import Label
from editflow.infer.engine import Generated
from editflow.infer.job import JobSpec, run_job
from editflow.infer.settings import InferSettings
from editflow.prompts import render_prompt, task_template
from editflow.prompts import Exemplar

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")

BEFORE = {"p1": "def inc(x):\n    return x + 2\n", "p2": "def neg(x):\n    return x\n"}
AFTER = {"p1": "def inc(x):\n    return x + 1\n", "p2": "def neg(x):\n    return -x\n"}
TESTS = {"p1": "assert inc(1) == 2\n", "p2": "assert neg(3) == -3\n"}


def problem(pid: str) -> Problem:
    return Problem(problem_id=pid, before=BEFORE[pid], after=AFTER[pid], instruction_lazy=f"lazy {pid}",
                   instruction_descriptive=f"descriptive {pid}", tests=TESTS[pid], source="humaneval-edit",
                   source_id=pid, entry_point=None, edit_kind="swap", edit_detail=None, seed=0,
                   origin="fixture", license="MIT")


@pytest.fixture()
def split_dir(tmp_path) -> Path:
    bench = tmp_path / "bench.parquet"
    pq.write_table(to_table([problem("p2"), problem("p1")]), bench)
    assert main(["bench-split", "--benchmark", str(bench), "--out", str(tmp_path / "split")]) == 0
    return tmp_path / "split"


def test_bench_split_is_an_instruct_test_split_with_tests(split_dir):
    rows = pq.read_table(split_dir / "test.parquet").to_pylist()
    assert [r["example_id"] for r in rows] == ["p1#descriptive", "p1#lazy", "p2#descriptive", "p2#lazy"]
    assert {r["task"] for r in rows} == {"instruct"} and {r["split"] for r in rows} == {"test"}
    lazy = rows[1]
    assert lazy["prompt_fields"] == {"message": "lazy p1", "old_code": BEFORE["p1"]}
    assert (lazy["target"], lazy["source"], lazy["reference"], lazy["tests"]) == (AFTER["p1"], BEFORE["p1"],
                                                                                  AFTER["p1"], TESTS["p1"])
    assert json.loads(lazy["meta"]) == {"problem_id": "p1", "style": "lazy"}
    # the prompt is the instruct task's training format, base model or adapter alike
    for finetuned in (False, True):
        template = task_template("instruct", finetuned=finetuned)
        prompt = render_prompt(template, "instruct", Exemplar(message="lazy p1", old_code=BEFORE["p1"], target=""))
        assert prompt == f"## Code Before:\n{BEFORE['p1']}\n\n## Instruction:\nlazy p1\n\n## Code After:\n"


def test_bench_split_names_a_bad_input(tmp_path, caplog):
    pq.write_table(pa.table({"problem_id": ["x"]}), tmp_path / "bad.parquet")
    assert main(["bench-split", "--benchmark", str(tmp_path / "bad.parquet"), "--out", str(tmp_path / "o")]) == 2
    assert "missing column(s)" in caplog.text and not (tmp_path / "o").exists()


# Two samples per example, by problem and style: (sample 0, sample 1). "A" = the fix, "B" = the
# unchanged buggy program, "F" = the fix inside a code fence (the instruct decoder unwraps it).
ANSWERS = {"p1#lazy": "AA", "p1#descriptive": "AB", "p2#lazy": "BB", "p2#descriptive": "FB"}


class ScriptedModel:
    """A stand-in for a sampling model with known answers, so pass@k has exact values."""

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def context_window(self) -> int:
        return 4096

    def generate(self, prompts, budgets, seed=0):
        out = []
        for prompt in prompts:
            style, pid = re.search(r"## Instruction:\n(\w+) (p\d)", prompt).groups()
            texts = {"A": AFTER[pid], "B": BEFORE[pid], "F": f"```python\n{AFTER[pid]}```\n"}
            out.append([Generated(texts[c] + "\n## End\n", 5, "stop") for c in self.answers[f"{pid}#{style}"]])
        return out


def predict(split_dir: Path, out: Path, answers: dict[str, str], checkpoint: str = "base") -> Path:
    settings = InferSettings.from_section({"do_sample": True, "n_samples": 2, "max_new_tokens": 64})
    spec = JobSpec(model_path="scripted", model_name="m", task="instruct", shots=0, dataset=str(split_dir),
                   out=str(out), checkpoint=checkpoint, adapter=None if checkpoint == "base" else "adapter")
    run_job(spec, settings, ScriptedModel(answers))
    return out


def score(pred: Path, out: Path) -> Path:
    settings = {"pass_k": [1, 2, 10], "sandbox": {"timeout_s": 20, "allow_weak_isolation": True}}
    assert main(["score", "--in", str(pred), "--out", str(out), "--tokenizer", "whitespace", "--workers", "2",
                 "--settings", json.dumps(settings)]) == 0
    return out


def test_predictions_carry_tests_and_score_runs_them(split_dir, tmp_path):
    pred = predict(split_dir, tmp_path / "pred.parquet", ANSWERS)
    table = pq.read_table(pred)
    assert table.column_names[-1] == "tests" and table.num_rows == 8
    assert table.column("tests").to_pylist()[:2] == [TESTS["p1"]] * 2
    scored = pq.read_table(score(pred, tmp_path / "scores.parquet"))
    assert scored.column("passed").to_pylist() == [True, False, True, True, True, False, False, False]
    assert scored.column("pass@1").to_pylist()[:2] == [50.0, 50.0]
    sandbox = json.loads(scored.schema.metadata[b"editflow.score"])["sandbox"]
    assert sandbox["n_tested"] == 8 and sandbox["isolation"]


def test_passk_table_rows_base_and_finetuned_runs_averaged(split_dir, tmp_path):
    base = score(predict(split_dir, tmp_path / "b.parquet", ANSWERS), tmp_path / "sb.parquet")
    good = {k: "AA" for k in ANSWERS}
    bad = {k: "BB" for k in ANSWERS}
    run1 = score(predict(split_dir, tmp_path / "r1.parquet", good, "run1"), tmp_path / "s1.parquet")
    run2 = score(predict(split_dir, tmp_path / "r2.parquet", bad, "run2"), tmp_path / "s2.parquet")
    out = tmp_path / "tables"
    assert main(["passk-table", "--scores", str(run1), str(base), str(run2), "--labels", "he/m/mixed/run1",
                 "he/m/base", "he/m/mixed/run2", "--pass-k", "1", "2", "10", "--out-dir", str(out)]) == 0
    rows = list(csv.DictReader((out / "passk.csv").open()))
    assert [(r["system"], r["data"], r["n_runs"]) for r in rows] == [("base", "", "1"), ("finetuned-mixed", "mixed", "2")]
    b, ft = rows
    # base: lazy p1 2/2, p2 0/2; descriptive p1 1/2, p2 1/2 (fenced fix decoded)
    assert (b["lazy_pass@1"], b["descriptive_pass@1"], b["lazy_pass@2"], b["descriptive_pass@2"]) == \
        ("50.0", "50.0", "50.0", "100.0")
    assert (b["lazy_pass@10"], b["descriptive_pass@10"]) == ("", "")  # 2 samples < 10: undefined, not guessed
    assert (ft["lazy_pass@1"], ft["descriptive_pass@1"]) == ("50.0", "50.0")  # runs 100 and 0
    assert (b["n_problems"], b["n_samples"]) == ("2", "2") and b["isolation"] == ft["isolation"] != "unknown"
    md = (out / "passk.md").read_text()
    assert "| m | base | 50.0 | 50.0 | 50.0 | 100.0 | – | – | 2 | 2 | 1 |" in md
    assert f"isolation: **{b['isolation']}**" in md
    assert "2 samples per problem and style, temperature 0.2, top-p 0.95, <= 64 new tokens" in md


def test_passk_table_refuses_unlabelled_or_untested_files(split_dir, tmp_path, caplog):
    pred = predict(split_dir, tmp_path / "p.parquet", ANSWERS)
    out = str(tmp_path / "t")
    assert main(["passk-table", "--scores", str(pred), "--labels", "he/m/base", "he/m/x/run1", "--out-dir", out]) == 2
    assert main(["passk-table", "--scores", str(pred), "--labels", "he/m/base", "--out-dir", out]) == 2
    assert "no `passed` column" in caplog.text
    empty = tmp_path / "empty.parquet"
    pq.write_table(pq.read_table(pred).slice(0, 0), empty)
    assert main(["passk-table", "--scores", str(empty), "--labels", "he/m/base", "--out-dir", out]) == 0
    assert list(csv.DictReader(open(f"{out}/passk.csv")))[0]["isolation"] == "not run"
    with pytest.raises(ValueError, match="BENCHMARK/MODEL/base"):
        Label.parse("he/m/mixed")


# ---------------------------------------------------------------- training mixtures

def mined_edits(path: Path) -> Path:
    from editflow.dataset.synthetic import edit_row

    rows = [edit_row(commit=f"c{i}", path=f"m{i}.py", old_source=f"x = {i}\n", new_source=f"x = {i + 1}\n")
            for i in range(4)]
    rows.append(edit_row(commit="nb", path="a.ipynb"))
    from editflow.records import EDIT_SCHEMA

    pq.write_table(pa.Table.from_pylist(rows, schema=EDIT_SCHEMA), path)
    return path


def synth_rows(path: Path) -> Path:
    from editflow.synth.table import SYNTH_SCHEMA

    rows = [{"synth_id": f"s{i}", "generator": "g", "pair_id": f"pair{i}", "repo": "acme/proj", "commit": "h",
             "path": ["a.py", "b.py"], "lines": ["1-5", "1-5"], "license": "mit", "pre_edit": f"y = {i}\n",
             "instruction_lazy": "bump y", "instruction_descriptive": "Add one to the constant y.",
             "post_edit": f"y = {i + 1}\n", "reasonable": True, "kept": i < 2,
             "drop_reason": None if i < 2 else "diff_filter"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows, schema=SYNTH_SCHEMA), path)
    return path


def test_mix_takes_seeded_fractions_of_mined_python_and_kept_synthetic(tmp_path):
    mined, synth = mined_edits(tmp_path / "e.parquet"), synth_rows(tmp_path / "s.parquet")
    args = ["mix", "--mined", str(mined), "--synthetic", str(synth), "--mined-fraction", "0.5",
            "--synthetic-fraction", "1", "--seed", "3"]
    assert main(args + ["--out", str(tmp_path / "a.parquet")]) == 0
    assert main(args + ["--out", str(tmp_path / "b.parquet")]) == 0
    a = pq.read_table(tmp_path / "a.parquet")
    assert a.equals(pq.read_table(tmp_path / "b.parquet"))  # same seed, same mix
    commits = a.column("commit").to_pylist()
    assert len(commits) == 4 and sum(c.startswith("synth:") for c in commits) == 2
    assert set(a.column("kind").to_pylist()) == {"python"}
    assert json.loads((tmp_path / "a.stats.json").read_text()) == {
        "edits": 4, "seed": 3, "mined": {"available": 4, "taken": 2, "fraction": 0.5, "files": 1},
        "synthetic": {"available": 2, "taken": 2, "fraction": 1.0, "files": 1}}


def test_an_empty_mix_is_an_error(tmp_path, caplog):
    synth = synth_rows(tmp_path / "s.parquet")
    assert main(["mix", "--synthetic", str(synth), "--synthetic-fraction", "0", "--out", str(tmp_path / "m.parquet")]) == 2
    assert "the mixture is empty" in caplog.text and not (tmp_path / "m.parquet").exists()


# ---------------------------------------------------------------- the DAG

def dry_run(workdir: Path, *configs: Path) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-n", "-p", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", *map(str, configs)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def counts(proc: subprocess.CompletedProcess) -> dict[str, int]:
    table = proc.stdout.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^([\w.-]+)\s+(\d+)$", table, re.M)}


def config_with(tmp_path: Path, **sections) -> Path:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg.update(sections)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_default_dag_has_the_passk_slice(tmp_path):
    proc = dry_run(tmp_path, ROOT / "config" / "config.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = counts(proc)
    rules = ("benchmark", "benchmark_split", "synth", "passk_mix", "passk_dataset", "passk_train", "passk_infer",
             "passk_score", "passk_table")
    assert {r: c.get(r) for r in rules} == \
        {"benchmark": 1, "benchmark_split": 1, "synth": None, "passk_mix": 1, "passk_dataset": 1,
         "passk_train": 1, "passk_infer": 2, "passk_score": 2, "passk_table": 1}
    for path in ("results/default/tables/passk.md",
                 "results/default/passk/predictions/humaneval-edit/smollm2-135m/base.parquet",
                 "results/default/passk/predictions/humaneval-edit/smollm2-135m/mined/run1.parquet",
                 "results/default/passk/models/smollm2-135m/mined/run1/adapter/adapter_config.json"):
        assert path in proc.stdout


def test_synthetic_and_mixed_rows_plan_with_a_generator(tmp_path):
    """OpenCodeEdit's comparison as a config: mined / synthetic / mixed adapters, two runs each,
    one synth job per generator (a models[] name or a generate-only {name, path})."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["train"]["runs"] = 2
    cfg["passk"]["mixes"] = [{"name": "mined", "mined": 1, "synthetic": 0}, {"name": "synthetic", "mined": 0, "synthetic": 1},
                             {"name": "mixed", "mined": 1, "synthetic": 0.5}]
    cfg["synth"]["generators"] = ["smollm2-135m", {"name": "other", "path": str(tmp_path)}]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = dry_run(tmp_path / "w", path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = counts(proc)
    assert (c["synth"], c["passk_mix"], c["passk_train"], c["passk_infer"], c["passk_table"]) == (2, 3, 6, 7, 1)
    assert "results/default/synth/other.parquet" in proc.stdout
    assert "--synthetic-fraction 0.5" in proc.stdout


def test_no_sources_no_passk_jobs_and_bad_settings_fail_at_plan_time(tmp_path):
    cfg = config_with(tmp_path, benchmark={"sources": []}, passk={"mixes": []}, synth={"generators": []})
    proc = dry_run(tmp_path / "w1", cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not {"benchmark", "passk_infer", "passk_table", "synth"} & set(counts(proc))
    cfg = config_with(tmp_path, benchmark={"sources": ["canitedit"]})
    proc = dry_run(tmp_path / "w2", cfg)
    assert proc.returncode != 0 and "benchmark.canitedit_file is not set" in proc.stdout + proc.stderr
    cfg = config_with(tmp_path, synth={"generators": ["nope"]})
    proc = dry_run(tmp_path / "w3", cfg)
    assert proc.returncode != 0 and "synth.generators: ['nope'] are not models[] names" in proc.stdout + proc.stderr


def test_cluster_config_plans_the_protocol(tmp_path):
    """2 models x (base + 3 mixes x 3 runs) = 20 pass@k predictions; 2 generators."""
    proc = dry_run(tmp_path, ROOT / "config" / "config.yaml", ROOT / "config" / "cluster.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = counts(proc)
    assert (c["synth"], c["passk_mix"], c["passk_train"], c["passk_infer"], c["passk_score"]) == (2, 3, 18, 20, 20)
    assert '"n_samples": 20' in proc.stdout and '"max_new_tokens": 2048' in proc.stdout

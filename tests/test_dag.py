"""`snakemake -n` plans the whole DAG from the config alone, fast, even for 1,000 repositories."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from editflow.records import REPO_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")


def dry_run(workdir: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict[str, int]]:
    cmd = [SNAKEMAKE, "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    counts = {}
    table = proc.stdout.split("Job stats:")[-1]
    for m in re.finditer(r"^([\w.-]+)\s+(\d+)$", table, re.M):
        counts[m.group(1)] = int(m.group(2))
    return proc, counts


def write_config(tmp_path: Path, extra: dict) -> Path:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_default_dag(tmp_path):
    proc, counts = dry_run(tmp_path, "--configfile", str(ROOT / "config" / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    # 4 demo repositories; 1 train run of nb-cell; base 0-shot, base 1-shot, fine-tuned;
    # py-unit, py-ast, py-ast-text: base 0-shot only (infer.task_shots)
    assert counts["mine"] == 4
    assert counts["train"] == 1
    assert counts["infer"] == 6 and counts["score"] == 6
    assert counts["dataset"] == 1 and counts["aggregate"] == 1 and counts["crawl"] == 1
    assert counts["prepare_model_smollm2-135m"] == 1  # the model dir is built in the workdir


def test_thousand_repositories_plan_fast(tmp_path):
    frozen = tmp_path / "frozen.parquet"
    names = [f"owner{i}/repo{i}" for i in range(1000)]
    cols = {f.name: [None] * 1000 for f in REPO_SCHEMA}
    cols.update(full_name=names, slug=[n.replace("/", "__") for n in names],
                clone_url=[f"https://github.com/{n}.git" for n in names], stars=list(range(1000)))
    pq.write_table(pa.table(cols, schema=REPO_SCHEMA), frozen)
    cfg = write_config(tmp_path, {"crawl": {"source": "github", "frozen_list": str(frozen),
                                            "local": {"demo": {"enabled": False}}}})
    t0 = time.perf_counter()
    proc, counts = dry_run(tmp_path, "--configfile", str(cfg))
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert counts["mine"] == 1000
    assert "demo_repos" not in counts
    assert "results/default/edits/owner999__repo999.parquet" in proc.stdout
    assert elapsed < 30  # issue: < 15 s on an idle machine; CI shares 2 cores


def test_bad_config_fails_before_any_job(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"train": {"epocs": 2}}))
    proc, _ = dry_run(tmp_path, "--configfile", str(ROOT / "config" / "config.yaml"), str(cfg))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "unknown key(s) 'epocs' in train" in out and "allowed keys: checkpoint_every_steps" in out
    assert "Job stats" not in proc.stdout


def test_local_paths_with_spaces_and_accents_plan_and_missing_ones_fail_at_dry_run(tmp_path):
    """A real repository given by path: any characters work; a bare `repo` directory is named
    after its parent; a path or model directory that does not exist fails at `snakemake -n`."""
    import pygit2

    odd = tmp_path / "my données" / "repo"
    pygit2.init_repository(str(odd), bare=True)
    cfg = write_config(tmp_path, {"crawl": {"local": {"paths": [str(odd)], "demo": {"enabled": False}}}})
    proc, counts = dry_run(tmp_path / "w1", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert counts["mine"] == 1
    assert "results/default/edits/local__my-donnees.parquet" in proc.stdout

    cfg = write_config(tmp_path, {"crawl": {"local": {"paths": [str(tmp_path / "nope")], "demo": {"enabled": False}}}})
    proc, _ = dry_run(tmp_path / "w2", "--configfile", str(cfg))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "no such directory" in out and str(tmp_path / "nope") in out

    cfg = write_config(tmp_path, {"models": [{"name": "mine", "path": str(tmp_path / "no-model"), "source": "local"}]})
    proc, _ = dry_run(tmp_path / "w3", "--configfile", str(cfg))
    assert proc.returncode != 0 and "no such model directory" in proc.stdout + proc.stderr


def test_run_name_keeps_results_apart(tmp_path):
    cfg = write_config(tmp_path, {"run_name": "second"})
    proc, counts = dry_run(tmp_path, "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "results/second/tables/main.md" in proc.stdout and "results/default/" not in proc.stdout

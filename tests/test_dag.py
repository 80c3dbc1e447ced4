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
    # 4 demo repositories; 1 train run of nb-cell; base 0-shot, base 1-shot, fine-tuned
    assert counts["mine"] == 4
    assert counts["train"] == 1
    assert counts["infer"] == 3 and counts["score"] == 3
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

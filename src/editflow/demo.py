"""Generate deterministic demo git repositories with notebook and Python edits.

The offline default has no GitHub to crawl, yet it must exercise every task (nb-file,
nb-cell, py-file) in every split. These repositories are *generated*: small ML notebooks
and helper modules evolved by scripted edits (hyper-parameter changes, bug fixes, new cells,
renames, deleted cells) with commit messages that describe them. Same seed, same bytes,
same commit ids: timestamps and authors are fixed. The dataset card says the data is
synthetic; for real data set `crawl.demo.enabled: false` and list real clones.

Example:
    editflow demo-repos --out results/default/demo --n-repos 4 --commits 40 --seed 0
"""
from __future__ import annotations

import argparse
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

EPOCH = 1_600_000_000  # fixed commit times: deterministic commit ids
DATASETS = ["iris", "wine", "digits", "breast_cancer", "diabetes", "mnist", "titanic", "housing"]
MODELS = ["LogisticRegression", "RandomForestClassifier", "GradientBoostingClassifier", "SVC", "KNeighborsClassifier"]
MODULES = {"LogisticRegression": "linear_model", "RandomForestClassifier": "ensemble",
           "GradientBoostingClassifier": "ensemble", "SVC": "svm", "KNeighborsClassifier": "neighbors"}


@dataclass
class Project:
    """The evolving state of one demo project; each edit mutates it and names itself."""
    rng: random.Random
    dataset: str
    model: str
    test_size: float = 0.2
    seed: int = 42
    scale: bool = False
    epochs: int = 10
    lr: float = 0.01
    metrics: list[str] = field(default_factory=lambda: ["accuracy_score"])
    plot: bool = False
    extra_cells: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=lambda: ["load_data"])
    var: str = "df"

    def cells(self) -> list[str]:
        imports = ["import numpy as np", "import pandas as pd",
                   f"from sklearn.{MODULES[self.model]} import {self.model}",
                   "from sklearn.model_selection import train_test_split",
                   f"from sklearn.metrics import {', '.join(self.metrics)}"]
        if self.scale:
            imports.append("from sklearn.preprocessing import StandardScaler")
        if self.plot:
            imports.append("import matplotlib.pyplot as plt")
        cells = ["\n".join(imports),
                 f"{self.var} = pd.read_csv('data/{self.dataset}.csv')\n{self.var}.head()",
                 f"X = {self.var}.drop(columns=['target'])\ny = {self.var}['target']\n"
                 f"X_train, X_test, y_train, y_test = train_test_split(X, y, test_size={self.test_size}, random_state={self.seed})"]
        if self.scale:
            cells.append("scaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)")
        cells.append(f"model = {self.model}()\nmodel.fit(X_train, y_train)")
        cells.append("y_pred = model.predict(X_test)\n" + "\n".join(f"print('{m}', {m}(y_test, y_pred))" for m in self.metrics))
        if self.plot:
            cells.append("plt.hist(y_pred, bins=20)\nplt.title('predictions')\nplt.show()")
        return cells + self.extra_cells

    def helper_module(self) -> str:
        out = ['"""Helpers for the %s experiments."""' % self.dataset, "import pandas as pd", ""]
        for name in self.helpers:
            if name == "load_data":
                out += ["", "def load_data(path):", f"    {self.var} = pd.read_csv(path)", f"    return {self.var}.dropna()", ""]
            elif name == "summarize":
                out += ["", "def summarize(frame):", "    return frame.describe().T", ""]
            elif name == "train_config":
                out += ["", "def train_config():", f"    return {{'epochs': {self.epochs}, 'lr': {self.lr}}}", ""]
        return "\n".join(out).rstrip() + "\n"

    def edit(self) -> str:
        """Apply one random edit; return its commit message."""
        r = self.rng
        choice = r.choice(["test_size", "seed", "scale", "model", "metric", "plot", "cell", "drop_cell",
                           "rename", "helper", "config", "dataset"])
        if choice == "test_size":
            self.test_size = r.choice([0.1, 0.15, 0.25, 0.3, 0.33])
            return f"Change test split size to {self.test_size}"
        if choice == "seed":
            self.seed = r.choice([0, 1, 7, 123, 2024])
            return f"Use random seed {self.seed} for reproducible splits"
        if choice == "scale":
            self.scale = not self.scale
            return "Add feature scaling before training" if self.scale else "Remove feature scaling step from pipeline"
        if choice == "model":
            self.model = r.choice([m for m in MODELS if m != self.model])
            return f"Switch classifier to {self.model}"
        if choice == "metric":
            extra = [m for m in ("f1_score", "precision_score", "recall_score") if m not in self.metrics]
            if extra:
                self.metrics.append(r.choice(extra))
                return f"Report {self.metrics[-1].replace('_score', '')} score on the test set"
            self.metrics = ["accuracy_score"]
            return "Only report accuracy on the test set"
        if choice == "plot":
            self.plot = not self.plot
            return "Plot histogram of the predictions" if self.plot else "Remove prediction plot from notebook"
        if choice == "cell":
            n = len(self.extra_cells)
            self.extra_cells.append(r.choice([
                f"print({self.var}.shape)\nprint({self.var}.dtypes)",
                f"{self.var}.describe()",
                "importances = getattr(model, 'feature_importances_', None)\nprint(importances)",
                f"results_{n} = pd.DataFrame({{'y_true': y_test, 'y_pred': y_pred}})\nresults_{n}.head()",
                "from sklearn.metrics import confusion_matrix\nprint(confusion_matrix(y_test, y_pred))",
            ]))
            return "Add a cell to inspect the results"
        if choice == "drop_cell" and self.extra_cells:
            self.extra_cells.pop(r.randrange(len(self.extra_cells)))
            return "Delete an unused exploration cell"
        if choice == "rename":
            self.var = r.choice([v for v in ("df", "data", "frame", "raw") if v != self.var])
            return f"Rename the dataframe variable to {self.var}"
        if choice == "helper":
            missing = [h for h in ("summarize", "train_config") if h not in self.helpers]
            if missing:
                self.helpers.append(missing[0])
                return f"Add {missing[0]} helper function to utils module"
            self.helpers = ["load_data"]
            return "Simplify utils module to the loader only"
        if choice == "config":
            self.epochs, self.lr = r.choice([5, 10, 20, 50]), r.choice([0.1, 0.01, 0.001, 0.0003])
            if "train_config" not in self.helpers:
                self.helpers.append("train_config")
            return f"Tune training config: {self.epochs} epochs, learning rate {self.lr}"
        self.dataset = r.choice([d for d in DATASETS if d != self.dataset])
        return f"Load the {self.dataset} dataset instead"


def notebook_json(cells: list[str], seed: int) -> str:
    """A v4 notebook with a markdown title, the code cells and a small fake output."""
    nb_cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Experiment notes\n"]}]
    for i, src in enumerate(cells):
        lines = src.split("\n")
        nb_cells.append({"cell_type": "code", "execution_count": i + 1, "metadata": {},
                         "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"run {seed}-{i}\n"]}],
                         "source": [ln + "\n" for ln in lines[:-1]] + [lines[-1]]})
    nb = {"cells": nb_cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1) + "\n"


def build_demo_repo(path: str | Path, seed: int, n_commits: int) -> str:
    """Create a bare repository at `path` with `n_commits` first-parent commits; return HEAD's id."""
    import pygit2

    path = Path(path)
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    rng = random.Random(seed)
    project = Project(rng=rng, dataset=rng.choice(DATASETS), model=rng.choice(MODELS))
    sig_time = EPOCH + seed * 10_000_000
    parents: list = []
    license_text = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n"
    message = "Initial commit with baseline experiment notebook"
    for i in range(n_commits):
        if i:
            message = project.edit()
        files = {"LICENSE": license_text,
                 "notebooks/experiment.ipynb": notebook_json(project.cells(), i),
                 "src/utils.py": project.helper_module()}
        if i >= n_commits // 3:  # a second notebook appears a third of the way in
            files["notebooks/analysis.ipynb"] = notebook_json(project.cells()[:3] + project.extra_cells[:1], i)
        tree = _write_tree(repo, files)
        sig = pygit2.Signature("editflow demo", "demo@editflow.invalid", sig_time + i * 3600, 0)
        oid = repo.create_commit("refs/heads/main", sig, sig, message + "\n", tree, parents)
        parents = [oid]
    return str(parents[0]) if parents else ""


def _write_tree(repo, files: dict[str, str]):
    import pygit2

    root: dict = {}
    for name, text in files.items():
        node = root
        *dirs, leaf = name.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = repo.create_blob(text.encode("utf-8"))

    def build(node: dict):
        tb = repo.TreeBuilder()
        for key in sorted(node):
            value = node[key]
            if isinstance(value, dict):
                tb.insert(key, build(value), pygit2.GIT_FILEMODE_TREE)
            else:
                tb.insert(key, value, pygit2.GIT_FILEMODE_BLOB)
        return tb.write()

    return build(root)


def demo_repo_names(n_repos: int) -> list[str]:
    return [f"demo-{i:02d}" for i in range(n_repos)]


def build_demo_repos(out_dir: str | Path, n_repos: int, n_commits: int, seed: int) -> list[Path]:
    out_dir = Path(out_dir)
    paths = []
    for i, name in enumerate(demo_repo_names(n_repos)):
        path = out_dir / f"{name}.git"
        if path.exists():
            import shutil
            shutil.rmtree(path)
        head = build_demo_repo(path, seed * 1000 + i, n_commits)
        log.info("demo repository %s: %d commits, HEAD %s", path, n_commits, head[:10])
        paths.append(path)
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory for the bare repositories (<out>/demo-NN.git)")
    parser.add_argument("--n-repos", type=int, default=4)
    parser.add_argument("--commits", type=int, default=40, help="commits per repository")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    build_demo_repos(args.out, args.n_repos, args.commits, args.seed)
    return 0

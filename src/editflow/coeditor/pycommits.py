"""PyCommits from mined edits: commits grouped, capped, turned into problems; Table 1 counts.

The task view gets batches of EDIT_SCHEMA rows; a commit's problems need all of its .py files,
so rows are grouped by (repo, commit) in first-seen order (the miner writes a commit's rows
together). Signatures need the repository: `repo_resolver(repo full name)` gives a local git
directory or None (then problems have no signatures and `no_repository` is counted).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from editflow.coeditor.problems import CommitProblems, UnitProblem, commit_problems
from editflow.coeditor.settings import UnitSettings
from editflow.records import repo_slug

RepoResolver = Callable[[str], "Path | None"]


def repo_dir_resolver(root: str | Path | None) -> RepoResolver:
    """Repositories under `root` as `{slug}.git` (bare) or `{slug}` (a clone)."""
    def resolve(repo: str) -> Path | None:
        if root is None:
            return None
        for name in (f"{repo_slug(repo)}.git", repo_slug(repo)):
            p = Path(root) / name
            if p.exists():
                return p
        return None
    return resolve


def limit_commits(edits: pa.Table, n: int) -> pa.Table:
    """Keep each repository's `n` most recent commits (commit time, then sha): the paper's cap."""
    if edits.num_rows == 0:
        return edits
    keys = pa.table({"repo": edits["repo"], "commit": edits["commit"], "t": edits["commit_time"]})
    commits = keys.group_by(["repo", "commit"]).aggregate([("t", "max")]).to_pylist()
    by_repo: dict[str, list[tuple[int, str]]] = {}
    for r in commits:
        by_repo.setdefault(r["repo"], []).append((r["t_max"] or 0, r["commit"]))
    keep = {(repo, c) for repo, cs in by_repo.items() for _, c in sorted(cs, reverse=True)[:n]}
    mask = [(r, c) in keep for r, c in zip(edits["repo"].to_pylist(), edits["commit"].to_pylist())]
    return edits.filter(pa.array(mask, pa.bool_()))


def group_commits(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["repo"], r["commit"]), []).append(r)
    yield from groups.values()


@dataclass
class BuildReport:
    """What a build saw: unit changes by kind, skips by reason (Table 1 and the dataset card)."""
    commits: int = 0
    changes: Counter = field(default_factory=Counter)
    skips: Counter = field(default_factory=Counter)
    units: int = 0            # units split (both sides of every file)

    def add(self, cp: CommitProblems) -> None:
        self.commits += 1
        self.changes.update(cp.changes)
        self.skips.update(cp.skips)
        self.units += sum(len(f.old_units) + len(f.new_units) for f in cp.files)


def commit_examples(edits: list[dict[str, Any]], settings: UnitSettings, resolver: RepoResolver | None,
                    oneline: bool = False) -> CommitProblems:
    """One commit's problems, with signatures when its repository is at hand."""
    finder = snapshot = None
    first = edits[0]
    if settings.signatures and resolver is not None and first.get("parent"):
        where = resolver(first["repo"])
        if where is None:
            cp = commit_problems(edits, settings, None, oneline)
            cp.skips["no_repository"] += 1
            return cp
        from editflow.coeditor.signatures import SignatureFinder, Snapshot
        try:
            snapshot = Snapshot(where, first["parent"])
            finder = SignatureFinder(snapshot)
        except Exception:  # a missing parent object, an unreadable repository
            finder = None
    try:
        cp = commit_problems(edits, settings, finder, oneline)
        if settings.signatures and resolver is not None and finder is None and first.get("parent"):
            cp.skips["snapshot_failed"] += 1
        return cp
    finally:
        if snapshot is not None:
            snapshot.close()


def build_problems(rows: Iterable[dict[str, Any]], settings: UnitSettings | None = None,
                   resolver: RepoResolver | None = None, oneline: bool = False,
                   report: BuildReport | None = None) -> Iterator[tuple[dict[str, Any], UnitProblem]]:
    """(edit row, problem) for every problem of the given .py edit rows, commit by commit."""
    s = (settings or UnitSettings()).resolved()
    report = report if report is not None else BuildReport()
    for group in group_commits(r for r in rows if r.get("kind", "python") == "python"):
        cp = commit_examples(group, s, resolver, oneline)
        report.add(cp)
        by_path = {e["path"]: e for e in group}
        for path, p in cp.problems:
            yield by_path[path], p


def table1(examples: pa.Table) -> list[dict[str, Any]]:
    """Coeditor's Table 1 per split: projects, used commits, modified files, modified
    functions, modified lines. Counts the single-round problems (synthetic ones left out);
    needs the split files' `split`, `repo`, `commit`, `path`, `meta` and the view's
    `changed_lines` (read from meta["changed_lines"] when the column is absent)."""
    out = []
    metas = [json.loads(m) if m else {} for m in examples["meta"].to_pylist()]
    splits = examples["split"].to_pylist()
    repos, commits, paths = (examples[c].to_pylist() for c in ("repo", "commit", "path"))
    has_lines = "changed_lines" in examples.column_names
    lines = examples["changed_lines"].to_pylist() if has_lines else [m.get("changed_lines", 0) for m in metas]
    for split in ("train", "val", "test"):
        rows = [i for i, s in enumerate(splits) if s == split and not metas[i].get("synthetic")
                and "oneline" not in metas[i]]
        out.append({
            "split": split,
            "projects": len({repos[i] for i in rows}),
            "used_commits": len({(repos[i], commits[i]) for i in rows}),
            "modified_files": len({(repos[i], commits[i], paths[i]) for i in rows}),
            "modified_functions": sum(metas[i].get("unit_kind") == "function" for i in rows),
            "modified_lines": int(sum(lines[i] or 0 for i in rows)),
        })
    return out


def table1_from_dataset(dataset_dir: str | Path, task: str = "py-unit") -> list[dict[str, Any]]:
    """Table 1 from a built dataset directory ({train,val,test}.parquet)."""
    import pyarrow.parquet as pq

    parts = []
    for split in ("train", "val", "test"):
        p = Path(dataset_dir) / f"{split}.parquet"
        if p.exists():
            t = pq.read_table(p)
            parts.append(t.filter(pc.equal(t["task"], task)))
    if not parts:
        return table1(pa.table({c: pa.array([], pa.string()) for c in ("split", "repo", "commit", "path", "meta")}))
    return table1(pa.concat_tables(parts, promote_options="default"))

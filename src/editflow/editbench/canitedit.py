"""`canitedit`: the CanItEdit benchmark (Cassano et al., 2024) from a file the user has.

The dataset is published as a Parquet file (Hugging Face `nuprl/CanItEdit`, split `test`,
105 problems, MIT) with columns id, name, full_name, before, after, tests,
instruction_descriptive, instruction_lazy and taxonomy {change_kind, libraries, topic}. A JSON
Lines or JSON-array export with the same fields is read too. Hubs are not reachable from the
workflow, so the user downloads the file once and passes `--in FILE`. Its tests run after the
code, as ours do (`before`/`after` + "\\n\\n" + `tests`).
"""
from __future__ import annotations

import json
from pathlib import Path

from editflow.config import ConfigError
from editflow.editbench.schema import Problem

SOURCE = "canitedit"
REQUIRED = ("before", "after", "instruction_descriptive", "instruction_lazy", "tests")


def read_rows(path: str | Path) -> list[dict]:
    """The file's rows as dicts (Parquet, JSON Lines or a JSON array)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--in {path}: no such file (download CanItEdit's "
                          f"data/test-00000-of-00001.parquet from nuprl/CanItEdit)")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise ConfigError(f"--in {path}: not a readable Parquet file ({exc})") from exc
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            return list(json.loads(text))
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--in {path}: neither JSON Lines nor a JSON array ({exc})") from exc


def _taxonomy(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return dict(value) if isinstance(value, dict) else {}


def load(path: str | Path, license: str = "MIT") -> list[Problem]:
    """CanItEdit rows as benchmark problems, in the file's order; ConfigError names what is missing."""
    rows = read_rows(path)
    if not rows:
        raise ConfigError(f"--in {path}: the file has no rows")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ConfigError(f"--in {path}: not a CanItEdit file, missing column(s) {missing} "
                          f"(expected {list(REQUIRED)} plus id/name/full_name/taxonomy)")
    problems, seen = [], set()
    origin = f"canitedit file {Path(path).name}"
    for index, row in enumerate(rows):
        name = row.get("full_name") or row.get("name") or str(row.get("id", index))
        key = str(row.get("id", name))
        problem_id = f"{SOURCE}/{key}"
        if problem_id in seen:
            raise ConfigError(f"--in {path}: duplicate problem id {key!r}")
        seen.add(problem_id)
        empty = [c for c in REQUIRED if not isinstance(row.get(c), str)]
        if empty:
            raise ConfigError(f"--in {path}: row {index} ({name}) has no text in {empty}")
        taxonomy = _taxonomy(row.get("taxonomy"))
        problems.append(Problem(
            problem_id=problem_id, before=row["before"], after=row["after"],
            instruction_lazy=row["instruction_lazy"], instruction_descriptive=row["instruction_descriptive"],
            tests=row["tests"], source=SOURCE, source_id=str(name), entry_point=None,
            edit_kind=taxonomy.get("change_kind"),
            edit_detail=json.dumps(taxonomy, sort_keys=True) if taxonomy else None,
            seed=None, origin=origin, license=license))
    return problems

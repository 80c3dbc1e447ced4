"""The benchmark table: one row per edit problem (the contract of `editflow benchmark`).

The first six columns are the contract other stages read (inference builds its prompt from
`before` and one instruction; scoring runs a sample followed by "\\n\\n" + `tests`). The rest
is provenance, so that every problem can be traced back to its origin.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

CONTRACT_COLUMNS = ("problem_id", "before", "after", "instruction_lazy", "instruction_descriptive", "tests")
INSTRUCTION_STYLES = ("lazy", "descriptive")

BENCHMARK_SCHEMA = pa.schema([
    ("problem_id", pa.string()),
    ("before", pa.string()),
    ("after", pa.string()),
    ("instruction_lazy", pa.string()),
    ("instruction_descriptive", pa.string()),
    ("tests", pa.string()),
    ("source", pa.string()),           # humaneval-edit | canitedit
    ("source_id", pa.string()),        # e.g. HumanEval/12, or CanItEdit's full_name
    ("entry_point", pa.string()),      # the function under test, where known
    ("edit_kind", pa.string()),        # mutation operator, or CanItEdit's taxonomy.change_kind
    ("edit_detail", pa.string()),      # JSON: what changed (mutation line/snippets; CanItEdit taxonomy)
    ("seed", pa.int64()),              # mutation seed (null for canitedit)
    ("origin", pa.string()),           # package / file and version it was built from
    ("license", pa.string()),
])


@dataclass(frozen=True)
class Problem:
    problem_id: str
    before: str
    after: str
    instruction_lazy: str
    instruction_descriptive: str
    tests: str
    source: str
    source_id: str
    entry_point: str | None
    edit_kind: str | None
    edit_detail: str | None
    seed: int | None
    origin: str
    license: str | None


def to_table(problems: list[Problem]) -> pa.Table:
    rows = [asdict(p) for p in problems]
    return pa.Table.from_pylist(rows, schema=BENCHMARK_SCHEMA)


def program(code: str, tests: str) -> str:
    """What the sandbox runs for a problem: the code, then its tests (as `editflow score` does)."""
    return f"{code}\n\n{tests}\n"


def style_rows(table: pa.Table) -> pa.Table:
    """One row per problem and instruction style: what inference and scoring need.

    Columns: example_id ("<problem_id>#<style>", as editflow.metrics.passk expects),
    problem_id, instruction_style, instruction, before, reference (= after), tests.
    Problems stay in table order, lazy before descriptive.
    """
    from editflow.metrics.passk import benchmark_example_id

    columns = {name: [] for name in ("example_id", "problem_id", "instruction_style", "instruction",
                                     "before", "reference", "tests")}
    for row in table.select(list(CONTRACT_COLUMNS)).to_pylist():
        for style in INSTRUCTION_STYLES:
            columns["example_id"].append(benchmark_example_id(row["problem_id"], style))
            columns["problem_id"].append(row["problem_id"])
            columns["instruction_style"].append(style)
            columns["instruction"].append(row[f"instruction_{style}"])
            columns["before"].append(row["before"])
            columns["reference"].append(row["after"])
            columns["tests"].append(row["tests"])
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})

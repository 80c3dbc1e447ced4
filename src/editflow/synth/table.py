"""The rows of a synth output file: one per (generator, snippet pair), kept or dropped.

Contract columns (docs/synth.md): generator, pre_edit, instruction_lazy,
instruction_descriptive, post_edit, reasonable, kept, drop_reason (set on every dropped row,
null on kept ones) and the seed snippets' provenance: repo, commit, path and lines (one entry
per snippet), license. The raw answers of both rounds are kept for inspection.
"""
from __future__ import annotations

import pyarrow as pa

from editflow.records import stable_id
from editflow.synth.generation import Outcome

SYNTH_SCHEMA = pa.schema([
    ("synth_id", pa.string()),
    ("generator", pa.string()),
    ("pair_id", pa.string()),
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("path", pa.list_(pa.string())),     # the two seed files
    ("lines", pa.list_(pa.string())),    # "first-last", 1-based inclusive, one per seed file
    ("license", pa.string()),
    ("snippets", pa.list_(pa.string())),
    ("oneshot_index", pa.int32()),       # which curated example round 1 showed
    ("pre_edit", pa.string()),
    ("instruction_lazy", pa.string()),
    ("instruction_descriptive", pa.string()),
    ("post_edit", pa.string()),
    ("reasonable", pa.bool_()),          # the self-check's verdict; null when round 2 gave none
    ("modified_lines", pa.int32()),      # editflow.difflines.count_changes(pre_edit, post_edit)
    ("hunks", pa.int32()),
    ("topic", pa.int32()),               # HDP topic; null for rows that did not reach the topic filter
    ("kept", pa.bool_()),
    ("drop_reason", pa.string()),
    ("raw_round1", pa.string()),
    ("raw_round2", pa.string()),
    ("finish_round1", pa.string()),
    ("finish_round2", pa.string()),
    ("tokens_round1", pa.int32()),
    ("tokens_round2", pa.int32()),
])


def outcome_row(generator: str, o: Outcome) -> dict:
    r1, r2 = o.round1, o.round2
    return {
        "synth_id": stable_id(generator, o.pair.pair_id), "generator": generator, "pair_id": o.pair.pair_id,
        "repo": o.pair.repo, "commit": o.pair.commit, "path": [s.path for s in o.pair.snippets],
        "lines": [s.lines for s in o.pair.snippets], "license": o.pair.license,
        "snippets": [s.text for s in o.pair.snippets], "oneshot_index": o.oneshot_index,
        "pre_edit": r1.pre_edit if r1 else None, "instruction_lazy": r1.lazy if r1 else None,
        "instruction_descriptive": r1.descriptive if r1 else None, "post_edit": r2.post_edit if r2 else None,
        "reasonable": r2.reasonable if r2 else None, "modified_lines": None, "hunks": None, "topic": None,
        "kept": False, "drop_reason": o.drop_reason, "raw_round1": o.raw_round1, "raw_round2": o.raw_round2,
        "finish_round1": o.finish_round1, "finish_round2": o.finish_round2,
        "tokens_round1": o.tokens_round1, "tokens_round2": o.tokens_round2,
    }


def to_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SYNTH_SCHEMA)

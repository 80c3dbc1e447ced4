"""Coeditor's tables 1, 3, 4 and 5 and the structural-edit comparison (py-ast vs py-ast-text).

  editflow task-tables --dataset results/default/dataset \\
      --scores results/default/metrics/*/py-unit*/*/*.parquet results/default/metrics/*/py-ast*/*/*.parquet \\
      --out-dir results/default/tables

Writes, each as Markdown and CSV under --out-dir:
- coeditor_table1: PyCommits statistics of the dataset's py-unit examples per split
  (editflow.coeditor.pycommits.table1_from_dataset).
- coeditor_table3: PyCommits-OneLine Add / Replace EM per system from py-unit-oneline scores
  (editflow.coeditor.tables.table3).
- coeditor_table5: the ablations against py-unit, paired by (edit, unit), per system
  (editflow.coeditor.tables.table5; paired bootstrap delta, CI and p-value).
- structural: C3PO's accuracy (tree EM) and the tree-edit paper's one-pass vs incremental
  comparison, one row per system x representation (py-ast: edit script, py-ast-text: one pass),
  means with percentile bootstrap CIs (editflow.metrics.bootstrap), and the paired difference
  of the two representations on the examples both have.

A system is one model x shots x checkpoint. Scores files of other tasks are ignored, so the
rule may pass every scores file of a run. A table without input says so in its Markdown (and
its CSV holds only the header) instead of failing. Table 4 (multi-round gains) calls a model
per round: with --rounds-model (and --rounds-adapter for a fine-tuned checkpoint) the verb
also writes coeditor_table4 (SingleRound vs MultiRound total gains in Lines, Levenshtein and
Keystrokes %, mean rounds; editflow.coeditor.rounds.rounds_table) on the py-unit test rows.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

log = logging.getLogger(__name__)

ONELINE_TASK = "py-unit-oneline"
SCRIPT_TASK, TEXT_TASK = "py-ast", "py-ast-text"
REPRESENTATION = {SCRIPT_TASK: "edit script (incremental)", TEXT_TASK: "one pass (text)"}
TABLE1_COLUMNS = ("split", "projects", "used_commits", "modified_files", "modified_functions", "modified_lines")
TABLE3_COLUMNS = ("n_add", "add_em", "n_replace", "replace_em", "n", "overall_em")
TABLE4_COLUMNS = ("setting", "n_problems", "lines_gain", "levenshtein_gain", "keystrokes_gain", "rounds")
TABLE5_COLUMNS = ("ablation", "task", "n", "em", "delta", "delta_ci_low", "delta_ci_high", "p_value")
HEADLINE = ("tree_em", "script_em", "apply_clean", "grammar_valid", "tree_distance", "op_precision", "op_recall")
SYSTEM_COLUMNS = ("model", "shots", "checkpoint")


@dataclass(frozen=True)
class System:
    """One model x shots x checkpoint: the unit the tables compare."""
    model: str
    shots: int
    checkpoint: str

    def cells(self) -> list[str]:
        return [self.model, str(self.shots), self.checkpoint]

    def row(self) -> dict[str, Any]:
        return {"model": self.model, "shots": self.shots, "checkpoint": self.checkpoint}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="dataset directory ({train,val,test}.parquet)")
    parser.add_argument("--scores", nargs="*", default=[],
                        help="scores files (`editflow score`); those of py-unit*, py-ast and py-ast-text are used")
    parser.add_argument("--out-dir", required=True, help="directory for coeditor_table{1,3,5} and structural (.md, .csv)")
    parser.add_argument("--bootstrap-samples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--rounds-model", help="causal LM (directory or hub id) for Table 4's multi-round simulation")
    parser.add_argument("--rounds-adapter", help="LoRA adapter of --rounds-model (the fine-tuned template is used)")
    parser.add_argument("--rounds-dtype", default="auto", help="dtype of --rounds-model (default auto)")
    parser.add_argument("--rounds-max-examples", type=int, default=100,
                        help="the first N single-round py-unit test problems (default 100)")
    parser.add_argument("--rounds-max-new-tokens", type=int, default=256, help="new tokens per round (default 256)")
    parser.add_argument("--rounds-out", help="Table 4's Markdown file, its CSV beside it (default OUT_DIR/coeditor_table4.md)")
    parser.add_argument("--rounds-only", action="store_true", help="write Table 4 only (a rule of its own per model)")


def _script_kinds() -> tuple[str, ...]:
    from editflow.trees.script import KINDS

    return KINDS


def structural_metrics() -> tuple[str, ...]:
    """The structural table's columns: the headline scores, then precision/recall per operation."""
    return HEADLINE + tuple(f"op_{k.lower()}_{m}" for k in _script_kinds() for m in ("precision", "recall"))


def load_by_system(paths: Sequence[str]) -> dict[System, dict[str, pa.Table]]:
    """system -> task -> scores table, for the tasks these tables read."""
    from editflow.metrics.scorefiles import load_scores

    out: dict[System, dict[str, pa.Table]] = {}
    for path in paths:
        sf = load_scores(path)
        if not (sf.task.startswith("py-unit") or sf.task in REPRESENTATION):
            continue
        tasks = out.setdefault(System(sf.model, sf.shots, sf.checkpoint), {})
        if sf.task in tasks:
            raise ValueError(f"{path}: a second scores file of {sf.task} for {sf.model} {sf.shots}-shot {sf.checkpoint}")
        tasks[sf.task] = sf.table
    return dict(sorted(out.items(), key=lambda kv: (kv[0].model, kv[0].shots, kv[0].checkpoint != "base",
                                                    kv[0].checkpoint)))


# ---- Coeditor -----------------------------------------------------------------------------------

def table1_rows(dataset: str | Path) -> list[dict[str, Any]]:
    """Table 1 per split; [] when the dataset holds no py-unit example."""
    from editflow.coeditor.pycommits import table1_from_dataset

    rows = table1_from_dataset(dataset)
    return rows if any(r["used_commits"] for r in rows) else []


def table3_rows(systems: Mapping[System, Mapping[str, pa.Table]], meta: Mapping) -> list[dict[str, Any]]:
    from editflow.coeditor.tables import table3

    return [{**s.row(), **table3(tasks[ONELINE_TASK], meta)} for s, tasks in systems.items() if ONELINE_TASK in tasks]


def table5_rows(systems: Mapping[System, Mapping[str, pa.Table]], meta: Mapping,
                n_samples: int, seed: int) -> list[dict[str, Any]]:
    from editflow.coeditor.tables import ABLATION_TASKS, table5

    out = []
    for s, tasks in systems.items():
        chosen = {t: tasks[t] for t in ABLATION_TASKS if t in tasks}
        if len(chosen) > 1 and "py-unit" in chosen:
            out += [{**s.row(), **r} for r in table5(chosen, meta, n_samples, seed)]
    return out


def table4_rows(dataset: str | Path, generate, max_examples: int | None = None) -> list[dict[str, Any]]:
    """Table 4 on the first `max_examples` single-round py-unit test problems; [] without any."""
    import pyarrow.compute as pc

    from editflow.coeditor.rounds import rounds_table
    from editflow.inputs import read_parquet

    path = Path(dataset) / "test.parquet"
    if not path.exists():
        return []
    table = read_parquet(path, "test split", "editflow dataset")
    rows = [r for r in table.filter(pc.equal(table["task"], "py-unit")).to_pylist()
            if not json.loads(r.get("meta") or "{}").get("synthetic")][:max_examples]
    return rounds_table(rows, generate) if rows else []


def model_generator(model: str, adapter: str | None, dtype: str, max_new_tokens: int):
    """rounds.causal_generator over the model (with its adapter: the fine-tuned template)."""
    from editflow.coeditor.rounds import causal_generator
    from editflow.modeling import load_model, load_tokenizer

    tokenizer = load_tokenizer(adapter or model)
    lm = load_model(model, dtype=dtype)
    if adapter:
        from peft import PeftModel

        lm = PeftModel.from_pretrained(lm, adapter)
    lm.eval()
    return causal_generator(lm, tokenizer, "py-unit", finetuned=bool(adapter), max_new_tokens=max_new_tokens)


def table4_markdown(rows: list[dict[str, Any]], label: str) -> str:
    from editflow.metrics.tables import md_table

    body = [[r["setting"], str(r["n_problems"]), _num(r["lines_gain"]), _num(r["levenshtein_gain"]),
             _num(r["keystrokes_gain"]), _num(r["rounds"])] for r in rows]
    return _document("Coeditor Table 4: multi-round editing",
                     f"{label}. Total gain (%): the cost of the whole change minus the user's manual edits, over "
                     "the cost of the whole change, in changed lines, Levenshtein distance and keystrokes "
                     "(Appendix A.1); SingleRound: one model call, MultiRound: up to 6 (the simulated user).",
                     rows, "No single-round py-unit test problems.",
                     [md_table(["setting", "problems", "Lines", "Levenshtein", "Keystrokes", "Rounds"], body)])


# ---- structural edits ---------------------------------------------------------------------------

def per_example(table: pa.Table, metrics: Sequence[str],
                edits: Mapping[str, str]) -> dict[tuple[str, str, str], np.ndarray]:
    """(edit_id, source, reference) -> metric vector, samples averaged.

    The two representations have different example ids, so pairs are matched on the edit (from
    the dataset, `edits`: example_id -> edit_id; the example id itself when the dataset lacks
    it) and the code the example is about."""
    cols = table.column_names
    edit = [edits.get(e, e) for e in map(str, table["example_id"].to_pylist())]
    keys = list(zip(edit, table["source"].to_pylist(), table["reference"].to_pylist()))
    values = np.column_stack([np.asarray(table[m].to_numpy(zero_copy_only=False), dtype=np.float64)
                              if m in cols else np.full(table.num_rows, np.nan) for m in metrics]) \
        if table.num_rows else np.empty((0, len(metrics)))
    grouped: dict[tuple[str, str, str], list[np.ndarray]] = {}
    for key, vec in zip(keys, values):
        grouped.setdefault(key, []).append(vec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {k: np.nanmean(np.vstack(v), axis=0) if len(v) > 1 else v[0] for k, v in grouped.items()}


def structural_rows(systems: Mapping[System, Mapping[str, pa.Table]], meta: Mapping, n_samples: int,
                    seed: int) -> list[dict[str, Any]]:
    """Per system: one row per representation (mean and 95% CI of each metric) and, when both
    exist, a `script - text` row of paired bootstrap differences on their common examples."""
    from editflow.metrics.bootstrap import paired_bootstrap, percentile_ci, rng_for

    metrics = structural_metrics()
    edits = {eid: edit for eid, (edit, _) in meta.items()}
    out = []
    for s, tasks in systems.items():
        found = {t: per_example(tasks[t], metrics, edits) for t in REPRESENTATION if t in tasks}
        for task, rows in found.items():
            values = np.vstack(list(rows.values())) if rows else np.empty((0, len(metrics)))
            with warnings.catch_warnings():   # an all-NaN column is NaN, as it should be
                warnings.simplefilter("ignore", RuntimeWarning)
                means = np.nanmean(values, axis=0) if len(values) else np.full(len(metrics), np.nan)
            low, high = percentile_ci(values, n_samples, rng_for(seed, "structural", *s.cells(), task))
            row = {**s.row(), "task": task, "representation": REPRESENTATION[task], "n": len(values)}
            for i, m in enumerate(metrics):
                row.update({m: float(means[i]), f"{m}_ci_low": float(low[i]), f"{m}_ci_high": float(high[i])})
            out.append(row)
        if len(found) == 2:
            common = sorted(set(found[SCRIPT_TASK]) & set(found[TEXT_TASK]))
            a = np.array([found[SCRIPT_TASK][k] for k in common]).reshape(len(common), len(metrics))
            b = np.array([found[TEXT_TASK][k] for k in common]).reshape(len(common), len(metrics))
            results = paired_bootstrap(a, b, n_samples, rng_for(seed, "structural-paired", *s.cells()))
            row = {**s.row(), "task": f"{SCRIPT_TASK} - {TEXT_TASK}", "representation": "difference (paired)",
                   "n": len(common)}
            for m, r in zip(metrics, results):
                row.update({m: r.delta, f"{m}_ci_low": r.ci_low, f"{m}_ci_high": r.ci_high, f"{m}_p": r.p_value})
            out.append(row)
    return out


# ---- rendering ----------------------------------------------------------------------------------

def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _ci(row: Mapping[str, Any], metric: str) -> str:
    text = _num(row.get(metric))
    low, high = row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if text != "–" and low is not None and not math.isnan(low) and not math.isnan(high):
        text += f" [{low:.2f}, {high:.2f}]"
    p = row.get(f"{metric}_p")
    return text + (f" (p={p:.3f})" if p is not None and not math.isnan(p) else "")


def _document(title: str, intro: str, rows: list, empty: str, tables: list[str]) -> str:
    return "\n".join([f"# {title}", "", intro, "", *(tables if rows else [empty + "\n"])])


def table1_markdown(rows: list[dict[str, Any]], dataset: str) -> str:
    from editflow.metrics.tables import md_table

    body = [[str(r[c]) for c in TABLE1_COLUMNS] for r in rows]
    return _document("Coeditor Table 1: PyCommits statistics (py-unit)",
                     "Per split: projects, commits with a modified unit, modified files, modified functions "
                     "and modified lines of the single-round problems (synthetic multi-round instances left out).",
                     rows, f"No py-unit examples in {dataset} (add py-unit to dataset.tasks).",
                     [md_table(["split", "projects", "used commits", "modified files", "modified functions",
                                "modified lines"], body)])


def table3_markdown(rows: list[dict[str, Any]]) -> str:
    from editflow.metrics.tables import md_table

    body = [[*System(r["model"], r["shots"], r["checkpoint"]).cells(), _num(r["add_em"]), str(r["n_add"]),
             _num(r["replace_em"]), str(r["n_replace"]), _num(r["overall_em"]), str(r["n"])] for r in rows]
    return _document("Coeditor Table 3: PyCommits-OneLine exact match",
                     "EM (%) of the decoded unit when the last changed line of each change is the target, "
                     "split by whether that line is added or replaces one (Coeditor's normalisation).",
                     rows, f"No {ONELINE_TASK} scores (add it to dataset.tasks and infer.tasks).",
                     [md_table(["model", "shots", "checkpoint", "Add EM", "n add", "Replace EM", "n replace",
                                "EM", "n"], body)])


def table5_markdown(rows: list[dict[str, Any]]) -> str:
    from editflow.metrics.tables import md_table

    body = [[*System(r["model"], r["shots"], r["checkpoint"]).cells(), r["ablation"], str(r["n"]), _num(r["em"]),
             _ci({"d": r.get("delta"), "d_ci_low": r.get("delta_ci_low"), "d_ci_high": r.get("delta_ci_high"),
                  "d_p": r.get("p_value")}, "d")] for r in rows]
    return _document("Coeditor Table 5: ablations",
                     "EM (%) on the single-round problems every listed task has, paired by (edit, unit); "
                     "Δ: the ablation minus No Ablation (py-unit) with its paired bootstrap 95% CI and p-value.",
                     rows, "No py-unit ablation scores next to py-unit scores (the cluster config runs them).",
                     [md_table(["model", "shots", "checkpoint", "ablation", "n", "EM", "Δ vs No Ablation"], body)])


def structural_markdown(rows: list[dict[str, Any]]) -> str:
    from editflow.metrics.tables import md_table

    def body(metrics):
        return [[*System(r["model"], r["shots"], r["checkpoint"]).cells(), r["representation"], str(r["n"]),
                 *(_ci(r, m) for m in metrics)] for r in rows]

    per_op = structural_metrics()[len(HEADLINE):]
    head = ["model", "shots", "checkpoint", "representation", "n"]
    return _document(
        "Structural edits: edit script vs one pass",
        "C3PO's accuracy is tree EM (the decoded tree equals the post-edit tree); py-ast predicts the edit "
        "script (applied to P), py-ast-text the edited code in one pass. All columns are % except tree "
        "distance (APTED, unit costs); mean [95% bootstrap CI]; the difference row is paired on the examples "
        "both representations have (p: paired bootstrap). – : no example where the score applies.",
        rows, f"No {SCRIPT_TASK} or {TEXT_TASK} scores (add them to dataset.tasks and infer.tasks).",
        [md_table(head + ["tree EM", "script EM", "apply clean", "grammar valid", "tree distance",
                          "op precision", "op recall"], body(HEADLINE)),
         "## Per operation", "", md_table(head + list(per_op), body(per_op))])


def write_tables(dataset: str, scores: Sequence[str], out_dir: str | Path, n_samples: int = 1000,
                 seed: int = 0) -> dict[str, int]:
    """Write the four tables; returns the row count of each."""
    from editflow.atomic import write_text
    from editflow.coeditor.tables import example_meta
    from editflow.metrics.tables import to_csv

    systems = load_by_system(scores)
    meta = example_meta(dataset)
    t1, t3 = table1_rows(dataset), table3_rows(systems, meta)
    t5, st = table5_rows(systems, meta, n_samples, seed), structural_rows(systems, meta, n_samples, seed)
    metrics = structural_metrics()
    st_cols = [*SYSTEM_COLUMNS, "task", "representation", "n"] + [
        c for m in metrics for c in (m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_p")]
    out = Path(out_dir)
    for name, rows, columns, md in (
            ("coeditor_table1", t1, TABLE1_COLUMNS, table1_markdown(t1, dataset)),
            ("coeditor_table3", t3, SYSTEM_COLUMNS + TABLE3_COLUMNS, table3_markdown(t3)),
            ("coeditor_table5", t5, SYSTEM_COLUMNS + TABLE5_COLUMNS, table5_markdown(t5)),
            ("structural", st, st_cols, structural_markdown(st))):
        write_text(to_csv(rows, columns), out / f"{name}.csv")
        write_text(md, out / f"{name}.md")
    return {"coeditor_table1": len(t1), "coeditor_table3": len(t3), "coeditor_table5": len(t5), "structural": len(st)}


def write_table4(args: argparse.Namespace) -> int:
    from editflow.atomic import write_text
    from editflow.metrics.tables import to_csv

    generate = model_generator(args.rounds_model, args.rounds_adapter, args.rounds_dtype, args.rounds_max_new_tokens)
    rows = table4_rows(args.dataset, generate, args.rounds_max_examples)
    label = f"Model {args.rounds_model}" + (f" with adapter {args.rounds_adapter}" if args.rounds_adapter else "")
    md = Path(args.rounds_out or Path(args.out_dir) / "coeditor_table4.md")
    write_text(to_csv(rows, TABLE4_COLUMNS), md.with_suffix(".csv"))
    write_text(table4_markdown(rows, label), md)
    return len(rows)


def run(args: argparse.Namespace) -> int:
    from editflow.inputs import InputError
    from editflow.metrics.scorefiles import ScoresError

    if not Path(args.dataset).is_dir():
        log.error("--dataset %s: no such directory (run `editflow dataset` first)", args.dataset)
        return 2
    if args.rounds_only and not args.rounds_model:
        log.error("--rounds-only needs --rounds-model")
        return 2
    try:
        counts = {} if args.rounds_only else write_tables(args.dataset, args.scores, args.out_dir,
                                                          args.bootstrap_samples, args.seed)
    except (InputError, ScoresError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    if args.rounds_model:
        counts["coeditor_table4"] = write_table4(args)
    print("task-tables: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()) + f" -> {args.out_dir}")
    return 0

"""The pass@k table of execution-checked edit benchmarks, shaped like OpenCodeEdit's.

  editflow passk-table --scores S1.parquet S2.parquet --labels humaneval-edit/smollm2/base \\
      humaneval-edit/smollm2/mixed/run1 --out-dir results/default/tables

Rows: one per benchmark x model x system, where system is `base` or `finetuned-{mix}` (the
adapters of one training mixture, runs averaged); columns: pass@k of the lazy and of the
descriptive instruction for each k (0-100, editflow.metrics.passk: unbiased estimator per
problem, mean over problems; empty when a problem has fewer than k samples). Writes
OUT/passk.csv and OUT/passk.md; the Markdown states the sampling protocol read from the
predictions and the sandbox isolation level the tests ran under (from each scores file).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

STYLES = ("lazy", "descriptive")


@dataclass(frozen=True)
class Label:
    """Where a scores file belongs: `{benchmark}/{model}/base` or `{benchmark}/{model}/{mix}/run{k}`."""
    benchmark: str
    model: str
    system: str          # base | finetuned-{mix}
    data: str            # "" for base, else the mix name

    @classmethod
    def parse(cls, text: str) -> "Label":
        parts = text.strip("/").split("/")
        if len(parts) == 3 and parts[2] == "base":
            return cls(parts[0], parts[1], "base", "")
        if len(parts) == 4 and parts[3].startswith("run") and parts[3][3:].isdigit():
            return cls(parts[0], parts[1], f"finetuned-{parts[2]}", parts[2])
        raise ValueError(f"label {text!r} is not BENCHMARK/MODEL/base or BENCHMARK/MODEL/MIX/run<k>")


@dataclass
class SystemRuns:
    """The per-run pass@k results of one table row."""
    label: Label
    runs: list[dict] = field(default_factory=list)      # scores_passk's {style: {...}} per run
    isolation: set[str] = field(default_factory=set)
    protocol: set[str] = field(default_factory=set)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", nargs="+", required=True, help="scores files of benchmark predictions")
    parser.add_argument("--labels", nargs="+", required=True,
                        help="one per --scores file: BENCHMARK/MODEL/base or BENCHMARK/MODEL/MIX/run<k>")
    parser.add_argument("--pass-k", nargs="+", type=int, default=[1, 10], help="k values (default: 1 10)")
    parser.add_argument("--out-dir", required=True, help="directory for passk.csv and passk.md")


def protocol_of(table) -> str:
    """'n samples, temperature t, top-p p, <= m new tokens' from the predictions' generation JSON."""
    if table.num_rows == 0:
        return "no predictions"
    gen = json.loads(table.column("generation")[0].as_py() or "{}") if "generation" in table.column_names else {}
    n = max(table.column("sample").to_pylist()) + 1 if "sample" in table.column_names else 1
    if gen.get("do_sample"):
        return (f"{n} samples per problem and style, temperature {gen.get('temperature')}, "
                f"top-p {gen.get('top_p')}, <= {gen.get('max_new_tokens')} new tokens")
    return f"{n} greedy sample(s) per problem and style, <= {gen.get('max_new_tokens')} new tokens"


def collect(paths: Sequence[str], labels: Sequence[str], ks: Sequence[int]) -> list[SystemRuns]:
    from editflow.inputs import InputError, read_parquet
    from editflow.metrics.passk import scores_passk

    if len(paths) != len(labels):
        raise InputError(f"{len(paths)} --scores files but {len(labels)} --labels")
    rows: dict[Label, SystemRuns] = {}
    for path, text in zip(paths, labels):
        label = Label.parse(text)
        table = read_parquet(path, "scores file", "editflow score")
        entry = rows.setdefault(label, SystemRuns(label))
        if table.num_rows == 0:  # a benchmark with no problems left: an empty row, not an error
            entry.runs.append({})
            entry.protocol.add(protocol_of(table))
            continue
        if "passed" not in table.column_names:
            raise InputError(f"{path}: no `passed` column; its predictions carried no tests "
                             "(benchmark predictions come from `editflow bench-split` examples)")
        by_style, isolation = scores_passk(table, tuple(ks))
        entry.runs.append(by_style)
        entry.isolation.add(isolation or "unknown")
        entry.protocol.add(protocol_of(table))
    return sorted(rows.values(), key=lambda r: (r.label.benchmark, r.label.model, r.label.system != "base",
                                                r.label.system))


def _mean(values: list) -> float | None:
    return None if not values or any(v is None for v in values) else sum(values) / len(values)


def table_rows(systems: list[SystemRuns], ks: Sequence[int]) -> list[dict]:
    """One dict per row: the CSV's columns in order."""
    out = []
    for s in systems:
        row = {"benchmark": s.label.benchmark, "model": s.label.model, "system": s.label.system,
               "data": s.label.data, "n_runs": len(s.runs)}
        for k in ks:
            for style in STYLES:
                row[f"{style}_pass@{k}"] = _mean([r.get(style, {}).get(f"pass@{k}") for r in s.runs])
        row["n_problems"] = min((v["n_problems"] for r in s.runs for v in r.values()), default=0)
        row["n_samples"] = min((v["n_samples_min"] for r in s.runs for v in r.values()), default=0)
        row["isolation"] = ", ".join(sorted(s.isolation)) or "not run"
        row["protocol"] = "; ".join(sorted(s.protocol))
        out.append(row)
    return out


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else (round(v, 4) if isinstance(v, float) else v)
                             for k, v in row.items()})
    return buf.getvalue()


def to_markdown(rows: list[dict], ks: Sequence[int]) -> str:
    def cell(v):
        return "–" if v is None else f"{v:.1f}"

    lines = ["# pass@k on execution-checked edit benchmarks", "",
             "Columns as in OpenCodeEdit: pass@k of the lazy and of the descriptive instruction (0-100); "
             "fine-tuned rows average their runs. – : a problem had fewer than k samples (pass@k undefined).", ""]
    if not rows:
        return "\n".join(lines + ["No benchmark was evaluated (benchmark.sources is empty).", ""])
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        part = [r for r in rows if r["benchmark"] == bench]
        head = " | ".join(f"{style} pass@{k}" for k in ks for style in STYLES)
        lines += [f"## {bench}", "", f"| model | system | {head} | problems | samples | runs |",
                  "|---|---|" + "---|" * (2 * len(ks)) + "---|---|---|"]
        for r in part:
            values = " | ".join(cell(r[f"{style}_pass@{k}"]) for k in ks for style in STYLES)
            lines.append(f"| {r['model']} | {r['system']} | {values} | {r['n_problems']} | {r['n_samples']} "
                         f"| {r['n_runs']} |")
        levels = sorted({lvl for r in part for lvl in r["isolation"].split(", ")})
        protocols = sorted({p for r in part for p in r["protocol"].split("; ")})
        lines += ["", f"Tests ran in the editflow sandbox, isolation: **{', '.join(levels)}**.",
                  f"Sampling: {'; '.join(protocols)}.", ""]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import write_text
    from editflow.inputs import InputError

    ks = sorted(set(args.pass_k))
    try:
        rows = table_rows(collect(args.scores, args.labels, ks), ks)
    except (InputError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    out = Path(args.out_dir)
    write_text(to_csv(rows), out / "passk.csv")
    write_text(to_markdown(rows, ks), out / "passk.md")
    print(f"passk: {len(rows)} rows -> {out}/passk.csv, passk.md")
    return 0

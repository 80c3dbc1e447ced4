"""Mining throughput: editflow mine vs a seed-style baseline vs PyDriller, same machine, same run.

Repositories: (a) any local repository given with --repo, and/or (b) a generated repository
with a realistic profile (>= 1,000 first-parent commits; notebooks of 0.1-4 MB with outputs
and base64 PNG images, edited over time; .py modules), built once into --cache-dir and
packed with `git repack` like a real clone.

For each repository and each kind (notebooks, .py) it times:
  seed      the ipynb-edit method, written here: `git log --no-merges -M --name-status`
            (every non-merge commit reachable from the head, as editflow's default
            mine.history all; --history first_parent adds --first-parent to both),
            then one `git show COMMIT:PATH` per file side, nbformat.reads + difflib opcodes
            for notebooks, difflib line diff for .py;
  pydriller PyDriller's Repository(...).traverse_commits(), source before/after of each
            modified file, nbformat + difflib as above;
  editflow  `editflow.mine.miner.mine` with --workers processes, in a child process whose
            process tree's resident memory is sampled (peak RSS = sum over the tree).
and prints records/s, the ratios editflow/seed and editflow/pydriller, peak RSS, and checks
that editflow finds every (commit, notebook) the seed method finds with identical code-cell
lists. With --partial it also times editflow on a blob-filtered partial clone of each
repository and reports partial/complete. The last line is one JSON object. With --repeat N every method runs N times,
interleaved (editflow, seed, pydriller, editflow, ...), and each method's median run is
reported: on a shared machine one run of any method can land in a burst of other work.

Example (a few minutes on 2 cores):
    .venv/bin/python benchmarks/mine_throughput.py --generated --workers 1 --repeat 3 --skip-pydriller
    .venv/bin/python benchmarks/mine_throughput.py --repo /tmp/some-ml-repo.git --skip-pydriller
"""
from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

EXT = {"notebook": ".ipynb", "python": ".py"}


# ---------------------------------------------------------------- generated repository
NB_SIZES_MB = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]
GEN_VERSION = 3


def _png_b64(rng: random.Random, n_bytes: int) -> str:
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(n_bytes)).decode()


def _nb_state(rng: random.Random, size_mb: float) -> dict:
    n_cells = rng.randint(15, 60)
    budget = int(size_mb * 1_000_000)
    n_img = max(1, budget // 60_000)
    img_cells = set(rng.sample(range(n_cells), min(n_cells, n_img)))
    per_img = max(2_000, int(budget * 0.72 / max(1, len(img_cells))))
    cells = []
    for i in range(n_cells):
        if rng.random() < 0.25:
            cells.append({"type": "markdown", "src": f"## Step {i}\nSome explanation of step {i}.", "img": None})
        else:
            lines = [f"x_{i}_{k} = np.random.rand({rng.randint(2, 500)}).mean()  # value {k}" for k in range(rng.randint(2, 15))]
            cells.append({"type": "code", "src": "import numpy as np\n" + "\n".join(lines),
                          "img": _png_b64(rng, per_img * 3 // 4) if i in img_cells else None,
                          "text": "\n".join(f"{rng.random():.6f}" for _ in range(rng.randint(1, 40)))})
    return {"cells": cells}


def _nb_json(state: dict) -> bytes:
    out = []
    for i, c in enumerate(state["cells"]):
        if c["type"] == "markdown":
            out.append({"cell_type": "markdown", "metadata": {}, "source": c["src"].splitlines(True)})
            continue
        outputs = [{"name": "stdout", "output_type": "stream", "text": c["text"].splitlines(True)}]
        if c["img"]:
            outputs.append({"data": {"image/png": c["img"], "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                            "metadata": {"needs_background": "light"}, "output_type": "display_data"})
        out.append({"cell_type": "code", "execution_count": i + 1, "metadata": {}, "outputs": outputs,
                    "source": c["src"].splitlines(True)})
    nb = {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                     "language_info": {"name": "python", "version": "3.10.12"}},
          "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1) + "\n").encode()


def _py_module(rng: random.Random, n_funcs: int) -> list[str]:
    lines = ['"""Utilities."""', "import math", ""]
    for f in range(n_funcs):
        lines += ["", f"def func_{f}(x, y={rng.randint(0, 9)}):", f"    z = x * {rng.randint(1, 99)} + y",
                  "    for i in range(10):", f"        z = math.sqrt(abs(z)) + i * {rng.random():.3f}", "    return z", ""]
    return lines


def generate(path: Path, n_commits: int, seed: int = 0) -> None:
    """A linear history: notebook edits (cells + re-run outputs), .py edits, a few renames."""
    import pygit2

    rng = random.Random(seed)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    repo = pygit2.init_repository(str(tmp), bare=True, initial_head="main")
    notebooks = {f"notebooks/nb_{i}.ipynb": _nb_state(rng, s) for i, s in enumerate(NB_SIZES_MB)}
    modules = {f"pkg/mod_{i}.py": _py_module(rng, rng.randint(5, 60)) for i in range(40)}
    nb_blobs = {p: repo.create_blob(_nb_json(s)) for p, s in notebooks.items()}
    py_blobs = {p: repo.create_blob("\n".join(m).encode()) for p, m in modules.items()}
    other = {"README.md": repo.create_blob(b"# bench\n"), "data/table.csv": repo.create_blob(rng.randbytes(20000).hex().encode())}
    parents: list = []
    t0 = time.time()
    for c in range(n_commits):
        roll = rng.random()
        msg = "Initial import" if c == 0 else ""
        if c and roll < 0.4:  # notebook edit: change 1-3 code cells and re-run some outputs
            p = rng.choice(sorted(notebooks))
            st = notebooks[p]
            code = [cell for cell in st["cells"] if cell["type"] == "code"]
            for cell in rng.sample(code, min(len(code), rng.randint(1, 3))):
                lines = cell["src"].split("\n")
                k = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
                lines[k] = lines[k].replace("rand(", f"rand({rng.randint(1, 9)} + ", 1) if rng.random() < 0.5 else lines[k] + " * 2"
                cell["src"] = "\n".join(lines)
                cell["text"] = "\n".join(f"{rng.random():.6f}" for _ in range(rng.randint(1, 40)))
                if cell["img"] and rng.random() < 0.5:
                    cell["img"] = _png_b64(rng, len(cell["img"]) * 3 // 4)
            if rng.random() < 0.1:
                st["cells"].insert(rng.randrange(len(st["cells"])), {"type": "code", "src": "print('new cell')", "img": None, "text": "new"})
            nb_blobs[p] = repo.create_blob(_nb_json(st))
            msg = f"Update analysis in {Path(p).stem}"
        elif c and roll < 0.42:  # rename a notebook
            p = rng.choice(sorted(notebooks))
            q = f"notebooks/renamed_{c}.ipynb"
            notebooks[q] = notebooks.pop(p)
            nb_blobs[q] = nb_blobs.pop(p)
            msg = f"Rename {p} to {q}"
        elif c:
            for p in rng.sample(sorted(modules), rng.randint(1, 12)):
                m = modules[p]
                k = rng.randrange(3, len(m))
                m[k] = m[k] + f"  # tweak {c}" if rng.random() < 0.7 else m[k]
                if rng.random() < 0.3:
                    m.insert(k, f"    # note {c}")
                py_blobs[p] = repo.create_blob("\n".join(m).encode())
            msg = f"Refactor helpers ({c})"
        files = {**nb_blobs, **py_blobs, **other}
        tree = _tree(repo, files)
        sig = pygit2.Signature("bench", "bench@example.org", 1_600_000_000 + c * 600, 0)
        parents = [repo.create_commit("refs/heads/main", sig, sig, msg + "\n\nGenerated commit body.\n", tree, parents)]
        if c % 200 == 0:
            print(f"  generated {c}/{n_commits} commits ({time.time() - t0:.0f}s)", file=sys.stderr)
    print("  packing with git repack -adf --depth=50 --window=10 ...", file=sys.stderr)
    subprocess.run(["git", "-C", str(tmp), "repack", "-a", "-d", "-f", "--depth=50", "--window=10", "-q"], check=True)
    subprocess.run(["git", "-C", str(tmp), "prune-packed"], check=True)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


def _tree(repo, files: dict):
    import pygit2

    root: dict = {}
    for name, oid in files.items():
        node = root
        *dirs, leaf = name.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = oid

    def build(node):
        tb = repo.TreeBuilder()
        for k in sorted(node):
            v = node[k]
            tb.insert(k, build(v) if isinstance(v, dict) else v,
                      pygit2.GIT_FILEMODE_TREE if isinstance(v, dict) else pygit2.GIT_FILEMODE_BLOB)
        return tb.write()

    return build(root)


# ---------------------------------------------------------------- seed-style baseline
def _nb_code_cells(text: str) -> list[str]:
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _digest(old: list[str] | None, new: list[str] | None) -> str:
    return hashlib.sha1(json.dumps([old, new]).encode()).hexdigest()


def seed_style(repo: str, kind: str, out_dir: Path, history: str = "all") -> dict:
    """One `git log`, then one `git show` per file side, as the ipynb-edit miner did; like its
    change_stat.py it writes one JSON line per edit (commit, message, file, old, new content)."""
    import warnings

    warnings.filterwarnings("ignore")
    sink = open(out_dir / f"seed-{kind}.jsonl", "w", encoding="utf-8")
    walk = ["--first-parent"] if history == "first_parent" else []  # all: ipynb-edit's plain `git log`
    cmd = ["git", "-C", repo, "log", *walk, "--no-merges", "-M", "--name-status",
           "--format=%x1e%H%x00%P%x00%B%x00"]
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode:  # e.g. a partial clone: rename detection needs absent blobs
        done = subprocess.run([c for c in cmd if c != "-M"], capture_output=True)
        if done.returncode:
            raise SystemExit(f"the seed baseline cannot read {repo} (git log failed: "
                             f"{done.stderr.decode(errors='replace').strip()[:200]}); pick a complete clone")
    log = done.stdout
    found: dict[tuple[str, str], str] = {}
    errors = 0
    for entry in log.split(b"\x1e")[1:]:
        sha, parents, _message, files = entry.split(b"\x00", 3)
        sha = sha.decode()
        parent = parents.split()[0].decode() if parents.strip() else None
        for line in files.decode("utf-8", "replace").strip().splitlines():
            parts = line.split("\t")
            status, paths = parts[0], parts[1:]
            new_path, old_path = paths[-1], paths[0]
            if not new_path.endswith(EXT[kind]):
                continue
            old = new = None
            try:
                if status[0] != "A" and parent:
                    old = subprocess.run(["git", "-C", repo, "show", f"{parent}:{old_path}"], capture_output=True, check=True).stdout.decode()
                if status[0] != "D":
                    new = subprocess.run(["git", "-C", repo, "show", f"{sha}:{new_path}"], capture_output=True, check=True).stdout.decode()
                if kind == "notebook":
                    oc = _nb_code_cells(old) if old is not None else None
                    nc = _nb_code_cells(new) if new is not None else None
                    ops = difflib.SequenceMatcher(None, oc or [], nc or []).get_opcodes()
                    found[(sha, new_path)] = _digest(oc, nc)
                    extra = {"old_cells": oc, "new_cells": nc, "cell_diff": ops}
                else:
                    diff = list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=3))
                    found[(sha, new_path)] = ""
                    extra = {"lines_changed": len(diff)}
                sink.write(json.dumps({"repo": repo, "commit": sha, "message": _message.decode("utf-8", "replace"),
                                       "file": new_path, "old": old, "new": new, **extra}) + "\n")
            except Exception:  # noqa: BLE001 - the seed miner dropped what it could not read
                errors += 1
    sink.close()
    return {"records": len(found), "errors": errors, "found": found}


def pydriller_repo(repo: str, work: Path) -> str:
    """A path PyDriller can read: it runs `git rev-list` in the working tree, which a bare
    repository (or a git directory copied without its work tree) has not, so those get a
    `--shared --no-checkout` clone (objects borrowed, nothing copied; made before timing)."""
    if (Path(repo) / ".git").exists():
        return repo
    clone = work / "pydriller-clone"
    if not clone.exists():
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", repo, str(clone)], check=True)
    return str(clone)


def pydriller_style(repo: str, kind: str) -> dict:
    import warnings

    from pydriller import Repository

    warnings.filterwarnings("ignore")
    n = errors = 0
    for commit in Repository(repo, only_no_merge=True, only_modifications_with_file_types=[EXT[kind]]).traverse_commits():
        for mf in commit.modified_files:
            path = mf.new_path or mf.old_path
            if not path or not path.endswith(EXT[kind]):
                continue
            try:
                old, new = mf.source_code_before, mf.source_code
                if kind == "notebook":
                    oc = _nb_code_cells(old) if old else []
                    nc = _nb_code_cells(new) if new else []
                    difflib.SequenceMatcher(None, oc, nc).get_opcodes()
                else:
                    mf.added_lines, mf.deleted_lines  # noqa: B018 - PyDriller's own diff stats
                n += 1
            except Exception:  # noqa: BLE001
                errors += 1
    return {"records": n, "errors": errors}


# ---------------------------------------------------------------- editflow, in a child process
CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {src!r})
from editflow.mine.extract import MineSettings
from editflow.mine.miner import mine
import pandas, pyarrow.parquet, pygit2, tqdm  # interpreter start-up and imports are not mining
kind, repo, out, workers = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
history, notebook_source, partial = sys.argv[5], sys.argv[6], sys.argv[7] == "partial"
s = MineSettings(repo_name="bench/repo", license=None, include_python=kind == "python",
                 include_notebooks=kind == "notebook", history=history, notebook_source=notebook_source)
import resource
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime  # workers and git, once waited for
t, c = time.perf_counter(), cpu()
r = mine(repo, out / "e.parquet", out / "s.parquet", s, workers=workers, partial=partial)
print(json.dumps({{"seconds": time.perf_counter() - t, "cpu_seconds": round(cpu() - c, 2),
                   "records": r.edits, "skips": r.skips}}))
"""


def _tree_rss(pid: int) -> tuple[int, int]:
    """(sum, max) of the resident memory of a process and its descendants.

    Read from /proc (children lists and statm): ~0.25 ms a sample, where psutil's scan of
    every process took 1.6 ms — the sampler runs beside the measured miner on the same two
    cores, so it must cost next to nothing. A child caught between fork and exec (e.g. while
    git cat-file is being started) still shows its parent's command line and resident size,
    pages it shares with the parent: counting it would add the parent's memory twice, so it
    is left out until it execs."""
    page = os.sysconf("SC_PAGE_SIZE")
    sizes: list[int] = []
    todo: list[tuple[int, bytes | None]] = [(pid, None)]
    while todo:
        p, parent_cmd = todo.pop()
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{p}/statm", "rb") as f:
                rss = int(f.read().split()[1]) * page
            kids = []
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", "rb") as f:
                    kids += [int(k) for k in f.read().split()]
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        if parent_cmd is None or cmd != parent_cmd:
            sizes.append(rss)
        todo += [(k, cmd) for k in kids]
    return sum(sizes), max(sizes, default=0)


def editflow_style(repo: str, kind: str, workers: int, out_dir: Path, history: str = "all",
                   notebook_source: str = "stripped", partial: bool = False) -> dict:
    out = out_dir / kind
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(src=str(ROOT / "src")), kind, repo, str(out), str(workers),
                             history, notebook_source, "partial" if partial else "complete"],
                            stdout=subprocess.PIPE, text=True)
    peak = peak_one = 0
    stop = threading.Event()

    def sample():
        nonlocal peak, peak_one
        while not stop.is_set():
            total, one = _tree_rss(proc.pid)
            peak, peak_one = max(peak, total), max(peak_one, one)
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, _ = proc.communicate()
    stop.set()
    th.join()
    if proc.returncode:
        raise SystemExit(f"editflow mine failed on {repo} ({kind})")
    res = json.loads(stdout.strip().splitlines()[-1])
    res["peak_rss_mb"] = round(peak / 2**20, 1)  # summed over the process tree
    res["peak_rss_mb_one_process"] = round(peak_one / 2**20, 1)
    if kind == "notebook":
        import pyarrow.parquet as pq

        t = pq.read_table(out / "e.parquet", columns=["commit", "path", "old_cells", "new_cells"])
        res["found"] = {(c, p): _digest(o, n) for c, p, o, n in zip(*(t[k].to_pylist() for k in t.column_names))}
    return res


def _cpu(who) -> float:
    import resource

    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _timed(fn, *args):
    """Run fn; add wall seconds and CPU seconds (this process + its waited-for children).

    CPU seconds are the load-robust figure on a shared machine: wall time there depends on
    what else runs, CPU time much less."""
    import resource

    t, c0, s0 = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    res = fn(*args)
    res.setdefault("seconds", time.perf_counter() - t)
    # editflow runs in a child that reports the CPU of its mine() call (start-up excluded)
    res.setdefault("cpu_seconds", round(_cpu(resource.RUSAGE_CHILDREN) - c0 + _cpu(resource.RUSAGE_SELF) - s0, 2))
    return res


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (the same rule for every method); all wall times
    and, for editflow, the largest peak RSS of all runs are kept beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        mid["all_seconds"] = [round(r["seconds"], 2) for r in runs]
        for key in ("peak_rss_mb", "peak_rss_mb_one_process"):
            if key in mid:
                mid[key] = max(r[key] for r in runs)
    return mid


def partial_clone(repo: str, work: Path, args) -> str:
    """A blob-filtered bare clone of `repo` whose notebook and .py blobs are fetched once
    here, untimed (as the first mine of a partial clone does); every other blob stays absent."""
    import pygit2

    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine

    src = Path(repo).resolve()
    target = work / "partial.git"
    subprocess.run(["git", "-c", "uploadpack.allowFilter=true", "clone", "-q", "--bare", "--no-local",
                    "--filter=blob:none", "--upload-pack", "git -c uploadpack.allowFilter=true upload-pack",
                    f"file://{src}", str(target)], check=True)
    mine(str(target), work / "prefetch.parquet", None,
         MineSettings(repo_name="bench/prefetch", license=None, history=args.history), partial=True)
    (work / "prefetch.parquet").unlink()
    r = pygit2.Repository(str(target))
    print(f"   partial clone {target}: {sum(1 for _ in r.odb)} objects present", file=sys.stderr)
    return str(target)


def bench_repo(repo: str, args) -> dict:
    import pygit2

    n_commits = sum(1 for _ in pygit2.Repository(repo).walk(pygit2.Repository(repo).head.target))
    print(f"\n== {repo} ({n_commits} commits reachable)", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="mine-bench-"))
    result = {"repo": repo, "commits": n_commits}
    partial = partial_clone(repo, work, args) if args.partial else None
    try:
        for kind in ("notebook", "python"):
            row = {}
            runs: dict[str, list[dict]] = {"editflow": [], "editflow_partial": [], "seed": [], "pydriller": []}
            for _ in range(args.repeat):  # interleaved, so that every method meets the same load
                runs["editflow"].append(_timed(editflow_style, repo, kind, args.workers, work, args.history,
                                               args.notebook_source))
                if partial is not None:
                    runs["editflow_partial"].append(_timed(editflow_style, partial, kind, args.workers, work,
                                                           args.history, args.notebook_source, True))
                runs["seed"].append(_timed(seed_style, repo, kind, work, args.history))
                if not args.skip_pydriller:
                    runs["pydriller"].append(_timed(pydriller_style, pydriller_repo(repo, work), kind))
            for name, rs in runs.items():
                if rs:
                    row[name] = _median_run(rs)
            ours = row["editflow"]
            if kind == "notebook":
                seed_found, our_found = row["seed"].pop("found"), ours.pop("found")
                missing = [k for k in seed_found if k not in our_found]
                differ = [k for k in seed_found if k in our_found and our_found[k] != seed_found[k]]
                row["check"] = {"seed_pairs": len(seed_found), "missing_in_editflow": len(missing),
                                "different_cells": len(differ), "examples": [list(k) for k in (missing + differ)[:3]]}
            else:
                row["seed"].pop("found")
            for name, r in row.items():
                if "seconds" in r:
                    r["records_per_s"] = round(r["records"] / r["seconds"], 1) if r["seconds"] else None
                    r["seconds"] = round(r["seconds"], 2)
            row["ratio_vs_seed"] = round(row["seed"]["seconds"] / ours["seconds"], 1)
            row["cpu_ratio_vs_seed"] = round(row["seed"]["cpu_seconds"] / ours["cpu_seconds"], 1)
            if "pydriller" in row:
                row["ratio_vs_pydriller"] = round(row["pydriller"]["seconds"] / ours["seconds"], 1)
            if "editflow_partial" in row:
                row["editflow_partial"].pop("found", None)
                row["partial_vs_complete"] = round(row["editflow_partial"]["seconds"] / ours["seconds"], 2)
            result[kind] = row
            line = "  ".join(f"{n}: {r['records']} rec in {r['seconds']}s, cpu {r['cpu_seconds']}s ({r['records_per_s']}/s)"
                             for n, r in row.items() if isinstance(r, dict) and "seconds" in r)
            print(f"{kind:>8}  {line}  | x{row['ratio_vs_seed']} vs seed (cpu x{row['cpu_ratio_vs_seed']})"
                  + (f", x{row['ratio_vs_pydriller']} vs pydriller" if "pydriller" in row else "")
                  + (f", partial/complete {row['partial_vs_complete']}" if "partial_vs_complete" in row else "")
                  + f" | peak RSS {ours['peak_rss_mb']} MB (tree), {ours['peak_rss_mb_one_process']} MB (largest process)",
                  file=sys.stderr)
            if "check" in row:
                print(f"          seed-found notebook pairs: {row['check']}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", action="append", default=[], help="a local repository (bare or not); repeatable")
    p.add_argument("--generated", action="store_true", help="also run on the generated repository (default if no --repo)")
    p.add_argument("--commits", type=int, default=1000, help="commits of the generated repository")
    p.add_argument("--cache-dir", default=str(ROOT / "results" / "benchmarks" / "cache"))
    p.add_argument("--workers", type=int, default=1, help="editflow worker processes (default 1, as mine.workers)")
    p.add_argument("--skip-pydriller", action="store_true")
    p.add_argument("--history", choices=["all", "first_parent"], default="all",
                   help="mine.history for editflow; the seed method walks the same commits (default all)")
    p.add_argument("--notebook-source", choices=["stripped", "raw", "none"], default="stripped",
                   help="mine.notebook_source for editflow (default stripped)")
    p.add_argument("--partial", action="store_true",
                   help="also time editflow on a blob-filtered partial clone of each repository (made once "
                        "here, its notebook and .py blobs fetched untimed) and report partial/complete")
    p.add_argument("--repeat", type=int, default=1,
                   help="run every method N times, interleaved, and report each one's median run")
    args = p.parse_args(argv)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    repos = list(args.repo)
    if args.generated or not repos:
        gen = Path(args.cache_dir) / f"generated-v{GEN_VERSION}-{args.commits}.git"
        if not (gen / "HEAD").exists():
            print(f"generating {gen} (once; cached)", file=sys.stderr)
            generate(gen, args.commits)
        repos.append(str(gen))
    results = [bench_repo(r, args) for r in repos]
    nb = [r["notebook"]["ratio_vs_seed"] for r in results]
    py = [r["python"]["ratio_vs_seed"] for r in results]
    nb_cpu = [r["notebook"]["cpu_ratio_vs_seed"] for r in results]
    py_cpu = [r["python"]["cpu_ratio_vs_seed"] for r in results]
    rss = max(r[k]["editflow"]["peak_rss_mb"] for r in results for k in ("notebook", "python"))
    rss_one = max(r[k]["editflow"]["peak_rss_mb_one_process"] for r in results for k in ("notebook", "python"))
    summary = {
        "benchmark": "mine_throughput", "workers": args.workers, "cpus": os.cpu_count(),
        "notebook_ratio_vs_seed": min(nb), "python_ratio_vs_seed": min(py), "peak_rss_mb": rss,
        "peak_rss_mb_one_process": rss_one, "notebook_cpu_ratio_vs_seed": min(nb_cpu), "python_cpu_ratio_vs_seed": min(py_cpu),
        "load_average_1m": round(os.getloadavg()[0], 1), "load_average_at_start": load_at_start,
        "repeat": args.repeat,
        "history": args.history, "notebook_source": args.notebook_source,
        "goals": {"notebook_ratio_vs_seed>=10": min(nb) >= 10, "python_ratio_vs_seed>=20": min(py) >= 20,
                  "peak_rss_mb<500": rss < 500},
        "repos": results,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast editflow.trees differences real file histories, against a plain text diff of
`ast.dump`, in the same run; and whether every EditCompletion example's gold script
reproduces its post-edit tree.

For every modified `.py` (or `.cs`) file of a git history (every non-merge commit),
both sides are parsed and then:
- baseline: `ast.dump(tree, indent=1)` of both sides, line-diffed with difflib
  (C#: tree-sitter's s-expression, one node per line), i.e. "which dumped lines changed";
- ours: both sides as Node trees, GumTree matching, the MOV/DEL/UPD/INS script, and the
  script applied back (checked equal to the post-edit tree).
Each side runs in its own child process, so its peak RSS (VmHWM) is its own. Then the
EditCompletion examples (C3PO filters) of every file pair are built and each gold script is
checked four ways: applied as operations, applied from its linearised text (addresses and
paths checked), as incremental Delete/Add/Copy/Stop actions, and the post-edit tree unparsed
and parsed again; for Python also decoded to code (`editflow apply`'s decoder) and compared
with the reference.
Worst case: a synthetic pair of 10,000-node Python trees (every statement changed a little,
a tenth moved), timed in full.

    .venv/bin/python benchmarks/tree_diff.py --repo PATH_TO_GIT_DIR --language python

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import multiprocessing as mp
import random
import subprocess
import sys
import time
from collections import Counter

EXT = {"python": ".py", "csharp": ".cs"}


def file_pairs(repo: str, ext: str, max_pairs: int) -> list[tuple[str, str]]:
    log = subprocess.run(["git", "-C", repo, "log", "--no-merges", "--raw",
                          "--no-renames", "--format=C %H", "HEAD"],
                         capture_output=True, text=True, check=True).stdout
    shas = []
    for line in log.splitlines():
        if line.startswith(":"):
            meta, path = line.split("\t", 1)
            parts = meta.split()
            if parts[4] == "M" and path.endswith(ext):
                shas.append((parts[2], parts[3]))
    shas = shas[:max_pairs]
    want = sorted({s for pair in shas for s in pair})
    proc = subprocess.run(["git", "-C", repo, "cat-file", "--batch"], input=("\n".join(want) + "\n").encode(),
                          capture_output=True, check=True).stdout
    blobs, pos = {}, 0
    for sha in want:
        header_end = proc.index(b"\n", pos)
        size = int(proc[pos:header_end].split()[2])
        blobs[sha] = proc[header_end + 1: header_end + 1 + size]
        pos = header_end + 1 + size + 1
    out = []
    for a, b in shas:
        try:
            out.append((blobs[a].decode("utf-8"), blobs[b].decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return out


def _vmhwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _dump_lines(code: str, language: str) -> list[str]:
    if language == "python":
        return ast.dump(ast.parse(code), indent=1).splitlines()
    from editflow.trees import csharp
    return str(csharp.syntax_tree(code).root_node).replace(" (", "\n(").splitlines()


def run_baseline(pairs, language, queue) -> None:
    t0 = time.perf_counter()
    n, changed = 0, 0
    for old, new in pairs:
        try:
            a, b = _dump_lines(old, language), _dump_lines(new, language)
        except (SyntaxError, ValueError, RecursionError):
            continue
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        changed += sum(1 for tag, *_ in sm.get_opcodes() if tag != "equal")
        n += 1
    queue.put({"pairs": n, "seconds": time.perf_counter() - t0, "peak_rss_mb": _vmhwm_mb(),
               "changed_regions": changed})


def run_ours(pairs, language, queue) -> None:
    from editflow.trees.languages import get
    from editflow.trees.script import ApplyError, apply_script, edit_script

    lang = get(language)
    t0 = time.perf_counter()
    n, ops, reproduced, skipped, nodes = 0, 0, 0, Counter(), 0
    for old, new in pairs:
        try:
            a, b = lang.parse(old), lang.parse(new)
        except (SyntaxError, ValueError, RecursionError):
            skipped["parse_error"] += 1
            continue
        try:
            script = edit_script(a, b)
        except ApplyError as exc:
            skipped[exc.reason] += 1
            continue
        n += 1
        nodes += a.size() + b.size()
        ops += len(script)
        reproduced += apply_script(a, script).same_tree(b)
    queue.put({"pairs": n, "seconds": time.perf_counter() - t0, "peak_rss_mb": _vmhwm_mb(),
               "operations": ops, "full_file_scripts_reproduce": reproduced, "nodes": nodes,
               "skipped": dict(skipped)})


def in_child(fn, *args) -> dict:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def _reparses(lang, tree) -> bool:
    """The unparsed post-edit tree parses back to the same tree."""
    try:
        return lang.parse(lang.unparse(tree)).same_tree(tree)
    except (ValueError, SyntaxError):
        return False


def check_examples(pairs, language) -> dict:
    from editflow.trees import python_ast
    from editflow.trees.fragments import build
    from editflow.trees.incremental import apply_actions, parse_actions
    from editflow.trees.languages import get
    from editflow.trees.linearize import apply_text
    from editflow.trees.script import ApplyError, apply_script

    lang = get(language)
    skips, failures = Counter(), Counter()
    total = ok = 0
    t0 = time.perf_counter()
    for old, new in pairs:
        outcome = build(old, new, language)
        skips.update(outcome.skips)
        for ex in outcome.examples:
            total += 1
            try:
                pre = lang.parse(ex.source)
                checks = [apply_script(pre, ex.ops).same_tree(ex.post),
                          apply_text(pre, ex.script).same_tree(ex.post),
                          apply_actions(pre, parse_actions(ex.actions)).same_tree(ex.post)]
                checks.append(_reparses(lang, ex.post))
                if language == "python":
                    from editflow.tasks.py_ast import decode_script
                    checks.append(decode_script(ex.script, ex.source).code
                                  == python_ast.unparse(ex.post))
                if all(checks):
                    ok += 1
                else:
                    failures["not_reproduced:" + ",".join(str(i) for i, c in enumerate(checks) if not c)] += 1
            except ApplyError as exc:
                failures[exc.reason] += 1
    # gold_script_mismatch is counted by build() among the skips: it is a failure too
    mismatched = skips.pop("gold_script_mismatch", 0)
    return {"examples": total + mismatched, "gold_reproduced": ok,
            "gold_reproduced_pct": round(100.0 * ok / (total + mismatched), 2) if total + mismatched else None,
            "failures": dict(failures, **({"gold_script_mismatch": mismatched} if mismatched else {})),
            "skips": dict(skips), "seconds": round(time.perf_counter() - t0, 2)}


def worst_case(n_statements: int, seed: int = 0) -> dict:
    from editflow.trees.python_ast import parse
    from editflow.trees.script import apply_script, edit_script

    rng = random.Random(seed)
    lines = [f"v{i} = f{i % 7}(a{i}, b[{i}] + {i}, k='{i}')" for i in range(n_statements)]
    new = list(lines)
    for i in range(0, n_statements, 3):
        new[i] = new[i].replace("+", "-")
    moved = rng.sample(range(n_statements), n_statements // 10)
    block = [new[i] for i in moved]
    new = [x for i, x in enumerate(new) if i not in set(moved)] + block
    a, b = parse("\n".join(lines)), parse("\n".join(new))
    t0 = time.perf_counter()
    script = edit_script(a, b)
    seconds = time.perf_counter() - t0
    return {"nodes": [a.size(), b.size()], "seconds": round(seconds, 2), "operations": len(script),
            "reproduces": apply_script(a, script).same_tree(b)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="a git directory (bare or not)")
    ap.add_argument("--language", choices=sorted(EXT), default="python")
    ap.add_argument("--max-pairs", type=int, default=400)
    ap.add_argument("--worst-case-statements", type=int, default=670,
                    help="statements of the synthetic worst case (670 -> about 10,000 nodes)")
    args = ap.parse_args(argv)
    pairs = file_pairs(args.repo, EXT[args.language], args.max_pairs)
    base = in_child(run_baseline, pairs, args.language)
    ours = in_child(run_ours, pairs, args.language)
    examples = check_examples(pairs, args.language)
    worst = worst_case(args.worst_case_statements) if args.worst_case_statements else None
    result = {
        "benchmark": "tree_diff", "repo": args.repo.rstrip("/").split("/")[-2 if args.repo.endswith("repo") else -1],
        "language": args.language, "file_pairs": len(pairs),
        "baseline_ast_dump_diff": {**base, "trees_per_s": round(2 * base["pairs"] / base["seconds"], 1)},
        "gumtree": {**ours, "trees_per_s": round(2 * ours["pairs"] / ours["seconds"], 1)},
        "slowdown_vs_baseline": round((ours["seconds"] / max(ours["pairs"], 1))
                                      / (base["seconds"] / max(base["pairs"], 1)), 2),
        "edit_completion": examples, "worst_case": worst,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

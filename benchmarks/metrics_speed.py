"""How fast `editflow score` computes every metric on whole-notebook pairs, against the
per-example packages, in the same run.

Pairs follow the length mix of real ipynb-edit whole-notebook outputs: references median
2,242 characters (p90 8,734, p99 19,619, max 27,668), 10% empty; predictions median 1,412
(p90 1,987, max 2,619: generation stops at a token budget). Each example is a generated
notebook of Python cells (imports, pandas / sklearn / torch / plotting lines, functions,
loops; identifiers and constants drawn at random so n-grams are not all repeats), an edit
of a few lines (the reference), and a prediction made like real model outputs: the pre-edit
code copied unchanged, with part of the edit, with the whole edit, with a wrong edit, a
degenerate repetition, or nothing; then cut at the budget. Every row carries its `source`,
so the diff-level metrics run too.

Timed:
- ours: whitespace tokenization + every per-example metric (batch.score_examples with
  --workers processes) + sacrebleu corpus BLEU, i.e. what `editflow score` does;
- baseline, on a sample, one process, one example at a time: nltk `sentence_bleu`,
  `codebleu.calc_codebleu`, the `rouge` package's `Rouge().get_scores`, rapidfuzz, our own
  normalized EM and diff-level metrics, and for both keystroke variants the previous
  editflow kernel (numba, common prefix/suffix trimmed, whole table): Coeditor's released
  Python DP would need hours per pair at these lengths. The baseline's values are compared
  with ours on the sample (they must be identical; floats to 1e-9) and its time is
  extrapolated per example.

    .venv/bin/python benchmarks/metrics_speed.py --n 10000 --workers 2 --baseline-sample 60

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

NAMES = ["df", "data", "train", "test", "model", "X", "y", "preds", "scores", "history", "features",
         "labels", "clf", "scaler", "loader", "batch", "loss", "results", "frame", "sales", "users",
         "items", "text", "tokens", "emb", "acc", "fig", "ax", "cols", "counts"]
COLUMNS = ["age", "fare", "price", "label", "target", "date", "city", "score", "text", "amount", "id"]
FUNCS = ["mean", "sum", "fillna", "dropna", "groupby", "apply", "astype", "merge", "sort_values",
         "value_counts", "reset_index", "describe", "head", "tail", "plot", "fit", "predict", "transform"]


def _line(rng: random.Random) -> str:
    a, b = rng.choice(NAMES), rng.choice(NAMES)
    c, f = rng.choice(COLUMNS), rng.choice(FUNCS)
    n = rng.choice([0, 1, 2, 5, 10, 42, 100, 0.1, 0.25, 0.5, 1e-3])
    return rng.choice([
        f"{a} = {b}.{f}()",
        f"{a}['{c}'] = {b}['{c}'].{f}()",
        f"{a} = {b}[{b}['{c}'] > {n}]",
        f"print({a}.shape, {b}['{c}'].{f}())",
        f"{a} = pd.read_csv('data/{c}_{rng.randint(1, 9)}.csv')",
        f"{a}, {b} = train_test_split({a}, test_size={n}, random_state=42)",
        f"plt.plot({a}['{c}'], label='{c}')",
        f"{a} = np.array({b}).reshape(-1, {rng.randint(1, 64)})",
        f"{a} = {b}.groupby('{c}')['{rng.choice(COLUMNS)}'].{f}()",
        f"model.fit({a}, {b}, epochs={rng.randint(1, 50)}, batch_size={rng.choice([16, 32, 64])})",
        f"{a} = torch.tensor({b}, dtype=torch.float32)",
        f"# {rng.choice(['clean', 'plot', 'train', 'check'])} the {c} column",
        f"{a}.columns=['{c}','{rng.choice(COLUMNS)}','{rng.choice(COLUMNS)}_{rng.randint(0, 99)}']",
        f"{a}=pd.read_parquet('s3://bucket-{rng.randint(1, 99)}/warehouse/{c}/part-{rng.randint(0, 9999):05d}.parquet')",
        f"{a}.to_csv('outputs/{c}_{rng.choice(FUNCS)}_v{rng.randint(1, 9)}.csv',index=False)",
    ])


def _cell(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.1:
        return "\n".join(rng.sample(["import numpy as np", "import pandas as pd", "import torch",
                                      "import matplotlib.pyplot as plt", "import seaborn as sns",
                                      "from sklearn.model_selection import train_test_split"], rng.randint(2, 5)))
    if kind < 0.25:
        name = rng.choice(["preprocess", "train_epoch", "evaluate", "load", "clean_text", "plot_history"])
        body = [f"    {_line(rng)}" for _ in range(rng.randint(2, 6))]
        return f"def {name}({rng.choice(NAMES)}, {rng.choice(NAMES)}={rng.randint(0, 9)}):\n" + "\n".join(body) \
            + f"\n    return {rng.choice(NAMES)}"
    if kind < 0.35:
        body = [f"    {_line(rng)}" for _ in range(rng.randint(1, 4))]
        return f"for {rng.choice('ijk')} in range({rng.randint(2, 100)}):\n" + "\n".join(body)
    return "\n".join(_line(rng) for _ in range(rng.randint(1, 6)))


def _notebook(rng: random.Random, chars: int) -> list[str]:
    """Lines of a notebook (cells separated by `# %%` lines) of about `chars` characters."""
    lines: list[str] = []
    size = 0
    while size < chars:
        cell = ["# %%"] + _cell(rng).split("\n")
        lines += cell
        size += sum(len(x) + 1 for x in cell)
    return lines


def _edit(rng: random.Random, lines: list[str], hunks: int) -> list[str]:
    out = list(lines)
    for _ in range(hunks):
        k = rng.randrange(len(out))
        op = rng.random()
        if op < 0.5:
            out[k] = _line(rng) if not out[k].startswith(" ") else "    " + _line(rng)
        elif op < 0.8:
            out[k:k] = [_line(rng) for _ in range(rng.randint(1, 3))]
        elif len(out) > 2:
            del out[k]
    return out


def _reference_chars(rng: random.Random) -> int:
    # lognormal around the real median (2,242) and p90 (8,734), capped at the real maximum
    return int(min(27_500, max(40, math.exp(rng.gauss(math.log(2150), 0.98)))))


def make_examples(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(prediction, reference, source) triples with the real length mix."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        source_lines = _notebook(rng, _reference_chars(rng))
        ref_lines = _edit(rng, source_lines, rng.randint(1, 5))
        budget = int(min(2619, max(300, rng.gauss(1600, 380))))
        kind = rng.random()
        if kind < 0.40:
            pred_lines = source_lines                                   # the input, unchanged
        elif kind < 0.60:
            pred_lines = _edit(rng, source_lines, 1)                    # part of it / another edit
        elif kind < 0.75:
            pred_lines = ref_lines                                      # the edit
        elif kind < 0.85:
            pred_lines = _edit(rng, ref_lines, rng.randint(1, 3))       # the edit and more
        elif kind < 0.95:
            head = source_lines[: rng.randint(1, 12)]
            pred_lines = head * 40                                      # degenerate repetition
        else:
            pred_lines = []                                             # nothing
        reference = "" if rng.random() < 0.10 else "\n".join(ref_lines)
        out.append(("\n".join(pred_lines)[:budget], reference, "\n".join(source_lines)))
    return out


def _quantiles(values: list[int]) -> dict[str, int]:
    s = sorted(values)
    return {"p50": s[len(s) // 2], "p90": s[int(len(s) * 0.9)], "p99": s[int(len(s) * 0.99)], "max": s[-1]}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker pool)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_ours(examples: list[tuple[str, str, str]], workers: int) -> tuple[float, float, list[dict]]:
    from editflow.metrics.batch import Pair, score_examples, warm_up
    from editflow.metrics.bleu import corpus_bleu
    from editflow.metrics.tokenize import whitespace_tokenizer

    warm_up()  # numba kernels load from their cache, CodeBLEU's parser is built: not per-run work
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    tok = whitespace_tokenizer()
    preds, refs, srcs = ([e[i] for e in examples] for i in range(3))
    batch = [Pair(p, r, pt, rt, s) for p, r, pt, rt, s in zip(preds, refs, tok.batch(preds), tok.batch(refs), srcs)]
    rows, _ = score_examples(batch, workers=workers)
    corpus_bleu(preds, refs)
    assert len(rows) == len(examples)
    return time.perf_counter() - start, _cpu_seconds() - cpu0, rows


def baseline_one(pred: str, ref: str, source: str, timings: dict[str, float]) -> dict:
    """Every metric the per-example way; `timings` collects seconds per metric family."""
    from codebleu import calc_codebleu
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel, Levenshtein
    from rouge import Rouge

    from editflow.metrics.difflevel import diff_scores
    from editflow.metrics.keystroke import whole_table_distance
    from editflow.metrics.match import exact_match_normalized

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return value

    g, p = ref.split(), pred.split()
    out = {"em": 100.0 if (g == p and g) else 0.0,
           "em_normalized": timed("em_normalized", lambda: exact_match_normalized(ref, pred))}
    if g and p:
        out["bleu"] = timed("bleu", lambda: 100 * sentence_bleu(
            [g], p, smoothing_function=SmoothingFunction().method2, auto_reweigh=True))
        out["codebleu"] = timed("codebleu", lambda: 100 * calc_codebleu([ref], [pred], "python")["codebleu"])
        out["edit_sim"] = timed("edit_sim", lambda: fuzz.ratio(" ".join(g), " ".join(p)))

        def rouge():
            try:
                s = Rouge(metrics=["rouge-l"]).get_scores(" ".join(p), " ".join(g))[0]["rouge-l"]
                return 100 * s["p"], 100 * s["r"], 100 * s["f"]
            except ValueError:
                return 0.0, 0.0, 0.0
        out["rouge_l_p"], out["rouge_l_r"], out["rouge_l_f"] = timed("rouge_l", rouge)
    else:
        out.update(bleu=0.0, codebleu=0.0, edit_sim=0.0, rouge_l_p=0.0, rouge_l_r=0.0, rouge_l_f=0.0)
    d = timed("diff", lambda: diff_scores(source, pred, ref))
    out.update(diff_em=d.diff_em, diff_bleu=d.diff_bleu, changed=d.changed)
    out["keystroke"] = timed("keystroke", lambda: whole_table_distance(pred, ref))
    out["keystroke_released"] = timed("keystroke", lambda: whole_table_distance(pred, ref, k_moves_cursor=True))
    out["levenshtein"] = timed("levenshtein", lambda: Levenshtein.distance(pred, ref))
    out["lines_changed"] = timed("lines_changed", lambda: Indel.distance(pred.splitlines(), ref.splitlines()))
    return out


def run_baseline(examples: list[tuple[str, str, str]]) -> tuple[float, dict[str, float], list[dict]]:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    baseline_one("x = 1", "x = 2", "x = 0", {})  # imports and first-call setup are not counted
    timings: dict[str, float] = {}
    start = time.perf_counter()
    rows = [baseline_one(p, r, s, timings) for p, r, s in examples]
    return time.perf_counter() - start, timings, rows


def compare(ours: list[dict], theirs: list[dict]) -> dict[str, int]:
    """Per metric, how many sample rows differ (floats beyond 1e-9)."""
    diffs: dict[str, int] = {}
    for a, b in zip(ours, theirs):
        for name, expected in b.items():
            got = a[name]
            if isinstance(expected, float) and got is not None:
                same = math.isclose(got, expected, rel_tol=0, abs_tol=1e-9)
            else:
                same = got == expected
            diffs[name] = diffs.get(name, 0) + (not same)
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=60,
                        help="pairs the per-example baseline is timed on (it is much slower)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    examples = make_examples(args.n, args.seed)
    ref_q = _quantiles([len(r) for _, r, _ in examples if r])
    pred_q = _quantiles([len(p) for p, _, _ in examples])
    words = _quantiles([len(r.split()) for _, r, _ in examples if r])
    empty = sum(not r for _, r, _ in examples) / len(examples)
    print(f"{len(examples)} pairs; reference chars {ref_q}, words {words}; prediction chars {pred_q}; "
          f"{100 * empty:.0f}% empty references")
    load = os.getloadavg()[0]
    ours, ours_cpu, rows = run_ours(examples, args.workers)
    print(f"ours: {ours:.1f} s wall, {ours_cpu:.1f} s CPU for {len(examples)} examples with "
          f"{args.workers} worker(s) ({1000 * ours / len(examples):.2f} ms/example; load average before: {load:.1f})")
    sample_rng = random.Random(args.seed + 1)
    picks = sorted(sample_rng.sample(range(len(examples)), min(args.baseline_sample, len(examples))))
    base, timings, base_rows = run_baseline([examples[i] for i in picks])
    per = base / len(picks)
    mismatches = compare([rows[i] for i in picks], base_rows)
    print(f"baseline: {base:.1f} s for {len(picks)} examples ({1000 * per:.1f} ms/example, "
          f"~{per * len(examples):.0f} s extrapolated to {len(examples)}); per metric (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])))
    print(f"rows differing from the baseline on the sample: {mismatches}")
    cores = max(1, min(args.workers, len(os.sched_getaffinity(0))))
    result = {
        "benchmark": "metrics_speed", "n_examples": len(examples), "workers": args.workers,
        "cpus": len(os.sched_getaffinity(0)), "reference_chars": ref_q, "reference_words": words,
        "prediction_chars": pred_q, "empty_references": round(empty, 3), "load_avg_before": round(load, 2),
        "ours_s": round(ours, 2), "ours_cpu_s": round(ours_cpu, 2),
        "ours_ms_per_example": round(1000 * ours / len(examples), 3),
        "baseline_sample": len(picks), "baseline_ms_per_example": round(1000 * per, 2),
        "baseline_extrapolated_s": round(per * len(examples), 1),
        "baseline_seconds_by_metric": {k: round(v, 3) for k, v in sorted(timings.items())},
        "speedup_vs_baseline": round(per * len(examples) / ours, 1),
        "sample_rows_differing": {k: v for k, v in sorted(mismatches.items()) if v},
        # On a shared machine the wall time depends on the other jobs; CPU seconds spread over
        # the workers' cores is the wall time the same work takes on an otherwise idle machine.
        "idle_wall_estimate_s": round(ours_cpu / cores, 1),
        "under_a_minute": ours < 60,
    }
    result["under_a_minute_idle_estimate"] = result["idle_wall_estimate_s"] < 60
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

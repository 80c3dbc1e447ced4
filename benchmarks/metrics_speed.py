"""How fast `editflow score` computes every metric, against a naive per-example baseline.

Generates N deterministic (prediction, reference) pairs shaped like notebook edits and model
outputs (1-6 cells of pandas / sklearn / plotting code; predictions are copies, truncations,
repetitions, token edits, unrelated code or empty), then times:
- ours: whitespace tokenization + every per-example metric (batch.score_examples with the
  given number of worker processes) + sacrebleu corpus BLEU, i.e. what `editflow score` does;
- naive: the same definitions the straightforward way, one process, one example at a time:
  nltk BLEU, `codebleu.calc_codebleu` per call, the `rouge` package's Rouge().get_scores,
  rapidfuzz, and the keystroke DP in plain Python (the same kernel without numba and without
  prefix/suffix trimming). The naive run is timed on a sample and extrapolated per example.

    .venv/bin/python benchmarks/metrics_speed.py --n 10000 --workers 2 --naive-sample 40

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

CELLS = [
    "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt",
    "df = pd.read_csv('data/train.csv')\ndf.head()",
    "df = df.dropna(subset=['age', 'fare'])\ndf['age'] = df['age'].astype(int)\ndf.describe()",
    "X = df.drop(columns=['label'])\ny = df['label']\nX_train, X_test, y_train, y_test = "
    "train_test_split(X, y, test_size=0.2, random_state=42)",
    "model = RandomForestClassifier(n_estimators=200, max_depth=8)\nmodel.fit(X_train, y_train)\n"
    "pred = model.predict(X_test)\nprint(accuracy_score(y_test, pred))",
    "plt.figure(figsize=(10, 6))\nplt.plot(history.history['loss'], label='train')\n"
    "plt.plot(history.history['val_loss'], label='val')\nplt.legend()\nplt.show()",
    "def preprocess(text):\n    text = text.lower()\n    tokens = [t for t in text.split() if t not in STOP]\n"
    "    return ' '.join(tokens)\n\ndf['clean'] = df['text'].apply(preprocess)",
    "for epoch in range(EPOCHS):\n    model.train()\n    for xb, yb in loader:\n        opt.zero_grad()\n"
    "        loss = loss_fn(model(xb), yb)\n        loss.backward()\n        opt.step()\n"
    "    print(f'epoch {epoch}: {loss.item():.4f}')",
    "corr = df.corr()\nsns.heatmap(corr, annot=True, cmap='coolwarm')\nplt.title('Corrélation')",
    "%matplotlib inline\nsubmission = pd.DataFrame({'id': test['id'], 'target': pred})\n"
    "submission.to_csv('submission.csv', index=False)",
]
EDITS = ["x", "df", "np.mean(", ")", "0.5", "label", "=", "(", "data.", "print(df)", "é"]


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        ref = "\n\n".join(rng.choice(CELLS) for _ in range(rng.randint(1, 6)))
        kind = rng.random()
        if kind < 0.1:
            pred = ref
        elif kind < 0.13:
            pred = ""
        elif kind < 0.23:
            pred = "\n\n".join(rng.choice(CELLS) for _ in range(rng.randint(1, 6)))
        elif kind < 0.33:
            pred = ref[: rng.randint(0, len(ref))]
        elif kind < 0.4:
            lines = ref.split("\n")
            pred = "\n".join(lines + lines[: rng.randint(1, len(lines))])
        else:
            tokens = ref.split(" ")
            for _ in range(rng.randint(1, 8)):
                pos = rng.randrange(len(tokens) + 1)
                op = rng.random()
                if op < 0.4 and tokens:
                    tokens[min(pos, len(tokens) - 1)] = rng.choice(EDITS)
                elif op < 0.7:
                    tokens.insert(pos, rng.choice(EDITS))
                elif tokens:
                    del tokens[min(pos, len(tokens) - 1)]
            pred = " ".join(tokens)
        pairs.append((pred, ref))
    return pairs


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker pool)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_ours(pairs: list[tuple[str, str]], workers: int) -> tuple[float, float]:
    from editflow.metrics.batch import Pair, score_examples, warm_up
    from editflow.metrics.bleu import corpus_bleu
    from editflow.metrics.tokenize import whitespace_tokenizer

    warm_up()  # numba kernels load from their cache, CodeBLEU's parser is built: not per-run work
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    tok = whitespace_tokenizer()
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    batch = [Pair(p, r, pt, rt) for p, r, pt, rt in zip(preds, refs, tok.batch(preds), tok.batch(refs))]
    rows, _ = score_examples(batch, workers=workers)
    corpus_bleu(preds, refs)
    assert len(rows) == len(pairs)
    return time.perf_counter() - start, _cpu_seconds() - cpu0


def naive_one(pred: str, ref: str) -> dict:
    import numpy as np
    from codebleu import calc_codebleu
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel, Levenshtein
    from rouge import Rouge

    from editflow.metrics.keystroke import _keystroke_kernel
    from editflow.metrics.match import exact_match_normalized

    g, p = ref.split(), pred.split()
    out = {"em": 100.0 * (g == p and bool(g)), "em_normalized": exact_match_normalized(ref, pred)}
    if g and p:
        out["bleu"] = 100 * sentence_bleu([g], p, smoothing_function=SmoothingFunction().method2, auto_reweigh=True)
        out["codebleu"] = 100 * calc_codebleu([ref], [pred], "python")["codebleu"]
        out["edit_sim"] = fuzz.ratio(" ".join(g), " ".join(p))
        try:
            out["rouge"] = Rouge(metrics=["rouge-l"]).get_scores(" ".join(p), " ".join(g))[0]
        except ValueError:
            pass
    kernel = getattr(_keystroke_kernel, "py_func", _keystroke_kernel)
    codes = [np.array([ord(c) for c in s], dtype=np.int64) for s in (pred, ref)]
    out["keystroke"] = int(kernel(codes[0], codes[1], 4))
    out["levenshtein"] = Levenshtein.distance(pred, ref)
    out["lines_changed"] = Indel.distance(pred.splitlines(), ref.splitlines())
    return out


def run_naive(pairs: list[tuple[str, str]]) -> float:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    naive_one("x = 1", "x = 2")  # imports and first-call setup are not counted
    start = time.perf_counter()
    for pred, ref in pairs:
        naive_one(pred, ref)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive-sample", type=int, default=40,
                        help="pairs the naive baseline is timed on (it is ~100x slower)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pairs = make_pairs(args.n, args.seed)
    chars = sum(len(p) + len(r) for p, r in pairs) / (2 * len(pairs))
    tokens = sum(len(p.split()) + len(r.split()) for p, r in pairs) / (2 * len(pairs))
    print(f"{len(pairs)} pairs, mean {chars:.0f} chars / {tokens:.0f} whitespace tokens per text")
    load = os.getloadavg()[0]
    ours, ours_cpu = run_ours(pairs, args.workers)
    print(f"ours:  {ours:.1f} s wall, {ours_cpu:.1f} s CPU for {len(pairs)} examples with "
          f"{args.workers} worker(s) ({1000 * ours / len(pairs):.2f} ms/example; load average "
          f"before: {load:.1f})")
    sample = pairs[: args.naive_sample]
    naive = run_naive(sample)
    naive_per = naive / len(sample)
    print(f"naive: {naive:.1f} s for {len(sample)} examples ({1000 * naive_per:.1f} ms/example, "
          f"~{naive_per * len(pairs):.0f} s extrapolated to {len(pairs)})")
    result = {
        "benchmark": "metrics_speed", "n_examples": len(pairs), "workers": args.workers,
        "cpus": len(os.sched_getaffinity(0)), "mean_chars": round(chars, 1), "mean_tokens": round(tokens, 1),
        "load_avg_before": round(load, 2),
        "ours_s": round(ours, 2), "ours_cpu_s": round(ours_cpu, 2),
        "ours_ms_per_example": round(1000 * ours / len(pairs), 3),
        "naive_sample": len(sample), "naive_ms_per_example": round(1000 * naive_per, 2),
        "naive_extrapolated_s": round(naive_per * len(pairs), 1),
        "speedup_vs_naive": round(naive_per * len(pairs) / ours, 1),
        # On a shared machine the wall time depends on the other jobs; CPU seconds spread over
        # the workers' cores is the wall time the same work takes on an otherwise idle machine.
        "idle_wall_estimate_s": round(ours_cpu / max(1, min(args.workers, len(os.sched_getaffinity(0)))), 1),
        "under_a_minute": ours < 60,
    }
    result["under_a_minute_idle_estimate"] = result["idle_wall_estimate_s"] < 60
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

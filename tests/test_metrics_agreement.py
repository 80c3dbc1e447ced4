"""On 520 (>= 500) generated (prediction, reference) pairs shaped like model outputs, the per-example
bleu, edit_sim, rouge_l_f and em of `editflow score` agree with independent implementations
of the same definitions (nltk called directly, rapidfuzz's Indel similarity, and an LCS
written here) within 0.5 points on >= 98% of the examples."""
from __future__ import annotations

import os
import random

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rapidfuzz.distance import Indel

from editflow.metrics import batch
from editflow.metrics.batch import Pair, score_examples

SNIPPETS = [
    "import numpy as np\nimport pandas as pd\ndf = pd.read_csv('data.csv')\ndf.head()",
    "def train(model, loader, epochs=3):\n    for epoch in range(epochs):\n        for x, y in loader:\n"
    "            loss = model(x, y)\n            loss.backward()\n    return model",
    "plt.figure(figsize=(8, 6))\nplt.plot(history.history['loss'], label='loss')\nplt.legend()\nplt.show()",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)",
    "model = RandomForestClassifier(n_estimators=100)\nmodel.fit(X_train, y_train)\nprint(model.score(X_test, y_test))",
    "# %%\nname = 'données'\nprint(f'{name}: {len(name)}')  # ünïcode ✓",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n    else:\n        continue",
]


def _mutate(rng: random.Random, text: str) -> str:
    """A prediction derived from the reference the way model outputs differ from it."""
    tokens = text.split(" ")
    kind = rng.random()
    if kind < 0.1:
        return text                                           # exact copy
    if kind < 0.15:
        return ""                                             # empty output
    if kind < 0.25:
        return rng.choice(SNIPPETS)                           # unrelated code
    if kind < 0.35:
        return text[: rng.randint(0, len(text))]              # truncated generation
    if kind < 0.45:
        lines = text.split("\n")
        return "\n".join(lines + lines[: rng.randint(1, len(lines))])   # repetition
    out = list(tokens)
    for _ in range(rng.randint(1, 6)):                        # token edits
        op = rng.random()
        pos = rng.randrange(len(out) + 1)
        if op < 0.4 and out:
            out[min(pos, len(out) - 1)] = rng.choice(["x", "df", "np.mean(", ")", "é", "0.5", "."])
        elif op < 0.7:
            out.insert(pos, rng.choice(["foo", "=", "(", "data.", "ß"]))
        elif out:
            del out[min(pos, len(out) - 1)]
    return " ".join(out)


def _pairs(n: int) -> list[Pair]:
    rng = random.Random(2024)
    pairs = []
    for _ in range(n):
        ref = rng.choice(SNIPPETS)
        if rng.random() < 0.3:
            ref = ref + "\n" + rng.choice(SNIPPETS)
        pred = _mutate(rng, ref)
        pairs.append(Pair(pred, ref, pred.split(), ref.split()))
    return pairs


def _lcs_words(x: list[str], y: list[str]) -> set[str]:
    """LCS table + back-trace (x wins ties towards moving left, as the rouge package does)."""
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x[i - 1] == y[j - 1] else max(table[i - 1][j], table[i][j - 1])
    words, i, j = set(), len(x), len(y)
    while i and j:
        if x[i - 1] == y[j - 1]:
            words.add(x[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def _independent_rouge_f(gold: list[str], pred: list[str]) -> float:
    def sentences(text: str) -> list[list[str]]:
        return [" ".join(s.split()).split(" ") for s in text.split(".") if s]

    if not gold or not pred:
        return 0.0
    ref, hyp = sentences(" ".join(gold)), sentences(" ".join(pred))
    if not ref or not hyp:
        return 0.0
    union: set[str] = set()
    for r in ref:
        for h in hyp:
            union |= _lcs_words(r, h)
    rec = len(union) / len({w for s in ref for w in s})
    prec = len(union) / len({w for s in hyp for w in s})
    return 100 * 2 * prec * rec / (prec + rec + 1e-8)


def _independent(pair: Pair) -> dict[str, float]:
    g, p = pair.gold_tokens, pair.pred_tokens
    if not g or not p:
        return {"bleu": 0.0, "edit_sim": 0.0, "rouge_l_f": 0.0, "em": 0.0}
    return {
        "bleu": 100 * sentence_bleu([g], p, smoothing_function=SmoothingFunction().method2, auto_reweigh=True),
        "edit_sim": 100 * Indel.normalized_similarity(" ".join(g), " ".join(p)),
        "rouge_l_f": _independent_rouge_f(g, p),
        "em": 100.0 if g == p else 0.0,
    }


def test_per_example_scores_agree_with_independent_implementations():
    pairs = _pairs(520)
    rows, stats = score_examples(pairs, workers=2)
    assert stats.n == 520
    for metric in ("bleu", "edit_sim", "rouge_l_f", "em"):
        close = sum(abs(row[metric] - _independent(pair)[metric]) <= 0.5 for row, pair in zip(rows, pairs))
        assert close / len(pairs) >= 0.98, (metric, close)
    # the generator covers the edge cases it should
    assert sum(not p.pred_tokens for p in pairs) > 10
    assert sum(p.pred_tokens == p.gold_tokens for p in pairs) > 30


def test_worker_pool_gives_the_same_rows_in_the_same_order():
    pairs = _pairs(100)
    serial, _ = score_examples(pairs, workers=1)
    parallel, stats = score_examples(pairs, workers=2, chunk_size=16)
    assert stats.n == 100
    assert parallel == serial


_PARENT = os.getpid()
_REAL_SCORE_CHUNK = batch.score_chunk


def _flaky_score_chunk(chunk):
    """score_chunk, except that a worker handed the pair with reference 'die' dies."""
    if os.getpid() != _PARENT and chunk[0].reference == "die":
        os._exit(1)  # a worker killed mid-way (OOM killer, segfault in a parser)
    return _REAL_SCORE_CHUNK(chunk)


def test_a_dying_worker_does_not_lose_rows(monkeypatch):
    monkeypatch.setattr(batch, "score_chunk", _flaky_score_chunk)
    pairs = [Pair("x = 1", "x = 1", ["x", "=", "1"], ["x", "=", "1"]) for _ in range(4)]
    pairs += [Pair("y", "die", ["y"], ["die"])] + pairs
    rows, stats = score_examples(pairs, workers=2, chunk_size=2)
    assert stats.n == len(pairs) == len(rows)
    assert [r["em"] for r in rows] == [100.0] * 4 + [0.0] + [100.0] * 4

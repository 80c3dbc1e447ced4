"""Structural metrics: the papers' accuracy and the diagnostics around it.

Per prediction (all 0-100 shares per row, so that the aggregation's means and CIs read as %):
- `script_em`: the predicted operations equal the gold script (operation by operation; the
  path text after `|` is checked by the decoder, not compared). For a one-pass prediction,
  its script is the GumTree script from P to the predicted code.
- `tree_em`: the decoded tree equals the post-edit tree (C3PO's accuracy).
- `apply_clean`: the prediction decoded (script applied, or code parsed) without error.
- `grammar_valid`: the decoded code is grammatical (it parses).
- `tree_distance`: tree edit distance (APTED, unit costs, labels with values) between the
  decoded tree (the unchanged P when decoding failed) and the post-edit tree.
- `op_precision` / `op_recall` and per kind (`op_mov_precision`, ...): the predicted
  operations against the gold ones as multisets; NaN where a denominator is zero.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from editflow.trees.languages import Language
from editflow.trees.matching import _apted, ted_config
from editflow.trees.node import Node
from editflow.trees.script import KINDS, Op, edit_script

TED_MAX_NODES = 1000   # APTED is cubic in the worst case: larger pairs get NaN


def tree_distance(a: Node, b: Node) -> float:
    if a.size() > TED_MAX_NODES or b.size() > TED_MAX_NODES:
        return math.nan
    return float(_apted().APTED(a, b, ted_config(1)).compute_edit_distance())


def op_counts(pred: list[Op], gold: list[Op]) -> dict[str, tuple[int, int, int]]:
    """kind -> (matched, predicted, gold) over operation multisets; key "all" sums them."""
    p = Counter(o.signature() for o in pred)
    g = Counter(o.signature() for o in gold)
    out = {}
    for kind in KINDS:
        pk = {k: v for k, v in p.items() if k[0] == kind}
        gk = {k: v for k, v in g.items() if k[0] == kind}
        hit = sum(min(v, gk.get(k, 0)) for k, v in pk.items())
        out[kind] = (hit, sum(pk.values()), sum(gk.values()))
    out["all"] = tuple(sum(v[i] for v in out.values()) for i in range(3))
    return out


def _ratio(a: int, b: int) -> float:
    return 100.0 * a / b if b else math.nan


@dataclass
class Row:
    source: str
    reference: str
    applied: str
    decode_ok: bool
    pred_ops: list[Op] | None      # None: derive from the decoded code (one-pass predictions)


SCORE_NAMES = ("script_em", "tree_em", "apply_clean", "grammar_valid", "tree_distance",
               "op_precision", "op_recall") + tuple(
    f"op_{k.lower()}_{m}" for k in KINDS for m in ("precision", "recall"))


def score_rows(rows: list[Row], lang: Language) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in SCORE_NAMES}
    for r in rows:
        try:
            pre, gold = lang.parse(r.source), lang.parse(r.reference)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            for name in SCORE_NAMES:
                out[name].append(math.nan)
            continue
        got = None
        if r.decode_ok:
            try:
                got = lang.parse(r.applied)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                got = None
        gold_ops = edit_script(pre, gold)
        pred_ops = r.pred_ops
        if pred_ops is None:
            try:
                pred_ops = edit_script(pre, got) if got is not None else []
            except ValueError:
                pred_ops = []
        out["script_em"].append(100.0 * ([o.signature() for o in pred_ops]
                                         == [o.signature() for o in gold_ops]))
        out["tree_em"].append(100.0 * (got is not None and got.same_tree(gold)))
        out["apply_clean"].append(100.0 * bool(r.decode_ok))
        out["grammar_valid"].append(100.0 * (got is not None))
        out["tree_distance"].append(tree_distance(got if got is not None else pre, gold))
        counts = op_counts(pred_ops, gold_ops)
        hit, npred, ngold = counts["all"]
        out["op_precision"].append(_ratio(hit, npred))
        out["op_recall"].append(_ratio(hit, ngold))
        for k in KINDS:
            hit, npred, ngold = counts[k]
            out[f"op_{k.lower()}_precision"].append(_ratio(hit, npred))
            out[f"op_{k.lower()}_recall"].append(_ratio(hit, ngold))
    return out

"""Every metric pinned to hand-computed values, including the edge cases (empty, identical,
one token, unicode). The arithmetic is in the comments."""
from __future__ import annotations

import math
import random

import pytest

from editflow.metrics.bleu import corpus_bleu, sentence_bleu
from editflow.metrics.codebleu_metric import codebleu
from editflow.metrics.keystroke import (keystroke_distance, keystroke_distance_reference,
                                        keystroke_distance_released, keystroke_distance_rules,
                                        levenshtein, lines_changed, whole_table_distance)
from editflow.metrics.match import exact_match, exact_match_normalized, normalize_code
from editflow.metrics.passk import pass_at_k, pass_at_k_by_group
from editflow.metrics.rouge import rouge_l, rouge_l_package
from editflow.metrics.similarity import edit_sim

W = str.split


# ---- exact match -------------------------------------------------------------------------
def test_exact_match():
    assert exact_match(W("a b"), W("a b")) == 100.0
    assert exact_match(W("a b"), W("a")) == 0.0
    assert exact_match([], []) == 0.0            # empty gold or prediction -> 0
    assert exact_match(W("x"), []) == 0.0
    assert exact_match(["é"], ["é"]) == 100.0    # one token, unicode
    assert exact_match(["é"], ["e"]) == 0.0


def test_exact_match_normalized():
    # keyword order, comments and spacing do not matter
    assert exact_match_normalized("f(a=2, b=1)", "f(b=1,  a=2)  # swap") == 100.0
    # nested calls are sorted too
    assert exact_match_normalized("g(f(y=1, x=2), z=0)", "g(f(x=2, y=1), z=0)") == 100.0
    assert exact_match_normalized("g(f(y=1, x=2), z=0)", "g(f(2, 1), z=0)") == 0.0
    # docstrings dropped (module, def, async def, class)
    assert exact_match_normalized('def f():\n    """doc"""\n    return 1\n', "def f():\n    return 1") == 100.0
    assert exact_match_normalized('async def f():\n    "doc"\n    return 1', "async def f():\n    return 1") == 100.0
    assert exact_match_normalized('"""module doc"""\nclass A:\n    """d"""\n    x = 1', "class A:\n    x = 1") == 100.0
    # different code
    assert exact_match_normalized("x = 1", "x = 2") == 0.0
    # notebook magics parse and count
    assert exact_match_normalized("%matplotlib inline\nx=1", "%matplotlib inline\nx = 1") == 100.0
    assert exact_match_normalized("%matplotlib inline\nx=1", "x = 1") == 0.0
    # unparsable: whitespace-normalized text comparison
    assert normalize_code("def f(:\n  x") is None
    assert exact_match_normalized("def f(:\n  x", "def  f(:\n\tx") == 100.0
    assert exact_match_normalized("def f(:\n  x", "def f(:\n  y") == 0.0
    # empty
    assert exact_match_normalized("", "") == 0.0
    assert exact_match_normalized("x = 1", "   \n") == 0.0
    assert exact_match_normalized("s = 'é'", "s = 'é'  # ünïcode") == 100.0


# ---- BLEU ------------------------------------------------------------------------------------
def test_sentence_bleu_hand_computed():
    # gold a b c d, pred a b c e: p1 = 3/4; method2 adds 1 to num and den for n >= 2:
    # p2 = (2+1)/(3+1) = 3/4, p3 = (1+1)/(2+1) = 2/3, p4 = (0+1)/(1+1) = 1/2, BP = 1
    expected = 100 * (0.75 * 0.75 * (2 / 3) * 0.5) ** 0.25
    assert sentence_bleu(W("a b c d"), W("a b c e")) == pytest.approx(expected, abs=1e-9)
    assert sentence_bleu(W("a b c d"), W("a b c d")) == pytest.approx(100.0)
    # one token: auto re-weighting uses weights (1,) -> unigram precision 1
    assert sentence_bleu(["x"], ["x"]) == pytest.approx(100.0)
    # two tokens, one right: weights (1/2, 1/2): p1 = 1/2, p2 = (0+1)/(1+1) = 1/2 -> 50
    assert sentence_bleu(W("a b"), W("a c")) == pytest.approx(50.0)
    # brevity penalty: pred a b of gold a b c d: p1 = 1, p2 = (1+1)/(1+1) = 1, BP = exp(1 - 4/2)
    assert sentence_bleu(W("a b c d"), W("a b")) == pytest.approx(100 * math.exp(-1.0))
    assert sentence_bleu([], W("a")) == 0.0
    assert sentence_bleu(W("a"), []) == 0.0
    assert sentence_bleu(["日本"], ["日本"]) == pytest.approx(100.0)


def test_corpus_bleu_records_signature():
    score, signature = corpus_bleu(["a b c d"], ["a b c d"])
    assert score == pytest.approx(100.0)
    assert "tok:13a" in signature and "version:" in signature and "nrefs:1" in signature
    assert corpus_bleu([], [])[0] == 0.0


# ---- edit similarity ---------------------------------------------------------------------
def test_edit_sim_hand_computed():
    # "ab" vs "ac": LCS 1, indel distance 2, ratio = 1 - 2 / 4
    assert edit_sim(["ab"], ["ac"]) == pytest.approx(50.0)
    # tokens are space-joined: "a b" vs "a c" -> LCS "a " (2), distance 2, 1 - 2/6
    assert edit_sim(W("a b"), W("a c")) == pytest.approx(100 * (1 - 2 / 6))
    assert edit_sim(W("x y"), W("x y")) == 100.0
    assert edit_sim(["日本"], ["日本語"]) == pytest.approx(100 * (1 - 1 / 5))
    assert edit_sim([], ["a"]) == 0.0
    assert edit_sim(["a"], []) == 0.0


# ---- ROUGE-L ------------------------------------------------------------------------------
def test_rouge_l_hand_computed():
    # gold "a b . c" -> sentences [a b] [c]; pred [a c]. m = |{a,b,c}| = 3, n = |{a,c}| = 2;
    # LCS([a b],[a c]) = {a}, LCS([c],[a c]) = {c}: union 2 -> r = 2/3, p = 1
    p, r, f = rouge_l(W("a b . c"), W("a c"))
    assert p == pytest.approx(100.0)
    assert r == pytest.approx(200 / 3)
    assert f == pytest.approx(100 * 2 * (2 / 3) / (5 / 3 + 1e-8))
    # distinct words only (the package's exclusive=True): "a a a" vs "a" is perfect
    assert rouge_l(W("a a a"), W("a")) == pytest.approx((100.0, 100.0, 100 * 2 / (2 + 1e-8)))
    # identical, one token, unicode, empty
    assert rouge_l(["é"], ["é"])[0] == pytest.approx(100.0)
    assert rouge_l(W("x y"), W("z")) == (0.0, 0.0, 0.0)
    assert rouge_l([], ["a"]) == (0.0, 0.0, 0.0)
    assert rouge_l(["."], ["a"]) == (0.0, 0.0, 0.0)  # only a "." -> no sentence -> 0 (teco)


def test_rouge_l_refuses_gigantic_tables(monkeypatch):
    from editflow.metrics import rouge

    monkeypatch.setattr(rouge, "MAX_TABLE_CELLS", 20)
    assert rouge.rouge_l(W("a b c d e"), W("a b c d e")) == (None, None, None)  # 6 x 6 > 20
    assert rouge.rouge_l(W("a b . c d"), W("a b c")) != (None, None, None)      # 3 x 4 <= 20


def test_rouge_l_equals_the_package_on_random_code_like_tokens():
    rng = random.Random(7)
    vocab = ["np", ".", "array", "(", ")", "x", "=", "1", ",", "import", "as", "é", ". .", "a.b"]
    for _ in range(400):
        g = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
        p = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
        assert rouge_l(g, p) == pytest.approx(rouge_l_package(g, p), abs=1e-9)


# ---- CodeBLEU -------------------------------------------------------------------------------
def test_codebleu_matches_the_package_and_edges():
    from codebleu import calc_codebleu

    ref = "def f(a, b=2):\n    c = a + b\n    return c\n"
    for pred in (ref, ref.replace("b=2", "b=3"), "def (", "x"):
        expected = 100 * calc_codebleu([ref], [pred], "python")["codebleu"]
        assert codebleu(ref, pred, ref.split(), pred.split()) == pytest.approx(expected, abs=1e-9)
    assert codebleu(ref, ref, ref.split(), ref.split()) == pytest.approx(100.0)
    assert codebleu(ref, "", ref.split(), []) == 0.0
    assert codebleu("", ref, [], ref.split()) == 0.0
    # the package counts a missing reference data flow as 1 (kept, documented): "x" vs "y"
    # = 0.25 * (bleu 0 + weighted 0 + syntax 1 + dataflow->1)... syntax of "x" vs "y" matches
    assert codebleu("x", "y", ["x"], ["y"]) == pytest.approx(
        100 * calc_codebleu(["x"], ["y"], "python")["codebleu"])


def test_codebleu_hand_computed_components():
    from editflow.metrics.codebleu_metric import codebleu_components

    # identical 5-token code: every n-gram order up to 4 matches, AST and data flow match
    assert codebleu("a = b + c", "a = b + c", W("a = b + c"), W("a = b + c")) == pytest.approx(100.0)
    # identical 3 tokens: no 4-gram at all; the package's BLEU gives that order 0.1 / 1
    # (epsilon smoothing), so ngram = (1 * 1 * 1 * 0.1) ** (1/4) and the total is below 100
    parts = codebleu_components("x = 1", "x = 1", W("x = 1"), W("x = 1"))
    assert parts["ngram_match_score"] == pytest.approx(0.1 ** 0.25)
    assert parts["syntax_match_score"] == 1.0 and parts["dataflow_match_score"] == 1.0
    assert parts["codebleu"] == pytest.approx(0.25 * (0.1 ** 0.25 + parts["weighted_ngram_match_score"] + 2))
    assert codebleu("s = 'é'", "s = 'é'", W("s = 'é'"), W("s = 'é'")) == pytest.approx(100 * parts["codebleu"])


def test_codebleu_failure_is_none_not_a_crash(monkeypatch):
    from editflow.metrics import codebleu_metric

    def boom(*args, **kwargs):
        raise RecursionError("deep")

    monkeypatch.setattr(codebleu_metric, "codebleu_components", boom)
    assert codebleu_metric.codebleu("x = 1", "x = 1", ["x"], ["x"]) is None


# ---- edit costs -----------------------------------------------------------------------------
def test_keystroke_hand_computed():
    """Cases where appendix A.1 and the released code agree (no deletion of 3+ characters)."""
    for distance in (keystroke_distance, keystroke_distance_released):
        # type 3 chars: move the cursor there (4) + 3 adds
        assert distance("", "abc") == 7
        assert distance("abc", "abc") == 0
        assert distance("", "") == 0
        # one extra char: match "ab" (cursor stays away), C(4) + D(1), match "c"
        assert distance("abXc", "abc") == 5
        assert distance("abc", "abXc") == 5
        # two chars gone: C(4) + D + D = 6 (A.1: C(4) + S + K K + E = 6 too; released: S, K K,
        # C(2) + E = 8)
        assert distance("xy", "") == 6
        # unicode counts characters: C(4) + D(1) + A(1)
        assert distance("é", "e") == 6
        assert distance("x = 1\ny = 2\n", "x = 1\ny = 3\n") == 6


def test_keystroke_paper_and_released_differ_on_long_deletions():
    # A.1: K keeps the cursor, so a selection of any length goes for S(1) + E(1):
    # "abc" -> "": C(4) + S + K K K + E = 6 < C(4) + 3 deletes = 7
    assert keystroke_distance("abc", "") == 6
    # released: K moves the cursor away, ending costs C(min(3, 4)) + E: 4 + 1 + 3 + 1 = 9 > 7
    assert keystroke_distance_released("abc", "") == 7
    # ten extra chars: A.1 C(4) + S + 10 K + E = 6; released C(4) + S + 10 K + C(4) + E = 10
    assert keystroke_distance("a0123456789b", "ab") == 6
    assert keystroke_distance_released("a0123456789b", "ab") == 10
    # a replaced call: "print(x)" -> "show()"; after trimming "a\n" and ")\nb": "print(x" ->
    # "show(". A.1: C(4) + type "show(" (5) + S + 7 K + E = 11; released: the deletion ends
    # with C(4) + E, 4 + 5 + 1 + 4 + 1 = 15
    assert keystroke_distance("a\nprint(x)\nb", "a\nshow()\nb") == 11
    assert keystroke_distance_released("a\nprint(x)\nb", "a\nshow()\nb") == 15


def test_keystroke_fast_kernels_equal_the_rules():
    """The compiled DPs with prefix/suffix trimming equal a search over the rules as written
    (both K conventions) and, released, a transcription of the authors' recursion."""
    rng = random.Random(3)
    for _ in range(1500):
        a = "".join(rng.choice("ab c\n(") for _ in range(rng.randint(0, 10)))
        b = "".join(rng.choice("ab c\n(") for _ in range(rng.randint(0, 10)))
        released = keystroke_distance_reference(a, b)
        assert keystroke_distance_released(a, b) == released, (a, b)
        assert keystroke_distance_rules(a, b, k_moves_cursor=True) == released, (a, b)
        assert keystroke_distance(a, b) == keystroke_distance_rules(a, b), (a, b)
    assert keystroke_distance("x" * 50, "y" * 50, max_cells=100) is None
    assert keystroke_distance_released("x" * 50, "y" * 50, max_cells=100) is None


@pytest.mark.parametrize("slack", [0, 1, 3, 64])
def test_keystroke_lcs_region_is_exact(monkeypatch, slack):
    """Long tables are computed only where an LCS bound allows a path of cost <= U, with an
    exact retry: force that path (never the whole table) on small random and adversarial
    pairs (runs of one letter, shifted repeats, more than 64 characters so blocks differ)
    and compare with the rules."""
    from editflow.metrics import keystroke

    monkeypatch.setattr(keystroke, "_FULL_TABLE_CELLS", 0)
    monkeypatch.setattr(keystroke, "_SLACK", slack)
    monkeypatch.setattr(keystroke, "_WHOLE_TABLE_SHARE", 2.0)
    rng = random.Random(slack)
    pairs = [("a" * 12, "a" * 3), ("ab" * 6, "ba" * 6), ("abc" * 4, "c" + "abc" * 3), ("x" * 9, "y"),
             ("ab" * 40, "ba" * 41), ("x" * 70 + "y", "y" + "x" * 70)]
    for _ in range(500):
        a = "".join(rng.choice("ab (") for _ in range(rng.randint(1, 12)))
        b = "".join(rng.choice("ab (") for _ in range(rng.randint(0, 12)))
        pairs.append((a, b))
    for a, b in pairs:
        assert keystroke_distance_released(a, b) == keystroke_distance_reference(a, b), (a, b)
        assert keystroke_distance(a, b) == keystroke_distance_rules(a, b), (a, b)
    for _ in range(60):                    # several 64-character blocks: the whole-table DP
        a = "".join(rng.choice("ab c\n") for _ in range(rng.randint(50, 300)))
        b = "".join(rng.choice("ab c\n") for _ in range(rng.randint(50, 300)))
        for released in (False, True):
            fast = keystroke_distance_released if released else keystroke_distance
            assert fast(a, b) == whole_table_distance(a, b, k_moves_cursor=released), (a, b)
    # a jump cost of 0 (C is free) bounds with characters instead of bigrams (A.1 only: the
    # released code can never end a deletion with a jump cost of 0, so trimming is not exact)
    for a, b in pairs[:200]:
        assert keystroke_distance(a, b, cursor_jump_cost=0) == keystroke_distance_rules(a, b, 0), (a, b)


def test_keystroke_line_diff_cost_is_a_real_path():
    """The line-diff upper bound is never below the distance (else the region could miss
    the optimum), and equals it on a one-line replacement typed out."""
    from editflow.metrics.keystroke import _line_diff_cost

    rng = random.Random(11)
    for _ in range(300):
        a = "\n".join("".join(rng.choice("ab c") for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(1, 4)))
        b = "\n".join("".join(rng.choice("ab c") for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(1, 4)))
        assert _line_diff_cost(a, b, 4, False) >= keystroke_distance_rules(a, b)
        assert _line_diff_cost(a, b, 4, True) >= keystroke_distance_reference(a, b)
    # "x\ny\nz" -> "x\nYY\nz": C(4) + S + K K + E (2 chars "y\n") ... + type "YY\n" (3)
    assert _line_diff_cost("x\ny\nz", "x\nYY\nz", 4, False) == 4 + 2 + 3


def test_keystroke_region_equals_whole_table_on_code():
    """Whole-notebook-sized pairs (the LCS region) against the DP over the whole table."""
    rng = random.Random(7)
    code = "\n".join(f"df_{i} = pd.read_csv('part_{i}.csv')\nprint(df_{i}.shape)" for i in range(60))
    for _ in range(8):
        lines = code.split("\n")
        for _ in range(rng.randint(1, 5)):
            k = rng.randrange(len(lines))
            lines[k] = rng.choice(["x = 1", lines[k].replace("df", "frame"), "", lines[k] * 2])
        pred = "\n".join(lines)[: rng.randint(200, len(code))]
        assert keystroke_distance(pred, code) == whole_table_distance(pred, code)
        assert keystroke_distance_released(pred, code) == whole_table_distance(pred, code, k_moves_cursor=True)
        assert keystroke_distance(code, pred) == whole_table_distance(code, pred)


def test_levenshtein_and_lines_changed():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("日本", "日本語") == 1
    assert lines_changed("a\nb\nc", "a\nB\nc") == 2     # one line replaced: - b, + B
    assert lines_changed("a\nb", "a\nb\nc") == 1
    assert lines_changed("", "x\ny") == 2
    assert lines_changed("a\nb\n", "a\nb") == 0         # splitlines: final newline is no line
    assert lines_changed("same", "same") == 0


# ---- pass@k ---------------------------------------------------------------------------------
def test_pass_at_k_hand_computed():
    assert pass_at_k(5, 0, 1) == 0.0
    assert pass_at_k(5, 5, 1) == 100.0
    assert pass_at_k(5, 2, 1) == pytest.approx(40.0)
    # 1 - C(7,2)/C(10,2) = 1 - 21/45
    assert pass_at_k(10, 3, 2) == pytest.approx(100 * (1 - 21 / 45))
    assert pass_at_k(3, 2, 2) == 100.0                  # n - c < k: every pair has a pass
    assert pass_at_k(1, 1, 2) is None                   # n < k: undefined
    with pytest.raises(ValueError):
        pass_at_k(2, 3, 1)
    cols = pass_at_k_by_group(["a", "a", "b", "c"], [True, False, None, False], [1])
    assert cols[1] == [50.0, 50.0, None, 0.0]

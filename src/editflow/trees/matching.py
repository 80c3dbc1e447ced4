"""GumTree node matching (Falleri et al. 2014), hand-written over `Node`.

Three phases, as C3PO uses them:
1. top-down: isomorphic subtrees (equal hashes of labels and values) of height >= min_height,
   highest first; a subtree with several isomorphic partners is decided by the Dice
   similarity of the parents ("anchors");
2. bottom-up: an unmatched inner node is matched to the same-label node sharing the most
   matched descendants when their Dice similarity exceeds min_dice ("containers");
3. recovery inside each container pair, as GumTree's hybrid matcher does it: pairs of at
   most `ted_max_size` nodes get the optimal tree edit distance mapping (APTED, the `apted`
   package; nodes of a mapped pair must share their label); larger pairs get GumTree's linear
   "simple" recovery -- longest common subsequence of the unmatched children by isomorphism,
   then by shape (labels only), then labels unique on both sides, recursively -- because the
   cubic optimal step would break the 10,000-node bound.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from editflow.trees.node import Node


@dataclass
class Mapping:
    """A one-to-one node mapping src <-> dst (by identity)."""
    src_to_dst: dict[int, Node] = field(default_factory=dict)
    dst_to_src: dict[int, Node] = field(default_factory=dict)

    def add(self, a: Node, b: Node) -> None:
        self.src_to_dst[id(a)] = b
        self.dst_to_src[id(b)] = a

    def src_matched(self, a: Node) -> bool:
        return id(a) in self.src_to_dst

    def dst_matched(self, b: Node) -> bool:
        return id(b) in self.dst_to_src

    def __len__(self) -> int:
        return len(self.src_to_dst)


@dataclass(frozen=True)
class MatchSettings:
    min_height: int = 2        # GumTree's default (gt.stm.mh)
    min_dice: float = 0.5      # GumTree's default (gt.bum.smt)
    max_candidates: int = 1000  # isomorphic pairs of one hash considered pairwise (then in order)
    ted_max_size: int = 50     # ours: optimal recovery up to C3PO's fragment size (APTED in pure
                               # Python takes ~0.2 s at 100 nodes, ~0.03 s at 50)


def _apted():
    try:
        import apted
    except ImportError:
        raise ImportError("editflow.trees needs the `apted` package: pip install 'editflow[trees]'") from None
    return apted


def ted_config(label_change_cost: int = 1):
    """APTED costs over Node: delete/insert 1, relabel `label_change_cost` when the labels
    differ (matching uses 3, so that nodes of different types are never paired), 1 when only
    values or roles do."""
    Config = _apted().Config

    class _Costs(Config):
        def rename(self, x, y):
            if x.label != y.label:
                return label_change_cost
            return int(x.value != y.value or x.role != y.role)

        def children(self, x):
            return x.children

    return _Costs()


def _index(root: Node, hashes: dict, heights: dict, sizes: dict) -> None:
    """One post-order pass: each subtree's isomorphism key, height and size (by node id).

    The key is Python's hash of (label, value, children's keys): equal subtrees get equal
    keys; a collision would only offer the top-down phase a wrong candidate pair, which the
    matcher then maps node by node like any other."""
    for n in root.postorder():
        kids = n.children
        k = id(n)
        if kids:
            ch = tuple(hashes[id(c)] for c in kids)
            hashes[k] = hash((n.label, n.value, ch))
            heights[k] = 1 + max(heights[id(c)] for c in kids)
            sizes[k] = 1 + sum(sizes[id(c)] for c in kids)
        else:
            hashes[k] = hash((n.label, n.value))
            heights[k] = 1
            sizes[k] = 1


class _Matcher:
    def __init__(self, src: Node, dst: Node, settings: MatchSettings):
        self.src, self.dst, self.s = src, dst, settings
        self.m = Mapping()
        self.h1, self.h2, self.ht1, self.ht2 = {}, {}, {}, {}
        self.sizes: dict[int, int] = {}
        _index(src, self.h1, self.ht1, self.sizes)
        _index(dst, self.h2, self.ht2, self.sizes)

    # -- helpers -----------------------------------------------------------------------------
    def match_subtrees(self, a: Node, b: Node) -> None:
        for x, y in zip(a.preorder(), b.preorder()):
            if not self.m.src_matched(x) and not self.m.dst_matched(y):
                self.m.add(x, y)

    def dice(self, a: Node, b: Node) -> float:
        inside = {id(n) for n in b.preorder()}
        desc = list(a.preorder())[1:]
        common = sum(1 for n in desc if id(self.m.src_to_dst.get(id(n))) in inside)
        total = self.sizes[id(a)] - 1 + self.sizes[id(b)] - 1
        return 2.0 * common / total if total else 0.0

    # -- phase 1 -----------------------------------------------------------------------------
    def top_down(self) -> None:
        by_h1: dict[int, list[Node]] = defaultdict(list)
        by_h2: dict[int, list[Node]] = defaultdict(list)
        by_h1[self.ht1[id(self.src)]].append(self.src)
        by_h2[self.ht2[id(self.dst)]].append(self.dst)
        candidates: list[tuple[Node, Node]] = []
        mh = self.s.min_height

        def open_(node: Node, by: dict, ht: dict) -> None:
            for c in node.children:
                by[ht[id(c)]].append(c)

        while True:
            top1 = max(by_h1, default=0)
            top2 = max(by_h2, default=0)
            if max(top1, top2) < mh or not by_h1 or not by_h2:
                break
            if top1 != top2:
                if top1 > top2:
                    for n in by_h1.pop(top1):
                        open_(n, by_h1, self.ht1)
                else:
                    for n in by_h2.pop(top2):
                        open_(n, by_h2, self.ht2)
                continue
            level1, level2 = by_h1.pop(top1), by_h2.pop(top2)
            groups1: dict[int, list[Node]] = defaultdict(list)
            groups2: dict[int, list[Node]] = defaultdict(list)
            for n in level1:
                groups1[self.h1[id(n)]].append(n)
            for n in level2:
                groups2[self.h2[id(n)]].append(n)
            matched1: set[int] = set()
            matched2: set[int] = set()
            for h, g1 in groups1.items():
                g2 = groups2.get(h)
                if not g2:
                    continue
                if len(g1) == 1 and len(g2) == 1:
                    self.match_subtrees(g1[0], g2[0])
                elif len(g1) * len(g2) <= self.s.max_candidates:
                    candidates.extend((a, b) for a in g1 for b in g2)
                else:  # pathological repetition: pair in order
                    for a, b in zip(g1, g2):
                        self.match_subtrees(a, b)
                matched1.update(id(a) for a in g1)
                matched2.update(id(b) for b in g2)
            for n in level1:
                if id(n) not in matched1:
                    open_(n, by_h1, self.ht1)
            for n in level2:
                if id(n) not in matched2:
                    open_(n, by_h2, self.ht2)
        if candidates:
            def parent_dice(pair: tuple[Node, Node]) -> float:
                a, b = pair
                if a.parent is None or b.parent is None:
                    return 0.0
                return self.dice(a.parent, b.parent)
            scored = [(parent_dice(p), i, p) for i, p in enumerate(candidates)]
            scored.sort(key=lambda t: (-t[0], t[1]))
            for _, _, (a, b) in scored:
                if not self.m.src_matched(a) and not self.m.dst_matched(b):
                    self.match_subtrees(a, b)

    # -- phase 2 and 3 -----------------------------------------------------------------------
    def bottom_up(self) -> None:
        for a in self.src.postorder():
            if a is self.src:
                if not self.m.src_matched(a) and not self.m.dst_matched(self.dst) \
                        and a.label == self.dst.label:
                    self.m.add(a, self.dst)
                if self.m.src_to_dst.get(id(a)) is self.dst:
                    self.recover(a, self.dst)
                break
            if self.m.src_matched(a) or not a.children:
                continue
            counts: dict[int, int] = defaultdict(int)
            nodes: dict[int, Node] = {}
            for d in list(a.preorder())[1:]:
                partner = self.m.src_to_dst.get(id(d))
                if partner is None:
                    continue
                for anc in partner.ancestors():
                    if anc.label == a.label and not self.m.dst_matched(anc):
                        counts[id(anc)] += 1
                        nodes[id(anc)] = anc
            if not counts:
                continue
            best, best_dice = None, -1.0
            for key, common in counts.items():
                b = nodes[key]
                total = self.sizes[id(a)] - 1 + self.sizes[id(b)] - 1
                d = 2.0 * common / total if total else 0.0
                if d > best_dice:
                    best, best_dice = b, d
            if best is not None and best_dice > self.s.min_dice:
                self.m.add(a, best)
                self.recover(a, best)

    def recover(self, a: Node, b: Node) -> None:
        if all(self.m.src_matched(n) for n in a.preorder()) or \
                all(self.m.dst_matched(n) for n in b.preorder()):
            return  # nothing left to pair on one side
        if max(self.sizes[id(a)], self.sizes[id(b)]) <= self.s.ted_max_size:
            self.recover_optimal(a, b)
        else:
            self.recover_simple(a, b)

    def recover_optimal(self, a: Node, b: Node) -> None:
        """The optimal (minimal tree edit distance) mapping between two small subtrees."""
        for x, y in _apted().APTED(a, b, ted_config(3)).compute_edit_mapping():
            if x is not None and y is not None and x.label == y.label \
                    and not self.m.src_matched(x) and not self.m.dst_matched(y):
                self.m.add(x, y)

    def recover_simple(self, a: Node, b: Node) -> None:
        """GumTree's simple recovery between the children of a matched pair."""
        todo = [(a, b)]
        while todo:
            x, y = todo.pop()
            for key1, key2 in ((self.h1, self.h2), (None, None)):
                xs = [c for c in x.children if not self.m.src_matched(c)]
                ys = [c for c in y.children if not self.m.dst_matched(c)]
                if not xs or not ys:
                    break
                if key1 is None:
                    k1 = [self._shape(c, 1) for c in xs]
                    k2 = [self._shape(c, 2) for c in ys]
                else:
                    k1 = [key1[id(c)] for c in xs]
                    k2 = [key2[id(c)] for c in ys]
                for i, j in _lcs(k1, k2):
                    self.match_subtrees(xs[i], ys[j])
            xs = [c for c in x.children if not self.m.src_matched(c)]
            ys = [c for c in y.children if not self.m.dst_matched(c)]
            c1 = defaultdict(list)
            c2 = defaultdict(list)
            for c in xs:
                c1[c.label].append(c)
            for c in ys:
                c2[c.label].append(c)
            for label, g1 in c1.items():
                g2 = c2.get(label)
                if g2 and len(g1) == 1 and len(g2) == 1:
                    self.m.add(g1[0], g2[0])
                    todo.append((g1[0], g2[0]))
            # matched children with unmatched insides (e.g. isomorphic by shape only) recurse
            for c in x.children:
                p = self.m.src_to_dst.get(id(c))
                if p is not None and p.parent is y and c.children and \
                        any(not self.m.src_matched(g) for g in c.children):
                    todo.append((c, p))

    _shape_cache: dict

    def _shape(self, n: Node, side: int) -> tuple:
        cache = self.__dict__.setdefault("_shapes", {})
        k = (side, id(n))
        got = cache.get(k)
        if got is None:
            got = cache[k] = (n.label, tuple(self._shape(c, side) for c in n.children))
        return got


def _lcs(a: list, b: list) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence (quadratic; child lists are short)."""
    n, m = len(a), len(b)
    if n * m > 250_000:  # very long sibling lists: match the common prefix and suffix only
        out = []
        i = 0
        while i < min(n, m) and a[i] == b[i]:
            out.append((i, i))
            i += 1
        j = 0
        while j < min(n, m) - i and a[n - 1 - j] == b[m - 1 - j]:
            out.append((n - 1 - j, m - 1 - j))
            j += 1
        return sorted(out)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        ai, row, nxt = a[i], table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = nxt[j + 1] + 1 if ai == b[j] else max(nxt[j], row[j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def match(src: Node, dst: Node, settings: MatchSettings | None = None) -> Mapping:
    """GumTree's mapping between two trees (nodes of one mapping pair share their label)."""
    mt = _Matcher(src, dst, settings or MatchSettings())
    mt.top_down()
    mt.bottom_up()
    return mt.m

"""Edit scripts of MOV/DEL/UPD/INS operations (C3PO's semantics) and their interpreter.

An operation names nodes by their address in the tree *as it is when the operation runs*
(scripts are applied one operation after another, as C3PO predicts them):

- ``MOV s t``: detach the subtree at s and make it the right sibling of t; when t is the
  placeholder of a node (C3PO adds one as the leftmost child of every inner node) it becomes
  that node's first child. `role` is the field it fills there (Python).
- ``DEL s``: remove the subtree at s.
- ``UPD s v``: set the value of s to v.
- ``INS t T``: insert the subtree T as the right sibling of t (or first child, as for MOV).

`diff` derives a script from a GumTree mapping with Chawathe et al.'s algorithm (1996), the
one GumTree uses, with two changes C3PO's representation needs: an inserted node comes with
all of its unmatched descendants as one subtree, and deletions remove whole subtrees.
"""
from __future__ import annotations

from dataclasses import dataclass

from editflow.trees.matching import Mapping, MatchSettings, _lcs, match
from editflow.trees.node import Node

KINDS = ("MOV", "DEL", "UPD", "INS")


@dataclass(frozen=True)
class Target:
    """Where a MOV/INS puts its subtree: after the node at `address`, or (placeholder=True)
    first under the node at `address`."""
    address: tuple[int, ...]
    placeholder: bool = False


@dataclass(frozen=True)
class Op:
    kind: str                                  # MOV | DEL | UPD | INS
    node: tuple[int, ...] = ()                 # MOV/DEL/UPD: the node operated on
    target: Target | None = None               # MOV/INS
    value: str | None = None                   # UPD: the new value
    tree: Node | None = None                   # INS: the inserted subtree (its root's role set)
    role: str = ""                             # MOV: the role at the destination

    def signature(self) -> tuple:
        """What two operations must share to be the same operation (metrics compare these)."""
        return (self.kind, self.node, self.target, self.value,
                self.tree.key() if self.tree is not None else None, self.role)


class ApplyError(ValueError):
    """A script that does not apply; `reason` is the counted reason."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _resolve(tree: Node, address: tuple[int, ...]) -> Node:
    try:
        return tree.at(address)
    except IndexError as exc:
        raise ApplyError("bad_address", str(exc)) from None


def _place(anchor: Node, sub: Node, target: Target) -> None:
    """Put `sub` after `anchor` (or first under it, for a placeholder target)."""
    if target.placeholder:
        anchor.add(sub, 0)
        return
    if anchor.parent is None:
        raise ApplyError("bad_target", "the root has no siblings")
    anchor.parent.add(sub, anchor.index() + 1)


def apply_op(tree: Node, op: Op) -> None:
    """Apply one operation in place (ApplyError where it does not apply)."""
    if op.kind == "UPD":
        _resolve(tree, op.node).value = op.value
    elif op.kind == "DEL":
        node = _resolve(tree, op.node)
        if node.parent is None:
            raise ApplyError("bad_target", "cannot delete the root")
        node.detach()
    elif op.kind == "MOV":
        node = _resolve(tree, op.node)
        anchor = _resolve(tree, op.target.address)
        if node.parent is None:
            raise ApplyError("bad_target", "cannot move the root")
        if anchor is node or node in anchor.ancestors():
            raise ApplyError("bad_target", "a subtree cannot move into itself")
        if not op.target.placeholder and anchor.parent is None:
            raise ApplyError("bad_target", "the root has no siblings")
        node.detach()
        node.role = op.role
        _place(anchor, node, op.target)
    elif op.kind == "INS":
        if op.tree is None or op.target is None:
            raise ApplyError("bad_op", "INS without a subtree")
        _place(_resolve(tree, op.target.address), op.tree.copy(), op.target)
    else:
        raise ApplyError("bad_op", op.kind)


def apply_script(tree: Node, ops: list[Op]) -> Node:
    """A copy of `tree` with the operations applied in order."""
    out = tree.copy()
    for op in ops:
        apply_op(out, op)
    return out


class _Generator:
    """Chawathe et al.'s edit script generation over a working copy of the source tree."""

    def __init__(self, src: Node, dst: Node, mapping: Mapping):
        self.work = src.copy()
        self.dst = dst
        self.ops: list[Op] = []
        self.w2d: dict[int, Node] = {}
        self.d2w: dict[int, Node] = {}
        for a, w in zip(src.preorder(), self.work.preorder()):
            b = mapping.src_to_dst.get(id(a))
            if b is not None:
                self.w2d[id(w)] = b
                self.d2w[id(b)] = w
        self.in_order: set[int] = set()

    def link(self, w: Node, d: Node) -> None:
        self.w2d[id(w)] = d
        self.d2w[id(d)] = w

    def target_for(self, x: Node) -> Target:
        """Chawathe's FindPos as C3PO's target: after the partner of x's rightmost in-order
        left sibling, else the placeholder of the partner of x's parent."""
        y = x.parent
        left = None
        for c in y.children:
            if c is x:
                break
            if id(c) in self.in_order:
                left = c
        z = self.d2w[id(y)]
        if left is None:
            return Target(z.address(), True)
        return Target(self.d2w[id(left)].address())

    def emit(self, op: Op) -> None:
        self.ops.append(op)
        apply_op(self.work, op)

    def insert(self, x: Node) -> None:
        payload = Node(x.label, x.value, x.role)
        pairs = [(x, payload)]
        todo = [(x, payload)]
        while todo:
            d, p = todo.pop()
            for c in d.children:
                if id(c) not in self.d2w:
                    cp = p.add(Node(c.label, c.value, c.role))
                    pairs.append((c, cp))
                    todo.append((c, cp))
        target = self.target_for(x)
        anchor = self.work.at(target.address)
        self.emit(Op("INS", target=target, tree=payload.copy()))
        # the inserted copy in the working tree, node for node
        placed = anchor.children[0] if target.placeholder else anchor.parent.children[anchor.index() + 1]
        copies = {id(p): w for p, w in zip(payload.preorder(), placed.preorder())}
        for d, p in pairs:
            w = copies[id(p)]
            self.link(w, d)
            self.in_order.add(id(w))
            self.in_order.add(id(d))

    def align(self, w: Node, x: Node) -> None:
        for c in w.children:
            self.in_order.discard(id(c))
        for c in x.children:
            self.in_order.discard(id(c))
        s1 = [c for c in w.children if self.w2d.get(id(c)) is not None and self.w2d[id(c)].parent is x]
        s2 = [c for c in x.children if self.d2w.get(id(c)) is not None and self.d2w[id(c)].parent is w]
        keys1 = [id(self.w2d[id(c)]) for c in s1]
        keys2 = [id(c) for c in s2]
        common = _lcs(keys1, keys2)
        kept = set()
        for i, j in common:
            self.in_order.add(id(s1[i]))
            self.in_order.add(id(s2[j]))
            kept.add(id(s2[j]))
        for b in s2:
            if id(b) in kept:
                continue
            a = self.d2w[id(b)]
            self.emit(Op("MOV", node=a.address(), target=self.target_for(b), role=b.role))
            self.in_order.add(id(a))
            self.in_order.add(id(b))

    def run(self) -> list[Op]:
        root_w = self.d2w.get(id(self.dst))
        if root_w is not self.work:
            raise ApplyError("roots_differ", "the two roots are not matched")
        self.in_order.update((id(self.work), id(self.dst)))
        for x in self.dst.bfs():
            w = self.d2w.get(id(x))
            if x is not self.dst:
                if w is None:
                    self.insert(x)
                    w = self.d2w[id(x)]
                else:
                    if w.value != x.value:
                        self.emit(Op("UPD", node=w.address(), value=x.value))
                    z = self.d2w[id(x.parent)]
                    if w.parent is not z or w.role != x.role:
                        self.emit(Op("MOV", node=w.address(), target=self.target_for(x), role=x.role))
                    self.in_order.add(id(w))
                    self.in_order.add(id(x))
            self.align(w, x)
        # whole unmatched subtrees go, last sibling first so that addresses stay valid
        doomed = []
        stack = [self.work]
        while stack:
            n = stack.pop()
            if id(n) not in self.w2d:
                doomed.append(n)
                continue
            stack.extend(n.children)
        for n in sorted(doomed, key=lambda n: n.address(), reverse=True):
            self.emit(Op("DEL", node=n.address()))
        return self.ops


def edit_script(src: Node, dst: Node, mapping: Mapping | None = None,
                settings: MatchSettings | None = None) -> list[Op]:
    """The MOV/DEL/UPD/INS script that turns `src` into `dst` (both roots must share a label)."""
    if mapping is None:
        mapping = match(src, dst, settings)
    return _Generator(src, dst, mapping).run()

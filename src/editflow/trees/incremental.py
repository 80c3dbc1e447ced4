"""The incremental tree edits of "Learning Structural Edits via Incremental Tree
Transformations" (Yao et al. 2021): Delete a subtree, Add one node (a grammar production, i.e.
a node type, with its value for terminals), CopySubtree from the *original* input tree, Stop.

The sequence is derived from the same GumTree mapping as the MOV/DEL/UPD/INS script, by
replaying that script: DEL -> Delete; INS -> the inserted subtree built top-down (Copy where an
equal subtree exists in the input, Add otherwise); MOV -> Delete, then the moved subtree rebuilt
at its destination the same way; UPD -> Delete, then the updated node rebuilt in place.

    Delete r.0.1
    Add r.0.1 Name "x" as=value
    Copy r.0.2.0 r.0.1.1 as=func
    Stop

Addresses are those of the tree when the action runs; Add and Copy name the address the new
node will have. `as=ROLE` gives the new node's field (Python).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from editflow.trees.linearize import _parse_address, render_address
from editflow.trees.node import Node
from editflow.trees.script import ApplyError, Op, Target, apply_op


@dataclass(frozen=True)
class Action:
    kind: str                       # Delete | Add | Copy | Stop
    address: tuple[int, ...] = ()   # Delete: the node; Add/Copy: where the new node goes
    label: str = ""                 # Add
    value: str | None = None        # Add
    source: tuple[int, ...] = ()    # Copy: the subtree in the input tree
    role: str = ""                  # Add/Copy


def _shape_key(n: Node) -> tuple:
    return (n.label, n.value, tuple(c.key() for c in n.children))


class _Deriver:
    def __init__(self, src: Node):
        self.original = src
        self.index: dict[tuple, tuple[int, ...]] = {}
        for n in src.preorder():
            self.index.setdefault(_shape_key(n), n.address())
        self.actions: list[Action] = []

    def build(self, tree: Node, sub: Node, parent: Node, index: int) -> None:
        """Emit actions that put a copy of `sub` at parent.children[index] (and do it)."""
        where = parent.address() + (index,)
        found = self.index.get(_shape_key(sub))
        if found is not None:
            self.actions.append(Action("Copy", where, source=found, role=sub.role))
            parent.add(self.original.at(found).copy(), index).role = sub.role
            return
        self.actions.append(Action("Add", where, sub.label, sub.value, role=sub.role))
        node = parent.add(Node(sub.label, sub.value, sub.role), index)
        for i, c in enumerate(sub.children):
            self.build(tree, c, node, i)

    def delete(self, tree: Node, address: tuple[int, ...]) -> tuple[Node, int]:
        node = tree.at(address)
        parent = node.parent
        i = node.detach()
        self.actions.append(Action("Delete", address))
        return parent, i


def _destination(tree: Node, target: Target) -> tuple[Node, int]:
    anchor = tree.at(target.address)
    if target.placeholder:
        return anchor, 0
    return anchor.parent, anchor.index() + 1


def derive(src: Node, ops: list[Op]) -> list[Action]:
    """The incremental actions equivalent to a MOV/DEL/UPD/INS script on `src` (ends in Stop)."""
    d = _Deriver(src)
    tree = src.copy()
    for op in ops:
        if op.kind == "DEL":
            d.delete(tree, op.node)
        elif op.kind == "INS":
            parent, i = _destination(tree, op.target)
            d.build(tree, op.tree, parent, i)
        elif op.kind == "UPD":
            node = tree.at(op.node)
            updated = node.copy()
            updated.value = op.value
            parent, i = d.delete(tree, op.node)
            d.build(tree, updated, parent, i)
        elif op.kind == "MOV":
            node = tree.at(op.node)
            anchor = tree.at(op.target.address)
            moved = node.copy()
            moved.role = op.role
            d.delete(tree, op.node)
            if op.target.placeholder:
                parent, i = anchor, 0
            else:
                parent, i = anchor.parent, anchor.index() + 1
            d.build(tree, moved, parent, i)
        else:
            raise ApplyError("bad_op", op.kind)
    d.actions.append(Action("Stop"))
    return d.actions


def apply_actions(src: Node, actions: list[Action]) -> Node:
    """Run actions on a copy of `src`; stops at Stop (ApplyError where one does not apply)."""
    tree = src.copy()
    for a in actions:
        if a.kind == "Stop":
            return tree
        try:
            if a.kind == "Delete":
                if not a.address:
                    raise ApplyError("bad_target", "cannot delete the root")
                tree.at(a.address).detach()
                continue
            parent = tree.at(a.address[:-1]) if a.address else None
            if parent is None or not 0 <= a.address[-1] <= len(parent.children):
                raise ApplyError("bad_address", render_address(a.address))
            if a.kind == "Add":
                parent.add(Node(a.label, a.value, a.role), a.address[-1])
            elif a.kind == "Copy":
                parent.add(src.at(a.source).copy(), a.address[-1]).role = a.role
            else:
                raise ApplyError("bad_op", a.kind)
        except IndexError as exc:
            raise ApplyError("bad_address", str(exc)) from None
    raise ApplyError("no_stop", "the actions do not end in Stop")


def render_actions(actions: list[Action]) -> str:
    lines = []
    for a in actions:
        role = f" as={a.role}" if a.role else ""
        if a.kind == "Delete":
            lines.append(f"Delete {render_address(a.address)}")
        elif a.kind == "Add":
            value = "" if a.value is None else " " + json.dumps(a.value, ensure_ascii=False)
            lines.append(f"Add {render_address(a.address)} {json.dumps(a.label)}{value}{role}")
        elif a.kind == "Copy":
            lines.append(f"Copy {render_address(a.source)} {render_address(a.address)}{role}")
        else:
            lines.append("Stop")
    return "\n".join(lines)


_ADD = re.compile(r'^Add (\S+) ("(?:[^"\\]|\\.)*")(?: ("(?:[^"\\]|\\.)*"))?(?: as=(\w+))?$')
_COPY = re.compile(r"^Copy (\S+) (\S+)(?: as=(\w+))?$")


def parse_actions(text: str) -> list[Action]:
    out = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "Stop":
            out.append(Action("Stop"))
        elif line.startswith("Delete "):
            out.append(Action("Delete", _parse_address(line[7:].strip())))
        elif (m := _ADD.match(line)):
            out.append(Action("Add", _parse_address(m[1]), json.loads(m[2]),
                              json.loads(m[3]) if m[3] else None, role=m[4] or ""))
        elif (m := _COPY.match(line)):
            out.append(Action("Copy", _parse_address(m[2]), source=_parse_address(m[1]),
                              role=m[3] or ""))
        else:
            raise ValueError(f"not an action: {line[:80]!r}")
    return out

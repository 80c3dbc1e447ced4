"""The one tree type every differencing step works on, whatever the language.

Python's `ast` and tree-sitter's C# syntax trees are converted into `Node`s so that matching,
edit scripts, the interpreter and the metrics are written once. A node has a `label` (its
grammar type: `Call`, `invocation_expression`), an optional `value` (identifier, literal,
operator), and a `role` (the field of its parent it fills, e.g. `func`; "" for list
elements and languages that need no roles). Two trees are equal when labels, values, roles
and children are equal, which is what "the script reproduces the post-edit tree" checks.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterator


@dataclass(eq=False, slots=True)
class Node:
    label: str
    value: str | None = None
    role: str = ""
    children: list["Node"] = field(default_factory=list)
    parent: "Node | None" = field(default=None, repr=False)

    def add(self, child: "Node", index: int | None = None) -> "Node":
        child.parent = self
        if index is None:
            self.children.append(child)
        else:
            self.children.insert(index, child)
        return child

    def detach(self) -> int:
        """Remove this node from its parent; returns the index it had."""
        assert self.parent is not None
        i = self.index()
        del self.parent.children[i]
        self.parent = None
        return i

    def index(self) -> int:
        if self.parent is None:
            return 0
        for i, c in enumerate(self.parent.children):
            if c is self:
                return i
        raise ValueError("node is not among its parent's children")

    def preorder(self) -> Iterator["Node"]:
        stack = [self]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(n.children))

    def postorder(self) -> list["Node"]:
        out: list[Node] = []
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:
            n, done = stack.pop()
            if done:
                out.append(n)
            else:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(n.children))
        return out

    def bfs(self) -> list["Node"]:
        out, i = [self], 0
        while i < len(out):
            out.extend(out[i].children)
            i += 1
        return out

    def size(self) -> int:
        return sum(1 for _ in self.preorder())

    def ancestors(self) -> list["Node"]:
        out, n = [], self.parent
        while n is not None:
            out.append(n)
            n = n.parent
        return out

    def root(self) -> "Node":
        n = self
        while n.parent is not None:
            n = n.parent
        return n

    def address(self) -> tuple[int, ...]:
        """Child indices from the root down to this node (the root is ())."""
        out = []
        n = self
        while n.parent is not None:
            out.append(n.index())
            n = n.parent
        return tuple(reversed(out))

    def at(self, address: tuple[int, ...]) -> "Node":
        n = self
        for i in address:
            if not 0 <= i < len(n.children):
                raise IndexError(f"no child {i} under {n.label}")
            n = n.children[i]
        return n

    def copy(self) -> "Node":
        """A deep copy without a parent."""
        new = Node(self.label, self.value, self.role)
        todo = [(self, new)]
        while todo:
            src, dst = todo.pop()
            for c in src.children:
                cc = dst.add(Node(c.label, c.value, c.role))
                todo.append((c, cc))
        return new

    def key(self) -> tuple:
        """A hashable, comparable form of the whole subtree (for equality and tests)."""
        return (self.label, self.value, self.role, tuple(c.key() for c in self.children))

    def same_tree(self, other: "Node") -> bool:
        a, b = list(self.preorder()), list(other.preorder())
        if len(a) != len(b):
            return False
        return all(x.label == y.label and x.value == y.value and x.role == y.role
                   and len(x.children) == len(y.children) for x, y in zip(a, b))

    def sexp(self) -> str:
        """A one-line rendering: (label 'value' :role children...)."""
        head = self.label if _PLAIN.fullmatch(self.label) else quote(self.label)
        if self.role:
            head = f"{self.role}={head}"
        if self.value is not None:
            head += " " + quote(self.value)
        if not self.children:
            return f"({head})"
        return "(" + head + " " + " ".join(c.sexp() for c in self.children) + ")"


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def quote(value: str) -> str:
    """Values in scripts and renderings: JSON-style quoting, so any text round-trips."""
    return json.dumps(value, ensure_ascii=False)


def parse_sexp(text: str) -> Node:
    """Inverse of Node.sexp (used for INS payloads in linearised scripts)."""
    pos = 0
    n = len(text)

    def skip() -> None:
        nonlocal pos
        while pos < n and text[pos] == " ":
            pos += 1

    def atom() -> str:
        nonlocal pos
        start = pos
        while pos < n and text[pos] not in " ()":
            pos += 1
        if start == pos:
            raise ValueError(f"expected a label at {pos}")
        return text[start:pos]

    def node() -> Node:
        nonlocal pos
        skip()
        if pos >= n or text[pos] != "(":
            raise ValueError(f"expected '(' at {pos}")
        pos += 1
        role = ""
        m = _PLAIN.match(text, pos)
        if m and m.end() < n and text[m.end()] == "=":
            role, pos = m.group(), m.end() + 1
        if pos < n and text[pos] == '"':
            label, pos = json.JSONDecoder().raw_decode(text, pos)
        else:
            label = atom()
        skip()
        value = None
        if pos < n and text[pos] == '"':
            value, end = json.JSONDecoder().raw_decode(text, pos)
            pos = end
        out = Node(label, value, role)
        skip()
        while pos < n and text[pos] == "(":
            out.add(node())
            skip()
        if pos >= n or text[pos] != ")":
            raise ValueError(f"expected ')' at {pos}")
        pos += 1
        return out

    result = node()
    skip()
    if pos != n:
        raise ValueError(f"trailing text at {pos}")
    return result

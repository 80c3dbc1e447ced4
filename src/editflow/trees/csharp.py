"""C# (C3PO's language) as `Node` trees, through tree-sitter.

tree-sitter gives a concrete syntax tree: every token is a leaf, so unparsing is joining the
leaf texts (with a space, and a line break after comments and preprocessor lines). Leaves carry
their text as `value`; string and character literals are kept whole as one leaf, so a space
is never put inside one. The grammar package is `tree-sitter-c-sharp` 0.21.x: it speaks
tree-sitter's language ABI 14, the newest that the tree-sitter 0.22.3 pinned for CodeBLEU
can load (0.23 wheels ship ABI 15).
"""
from __future__ import annotations

import textwrap
from functools import lru_cache

from editflow.trees.node import Node

ROOT = "compilation_unit"
# Kept as one leaf (their inner tokens must not be spaced apart).
_ATOMIC = frozenset({"string_literal", "verbatim_string_literal", "raw_string_literal",
                     "interpolated_string_expression", "character_literal", "comment",
                     "preproc_message", "preproc_arg"})


class CSharpUnavailable(RuntimeError):
    """tree-sitter-c-sharp is not installed (pip install 'editflow[trees]')."""


@lru_cache(maxsize=1)
def _parser():
    try:
        import tree_sitter_c_sharp
        from tree_sitter import Language, Parser
    except ImportError as exc:
        raise CSharpUnavailable(f"C# trees need tree-sitter-c-sharp: {exc}") from None
    return Parser(Language(tree_sitter_c_sharp.language()))


def syntax_tree(code: str):
    return _parser().parse(code.encode("utf-8", "surrogatepass"))


def has_error(code: str) -> bool:
    root = syntax_tree(code).root_node
    return root.has_error


def to_tree(ts_node, role: str = "") -> Node:
    """tree-sitter node -> Node (iteratively: C# files nest deeply)."""
    def make(n) -> Node:
        if n.child_count == 0 or n.type in _ATOMIC:
            return Node(n.type, n.text.decode("utf-8", "surrogatepass"))
        return Node(n.type)

    out = make(ts_node)
    todo = [(ts_node, out)]
    while todo:
        src, dst = todo.pop()
        if dst.value is not None:
            continue
        for c in src.children:
            todo.append((c, dst.add(make(c))))
    return out


MEMBERS = "class_members"  # the root of a fragment that only parses inside a class body
_WRAP = "class __Fragment {\n"


def parse(code: str) -> Node:
    """Source text -> tree; ValueError where tree-sitter finds a syntax error.

    A fragment cut from a class body (properties, constructors, fields) is no compilation
    unit on its own; it is parsed inside a class and its members become the children of a
    `class_members` root, the same way every time (so the decoder sees the gold tree)."""
    text = textwrap.dedent(code)
    ts = syntax_tree(text)
    if not ts.root_node.has_error:
        return to_tree(ts.root_node)
    wrapped = syntax_tree(_WRAP + text + "\n}")
    cls = wrapped.root_node.children[0] if wrapped.root_node.child_count else None
    body = cls.child_by_field_name("body") if cls is not None and cls.type == "class_declaration" else None
    if wrapped.root_node.has_error or body is None or wrapped.root_node.child_count != 1:
        raise ValueError("C# syntax error")
    root = Node(MEMBERS)
    for c in body.children[1:-1]:   # between the braces
        root.add(to_tree(c))
    return root


_NESTING = ("preproc_if", "preproc_elif")  # directive line = token + condition, then statements
_OWN_LINE_TOKENS = ("#else", "#endif")


def unparse(tree: Node) -> str:
    """Tokens joined by spaces; comments and preprocessor directives get their own lines.

    Spaces and line breaks are separate list items, never edits of a token's text (a comment
    keeps its trailing spaces)."""
    out: list[str] = []

    def sep(mark: str) -> None:
        if mark == "\n":
            while out and out[-1] in (" ", "\n"):
                out.pop()
            if out:
                out.append("\n")
        elif out and out[-1] not in (" ", "\n"):
            out.append(" ")

    stack: list[Node | str] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            sep(item)
            continue
        n = item
        if n.value is not None:
            if n.value.startswith("#"):
                sep("\n")
            out.append(n.value)
            sep("\n" if n.label == "comment" or n.value in _OWN_LINE_TOKENS else " ")
            continue
        seq: list[Node | str] = list(n.children)
        if n.label in _NESTING and len(seq) >= 2:
            seq.insert(2, "\n")
        elif n.label.startswith("preproc") and n.label != "preproc_else":
            seq = ["\n", *seq, "\n"]
        stack.extend(reversed(seq))
    while out and out[-1] == " ":
        out.pop()
    text = "".join(out)
    last_line = text.rstrip("\n").rpartition("\n")[2]
    # a directive on the last line still needs its line end
    return text.rstrip("\n") + ("\n" if last_line.startswith("#") else "")


def is_valid(code: str) -> bool:
    return not has_error(code)

"""Edit scripts as text for language models, one operation per line, and back.

    MOV r.0.1.0 r.0.1.2 | Name[0] ↑ args[1] ↓ Constant[2]
    DEL r.0.2 | Expr[2] ↑ body[0] ↑ Module ↓ DEL
    UPD r.0.0.1 "total"
    INS r.0.1.^ (Name "c")

Addresses are child indices from the root `r` of the tree *as it is when the line runs*;
`A.^` is the placeholder that C3PO puts before the first child of node A. After `|` comes
C3PO's representation of the operation, the AST path from the source node to the target node
(each node with its child index, after Alon et al.), DEL's target being the artificial DEL
child of the root. The path is redundant with the addresses; the decoder checks that it
agrees with the tree ("path_mismatch" otherwise), so a model must name real nodes.
`as=ROLE` gives a moved node's field at its destination where it has one (Python).
"""
from __future__ import annotations

import json
import re

from editflow.trees.node import Node, parse_sexp
from editflow.trees.script import KINDS, ApplyError, Op, Target

UP, DOWN = "↑", "↓"


def render_address(address: tuple[int, ...]) -> str:
    return "r" + "".join(f".{i}" for i in address)


def render_target(t: Target) -> str:
    return render_address(t.address) + (".^" if t.placeholder else "")


def _parse_address(text: str) -> tuple[int, ...]:
    if text == "r":
        return ()
    if not text.startswith("r."):
        raise ValueError(f"bad address {text!r}")
    return tuple(int(x) for x in text[2:].split("."))


def _parse_target(text: str) -> Target:
    if text.endswith(".^") or text == "r^":
        return Target(_parse_address(text[:-2] if text.endswith(".^") else "r"), True)
    return Target(_parse_address(text))


def _label(n: Node) -> str:
    return f"{n.label}[{n.index()}]" if n.parent is not None else n.label


def ast_path(src: Node, dst: Node | None) -> str:
    """C3PO's path from `src` up to the common ancestor and down to `dst` (None: DEL node)."""
    if dst is None:
        ups = [src] + src.ancestors()
        return f" {UP} ".join(_label(n) for n in ups) + f" {DOWN} DEL"
    up_chain = [src] + src.ancestors()
    ids = {id(n): i for i, n in enumerate(up_chain)}
    down: list[Node] = []
    n = dst
    while id(n) not in ids:
        down.append(n)
        n = n.parent
    top = ids[id(n)]
    parts = f" {UP} ".join(_label(x) for x in up_chain[: top + 1])
    for x in reversed(down):
        parts += f" {DOWN} {_label(x)}"
    return parts


def _target_node(tree: Node, t: Target) -> Node:
    return tree.at(t.address)


def render_op(tree: Node, op: Op) -> str:
    """One line for `op`, given the tree before it runs (for the path)."""
    if op.kind == "UPD":
        return f"UPD {render_address(op.node)} {json.dumps(op.value, ensure_ascii=False)}"
    if op.kind == "INS":
        return f"INS {render_target(op.target)} {op.tree.sexp()}"
    src = tree.at(op.node)
    if op.kind == "DEL":
        return f"DEL {render_address(op.node)} | {ast_path(src, None)}"
    tgt = _target_node(tree, op.target)
    path = ast_path(src, tgt) + (" ^" if op.target.placeholder else "")
    role = f" as={op.role}" if op.role else ""
    return f"MOV {render_address(op.node)} {render_target(op.target)}{role} | {path}"


def render_script(tree: Node, ops: list[Op]) -> str:
    """The script as text; `tree` is the pre-edit tree (copied, then edited as lines run)."""
    from editflow.trees.script import apply_op

    work = tree.copy()
    lines = []
    for op in ops:
        lines.append(render_op(work, op))
        apply_op(work, op)
    return "\n".join(lines)


_LINE = re.compile(r"^(MOV|DEL|UPD|INS)\s+(\S+)\s*(.*)$")


def parse_line(line: str) -> tuple[Op, str | None]:
    """(operation, its path text or None); ValueError where the line is not an operation."""
    m = _LINE.match(line.strip())
    if not m:
        raise ValueError(f"not an operation: {line[:80]!r}")
    kind, first, rest = m.groups()
    path = None
    if kind in ("MOV", "DEL") and "|" in rest:
        rest, path = (x.strip() for x in rest.split("|", 1))
    if kind == "DEL":
        return Op("DEL", node=_parse_address(first)), path
    if kind == "UPD":
        value = json.loads(rest) if rest else None
        if value is not None and not isinstance(value, str):
            raise ValueError("UPD value must be a string or null")
        return Op("UPD", node=_parse_address(first), value=value), path
    if kind == "INS":
        return Op("INS", target=_parse_target(first), tree=parse_sexp(rest)), path
    parts = rest.split()
    if not parts:
        raise ValueError("MOV needs a target")
    role = ""
    if len(parts) > 1 and parts[1].startswith("as="):
        role = parts[1][3:]
    return Op("MOV", node=_parse_address(first), target=_parse_target(parts[0]), role=role), path


def parse_script(text: str) -> tuple[list[Op], list[str | None]]:
    ops, paths = [], []
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        op, path = parse_line(line)
        ops.append(op)
        paths.append(path)
    return ops, paths


def apply_text(tree: Node, text: str, check_paths: bool = True) -> Node:
    """Apply a linearised script to a copy of `tree` (ApplyError with a counted reason)."""
    from editflow.trees.script import apply_op

    try:
        ops, paths = parse_script(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ApplyError("unparsable_script", str(exc)) from None
    if not ops:
        raise ApplyError("empty_script")
    work = tree.copy()
    for op, path in zip(ops, paths):
        if check_paths and path is not None:
            try:
                expected = render_op(work, op).split(" | ", 1)[1]
            except (IndexError, AttributeError) as exc:
                raise ApplyError("bad_address", str(exc)) from None
            if " ".join(path.split()) != expected:
                raise ApplyError("path_mismatch", f"{path!r} != {expected!r}")
        apply_op(work, op)
    return work


__all__ = ["KINDS", "ast_path", "render_script", "parse_script", "apply_text", "render_op"]

"""C3PO's EditCompletion examples from one file edit: a fragment P, its context C and the
edits ΔC made in that context in the same commit and file.

For each changed region of the line diff, P is the smallest run of sibling statements that
covers it (a changed `if` header makes P the whole `if`); P' is the same lines after the edit.
Both are parsed on their own (dedented), so the decoder rebuilds exactly the tree the gold
script was computed on. The context is `context_radius_lines` lines above and below P; ΔC is
every other changed region that touches it, each given as a line diff and as the linearised
edit script of its own fragment. The same region can be P of one example and part of ΔC of
another, as in C3PO; all examples of one edit share its edit_id, so they share a split.

The filters and their settings are C3PO's (seeds: "A Structural Model for Contextual Code
Changes", section 6.1); what each removes is counted by reason in `Outcome.skips`.
"""
from __future__ import annotations

import ast
import difflib
import textwrap
from collections import Counter
from dataclasses import dataclass, field

from editflow.trees.incremental import derive, render_actions
from editflow.trees.languages import Language
from editflow.trees.languages import get as get_language
from editflow.trees.linearize import render_address, render_script
from editflow.trees.node import Node
from editflow.trees.script import ApplyError, Op, apply_script, edit_script


@dataclass(frozen=True)
class EditCompletionSettings:
    """Defaults are C3PO's (section 6.1) unless marked as ours."""
    context_radius_lines: int = 10     # C3PO: "a context radius of 10 lines, above and below"
    max_fragment_nodes: int = 50       # C3PO: "filtered out examples having more than 50 nodes in the AST of P"
    drop_delete_only: bool = True      # C3PO filter (a): the edit of P consists of only DEL operations
    drop_rename_only: bool = True      # C3PO filter (b): P and context only UPD, P's updates among the context's
    require_context_edits: bool = False  # ours: C3PO keeps examples without context edits
    max_file_nodes: int = 20_000       # ours: no script for larger fragments (bounded time)
    max_context_script_nodes: int = 200  # ours: larger context fragments give their line diff only


@dataclass
class Fragment:
    start: int                         # old-file lines [start, end)
    end: int
    new_start: int                     # new-file lines [new_start, new_end)
    new_end: int
    hunks: list[tuple[int, int, int, int]]


@dataclass
class CompletionExample:
    key: str
    language: str
    source: str                        # P as text (dedented)
    target_text: str                   # P' as text (dedented)
    pre: Node                          # parse(source)
    post: Node                         # parse(target_text)
    ops: list[Op]
    script: str                        # linearised MOV/DEL/UPD/INS script
    actions: str                       # incremental Delete/Add/Copy/Stop actions
    context: list[dict]                # ΔC: {"lines": [first, last] (1-based), "diff": str, "script": str}
    context_before: str
    context_after: str
    nodes: int
    changed_lines: int
    hunks: int


@dataclass
class Outcome:
    examples: list[CompletionExample] = field(default_factory=list)
    skips: Counter = field(default_factory=Counter)


# -- statement runs ------------------------------------------------------------------------
@dataclass
class _Stmt:
    start: int
    end: int
    blocks: list[list["_Stmt"]]


def _py_blocks(node: ast.AST) -> list[list[_Stmt]]:
    out = []
    for f in ("body", "orelse", "finalbody", "handlers", "cases"):
        v = getattr(node, f, None)
        if not isinstance(v, list) or not v:
            continue
        if isinstance(v[0], (ast.excepthandler, getattr(ast, "match_case", ast.excepthandler))):
            for h in v:
                out.extend(_py_blocks(h))
        elif isinstance(v[0], ast.stmt):
            out.append([_py_stmt(s) for s in v])
    return out


def _py_stmt(s: ast.stmt) -> _Stmt:
    start = min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]) - 1
    return _Stmt(start, s.end_lineno, _py_blocks(s))


def _py_top(code: str) -> list[_Stmt]:
    return [_py_stmt(s) for s in ast.parse(code).body]


_CS_CONTAINERS = frozenset({"compilation_unit", "declaration_list", "block", "switch_section"})


def _cs_containers(node) -> list:
    out, todo = [], list(node.children)
    while todo:
        c = todo.pop(0)
        if c.type in _CS_CONTAINERS:
            out.append(c)
        else:
            todo.extend(c.children)
    return out


def _cs_stmts(container) -> list[_Stmt]:
    return [_Stmt(c.start_point[0], c.end_point[0] + 1,
                  [_cs_stmts(k) for k in _cs_containers(c)])
            for c in container.named_children if c.type != "comment"]


def _cs_top(code: str) -> list[_Stmt]:
    from editflow.trees import csharp
    tree = csharp.syntax_tree(code)
    if tree.root_node.has_error:
        raise SyntaxError("C# syntax error")
    return _cs_stmts(tree.root_node)


_TOP = {"python": _py_top, "csharp": _cs_top}


def _run(stmts: list[_Stmt], lo: int, hi: int) -> tuple[int, int] | None:
    """Line span of the smallest statement run covering old lines [lo, hi)."""
    hit = [s for s in stmts if s.start < max(hi, lo + 1) and s.end > lo]
    if not hit:
        return None
    if len(hit) == 1:
        for block in hit[0].blocks:
            inner = _run(block, lo, hi)
            if inner is not None and inner[0] <= lo and inner[1] >= hi:
                return inner
    return min(s.start for s in hit), max(s.end for s in hit)


def _hunks(old: list[str], new: list[str]) -> list[tuple[int, int, int, int]]:
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]


def _map_line(hunks, line: int, is_end: bool) -> int | None:
    """Old line boundary -> new line boundary (None where it falls inside a changed region).

    Insertions exactly at P's start or end stay outside P (they are regions of their own)."""
    shift = 0
    for i1, i2, j1, j2 in hunks:
        if i1 == i2:
            before = i1 < line or (i1 == line and not is_end)
        elif i1 < line < i2:
            return None
        else:
            before = i2 <= line
        if not before:
            break
        shift = j2 - i2
    return line + shift


def fragments(old: str, new: str, language: str) -> tuple[list[Fragment], Counter]:
    """The changed statement runs of a file edit (each with the hunks inside it)."""
    skips: Counter = Counter()
    old_lines, new_lines = old.split("\n"), new.split("\n")
    hunks = _hunks(old_lines, new_lines)
    stmts = _TOP[language](old)
    seen: dict[tuple[int, int], Fragment] = {}
    for h in hunks:
        i1, i2, j1, j2 = h
        if i1 == i2:
            skips["insert_only_region"] += 1
            continue
        lo, hi = i1, i2
        span = None
        for _ in range(8):  # widen until no hunk straddles the span's edges
            span = _run(stmts, lo, hi)
            if span is None:
                break
            straddle = [x for x in hunks if x[0] < span[1] and x[1] > span[0]
                        and (x[0] < span[0] or x[1] > span[1])]
            if not straddle:
                break
            lo = min([span[0]] + [x[0] for x in straddle])
            hi = max([span[1]] + [x[1] for x in straddle])
        if span is None:
            skips["outside_statements"] += 1
            continue
        if span in seen:
            continue
        inside = [x for x in hunks if x[0] >= span[0] and x[1] <= span[1] and x[0] < x[1]
                  or (x[0] == x[1] and span[0] < x[0] < span[1])]
        ns = _map_line(hunks, span[0], False)
        ne = _map_line(hunks, span[1], True)
        if ns is None or ne is None:
            skips["unaligned_region"] += 1
            continue
        seen[span] = Fragment(span[0], span[1], ns, ne, inside)
    return list(seen.values()), skips


def _diff_text(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.split("\n"), new.split("\n"), lineterm="", n=0)
    return "\n".join(x for x in lines if not x.startswith(("---", "+++", "@@")))


def _nodes(tree: Node, language: str) -> int:
    """P's size as C3PO counts it: the nodes under the fragment's root wrapper."""
    wrappers = 2 if language == "python" else 1   # Module + body list / compilation_unit
    return max(0, tree.size() - wrappers)


def _only(ops: list[Op], kind: str) -> bool:
    return bool(ops) and all(o.kind == kind for o in ops)


def _updates(tree: Node, ops: list[Op]) -> set[tuple[str | None, str | None]]:
    work, out = tree.copy(), set()
    for o in ops:
        if o.kind == "UPD":
            out.add((work.at(o.node).value, o.value))
        from editflow.trees.script import apply_op
        apply_op(work, o)
    return out


def outline(tree: Node) -> str:
    """The fragment's tree, one node per line with its address (what script lines point at)."""
    lines = []
    for n in tree.preorder():
        depth = len(n.address())
        head = (f"{n.role}=" if n.role and n.role != n.label else "") + n.label
        val = "" if n.value is None else " " + _short(n.value)
        lines.append(f"{render_address(n.address())} {'  ' * depth}{head}{val}")
    return "\n".join(lines)


def _short(v: str) -> str:
    import json
    return json.dumps(v if len(v) <= 60 else v[:57] + "...", ensure_ascii=False)


def build(old: str, new: str, language: str = "python",
          settings: EditCompletionSettings | None = None) -> Outcome:
    """EditCompletion examples of one file edit (with C3PO's filters), skips by reason."""
    s = settings or EditCompletionSettings()
    lang = get_language(language)
    out = Outcome()
    try:
        frags, skips = fragments(old, new, language)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        out.skips["file_parse_error"] += 1
        return out
    out.skips.update(skips)
    old_lines, new_lines = old.split("\n"), new.split("\n")
    parsed: list[tuple[Fragment, str, str, Node, Node] | None] = []
    for f in frags:
        p_text = textwrap.dedent("\n".join(old_lines[f.start:f.end]))
        q_text = textwrap.dedent("\n".join(new_lines[f.new_start:f.new_end]))
        try:
            pre, post = lang.parse(p_text), lang.parse(q_text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            out.skips["fragment_parse_error"] += 1
            parsed.append(None)
            continue
        parsed.append((f, p_text, q_text, pre, post))
    scripts: dict[int, list[Op] | None] = {}

    def script_of(i: int) -> list[Op] | None:
        """Fragment i's gold script, computed once (None: too large, too deep, roots differ)."""
        if i not in scripts:
            _, _, _, pre, post = parsed[i]
            scripts[i] = None
            if pre.size() <= s.max_file_nodes and post.size() <= s.max_file_nodes:
                try:
                    scripts[i] = edit_script(pre, post)
                except (ApplyError, RecursionError):
                    pass
        return scripts[i]

    for index, item in enumerate(parsed):
        if item is None:
            continue
        f, p_text, q_text, pre, post = item
        nodes = _nodes(pre, language)
        if nodes > s.max_fragment_nodes:
            out.skips["too_many_fragment_nodes"] += 1
            continue
        ops = script_of(index)
        if ops is None:
            out.skips["no_script"] += 1
            continue
        if not ops:
            out.skips["no_tree_change"] += 1
            continue
        if s.drop_delete_only and _only(ops, "DEL"):
            out.skips["delete_only"] += 1
            continue
        lo, hi = f.start - s.context_radius_lines, f.end + s.context_radius_lines
        context = []
        for j, other in enumerate(parsed):
            if other is None or j == index:
                continue
            g = other[0]
            if g.end <= lo or g.start >= hi:
                continue
            small = other[3].size() <= s.max_context_script_nodes
            c_ops = (script_of(j) or []) if small else []
            context.append({"lines": [g.start + 1, g.end], "diff": _diff_text(other[1], other[2]),
                            "script": render_script(other[3], c_ops) if c_ops else "",
                            "_ops": c_ops, "_pre": other[3]})
        if s.require_context_edits and not context:
            out.skips["no_context_edits"] += 1
            continue
        if s.drop_rename_only and _only(ops, "UPD") and context and \
                all(_only(c["_ops"], "UPD") for c in context):
            ctx_updates = set().union(*(_updates(c["_pre"], c["_ops"]) for c in context))
            if _updates(pre, ops) <= ctx_updates:
                out.skips["rename_only"] += 1
                continue
        applied = apply_script(pre, ops)
        if not applied.same_tree(post):
            out.skips["gold_script_mismatch"] += 1
            continue
        for c in context:
            del c["_ops"], c["_pre"]
        try:
            script, actions = render_script(pre, ops), render_actions(derive(pre, ops))
        except RecursionError:
            out.skips["too_deep"] += 1
            continue
        out.examples.append(CompletionExample(
            key=f"{f.start + 1}-{f.end}", language=language, source=p_text, target_text=q_text,
            pre=pre, post=post, ops=ops, script=script, actions=actions, context=context,
            context_before="\n".join(old_lines[max(0, lo):f.start]),
            context_after="\n".join(old_lines[f.end:max(f.end, hi)]),
            nodes=nodes, changed_lines=sum((i2 - i1) + (j2 - j1) for i1, i2, j1, j2 in f.hunks),
            hunks=len(f.hunks)))
    return out


def model_input(ex: CompletionExample) -> str:
    """What the model reads (the same for the edit-script and the one-pass views): P, its tree
    with addresses, and the context edits as line diffs and as edit scripts."""
    parts = ["### Fragment", ex.source, "### Fragment tree", outline(ex.pre)]
    if ex.context:
        parts.append("### Edits in its context")
        for c in ex.context:
            parts.append(f"# lines {c['lines'][0]}-{c['lines'][1]}")
            parts.append(c["diff"])
            if c["script"]:
                parts.append("# as tree edits")
                parts.append(c["script"])
    else:
        parts.append("### Edits in its context\n(none)")
    return "\n".join(parts)

"""Structural edits: syntax trees, GumTree differencing, edit scripts and their interpreter.

    from editflow.trees import diff, python_ast
    pre, post = python_ast.parse(old), python_ast.parse(new)
    ops = diff(pre, post)                      # MOV/DEL/UPD/INS (C3PO's semantics)
    apply_script(pre, ops).same_tree(post)     # True

Modules: node (the tree type), python_ast / csharp (languages), matching (GumTree),
script (edit scripts, interpreter), linearize (scripts as text with AST paths),
incremental (Delete/Add/Copy/Stop actions), fragments (C3PO's EditCompletion examples),
scores (metrics). docs/trees.md says what each does and why it is hand-written.
"""
from editflow.trees.matching import Mapping, MatchSettings, match
from editflow.trees.node import Node
from editflow.trees.script import ApplyError, Op, Target, apply_script, edit_script

diff = edit_script

__all__ = ["Node", "Mapping", "MatchSettings", "match", "Op", "Target", "ApplyError",
           "apply_script", "edit_script", "diff"]

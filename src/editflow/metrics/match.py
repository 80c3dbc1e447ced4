"""Exact match, plain and Coeditor-normalized.

`em`: 100 when the token lists are equal (teco's xmatch), 0 otherwise or when either is empty.

`em_normalized` (Coeditor): both texts are parsed with `ast`, docstrings dropped (comments
vanish in parsing), keyword arguments of every call sorted by name, unparsed, and compared.
Differences from Coeditor's `normalize_code_by_ast`, on purpose:
- keyword arguments are sorted in nested calls too (Coeditor's visitor stops at the outer call);
- docstrings are dropped from `async def` bodies as well;
- notebook lines that are IPython syntax (`%magic`, `!shell`) are kept as a call
  `__ipython__("<line>")` so that notebook cells still parse.
When either text does not parse, both are compared whitespace-normalized
(`" ".join(text.split())`) instead of raw, as Coeditor compares raw text then.
"""
from __future__ import annotations

import ast
import warnings


def exact_match(gold_tokens: list[str], pred_tokens: list[str]) -> float:
    if not gold_tokens or not pred_tokens:
        return 0.0
    return 100.0 if gold_tokens == pred_tokens else 0.0


def _escape_ipython(code: str) -> str:
    out = []
    for line in code.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}__ipython__({stripped.rstrip()!r})")
        else:
            out.append(line)
    return "\n".join(out)


class _Normalizer(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        node.keywords.sort(key=lambda kw: kw.arg or "None")
        return node

    def _drop_docstring(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:]
        return node

    visit_Module = _drop_docstring
    visit_ClassDef = _drop_docstring
    visit_FunctionDef = _drop_docstring
    visit_AsyncFunctionDef = _drop_docstring


def normalize_code(code: str) -> str | None:
    """Coeditor-style normal form of Python code, or None when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes in model output
            tree = ast.parse(_escape_ipython(code))
        return ast.unparse(_Normalizer().visit(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def exact_match_normalized(gold: str, pred: str) -> float:
    if not gold.strip() or not pred.strip():
        return 0.0
    if gold == pred:  # equal texts have equal normal forms (or are equal unparsable text)
        return 100.0
    g, p = normalize_code(gold), normalize_code(pred)
    if g is None or p is None:
        g, p = " ".join(gold.split()), " ".join(pred.split())
    return 100.0 if g == p else 0.0

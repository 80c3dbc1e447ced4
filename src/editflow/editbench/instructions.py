"""Lazy and descriptive instructions for a planted bug, written by templates from the mutation.

CanItEdit's two styles: a *lazy* instruction is what a busy user types ("fix the off-by-one
in f"); a *descriptive* one says where the problem is and what the code must do instead,
without pasting the finished code. Each kind has a few phrasings; which one a problem gets is
drawn from the problem's seeded random generator, so the text is reproducible.
"""
from __future__ import annotations

import random

from editflow.editbench.mutations import Mutation

LAZY = {
    "swap_operator": ["fix the math in {fn}", "{fn} computes the wrong value, fix it",
                      "wrong operator in {fn}"],
    "flip_comparison": ["fix the comparison in {fn}", "{fn} gets an edge case wrong",
                        "fix the boundary check in {fn}"],
    "off_by_one": ["fix the off-by-one in {fn}", "{fn} is off by one", "fix the bounds in {fn}"],
    "wrong_constant": ["fix the constant in {fn}", "{fn} uses a wrong value somewhere",
                       "wrong literal in {fn}"],
    "drop_branch": ["{fn} misses a case", "handle the missing case in {fn}",
                    "{fn} forgets a special case"],
    "swap_boolean": ["fix the condition in {fn}", "wrong boolean logic in {fn}",
                     "fix the and/or in {fn}"],
    "negate_condition": ["the check in {fn} is backwards", "fix the inverted condition in {fn}",
                         "{fn} tests the opposite condition"],
}

_INTRO = "The function `{fn}` does not do what its docstring says."
_OUTRO = " Change only that and keep the rest of the function as it is."
DESCRIPTIVE = {
    "swap_operator": "On line {line}, the expression `{bad}` uses the operator `{bad_op}` where the "
                     "computation needs `{good_op}`.",
    "flip_comparison": "On line {line}, the comparison `{bad}` uses `{bad_op}`; it must use `{good_op}`, "
                       "{boundary}.",
    "off_by_one": "On line {line}, the bound `{bad}` is off by one: it must be one {direction}.",
    "wrong_constant": "On line {line}, the constant in `{bad_line}` is wrong: `{bad}` must be `{good}`.",
    "drop_branch": "It is missing a branch before line {line}: when `{condition}` holds, it must "
                   "{action}.",
    "swap_boolean": "On line {line}, the condition `{bad}` joins its parts with `{bad_op}`; "
                    "they must be joined with `{good_op}`.",
    "negate_condition": "On line {line}, the condition `{bad}` is inverted: the branch must run "
                        "when `{good}` holds, not when it fails.",
}

_BOUNDARY = {"<": "so the boundary value itself is excluded", "<=": "so the boundary value itself is included",
             ">": "so the boundary value itself is excluded", ">=": "so the boundary value itself is included",
             "==": "testing for equality", "!=": "testing for inequality",
             "in": "testing membership", "not in": "testing non-membership",
             "is": "testing identity", "is not": "testing non-identity"}


def _branch_parts(if_source: str) -> tuple[str, str]:
    """(condition, action) of a dropped `if cond: body` for the descriptive text."""
    head, _, body = if_source.partition("\n")
    condition = head.strip()[len("if"):].rstrip(":").strip() if head.strip().startswith("if") else head
    if not body.strip() and ":" in head:  # `if cond: stmt` on one line
        condition, _, body = head.strip()[len("if"):].partition(":")
        condition = condition.strip()
    statements = [line.strip() for line in body.splitlines() if line.strip()]
    if len(statements) == 1 and statements[0].startswith("return"):
        action = f"return `{statements[0][len('return'):].strip() or 'None'}`"
    elif len(statements) == 1:
        action = f"run `{statements[0]}`"
    else:
        action = f"run the {len(statements)} statements that handle that case"
    return condition, action


def instructions(mutation: Mutation, function: str, rng: random.Random) -> tuple[str, str]:
    """(lazy, descriptive) instructions that ask to undo `mutation` in `function`."""
    lazy = rng.choice(LAZY[mutation.kind]).format(fn=function)
    fields = {"fn": function, "line": mutation.line, "bad": mutation.bad, "good": mutation.good,
              "bad_op": mutation.bad_op, "good_op": mutation.good_op}
    if mutation.kind == "flip_comparison":
        fields["boundary"] = _BOUNDARY[mutation.good_op]
    elif mutation.kind == "off_by_one":
        fields["direction"] = "smaller" if mutation.bad_op == "+1" else "larger"
    elif mutation.kind == "wrong_constant":
        fields["bad_line"] = mutation.mutant.splitlines()[mutation.line - 1].strip()
    elif mutation.kind == "drop_branch":
        fields["condition"], fields["action"] = _branch_parts(mutation.good)
    descriptive = _INTRO.format(**fields) + " " + DESCRIPTIVE[mutation.kind].format(**fields)
    if mutation.kind != "drop_branch":
        descriptive += _OUTRO
    return lazy, descriptive

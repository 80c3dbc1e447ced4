"""Turn a model's raw output into the code it proposes (the `prediction` column).

Kept apart from generation so the rules are unit-tested and can be re-applied to stored
`raw_output` without rerunning a model. In order:
1. an echoed prompt: text up to and including the last "### Response:" when the output
   starts by repeating the instruction (or just a leading "### Response:" line);
2. everything from the first stop string on (the template's end marker, or a new
   "### Instruction" the model starts on its own);
3. a fenced block: the body of the first ```python / ``` fence (an unclosed fence, cut by
   the token budget, keeps everything after it); likewise a ''' pair wrapping the whole
   answer, which the templates use around the original code;
4. leading blank lines and trailing whitespace.
Notebook cell markers (`# %%`, editflow.cells) are kept: the references contain them.
"""
from __future__ import annotations

import re
from typing import Sequence

RESPONSE_MARKERS = ("### Response:", "### Response")
INSTRUCTION_MARKER = "### Instruction"
DEFAULT_STOP = ("### End", "### Instruction")

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$", re.MULTILINE)
_QUOTES = "'''"


def strip_echo(text: str) -> str:
    """Drop an echoed prompt or a leading "### Response:" the model repeated."""
    head = text.lstrip()
    if head.startswith(INSTRUCTION_MARKER) or head.startswith("You are a"):
        for marker in RESPONSE_MARKERS:
            pos = text.find(marker)
            if pos >= 0:
                return text[pos + len(marker):]
        return text
    for marker in RESPONSE_MARKERS:
        if head.startswith(marker):
            return head[len(marker):]
    return text


def cut_at_stop(text: str, stop: Sequence[str] = DEFAULT_STOP) -> str:
    """Everything before the earliest stop string (the whole text if none occurs)."""
    cut = len(text)
    for s in stop:
        pos = text.find(s)
        if 0 <= pos < cut:
            cut = pos
    return text[:cut]


def strip_fences(text: str) -> str:
    """The body of the first code fence, if the answer is fenced; else the text unchanged.

    Two fence lines: what lies between them (prose around the block is chatter). One fence
    line: an opening fence (nothing before it, or a language tag) keeps what follows, an
    unclosed block cut by the token budget; otherwise it is a stray closing fence and the
    text before it is kept.
    """
    fences = list(_FENCE.finditer(text))
    if len(fences) >= 2:
        return text[fences[0].end() + 1:fences[1].start()]
    if len(fences) == 1:
        fence = fences[0]
        before, after = text[:fence.start()], text[fence.end() + 1:]
        if not before.strip() or (fence.group(1) and after.strip()):
            return after
        return before
    return text


def strip_quotes(text: str) -> str:
    """Unwrap a ''' ... ''' pair around the whole answer (the templates quote code that way)."""
    body = text.strip("\n")
    if body.startswith(_QUOTES + "\n") or body == _QUOTES:
        body = body[len(_QUOTES):]
        end = body.rfind("\n" + _QUOTES)
        if end >= 0 and not body[end + 1 + len(_QUOTES):].strip():
            body = body[:end + 1]
        return body
    return text


def strip_blank_edges(text: str) -> str:
    """Leading blank lines and trailing whitespace go; the first line's indentation stays."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def clean_output(raw: str, stop: Sequence[str] = DEFAULT_STOP) -> str:
    """The code in a raw model output (see the module docstring for the rules)."""
    text = strip_echo(raw)
    text = cut_at_stop(text, stop)
    text = strip_fences(text)
    text = strip_quotes(text)
    return strip_blank_edges(text)

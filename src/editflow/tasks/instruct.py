"""instruct: instruction-following edits in OpenCodeEdit's format, mined or synthetic.

The model sees `## Code Before:` (the program), `## Instruction:` and writes the program after
the edit under `## Code After:` (templates/instruct.yaml). One example per instruction style,
with the style in the example's `meta` ({"style": ...}):

- a mined `.py` edit gives one example, style `commit`: its commit message is the instruction;
- a synthetic triplet of `editflow synth` (turned into an edit row by
  editflow.synth.editrows, recognised by its commit id starting with `synth:`) gives two,
  style `lazy` (the row's message subject) and style `descriptive` (its body).

So the paper's comparisons -- commit data vs synthetic vs both, lazy vs descriptive vs both --
are a choice of input files and of styles, not code. Edit size is counted the way
OpenCodeEdit counts it (editflow.difflines), for the DT filter.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from editflow.difflines import count_changes
from editflow.tasks.base import Decoded, Example, TaskSpec

SYNTH_COMMIT_PREFIX = "synth:"
STYLES = ("commit", "lazy", "descriptive")
_FENCED = re.compile(r"^\s*```[^\n`]*\n(.*?)\n?```\s*$", re.DOTALL)


def is_synthetic(edit: dict[str, Any]) -> bool:
    return str(edit.get("commit") or "").startswith(SYNTH_COMMIT_PREFIX)


def split_message(message: str) -> tuple[str, str]:
    """(subject, body) of a message: first line, and the rest after the blank line."""
    subject, _, body = (message or "").strip().partition("\n")
    return subject.strip(), body.strip()


def examples(edit: dict[str, Any]) -> Iterator[Example]:
    """One edit row (records.EDIT_SCHEMA, kind python) -> its instruct examples."""
    old, new = edit.get("old_source") or "", edit.get("new_source") or ""
    count = count_changes(old, new)
    common = dict(old_code=old, target=new, source=old, reference=new,
                  changed_lines=count.modified_lines, hunks=count.hunks)
    if is_synthetic(edit):
        lazy, descriptive = split_message(edit.get("message") or "")
        for style, text in (("lazy", lazy), ("descriptive", descriptive)):
            if text:
                yield Example(key=style, message=text, meta={"style": style, "origin": "synthetic"}, **common)
    else:
        yield Example(message=(edit.get("message") or "").strip(), meta={"style": "commit", "origin": "mined"},
                      **common)


def decode(text: str, source: str) -> Decoded:
    """The program after the edit; a model that wrapped it in one code fence is unwrapped."""
    m = _FENCED.match(text or "")
    return Decoded(m.group(1) + "\n" if m else text or "")


TASK = TaskSpec(
    name="instruct",
    description="instruction-following edit (OpenCodeEdit format): program + instruction -> edited program",
    reads="python",
    examples=examples,
    decode=decode,
    templates=("instruct", "instruct"),
    order=40,
    card=("- **instruct** (OpenCodeEdit): `## Code Before:` program, `## Instruction:`, `## Code After:` -> the "
          "program after the edit. Mined `.py` edits give one example (style `commit`, the commit message); "
          "synthetic triplets from `editflow synth` give two (styles `lazy` and `descriptive`); the style is in "
          "`meta`. Changed lines and hunks are counted as OpenCodeEdit counts them (editflow.difflines)."),
)

"""Reading the generator's answers, and every reason an answer is not used.

A generator model can answer anything: nothing, the same line until the budget runs out,
prose without the sections, its own version of the example, or text obeying an instruction
planted in a seed snippet. Each of these is a row dropped with a reason code (REASONS);
nothing raised here reaches the stage.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

ROUND1_SECTIONS = ("program before edit", "descriptive", "lazy")
AFTER_SECTION = "program after edit"
UNREASONABLE = "<UNREASONABLE>"

# reason code -> what it means (docs/synth.md lists the same table)
REASONS = {
    "seed_prompt_injection": "a seed snippet contains an instruction to the model (not generated)",
    "prompt_too_long": "the prompt leaves too little of the context window for the answer (not generated)",
    "round1_empty": "round 1 answered nothing",
    "round1_repetition": "round 1 repeats itself (a line or a span over and over)",
    "round1_truncated": "round 1 ran out of new-token budget",
    "round1_missing_sections": "round 1 lacks [Program Before Edit], [Descriptive] or [Lazy]",
    "round1_empty_section": "a round 1 section is empty",
    "round1_copied_example": "the program before the edit is the one-shot example's",
    "round2_empty": "round 2 answered nothing",
    "round2_repetition": "round 2 repeats itself",
    "unreasonable": "the self-check judged the task unreasonable (<UNREASONABLE>)",
    "round2_truncated": "round 2 ran out of new-token budget",
    "round2_missing_section": "round 2 has neither [Program After Edit] nor a code block",
    "round2_empty_section": "[Program After Edit] is empty",
    "prompt_injection_in_output": "the generated text repeats an instruction to the model",
}

_HEADER = re.compile(r"[*#>\s]*\[\s*(program before edit|descriptive|lazy|program after edit)\s*\][*\s]*:?[*]*",
                     re.IGNORECASE)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|my\s+)*(previous\s+|prior\s+|above\s+|"
    r"earlier\s+|preceding\s+|system\s+|original\s+)*(instructions?|prompts?|rules|guidelines|directions)\b"
    r"|\byou\s+are\s+now\s+(a|an|in)\b|\bnew\s+instructions?\s*:|\breveal\s+(the|your)\s+system\s+prompt\b",
    re.IGNORECASE)
REPEATED_LINE_TIMES = 8       # one line of >= 10 characters this often is a loop, not code
REPEATED_LINE_MIN_CHARS = 10
COMPRESSION_FLOOR = 0.12      # zlib ratio below this on >= 400 characters: the text repeats a span
COMPRESSION_MIN_CHARS = 400


@dataclass(frozen=True)
class Round1:
    pre_edit: str | None = None
    descriptive: str | None = None
    lazy: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Round2:
    post_edit: str | None = None
    reasonable: bool | None = None   # None: the answer did not say
    reason: str | None = None


def has_injection(text: str) -> bool:
    """Does the text address the model ("ignore the instructions ...", "you are now a ...")?"""
    return bool(_INJECTION.search(text or ""))


def is_repetitive(text: str) -> bool:
    """A decoding loop: one non-trivial line many times, or a text that compresses like a loop."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= REPEATED_LINE_MIN_CHARS:
            counts[line] = counts.get(line, 0) + 1
            if counts[line] >= REPEATED_LINE_TIMES:
                return True
    raw = text.encode("utf-8", "replace")
    return len(raw) >= COMPRESSION_MIN_CHARS and len(zlib.compress(raw, 9)) / len(raw) < COMPRESSION_FLOOR


def strip_code(text: str) -> str:
    """The first fenced block's content when there is one, else the text; trailing newline kept once."""
    m = _FENCE.search(text)
    code = m.group(1) if m else text
    code = code.strip("\n")
    return code.rstrip() + "\n" if code.strip() else ""


def _clean_prose(text: str) -> str:
    return text.strip().strip("*").strip()


def sections(text: str) -> dict[str, str]:
    """{section name (lower case): its text} for the first occurrence of each bracketed header."""
    found: dict[str, str] = {}
    heads = list(_HEADER.finditer(text))
    for i, m in enumerate(heads):
        name = m.group(1).lower()
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        found.setdefault(name, text[m.end():end])
    return found


def _common_failure(text: str, round_name: str) -> str | None:
    if not text.strip():
        return f"{round_name}_empty"
    if is_repetitive(text):
        return f"{round_name}_repetition"
    return None


def parse_round1(text: str, finish_reason: str, example_programs: frozenset[str] = frozenset()) -> Round1:
    """The three sections of a round 1 answer, or the reason it cannot be used."""
    reason = _common_failure(text, "round1")
    if reason:
        return Round1(reason=reason)
    if finish_reason == "length":
        return Round1(reason="round1_truncated")
    found = sections(text)
    if any(name not in found for name in ROUND1_SECTIONS):
        return Round1(reason="round1_missing_sections")
    pre = strip_code(found["program before edit"])
    desc, lazy = _clean_prose(found["descriptive"]), _clean_prose(found["lazy"])
    if not (pre and desc and lazy):
        return Round1(reason="round1_empty_section")
    if pre.strip() in example_programs:
        return Round1(reason="round1_copied_example")
    if has_injection(pre + "\n" + desc + "\n" + lazy):
        return Round1(reason="prompt_injection_in_output")
    return Round1(pre_edit=pre, descriptive=desc, lazy=lazy)


def parse_round2(text: str, finish_reason: str) -> Round2:
    """The program after the edit, `<UNREASONABLE>`, or the reason the answer cannot be used."""
    reason = _common_failure(text, "round2")
    if reason:
        return Round2(reason=reason)
    found = sections(text)
    if UNREASONABLE in text.upper() and AFTER_SECTION not in found:
        return Round2(reasonable=False, reason="unreasonable")
    if finish_reason == "length":
        return Round2(reason="round2_truncated")
    if AFTER_SECTION in found:
        post = strip_code(found[AFTER_SECTION])
    elif _FENCE.search(text):
        post = strip_code(text)
    else:
        return Round2(reason="round2_missing_section")
    if not post:
        return Round2(reason="round2_empty_section")
    if has_injection(post):
        return Round2(reason="prompt_injection_in_output")
    return Round2(post_edit=post, reasonable=True)

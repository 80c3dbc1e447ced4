"""Coeditor's line-diff encoding of a unit change, and its decoder.

A change of one unit is a line diff (difflib over lines, like `Differ.compare`): a sequence of
entries ` ` (kept), `-` (deleted), `+` (added). Each `-`/`+` entry is one *atom*; a problem is
a state in which some atoms are already applied (inlined, visible to the model) and the rest
are the target.

Input (`EncInput`): the unit's lines in diff order. Applied deletions stay visible with a
`<del>` status and applied additions with an `<add>` status; unapplied additions are absent.
Every line that exists in the current code (kept, `<add>`, or not yet deleted) gets a
placeholder `<extra_id_k>` in front, and one more placeholder closes the unit (additions at
its end). Lines with a `<del>` status get none: an addition before a deleted line and one after
it give the same code, so they need no slot of their own.

Output (`EncOutput`): per placeholder, the lines to insert before its line (`<add>` + line +
"\\n" each) and then `<del>` if its line is deleted. Placeholders without a change are dropped
(fewer tokens); the decoder treats a missing placeholder as "no change". The paper's
restriction holds by construction: gold targets never delete an `<add>` line, and
`decode_slots(..., protected=...)` rejects outputs that do.

Prior changes of the commit are encoded with the same status markers and an empty edit
region (no placeholders).

Code text that contains a marker look-alike (`<add>` in a string, say) is escaped by a
backslash after its `<` (`<\\add>`; one more backslash for an already escaped one), so decoding
is exact whatever the code holds.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

ADD = "<add>"
DEL = "<del>"
PLACEHOLDER = "<extra_id_{}>"
_MARKERS = re.compile(r"<(\\*)(add>|del>|extra_id_\d+>)")
_UNESCAPE = re.compile(r"<\\(\\*)(add>|del>|extra_id_\d+>)")
_PLACEHOLDER = re.compile(r"<extra_id_(\d+)>")


def placeholder(k: int) -> str:
    return PLACEHOLDER.format(k)


def escape(line: str) -> str:
    return _MARKERS.sub(lambda m: "<\\" + m.group(1) + m.group(2), line) if "<" in line else line


def unescape(line: str) -> str:
    return _UNESCAPE.sub(lambda m: "<" + m.group(1) + m.group(2), line) if "<\\" in line else line


@dataclass(frozen=True)
class Entry:
    op: str    # " " | "-" | "+"
    text: str  # the line, without "\n"


def line_diff(old_lines: list[str], new_lines: list[str], adds_first: bool = True) -> list[Entry]:
    """Line diff entries. `adds_first`: a replaced block lists its additions before its
    deletions, so that a replacement is encoded as the paper's `<k><add>new<del>` (insert
    before line k, delete line k); `False` gives Differ's order (deletions first), used for
    showing prior changes."""
    sm = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    out: list[Entry] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(Entry(" ", t) for t in old_lines[i1:i2])
            continue
        dels = [Entry("-", t) for t in old_lines[i1:i2]]
        adds = [Entry("+", t) for t in new_lines[j1:j2]]
        out.extend(adds + dels if adds_first else dels + adds)
    return out


def blocks(diff: list[Entry]) -> list[list[int]]:
    """Changed entries grouped into maximal runs (hunks at zero context)."""
    out: list[list[int]] = []
    prev = -2
    for i, e in enumerate(diff):
        if e.op == " ":
            continue
        if i == prev + 1:
            out[-1].append(i)
        else:
            out.append([i])
        prev = i
    return out


def atoms(diff: list[Entry]) -> list[int]:
    """Indices of the changed entries (one atom per added or deleted line), in diff order."""
    return [i for i, e in enumerate(diff) if e.op != " "]


@dataclass
class View:
    """A diff seen with the atoms in `applied` inlined: what the model gets, and the gold rest."""
    lines: list[tuple[str, str]]      # (status "", "<add>", "<del>"; text) in input order
    slot_of_line: list[int | None]    # placeholder number per input line (None for <del> lines)
    n_slots: int                      # placeholders, the closing one included
    gold: dict[int, tuple[list[str], bool]] = field(default_factory=dict)  # slot -> (adds, deleted)
    gold_atoms: dict[int, tuple[list[int], int | None]] = field(default_factory=dict)  # same, as diff indices
    protected: frozenset[int] = frozenset()  # slots whose line carries <add> (never deleted)

    def current_lines(self) -> list[str]:
        """The code as it stands (applied atoms only): kept, <add> and not-yet-deleted lines."""
        return [t for s, t in self.lines if s != DEL]


def view(diff: list[Entry], applied: set[int]) -> View:
    lines: list[tuple[str, str]] = []
    slots: list[int | None] = []
    gold: dict[int, tuple[list[str], bool]] = {}
    gold_atoms: dict[int, tuple[list[int], int | None]] = {}
    protected = set()
    pending: list[int] = []  # unapplied additions waiting for the next slot
    slot = 0
    for i, e in enumerate(diff):
        if e.op == "+" and i not in applied:
            pending.append(i)
            continue
        if e.op == "-" and i in applied:
            lines.append((DEL, e.text))
            slots.append(None)
            continue
        status = ADD if e.op == "+" else ""
        lines.append((status, e.text))
        slots.append(slot)
        deleted = e.op == "-"  # unapplied deletion
        if pending or deleted:
            gold[slot] = ([diff[j].text for j in pending], deleted)
            gold_atoms[slot] = (pending, i if deleted else None)
        if status:
            protected.add(slot)
        pending = []
        slot += 1
    if pending:
        gold[slot] = ([diff[j].text for j in pending], False)
        gold_atoms[slot] = (pending, None)
    return View(lines, slots, slot + 1, gold, gold_atoms, frozenset(protected))


def encode_input(v: View) -> str:
    """EncInput: the unit with statuses and a placeholder per editable line (+ a closing one)."""
    parts = []
    for (status, text), slot in zip(v.lines, v.slot_of_line):
        ph = "" if slot is None else placeholder(slot)
        parts.append(ph + status + escape(text))
    parts.append(placeholder(v.n_slots - 1))
    return "\n".join(parts)


def encode_slots(slots: dict[int, tuple[list[str], bool]]) -> str:
    """EncOutput of a slot -> (lines to add, delete?) map, placeholders in order."""
    out = []
    for k in sorted(slots):
        adds, deleted = slots[k]
        if not adds and not deleted:
            continue
        out.append(placeholder(k) + "".join(ADD + escape(a) + "\n" for a in adds) + (DEL if deleted else ""))
    return "".join(out)


def encode_output(v: View) -> str:
    return encode_slots(v.gold)


def encode_context_change(diff: list[Entry]) -> str:
    """A prior change with an empty edit region: statuses, no placeholders."""
    status = {" ": "", "-": DEL, "+": ADD}
    return "\n".join(status[e.op] + escape(e.text) for e in diff)


class DecodeError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_slots(text: str, n_slots: int, protected: frozenset[int] = frozenset()) -> dict[int, tuple[list[str], bool]]:
    """Parse an EncOutput text into slot -> (adds, deleted); DecodeError(reason) if malformed.

    Reasons: `no_placeholder` (text without any placeholder), `text_before_placeholder`,
    `unknown_placeholder` (beyond the unit), `repeated_placeholder`, `stray_text` (anything
    but `<add>` lines and one final `<del>` after a placeholder), `delete_closing_slot`,
    `delete_added_line` (the paper's restriction).
    """
    if not text.strip():
        return {}
    heads = list(_PLACEHOLDER.finditer(text))
    if not heads:
        raise DecodeError("no_placeholder")
    if text[:heads[0].start()].strip():
        raise DecodeError("text_before_placeholder")
    out: dict[int, tuple[list[str], bool]] = {}
    for n, m in enumerate(heads):
        k = int(m.group(1))
        if k >= n_slots:
            raise DecodeError("unknown_placeholder")
        if k in out:
            raise DecodeError("repeated_placeholder")
        body = text[m.end(): heads[n + 1].start() if n + 1 < len(heads) else len(text)]
        adds, deleted = _parse_body(body)
        if deleted and k == n_slots - 1:
            raise DecodeError("delete_closing_slot")
        if deleted and k in protected:
            raise DecodeError("delete_added_line")
        out[k] = (adds, deleted)
    return out


def _parse_body(body: str) -> tuple[list[str], bool]:
    adds: list[str] = []
    pos = 0
    while body.startswith(ADD, pos):
        nl = body.find("\n", pos)
        nxt = body.find(ADD, pos + len(ADD))
        dl = body.find(DEL, pos + len(ADD))
        ends = [x for x in (nl, nxt, dl) if x != -1]
        end = min(ends) if ends else len(body)
        adds.append(unescape(body[pos + len(ADD): end]))
        pos = end + 1 if end == nl else end
    rest = body[pos:]
    deleted = rest.strip().startswith(DEL)
    if deleted:
        rest = rest.strip()[len(DEL):]
    if rest.strip():
        raise DecodeError("stray_text")
    return adds, deleted


def apply_slots(current: list[tuple[str, int | None]], slots: dict[int, tuple[list[str], bool]],
                n_slots: int) -> list[str]:
    """The code after applying slot edits to the current lines (line text, slot) in order."""
    out: list[str] = []
    for text, slot in current:
        adds, deleted = slots.get(slot, ([], False))
        out.extend(adds)
        if not deleted:
            out.append(text)
    out.extend(slots.get(n_slots - 1, ([], False))[0])
    return out


@dataclass(frozen=True)
class DecodedUnit:
    """A decoded unit (fields as the task registry's Decoded)."""
    code: str
    ok: bool = True
    reason: str | None = None


def decode(text: str, source: str) -> DecodedUnit:
    """EncOutput text (gold target or model output) + the unit as it stands -> the edited unit.

    Placeholder k is line k of `source` (the closing one is its end). A malformed text gives
    the unchanged unit and the reason (see `decode_slots`); it never raises.
    """
    from editflow.coeditor.units import join_lines, source_lines

    lines = source_lines(source or "")
    try:
        slots = decode_slots(text or "", len(lines) + 1)
    except DecodeError as exc:
        return DecodedUnit(source, False, exc.reason)
    return DecodedUnit(join_lines(apply_slots([(t, k) for k, t in enumerate(lines)], slots, len(lines) + 1)))

"""py-unit evaluation: single-round EM, PyCommits-OneLine and the multi-round simulation.

- Single round: the model output is decoded into the post-edit unit (encoding.decode) and
  compared with the reference by Coeditor's normalised exact match
  (editflow.metrics.match.exact_match_normalized). Units are dedented first: a method's lines
  are indented, and normalisation parses the code.
- OneLine (Table 3): the same EM on OneLine instances, reported per kind (Add EM, Replace EM)
  and overall.
- Multi-round (Table 4), the paper's simulated user: the model's suggested line changes are
  compared with the remaining gold changes line by line and every exact match is accepted; if
  none matches, the user makes the first remaining change by hand. The model is asked again
  until nothing is left or the round limit (6) is reached; the user then makes what is left.
  The gain in each metric (Lines, Levenshtein, Keystrokes) is the cost of the whole gold change
  minus the summed cost of the user's manual edits; a table reports the total gain over all
  problems as a percentage of the total gold cost, and the mean number of rounds.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from editflow.coeditor import encoding as enc
from editflow.coeditor.units import join_lines, source_lines
from editflow.metrics.keystroke import keystroke_distance, levenshtein, lines_changed
from editflow.metrics.match import exact_match_normalized

ROUND_LIMIT = 6
COSTS: dict[str, Callable[[str, str], int]] = {
    "lines": lines_changed,
    "levenshtein": levenshtein,
    "keystrokes": keystroke_distance,   # Appendix A.1, cursor jump cost 4
}


def unit_em(reference: str, decoded: str) -> float:
    """Coeditor's normalised EM (0 or 100) of a decoded unit against the post-edit unit."""
    return exact_match_normalized(textwrap.dedent(reference), textwrap.dedent(decoded))


def decoded_em(text: str, source: str, reference: str) -> tuple[float, str | None]:
    """EM of a model output decoded against its source; the decode failure reason, if any."""
    d = enc.decode(text, source)
    return unit_em(reference, d.code), d.reason


@dataclass
class Simulation:
    rounds: int
    accepted: int                 # line changes taken from the model
    manual: int                   # line changes the user made
    total_cost: dict[str, int]    # metric -> cost of the whole gold change
    manual_cost: dict[str, int]   # metric -> summed cost of the manual edits
    failures: dict[str, int] = field(default_factory=dict)   # decode failure reason -> rounds

    def gain(self, metric: str) -> int:
        return self.total_cost[metric] - self.manual_cost[metric]


def _code(diff: list[enc.Entry], applied: set[int]) -> str:
    return join_lines(enc.view(diff, applied).current_lines())


def matching_atoms(v: enc.View, slots: dict[int, tuple[list[str], bool]]) -> set[int]:
    """The gold atoms a prediction gets exactly right (per slot: added lines by text, deletion)."""
    hit: set[int] = set()
    for k, (adds, deleted) in slots.items():
        gold_adds, gold_del = v.gold_atoms.get(k, ([], None))
        free = dict(zip(gold_adds, v.gold.get(k, ([], False))[0]))
        for a in adds:
            atom = next((i for i, t in free.items() if t == a), None)
            if atom is not None:
                hit.add(atom)
                del free[atom]
        if deleted and gold_del is not None:
            hit.add(gold_del)
    return hit


def simulate(diff: list[enc.Entry], predict: Callable[[enc.View], str], round_limit: int = ROUND_LIMIT,
             applied: Iterable[int] = ()) -> Simulation:
    """The simulated user on one unit change; `predict(view)` returns the model's EncOutput.

    `applied` are changes already made before the first round (0 for PyCommits problems).
    `round_limit=1` is the SingleRound setting of Table 4.
    """
    done = set(applied)
    todo = [i for i in enc.atoms(diff) if i not in done]
    start, end = _code(diff, done), _code(diff, done | set(todo))
    total = {m: int(f(start, end)) for m, f in COSTS.items()}
    manual = dict.fromkeys(COSTS, 0)
    failures: dict[str, int] = {}
    rounds = accepted = n_manual = 0

    def by_hand(atoms: set[int]) -> None:
        before = _code(diff, done)
        done.update(atoms)
        after = _code(diff, done)
        for m, f in COSTS.items():
            manual[m] += int(f(before, after))

    while rounds < round_limit:
        remaining = [i for i in todo if i not in done]
        if not remaining:
            break
        rounds += 1
        v = enc.view(diff, done)
        try:
            slots = enc.decode_slots(predict(v), v.n_slots, v.protected)
        except enc.DecodeError as exc:
            failures[exc.reason] = failures.get(exc.reason, 0) + 1
            slots = {}
        hit = matching_atoms(v, slots)
        if hit:
            done.update(hit)
            accepted += len(hit)
        else:
            by_hand({remaining[0]})
            n_manual += 1
    left = {i for i in todo if i not in done}
    if left:
        n_manual += len(left)
        by_hand(left)
    return Simulation(rounds, accepted, n_manual, total, manual, failures)


def gains_table(settings: dict[str, list[Simulation]]) -> list[dict[str, object]]:
    """Table 4 rows: setting, total gain % per metric (sum of gains / sum of gold costs), rounds."""
    rows = []
    for name, sims in settings.items():
        row: dict[str, object] = {"setting": name, "n_problems": len(sims)}
        for m in COSTS:
            total = sum(s.total_cost[m] for s in sims)
            gain = sum(s.gain(m) for s in sims)
            row[f"{m}_gain"] = round(100.0 * gain / total, 2) if total else float("nan")
        row["rounds"] = round(float(np.mean([s.rounds for s in sims])), 2) if sims else float("nan")
        rows.append(row)
    return rows


def oneline_table(kinds: Iterable[str], ems: Iterable[float]) -> dict[str, object]:
    """Table 3 row: Add EM, Replace EM and overall EM (%) of OneLine instances."""
    kinds, ems = list(kinds), np.asarray(list(ems), dtype=float)
    out: dict[str, object] = {}
    for kind in ("add", "replace"):
        sel = np.array([k == kind for k in kinds], dtype=bool)
        out[f"n_{kind}"] = int(sel.sum())
        out[f"{kind}_em"] = round(float(ems[sel].mean()), 2) if sel.any() else float("nan")
    out["n"] = len(kinds)
    out["overall_em"] = round(float(ems.mean()), 2) if len(kinds) else float("nan")
    return out

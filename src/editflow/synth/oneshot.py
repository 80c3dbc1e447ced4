"""The pool of curated one-shot examples for round 1 and the seeded draw of one per prompt.

OpenCodeEdit shows the model one example task (a program and its descriptive and lazy
instructions) drawn at random from 20 curated ones, so outputs do not all imitate one
demonstration. The 20 examples of editflow are written for this project and ship in
editflow/resources/synth/oneshot_examples.json.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

RESOURCE = "resources/synth/oneshot_examples.json"


@dataclass(frozen=True)
class OneShot:
    pre_edit: str
    descriptive: str
    lazy: str


@lru_cache(maxsize=1)
def load_pool() -> tuple[OneShot, ...]:
    data = json.loads(resources.files("editflow").joinpath(RESOURCE).read_text(encoding="utf-8"))
    return tuple(OneShot(e["pre_edit"], e["descriptive"], e["lazy"]) for e in data["examples"])


def draw(pair_id: str, seed: int) -> tuple[int, OneShot]:
    """The example for one snippet pair: depends on (seed, pair) only, not on the batch or order."""
    pool = load_pool()
    index = random.Random(f"{seed}:{pair_id}").randrange(len(pool))
    return index, pool[index]

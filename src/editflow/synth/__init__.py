"""Synthetic instruction-following edit data (OpenCodeEdit's pipeline), stage `editflow synth`.

Seed snippets from repositories' head trees (snippets.py) -> round 1, a one-shot prompt asking
a generator model for a program and two instructions (prompting.py, oneshot.py) -> round 2,
the self-check that answers <UNREASONABLE> or writes the edited program (generation.py,
parsing.py) -> the diff filter, duplicate removal and the HDP topic quota (filters.py,
topics.py) -> one Parquet file with every row, kept or dropped with a reason, and a card
(card.py). `instruct.py` turns kept rows into the `instruct` task's examples.
"""

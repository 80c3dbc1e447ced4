"""Execution-checked code-edit benchmarks: problems with `before`, `after`, two instructions and tests.

`editflow benchmark --source NAME --out FILE.parquet` writes one (docs/editbench.md):
- `humaneval-edit` (humaneval.py): HumanEval's canonical solutions with one seeded AST
  mutation each (mutations.py), instructions from templates (instructions.py); a problem is
  kept only when the sandbox fails `before` and passes `after`.
- `canitedit` (canitedit.py): the CanItEdit dataset file a user has.
Both write the columns of schema.py; the card and stats beside the file say what it is.
"""

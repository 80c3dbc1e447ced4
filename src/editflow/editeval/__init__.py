"""Execution-checked edit evaluation in the workflow: benchmark problems as `instruct` examples
(`editflow bench-split`), training-data mixtures of mined and synthetic edits (`editflow mix`)
and the pass@k table of base and fine-tuned systems (`editflow passk-table`).

Each module is one verb; they connect the stages' files (editflow benchmark, editflow synth,
editflow dataset / train / infer / score) without any stage importing another.
"""

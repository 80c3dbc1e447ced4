"""Batched inference: prompts from the shared templates, length-sorted batched generation,
postprocessing, resumable part files. `editflow infer` (cli.py) is the entry point."""

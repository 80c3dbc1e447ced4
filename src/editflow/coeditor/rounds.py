"""Multi-round evaluation (Coeditor's Table 4) of a model on py-unit test examples.

Unlike single-round scoring, every round needs a fresh model call on an input that holds the
changes accepted so far, so this runs the model itself: `simulate_rows` takes any
`generate(model inputs, commit messages) -> EncOutput texts` function. `seq2seq_generator` and
`causal_generator` make one from a Hugging Face model (for causal models the input is wrapped
in the task's prompt template, as `editflow infer` does); `rounds_table` runs SingleRound
(round limit 1) and MultiRound (6) and returns Table 4's rows.

The example's input is rebuilt per round: its first `meta.query_lines` lines (the unit in
EncInput form) are re-encoded with the accepted changes inlined; the references after them
(prior changes, signatures) stay as they were.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from editflow.coeditor import encoding as enc
from editflow.coeditor.evaluation import ROUND_LIMIT, Simulation, gains_table, simulate
from editflow.coeditor.units import source_lines

Generate = Callable[[list[str], list[str]], list[str]]   # (model inputs, commit messages) -> outputs


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    m = row.get("meta")
    return json.loads(m) if isinstance(m, str) else dict(m or {})


def _old_code(row: dict[str, Any]) -> str:
    return row["old_code"] if "old_code" in row else row["prompt_fields"]["old_code"]


def input_for(row: dict[str, Any], v: enc.View) -> str:
    """The example's model input with its unit re-encoded as `v` (same header and references)."""
    lines = _old_code(row).split("\n")
    n = _meta(row).get("query_lines", len(lines))
    rest = "\n".join(lines[n:])
    query = f"{lines[0]}\n{enc.encode_input(v)}"
    return f"{query}\n{rest}" if rest else query


def simulate_rows(rows: Sequence[dict[str, Any]], generate: Generate,
                  round_limit: int = ROUND_LIMIT) -> list[Simulation]:
    """The simulated user on each (non-synthetic) example row: source, reference, old_code, meta."""
    out = []
    for row in rows:
        diff = enc.line_diff(source_lines(row["source"]), source_lines(row["reference"]))
        message = row.get("message") or (row.get("prompt_fields") or {}).get("message") or ""
        out.append(simulate(diff, lambda v, row=row, m=message: generate([input_for(row, v)], [m])[0],
                            round_limit))
    return out


def rounds_table(rows: Sequence[dict[str, Any]], generate: Generate) -> list[dict[str, object]]:
    """Table 4: SingleRound and MultiRound total gains (Lines, Levenshtein, Keystrokes %) and Rounds."""
    rows = [r for r in rows if not _meta(r).get("synthetic") and "oneline" not in _meta(r)]
    return gains_table({"SingleRound": simulate_rows(rows, generate, 1),
                        "MultiRound": simulate_rows(rows, generate, ROUND_LIMIT)})


def seq2seq_generator(model, tokenizer, max_new_tokens: int = 256) -> Generate:
    from editflow.coeditor import seq2seq

    return lambda inputs, messages: seq2seq.generate(model, tokenizer, inputs, max_new_tokens=max_new_tokens)


def causal_generator(model, tokenizer, task: str = "py-unit", finetuned: bool = True,
                     max_new_tokens: int = 256) -> Generate:
    """Greedy generation in the task's prompt template, cut at the template's stop strings."""
    import torch

    from editflow.prompts import Exemplar, render_prompt, task_template

    template = task_template(task, finetuned)

    def generate(inputs: list[str], messages: list[str]) -> list[str]:
        outs = []
        for text, message in zip(inputs, messages):
            prompt = render_prompt(template, task, Exemplar(message, text))
            ids = tokenizer(prompt, return_tensors="pt")
            with torch.no_grad():
                gen = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
            out = tokenizer.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=False)
            for stop in (*template.stop, template.end.strip(), tokenizer.eos_token or "\0"):
                if stop and stop in out:
                    out = out[: out.index(stop)]
            outs.append(out)
        return outs
    return generate

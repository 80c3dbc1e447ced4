"""Token counts of the rendered training text (prompt and target), for the max_tokens filter.

What is counted is what training sees: the prompt rendered with the fine-tuned template
(editflow.prompts.task_template(task, finetuned=True)) and the target followed by the template's end
marker. Rendering is vectorised: the template is filled once per task with sentinels and
split into literal pieces, then pyarrow concatenates pieces and columns for a whole batch
(a test checks the result equals prompts.render_prompt row by row).

Counters: `whitespace` (runs of non-space characters; needs nothing, used by tests and the
benchmark) or a Hugging Face tokenizer directory / hub id (tokenizer.json read with the
`tokenizers` library when present, else transformers.AutoTokenizer).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow import prompts

log = logging.getLogger(__name__)

_MSG, _CODE = "\x00EDITFLOW_MESSAGE\x00", "\x00EDITFLOW_OLD_CODE\x00"


@lru_cache(maxsize=None)
def _pieces(task: str) -> tuple[list[str], list[str], str]:
    """(literal pieces, the column placed after each piece but the last, end marker)."""
    template = prompts.task_template(task, finetuned=True)
    text = prompts.render_prompt(template, task, prompts.Exemplar(message=_MSG, old_code=_CODE))
    literals: list[str] = []
    slots: list[str] = []
    rest = text
    while True:
        positions = [(rest.find(s), s) for s in (_MSG, _CODE) if rest.find(s) >= 0]
        if not positions:
            literals.append(rest)
            break
        pos, sentinel = min(positions)
        literals.append(rest[:pos])
        slots.append("message" if sentinel == _MSG else "old_code")
        rest = rest[pos + len(sentinel):]
    return literals, slots, template.end


def render_prompts(task: str, message: pa.Array, old_code: pa.Array) -> pa.Array:
    """prompts.render_prompt(finetuned, task, Exemplar(message, old_code)) for every row."""
    literals, slots, _ = _pieces(task)
    columns = {"message": pc.fill_null(message, ""), "old_code": pc.fill_null(old_code, "")}
    parts: list = []
    for lit, slot in zip(literals, slots + [None]):
        if lit:
            parts.append(lit)
        if slot:
            parts.append(columns[slot])
    if not any(isinstance(p, (pa.Array, pa.ChunkedArray)) for p in parts):
        return pa.array([parts[0] if parts else ""] * len(message), pa.string())
    return pc.binary_join_element_wise(*parts, "")


def render_targets(task: str, target: pa.Array) -> pa.Array:
    _, _, end = _pieces(task)
    return pc.binary_join_element_wise(pc.fill_null(target, ""), end, "")


class TokenCounter:
    """Counts tokens of many texts at once."""

    name: str

    def count(self, texts: pa.Array) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class WhitespaceCounter(TokenCounter):
    name = "whitespace"

    def count(self, texts: pa.Array) -> np.ndarray:
        counts = pc.count_substring_regex(pc.fill_null(texts, ""), r"\S+")
        return np.asarray(counts, dtype=np.int64)


class HFCounter(TokenCounter):
    """A Hugging Face tokenizer; special tokens are not added (templates carry their own)."""

    def __init__(self, name_or_dir: str):
        self.name = str(name_or_dir)
        path = Path(name_or_dir)
        if (path / "tokenizer.json").exists():
            from tokenizers import Tokenizer
            self._fast = Tokenizer.from_file(str(path / "tokenizer.json"))
            self._hf = None
        else:
            from transformers import AutoTokenizer
            self._fast = None
            self._hf = AutoTokenizer.from_pretrained(name_or_dir)

    def count(self, texts: pa.Array) -> np.ndarray:
        """Encode each distinct text once (forks and repeated edits repeat whole prompts)."""
        if len(texts) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = pc.dictionary_encode(pc.fill_null(texts, ""))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        per_value = self._count_values(encoded.dictionary.to_pylist())
        return per_value[np.asarray(encoded.indices, dtype=np.int64)]

    def _count_values(self, values: list[str]) -> np.ndarray:
        if not values:
            return np.zeros(0, dtype=np.int64)
        if self._fast is not None:
            encs = self._fast.encode_batch(values, add_special_tokens=False)
            return np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(values))
        ids = self._hf(values, add_special_tokens=False)["input_ids"]
        return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(values))


def make_counter(spec: str | None) -> TokenCounter:
    """`whitespace` or a tokenizer directory / hub id. Errors name the path and the fix."""
    if spec is None or spec == "whitespace":
        return WhitespaceCounter()
    path = Path(spec)
    if not path.exists() and (path.is_absolute() or spec.startswith((".", "resources", "results"))):
        raise FileNotFoundError(
            f"tokenizer directory {spec} does not exist; build it (`editflow prepare-model`), "
            f"pass --tokenizer DIR, or use --tokenizer whitespace")
    return HFCounter(spec)

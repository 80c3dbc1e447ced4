"""How predictions and references are cut into tokens before the token-level metrics.

ipynb-edit scored with the model's own tokenizer (teco's definitions take token lists), so
the scores of two models with different tokenizers are not directly comparable: the scores
file records which tokenizer was used. `whitespace` is `str.split()`; anything else is a
Hugging Face tokenizer name or directory, loaded offline (local files only), whose
`tokenize()` strings (e.g. `Ġdef`) are the tokens.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

WHITESPACE = "whitespace"


@dataclass
class Tokenizer:
    """A named batch tokenizer: `name` goes into the scores file's metadata."""

    name: str
    batch: Callable[[list[str]], list[list[str]]]

    def __call__(self, text: str) -> list[str]:
        return self.batch([text])[0]


def whitespace_tokenizer() -> Tokenizer:
    return Tokenizer(WHITESPACE, lambda texts: [t.split() for t in texts])


def hf_tokenizer(name_or_dir: str) -> Tokenizer:
    """Load a Hugging Face tokenizer from a local directory or the local cache only."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name_or_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(
            f"cannot load tokenizer {name_or_dir!r} offline: {exc}. Pass a directory that holds "
            f"tokenizer files (e.g. results/default/models/<model>/base), a name already in the Hugging "
            f"Face cache, or --tokenizer whitespace") from None

    def batch(texts: list[str]) -> list[list[str]]:
        if not texts:
            return []
        if getattr(tok, "is_fast", False):
            ids = tok(texts, add_special_tokens=False)["input_ids"]
            return [tok.convert_ids_to_tokens(row) for row in ids]
        return [tok.tokenize(t) for t in texts]

    label = str(Path(name_or_dir)) if Path(name_or_dir).exists() else name_or_dir
    return Tokenizer(f"hf:{label}", batch)


def load_tokenizer(spec: str | None) -> Tokenizer:
    """`whitespace`, a Hugging Face name/directory, or None / `model` (-> whitespace, warned)."""
    if spec in (None, "", "model"):
        log.warning("no tokenizer given (the rule passes --tokenizer <model dir>); "
                    "falling back to whitespace tokens — scores are then not comparable to "
                    "model-token scores")
        return whitespace_tokenizer()
    if spec == WHITESPACE:
        return whitespace_tokenizer()
    return hf_tokenizer(spec)

"""The encoding's marker strings and the tokenizer: one special token each, or plain text.

`<add>`, `<del>` and the placeholders `<extra_id_0>` ... are single tokens where the tokenizer
has them (CodeT5 / T5 ship `<extra_id_0..99>`: "native") or can be given them ("special": the
missing ones are added as special tokens, and the model's embeddings must be resized,
`resize_embeddings`). Where adding tokens is not wanted (a fixed-vocabulary model, a LoRA run
that cannot train new embeddings) they stay "escaped": plain text that the tokenizer splits
into ordinary pieces, still unambiguous because code that looks like a marker is escaped by
the encoder (editflow.coeditor.encoding.escape). The data is the same text in all three modes;
only the tokenizer differs, and `MarkerChoice.card` records the choice for the dataset card.
"""
from __future__ import annotations

from dataclasses import dataclass

from editflow.coeditor.encoding import ADD, DEL, placeholder

MODES = ("native", "special", "escaped")


def marker_strings(n_placeholders: int = 100) -> list[str]:
    return [ADD, DEL] + [placeholder(k) for k in range(n_placeholders)]


@dataclass(frozen=True)
class MarkerChoice:
    mode: str            # native | special | escaped
    added: int           # tokens added to the tokenizer
    n_markers: int
    vocab_size: int      # the tokenizer's length afterwards (resize the embeddings to it)

    @property
    def card(self) -> str:
        what = {"native": "are single tokens of the tokenizer already",
                "special": f"were added to the tokenizer as {self.added} special tokens "
                           f"(embeddings resized to {self.vocab_size})",
                "escaped": "are plain text the tokenizer splits into ordinary tokens"}[self.mode]
        return (f"py-unit markers (`<add>`, `<del>`, `<extra_id_0..{self.n_markers - 3}>`) {what}; "
                f"code that looks like a marker is escaped as `<\\add>`.")

    def as_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "added": self.added, "n_markers": self.n_markers,
                "vocab_size": self.vocab_size}


def _single_token(tokenizer, text: str) -> bool:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return len(ids) == 1 and tokenizer.convert_ids_to_tokens(ids)[0] == text


def register_markers(tokenizer, n_placeholders: int = 100, allow_new_tokens: bool = True) -> MarkerChoice:
    """Make every marker one token where the tokenizer allows; return (and record) the choice."""
    markers = marker_strings(n_placeholders)
    missing = [m for m in markers if not _single_token(tokenizer, m)]
    if not missing:
        return MarkerChoice("native", 0, len(markers), len(tokenizer))
    if not allow_new_tokens:
        return MarkerChoice("escaped", 0, len(markers), len(tokenizer))
    added = tokenizer.add_tokens(missing, special_tokens=True)
    return MarkerChoice("special", int(added), len(markers), len(tokenizer))


def resize_embeddings(model, choice: MarkerChoice) -> None:
    """Give the model rows for added markers (no-op for native / escaped)."""
    if choice.mode == "special" and model.get_input_embeddings().num_embeddings < choice.vocab_size:
        model.resize_token_embeddings(choice.vocab_size)

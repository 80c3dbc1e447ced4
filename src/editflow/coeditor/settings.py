"""Settings of the py-unit task (Coeditor's PyCommits problems), with the paper's defaults.

The three ablations of the paper's Table 5 are settings, so one config key switches them:
`ablation: no_signatures` drops the Jedi signatures, `small_context` cuts the reference budget
from 16,384 to 2,048 tokens, `no_diffs` shows prior changes as their post-edit code alone.

The paper answers long contexts with block-sparse attention over 512-token reference blocks;
here the references (prior changes, then signatures) are cut to a token budget instead, so any
causal or seq2seq model can read them with dense attention (docs/coeditor.md).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

ABLATIONS = ("none", "no_signatures", "small_context", "no_diffs")
SMALL_CONTEXT_TOKENS = 2048


@dataclass(frozen=True)
class UnitSettings:
    max_commits_per_repo: int = 1000   # the paper's cap: the most recent N commits of a project
    max_file_lines: int = 5000         # longer modules are a counted skip (file_too_large)
    max_placeholders: int = 100        # slots per problem (CodeT5 has <extra_id_0..99>)
    synthetic_per_change: int = 1      # extra multi-round instances per change with >= 2 changed lines
    seed: int = 0
    context_tokens: int = 16384        # reference budget: prior changes + signatures
    signature_tokens: int = 4096       # of which signatures at most
    signatures: bool = True
    diffs: bool = True
    ablation: str = "none"

    def resolved(self) -> "UnitSettings":
        """The settings with the ablation applied (idempotent)."""
        if self.ablation not in ABLATIONS:
            raise ValueError(f"py-unit ablation {self.ablation!r} not in {ABLATIONS}")
        if self.ablation == "no_signatures":
            return replace(self, signatures=False)
        if self.ablation == "small_context":
            return replace(self, context_tokens=min(self.context_tokens, SMALL_CONTEXT_TOKENS))
        if self.ablation == "no_diffs":
            return replace(self, diffs=False)
        return self

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> "UnitSettings":
        """From a config section (unknown keys are an error, so a typo never goes unnoticed)."""
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"unknown py-unit settings {unknown}; known: {sorted(known)}")
        return cls(**section).resolved()

"""Settings of `editflow synth` (the config's `synth` section), with the seed paper's values.

Defaults follow OpenCodeEdit: temperature 0.8, top-p 0.95, 2048 new tokens, the diff filter's
70 lines / 7 hunks. `size` is the topic quota's target (the paper: 20,000 after filtering, from
30,000 per generator); null keeps every row that passes the other filters. The offline config
asks for a few rows with small budgets, as a 135M model on two CPU cores is slow and rarely
follows the format.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml


# keys of the config's synth section that the workflow reads and the verb ignores
WORKFLOW_KEYS = frozenset({"generators", "resources", "enabled", "mixture"})


@dataclass(frozen=True)
class SynthSettings:
    n: int = 16                        # snippet pairs (each gives one row per generator)
    seed: int = 0
    suffixes: tuple[str, ...] = (".py",)
    backend: str = "hf"                # hf | vllm (editflow.infer's backends)
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 2048
    min_new_tokens_room: int = 64      # prompts leaving less of the context are not generated
    batch_size: int = 16
    max_batch_tokens: int = 65536
    max_context: int | None = None     # default: the model's max_position_embeddings
    dtype: str = "auto"
    quantization: str = "none"
    max_modified_lines: int = 70
    max_hunks: int = 7
    near_duplicate_threshold: float = 0.8
    size: int | None = None            # topic quota target; null: no quota
    max_topics: int = 150              # HDP truncation level T (gensim's default)
    topic_passes: int = 25             # passes of online HDP over the texts
    topic_merge_distance: float = 0.4  # Hellinger distance under which split HDP topics merge

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> "SynthSettings":
        from editflow.config import ConfigError

        section = dict(section or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - names - WORKFLOW_KEYS)
        if unknown:
            raise ConfigError(f"synth: unknown settings {unknown}; known: {sorted(names)}")
        if "suffixes" in section:
            section["suffixes"] = tuple(section["suffixes"])
        settings = cls(**{k: v for k, v in section.items() if k in names})
        if settings.n < 1 or settings.temperature <= 0 or not 0 < settings.top_p <= 1:
            raise ConfigError("synth: n must be >= 1, temperature > 0 and top_p in (0, 1]")
        if settings.backend not in ("hf", "vllm"):
            raise ConfigError(f"synth.backend must be hf or vllm, not {settings.backend!r}")
        return settings


def load_section(config_path: str | None, settings_json: str | None) -> dict[str, Any]:
    """The `synth` section: --settings JSON wins over the config file's section; both optional."""
    from editflow.config import ConfigError

    if settings_json:
        try:
            return json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--settings is not valid JSON: {exc}") from exc
    path = Path(config_path or "config/config.yaml")
    if not path.exists():
        if config_path:
            raise ConfigError(f"config file {config_path} not found")
        return {}
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("synth") or {}

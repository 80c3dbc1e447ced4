"""One `models[]` entry of the config: what to load, how, under which name.

Train and infer both resolve their model through `resolve_model_entry`, so a model name, a
--model-spec JSON (what the rules pass) and a bare --model path behave the same in both, and
the defaults are the config schema's.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editflow.config import ConfigError, load_config, model_entry_defaults

log = logging.getLogger(__name__)

_DEFAULTS = model_entry_defaults()


@dataclass(frozen=True)
class ModelEntry:
    """A validated models[] entry (workflow/schemas/config.schema.yaml, `models`)."""
    path: str
    name: str = ""
    source: str = _DEFAULTS["source"]
    quantization: str = _DEFAULTS["quantization"]
    dtype: str = _DEFAULTS["dtype"]
    max_context: int | None = _DEFAULTS["max_context"]

    def __post_init__(self) -> None:
        if not self.name:  # a bare path is named after its last part, wherever it was resolved
            object.__setattr__(self, "name", Path(str(self.path).rstrip("/")).name)

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> "ModelEntry":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ConfigError(f"model entry {entry.get('name') or entry.get('path')!r}: unknown key(s) "
                              f"{unknown}; allowed: {sorted(known)}")
        if not entry.get("path"):
            raise ConfigError(f"model entry {entry!r} has no path (a hub id or a directory)")
        return cls(**{k: v for k, v in entry.items() if v is not None or k == "max_context"})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_model_entry(config_path: str | None, model_name: str | None, model_path: str | None,
                        model_spec: str | None = None) -> ModelEntry:
    """--model-spec JSON (rules pass the entry) > the config's entry named --model-name (or
    whose path is --model) > the schema's defaults. --model, when given, is the path loaded.

    A --model-name the config does not know is an error without --model, and a warning (the
    schema's dtype, quantization and context) with it."""
    if model_spec:
        try:
            entry = json.loads(model_spec)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--model-spec is not valid JSON: {exc}") from exc
        if not isinstance(entry, dict):
            raise ConfigError("--model-spec must be a JSON object (a models[] entry)")
    else:
        models = load_config(config_path)["models"]
        found = [m for m in models if (model_name and m["name"] == model_name)
                 or (not model_name and model_path and m["path"] == model_path)]
        if found:
            entry = dict(found[0])
        elif model_name and not model_path:
            raise ConfigError(f"no model named {model_name!r} in the config; known: "
                              f"{[m['name'] for m in models]} (or pass --model / --model-spec)")
        else:
            if model_name:
                log.warning("model %r is not in the config's models (%s): using the schema's dtype, "
                            "quantization and context; pass --model-spec or --config to set them",
                            model_name, [m["name"] for m in models])
            entry = {}
    if model_path:
        entry["path"] = model_path
    if model_name:
        entry["name"] = model_name
    if not entry.get("path"):
        raise ConfigError("say which model: --model DIR_OR_ID, --model-name NAME or --model-spec JSON")
    return ModelEntry.from_dict(entry)

"""Load and validate the workflow configuration.

One schema (workflow/schemas/config.schema.yaml) serves Snakemake at parse time and the
`editflow` CLI when run by hand, so a config that works in one works in the other. Defaults
are filled from the schema, and errors name the offending key and what is allowed, because
a misspelled key that is silently ignored costs a researcher a day of compute.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# The schema ships inside the package (an installed editflow, e.g. in a rule's conda env, reads
# its defaults too); workflow/schemas/config.schema.yaml is a link to it for Snakemake users.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
SCHEMA_SHOWN = "workflow/schemas/config.schema.yaml"
DEFAULT_CONFIG_PATH = REPO_ROOT / "config" / "config.yaml"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and the fix."""


def load_schema(with_tasks: bool = True) -> dict[str, Any]:
    """The schema, with the task names of the registry as the allowed values of every task list.

    `with_tasks=False` leaves task names open: reading defaults must not need the registry,
    because task modules may themselves use schema_defaults while the registry is being built."""
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    if with_tasks:
        from editflow import tasks

        schema["definitions"]["task"]["enum"] = list(tasks.names())
    return schema


def _extend_with_default(validator_class):
    """A validator that fills `default` values while validating (jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        where = key if key != "<top level>" else "the top level"
        return (f"unknown key(s) {', '.join(map(repr, extra))} in {where}; "
                f"allowed keys: {', '.join(allowed)}")
    if error.validator == "enum":
        return f"{key}: {error.instance!r} is not one of {error.validator_value}"
    if error.validator == "type":
        return f"{key}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    return f"{key}: {error.message}"


def validate_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate `config` in place against the schema, filling defaults; return it.

    Raises ConfigError listing every problem, each naming its key.
    """
    _check_removed(config)
    schema = schema if schema is not None else load_schema()
    validator_cls = _extend_with_default(jsonschema.Draft202012Validator)
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid editflow configuration:\n{lines}\n"
                          f"(schema: {SCHEMA_SHOWN})")
    _check_semantics(config)
    return config


# Keys that existed once: a clear word on what replaced them beats "unknown key".
REMOVED_KEYS = {
    ("mine", "workers"): "mine.workers was removed: a mine job's workers are mine.resources.threads "
                         "(the rule passes them as --workers)",
    ("evaluate", "workers"): "evaluate.workers was removed: score workers are evaluate.resources.threads "
                             "(the rule passes them as --workers)",
}


def _check_removed(config: dict[str, Any]) -> None:
    found = [why for (section, key), why in REMOVED_KEYS.items()
             if isinstance(config.get(section), dict) and key in config[section]]
    if found:
        raise ConfigError("invalid editflow configuration:\n" + "\n".join(f"  - {w}" for w in found))


def _check_semantics(config: dict[str, Any]) -> None:
    split = config["dataset"]["split"]
    total = split["train"] + split["val"] + split["test"]
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"dataset.split: train + val + test must be 1.0, got {total:g}")
    names = [m["name"] for m in config["models"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"models: names must be unique, got {names}")


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a YAML config (default: config/config.yaml), merge overrides, validate."""
    path = Path(path) if path else DEFAULT_CONFIG_PATH
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as fh:
        try:
            config = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    if overrides:
        config = deep_merge(config, overrides)
    try:
        return validate_config(config)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def section_from_args(config_path: str | None, settings_json: str | None, section: str) -> dict[str, Any]:
    """The settings of one stage for a CLI verb.

    Snakemake rules pass the stage's section as JSON (`--settings`, so that Snakemake tracks
    changes to it as params); a user at the shell passes `--config FILE` instead.
    """
    if settings_json:
        try:
            overrides = {section: json.loads(settings_json)}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--settings is not valid JSON: {exc}") from exc
        base: dict[str, Any] = {}
        if config_path:
            with open(config_path, encoding="utf-8") as fh:
                base = yaml.safe_load(fh) or {}
        base.pop(section, None)
        return validate_config(deep_merge(base, overrides))[section]
    return load_config(config_path)[section]


@lru_cache(maxsize=None)
def _defaults_json() -> str:
    return json.dumps(validate_config({}, load_schema(with_tasks=False)))


def section_defaults(path: str) -> dict[str, Any]:
    """The schema's default for every key of a section ("train", "train.lora"): what a
    validated config holds when the user sets nothing, nested sections filled in."""
    node = json.loads(_defaults_json())
    for part in path.split("."):
        node = node[part]
    return node


def model_entry_defaults() -> dict[str, Any]:
    """The schema's defaults of a models[] entry (its optional keys)."""
    entry = validate_config({"models": [{"name": "x", "path": "x"}]}, load_schema(with_tasks=False))["models"][0]
    entry.setdefault("max_context", None)
    return {k: v for k, v in entry.items() if k not in ("name", "path")}


def schema_defaults(path: str):
    """Class decorator (put it *under* @dataclass): each annotated field without a default gets
    the schema's default for the key of the same name in section `path`.

    So a setting's default lives in one place, workflow/schemas/config.schema.yaml, and the
    typed settings that code builds without a config (tests, benchmarks, library use) agree
    with what the workflow validates. Lists become tuples (frozen dataclasses). A field the
    schema does not know and that has no default of its own is an error at import time."""
    def wrap(cls):
        defaults = section_defaults(path)
        for name in cls.__dict__.get("__annotations__", {}):
            if name in cls.__dict__:
                continue
            if name not in defaults:
                raise TypeError(f"{cls.__name__}.{name}: no default here and no key {path}.{name} "
                                f"in {SCHEMA_SHOWN}")
            value = defaults[name]
            if isinstance(value, dict):
                raise TypeError(f"{cls.__name__}.{name}: {path}.{name} is a section; give the field "
                                f"a default_factory of its own settings class")
            setattr(cls, name, tuple(value) if isinstance(value, list) else value)
        return cls
    return wrap

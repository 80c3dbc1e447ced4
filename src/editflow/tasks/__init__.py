"""The task registry: one module per task, everything else derived from it.

A task module in this package (or a plugin module named in the environment variable
EDITFLOW_TASK_MODULES, comma-separated, importable from PYTHONPATH) defines `TASK = TaskSpec(...)`
or `TASKS = [TaskSpec(...), ...]`. Modules whose names start with `_` hold shared helpers and
are not scanned. The registry is built once per process, on first use, so `editflow --help`
stays fast; the config schema's task enums, Snakemake's `{task}` wildcard, the CLI's
`--task` choices, the dataset card and statistics all read it.

    from editflow import tasks
    tasks.names()          # ('nb-file', 'nb-cell', 'py-file', ...)
    tasks.get("py-file")   # its TaskSpec
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from functools import lru_cache

from editflow.tasks.base import Decoded, Example, TaskSpec, identity_decode

__all__ = ["Decoded", "Example", "TaskSpec", "identity_decode", "get", "names", "specs",
           "decode_table", "configure", "task_settings", "UnknownTaskError", "PLUGIN_ENV"]

PLUGIN_ENV = "EDITFLOW_TASK_MODULES"


class UnknownTaskError(ValueError):
    """A task name that no module registers; the message lists the registered ones."""


def _module_specs(module) -> list[TaskSpec]:
    found = list(getattr(module, "TASKS", ()))
    if getattr(module, "TASK", None) is not None:
        found.append(module.TASK)
    bad = [s for s in found if not isinstance(s, TaskSpec)]
    if bad:
        raise TypeError(f"{module.__name__}: TASK/TASKS must hold editflow.tasks.TaskSpec objects, got {bad!r}")
    return found


def _module_names() -> list[str]:
    own = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)
           if not m.name.startswith("_") and m.name != "base"]
    plugins = [m.strip() for m in os.environ.get(PLUGIN_ENV, "").split(",") if m.strip()]
    return sorted(own) + plugins


@lru_cache(maxsize=None)
def _registry(plugins: str) -> dict[str, TaskSpec]:
    found: dict[str, TaskSpec] = {}
    for name in _module_names():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            where = f"{PLUGIN_ENV}={plugins!r}" if not name.startswith(__name__) else "editflow.tasks"
            raise ImportError(f"task module {name} (from {where}) cannot be imported: {exc}") from exc
        for spec in _module_specs(module):
            if spec.name in found:
                raise ValueError(f"task {spec.name!r} is registered twice ({name} and another module)")
            found[spec.name] = spec
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


_SETTINGS: dict[str, dict] = {}


def configure(settings: dict[str, dict] | None) -> None:
    """Per-task settings for this process (the config's `dataset.task_settings`, keyed by task
    name); the dataset stage sets them before it builds views. Each task validates its own."""
    unknown = sorted(set(settings or {}) - set(names()))
    if unknown:
        raise UnknownTaskError(f"dataset.task_settings names unknown task(s) {unknown}; registered: {', '.join(names())}")
    _SETTINGS.clear()
    _SETTINGS.update({k: dict(v) for k, v in (settings or {}).items()})


def task_settings(name: str) -> dict:
    """The settings configured for task `name` ({} when none)."""
    return dict(_SETTINGS.get(name, {}))


def specs() -> dict[str, TaskSpec]:
    """Every registered task, in listing order."""
    return _registry(os.environ.get(PLUGIN_ENV, ""))


def names() -> tuple[str, ...]:
    return tuple(specs())


def get(name: str) -> TaskSpec:
    try:
        return specs()[name]
    except KeyError:
        raise UnknownTaskError(f"unknown task {name!r}; registered tasks: {', '.join(names())} "
                               f"(`editflow tasks` describes them)") from None


def decode_table(table, column: str):
    """Decode `column` of a predictions/examples table with each row's task decoder.

    The table needs `task` and `source` (rows without a source decode against ""). Returns a
    base.DecodeReport."""
    from editflow.tasks.base import decode_rows

    names = table.column("task").to_pylist()
    sources = table.column("source").to_pylist() if "source" in table.column_names else [None] * table.num_rows
    decoders = [get(n).decode for n in names]
    return decode_rows(decoders, table.column(column).to_pylist(), sources)

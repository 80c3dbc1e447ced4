"""Prompt templates shared by training and inference (one source of truth).

Templates are YAML files (editflow/templates/NAME.yaml, or a path a task names); this module
only fills them in. A model fine-tuned on `render_prompt(...) + render_target(...)` sees at
inference exactly the text `render_prompt(...)` it was trained on.

Besides {message} and {old_code}, a template's text may use per-task words ({artifact},
{format}, {code_label}, ...); each task supplies them in its TaskSpec.labels. Loading a
template checks every registered task that uses it: a missing word is an error naming the
task, never blank text in a prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import yaml

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

FIELDS = ("message", "old_code")


@dataclass(frozen=True)
class Exemplar:
    """One example as a prompt sees it (k-shot exemplars and the query alike)."""
    message: str
    old_code: str
    target: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    system: str
    instruction: str
    end: str
    stop: tuple[str, ...]
    labels: tuple[str, ...] = ()   # the per-task words the text uses

    def _fill(self, text: str, task: str, **values: str) -> str:
        from editflow import tasks

        table = {**tasks.get(task).labels, **values}
        # One pass over the template (not str.format): code is full of braces, and a commit
        # message that contains "{old_code}" must stay text.
        return _PLACEHOLDER.sub(lambda m: table.get(m.group(1), m.group(0)), text)


class TemplateError(ValueError):
    """A template file is missing or does not serve a task that uses it."""


def _read(name: str) -> tuple[str, str]:
    """(display name, YAML text) of a built-in template name or a path to a YAML file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.exists():
            raise TemplateError(f"prompt template file {name} not found")
        return path.stem, path.read_text("utf-8")
    res = resources.files("editflow.templates").joinpath(f"{name}.yaml")
    if not res.is_file():
        known = sorted(p.name[:-5] for p in resources.files("editflow.templates").iterdir()
                       if p.name.endswith(".yaml"))
        raise TemplateError(f"unknown prompt template {name!r}; built-in templates: {', '.join(known)}")
    return name, res.read_text("utf-8")


@lru_cache(maxsize=None)
def load_template(name: str) -> Template:
    """A template by built-in name or path, checked against every task that uses it."""
    from editflow import tasks

    display, text = _read(name)
    raw = yaml.safe_load(text)
    words = sorted({m for part in (raw.get("system") or "", raw["instruction"])
                    for m in _PLACEHOLDER.findall(part)} - set(FIELDS))
    template = Template(name=display, system=raw.get("system") or "", instruction=raw["instruction"],
                        end=raw["end"], stop=tuple(raw["stop"]), labels=tuple(words))
    for spec in tasks.specs().values():
        if name in spec.templates:
            missing = [w for w in words if w not in spec.labels]
            if missing:
                raise TemplateError(f"prompt template {name!r} uses {missing} but task {spec.name!r} "
                                    f"does not define them: add them to its TaskSpec.labels")
    return template


def task_template(task: str, finetuned: bool) -> Template:
    """The template a task's base-model (k-shot) or fine-tuned prompts use."""
    from editflow import tasks

    base, tuned = tasks.get(task).templates
    return load_template(tuned if finetuned else base)


def render_prompt(template: Template, task: str, query: Exemplar,
                  exemplars: Sequence[Exemplar] = ()) -> str:
    """The full prompt: system text, k exemplars with their answers, then the query."""
    parts = [template._fill(template.system, task)] if template.system else []
    for ex in exemplars:
        parts.append(template._fill(template.instruction, task, message=ex.message, old_code=ex.old_code)
                     + render_target(template, ex.target))
    parts.append(template._fill(template.instruction, task, message=query.message, old_code=query.old_code))
    return "".join(parts)


def render_target(template: Template, target: str) -> str:
    """What the model should produce after the prompt: the code and the end marker."""
    return target + template.end

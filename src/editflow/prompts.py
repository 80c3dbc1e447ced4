"""Prompt templates shared by training and inference (one source of truth).

Templates are YAML files in editflow/templates/; this module only fills them in. A model
fine-tuned on `render_prompt(...) + render_target(...)` sees at inference exactly the text
`render_prompt(...)` it was trained on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Mapping, Sequence

import yaml

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

TEMPLATE_NAMES = ("base", "finetuned")


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
    per_task: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def _fill(self, text: str, task: str, **values: str) -> str:
        names = {k: v.get(task, "") for k, v in self.per_task.items()}
        table = {**names, **values}
        # One pass over the template (not str.format): code is full of braces, and a commit
        # message that contains "{old_code}" must stay text.
        return _PLACEHOLDER.sub(lambda m: table.get(m.group(1), m.group(0)), text)


@lru_cache(maxsize=None)
def load_template(name: str) -> Template:
    if name not in TEMPLATE_NAMES:
        raise ValueError(f"unknown prompt template {name!r}; choose one of {TEMPLATE_NAMES}")
    raw = yaml.safe_load(resources.files("editflow.templates").joinpath(f"{name}.yaml").read_text("utf-8"))
    per_task = {"artifact": raw.get("artifacts", {}), "format": raw.get("formats", {}),
                "code_label": raw.get("code_labels", {})}
    return Template(name=name, system=raw.get("system") or "", instruction=raw["instruction"],
                    end=raw["end"], stop=tuple(raw["stop"]), per_task=per_task)


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

"""Prompt templates shared by training and inference (one source of truth).

Templates are YAML files (editflow/templates/NAME.yaml, or a path a task names); this module
only fills them in. A model fine-tuned on `render_prompt(...) + render_target(...)` sees at
inference exactly the text `render_prompt(...)` it was trained on.

Besides {message} and {old_code}, a template's text may use per-task words ({artifact},
{format}, {code_label}, ...); each task supplies them in its TaskSpec.labels, and a template
may give fallbacks for some under `words` (a fallback may itself use a task's words). Loading
a template checks every registered task that uses it: a missing word is an error naming the
task, never blank text in a prompt.

A prompt is: system text, then k exemplars (each rendered with `exemplar`, default the
`instruction`, followed by its target and `exemplar_end`, default `end`), then the query
rendered with `instruction`. Base models get their task's base template at k = 0 and, for
tasks whose base template is the built-in `base`, the k-shot template `infer.kshot_template`
at k >= 1 (default `ipynb-edit-kshot`: ipynb-edit's baseline.py few-shot prompt; `base` gives
editflow's earlier k-shot prompt, the zero-shot text with exemplars before the query).
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
    exemplar: str | None = None    # an exemplar's instruction; None: `instruction`
    exemplar_end: str | None = None  # after an exemplar's target; None: `end`
    words: tuple[tuple[str, str], ...] = ()  # fallbacks for per-task words a task does not define

    def _fill(self, text: str, task: str, **values: str) -> str:
        from editflow import tasks

        labels = tasks.get(task).labels
        fallbacks = {k: _PLACEHOLDER.sub(lambda m: labels.get(m.group(1), m.group(0)), v)
                     for k, v in self.words}
        table = {**fallbacks, **labels, **values}
        # One pass over the template (not str.format): code is full of braces, and a commit
        # message that contains "{old_code}" must stay text.
        return _PLACEHOLDER.sub(lambda m: table.get(m.group(1), m.group(0)), text)

    def missing_words(self, labels) -> list[str]:
        """Words the text uses that neither the task's labels nor the fallbacks supply."""
        fallbacks = dict(self.words)
        need = set(self.labels) - set(fallbacks)
        for word in self.labels:   # a fallback may use a task's words in turn
            if word in fallbacks and word not in labels:
                need.update(set(_PLACEHOLDER.findall(fallbacks[word])) - set(FIELDS))
        return sorted(w for w in need if w not in labels)


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
    parts = [raw.get("system") or "", raw["instruction"], raw.get("exemplar") or ""]
    words = sorted({m for part in parts for m in _PLACEHOLDER.findall(part)} - set(FIELDS))
    template = Template(name=display, system=raw.get("system") or "", instruction=raw["instruction"],
                        end=raw["end"], stop=tuple(raw["stop"]), labels=tuple(words),
                        exemplar=raw.get("exemplar"), exemplar_end=raw.get("exemplar_end"),
                        words=tuple(sorted((raw.get("words") or {}).items())))
    for spec in tasks.specs().values():
        if name in spec.templates:
            _check(template, spec)
    return template


def _check(template: Template, spec) -> None:
    missing = template.missing_words(spec.labels)
    if missing:
        raise TemplateError(f"prompt template {template.name!r} uses {missing} but task {spec.name!r} "
                            f"does not define them: add them to its TaskSpec.labels")


def default_kshot_template() -> str:
    """The schema's default for infer.kshot_template."""
    from editflow.config import section_defaults

    return section_defaults("infer")["kshot_template"]


def task_template(task: str, finetuned: bool, shots: int = 0, kshot: str | None = None) -> Template:
    """The template of a task's prompts: fine-tuned, base zero-shot, or base k-shot.

    k-shot prompts of tasks whose base template is the built-in `base` use `kshot`
    (infer.kshot_template; None: the schema default); other tasks keep their own template."""
    from editflow import tasks

    spec = tasks.get(task)
    base, tuned = spec.templates
    if finetuned:
        return load_template(tuned)
    name = (kshot or default_kshot_template()) if shots and base == "base" else base
    template = load_template(name)
    _check(template, spec)
    return template


def render_prompt(template: Template, task: str, query: Exemplar,
                  exemplars: Sequence[Exemplar] = ()) -> str:
    """The full prompt: system text, k exemplars with their answers, then the query."""
    parts = [template._fill(template.system, task)] if template.system else []
    shot = template.instruction if template.exemplar is None else template.exemplar
    shot_end = template.end if template.exemplar_end is None else template.exemplar_end
    for ex in exemplars:
        parts.append(template._fill(shot, task, message=ex.message, old_code=ex.old_code) + ex.target + shot_end)
    parts.append(template._fill(template.instruction, task, message=query.message, old_code=query.old_code))
    return "".join(parts)


def render_target(template: Template, target: str) -> str:
    """What the model should produce after the prompt: the code and the end marker."""
    return target + template.end

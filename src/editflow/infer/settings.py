"""Typed settings of one inference job (the config's `infer` section plus the model entry).

The dataclass is built from the validated section, so its defaults live in one place: the
config schema. `generation_json` is what every prediction row records: the settings that can
change an output, and nothing that varies between identical runs (no paths, no timestamps).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from editflow.config import schema_defaults


@dataclass(frozen=True)
@schema_defaults("infer")
class InferSettings:
    """The `infer` section (defaults: the config schema)."""
    backend: str
    batch_size: int
    max_batch_tokens: int
    max_new_tokens: int
    min_new_tokens_room: int
    do_sample: bool
    temperature: float
    top_p: float
    n_samples: int
    seed: int
    merge_adapter: bool
    max_test_examples: int | None
    kshot_template: str

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "InferSettings":
        from editflow.config import ConfigError

        names = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in section.items() if k in names})
        if settings.n_samples > 1 and not settings.do_sample:
            raise ConfigError(f"infer.n_samples is {settings.n_samples} but infer.do_sample is false: greedy "
                              "decoding gives one output; set do_sample: true (with temperature/top_p) or n_samples: 1")
        if settings.do_sample and settings.temperature <= 0:
            raise ConfigError("infer.temperature must be > 0 when infer.do_sample is true "
                              "(for greedy decoding set do_sample: false)")
        return settings


def generation_json(settings: InferSettings, *, template: str, stop: tuple[str, ...],
                    shots: int, max_context: int, dtype: str, adapter: bool) -> str:
    """The `generation` column: a canonical JSON string (sorted keys) of the output-relevant settings."""
    data = asdict(settings)
    data.pop("max_test_examples")
    data.pop("kshot_template")  # `template` records the template that rendered the prompts
    if not settings.do_sample:  # greedy: sampling knobs do not act, keep them out of the record
        for key in ("temperature", "top_p"):
            data.pop(key)
    data.update(template=template, stop=list(stop), shots=shots, max_context=max_context,
                dtype=dtype, adapter=adapter, exemplars="per-example draw from train, seeded by (seed, example_id); "
                "k shortest if the draw leaves fewer than max_new_tokens of room")
    if not adapter:
        data.pop("merge_adapter")
    return json.dumps(data, sort_keys=True, separators=(",", ":"))

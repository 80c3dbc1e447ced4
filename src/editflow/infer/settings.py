"""Typed settings of one inference job (the config's `infer` section plus the model entry).

The dataclass is built from the validated section, so its defaults live in one place: the
config schema. `generation_json` is what every prediction row records: the settings that can
change an output, and nothing that varies between identical runs (no paths, no timestamps).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class InferSettings:
    backend: str = "hf"
    batch_size: int = 64
    max_batch_tokens: int = 65536
    max_new_tokens: int = 512
    min_new_tokens_room: int = 32
    do_sample: bool = False
    temperature: float = 0.2
    top_p: float = 0.95
    n_samples: int = 1
    seed: int = 0
    merge_adapter: bool = False
    max_test_examples: int | None = None

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
    if not settings.do_sample:  # greedy: sampling knobs do not act, keep them out of the record
        for key in ("temperature", "top_p"):
            data.pop(key)
    data.update(template=template, stop=list(stop), shots=shots, max_context=max_context,
                dtype=dtype, adapter=adapter, exemplars="per-example draw from train, seeded by (seed, example_id); "
                "k shortest if the draw leaves fewer than max_new_tokens of room")
    if not adapter:
        data.pop("merge_adapter")
    return json.dumps(data, sort_keys=True, separators=(",", ":"))

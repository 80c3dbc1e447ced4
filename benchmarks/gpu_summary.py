"""One JSON summary of a gpu_suite.sh run: the last JSON line of each step's output, condensed.

    python benchmarks/gpu_summary.py OUT_DIR SECONDS

Reads OUT_DIR/steps.jsonl (one {"step", "rc", "seconds"} per step) and OUT_DIR/STEP.out (each
benchmark prints one JSON object as its last line) and prints one JSON object: per model
shape, inference tokens/s of editflow, HF padded-batch generate and the batch-1 loop, their
ratios, output identity, peak GPU memory and MFU; training tokens/s of packed, padded and
the Trainer-style padded peer, their ratios, peak GPU memory and MFU.
MFU = k * N_total * tokens/s / 989e12, k = 6 for training, 2 for generation.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

INFER_KEYS = ("engine", "n", "batches", "max_new_tokens", "batched_tokens_per_s", "hf_padded_tokens_per_s",
              "baseline_tokens_per_s", "speedup_vs_hf_padded", "speedup", "same_as_hf_padded_share",
              "same_output_share", "batched_peak_gpu_gb", "hf_padded_peak_gpu_gb", "batched_mfu", "hf_padded_mfu",
              "params_total", "batch_limits")
TRAIN_KEYS = ("packed_tokens_per_s", "padded_tokens_per_s", "hf_padded_tokens_per_s", "packing_speedup",
              "packed_vs_hf_padded", "packed_mfu", "padded_mfu", "hf_padded_mfu", "peak_memory", "attention",
              "cross_entropy", "gradient_checkpointing", "micro_batch_tokens", "effective_batch", "params_total",
              "length_source")


def last_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    for line in reversed(path.read_text(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def summarize(out_dir: Path, seconds: float) -> dict:
    steps = [json.loads(x) for x in (out_dir / "steps.jsonl").read_text().splitlines() if x.strip()]
    summary: dict = {"seconds": seconds, "steps": {s["step"]: {"rc": s["rc"], "seconds": s["seconds"]} for s in steps},
                     "mfu_formula": {"train": "6 * params_total * tokens_per_s / 989e12",
                                     "infer": "2 * params_total * tokens_per_s / 989e12"},
                     "infer": {}, "train": {}}
    for s in steps:
        result = last_json(out_dir / f"{s['step']}.out")
        if result is None:
            continue
        if s["step"] == "env":
            summary["env"] = result
            continue
        section = {"infer_batching": "infer", "train_throughput": "train"}.get(result.get("benchmark"))
        if section is None:
            continue
        keys = INFER_KEYS if section == "infer" else TRAIN_KEYS
        summary[section][s["step"].partition("_")[2]] = {k: result[k] for k in keys if k in result}
    return summary


if __name__ == "__main__":
    print(json.dumps(summarize(Path(sys.argv[1]), float(sys.argv[2]))))

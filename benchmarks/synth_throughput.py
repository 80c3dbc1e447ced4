"""Synthesis throughput: editflow's batched engine vs one prompt at a time, same run.

Both arms run the whole two-round synthesis (`editflow.synth.generation.synthesize`: round 1
for every snippet pair, round 2 for the answers that parse) with the same model, sampling
settings (temperature 0.8, top-p 0.95), per-prompt budgets and snippet pairs:

- baseline: a loop that calls transformers' `model.generate(do_sample=True, ...)` once per
  prompt, as a synthesis script would without a batched engine;
- editflow: the `hf` backend of editflow.infer (engine.py's batched decode loop) over the
  length-sorted batches synth plans.

Sampling makes the two arms write different texts, so tokens per second is the comparable
figure (`speedup_tokens_per_s`); `pairs_per_s` counts snippet pairs taken through both rounds
(a pair that fails round 1 costs one round) and `triplets_per_s` the triplets that parsed
(a 135M model rarely writes one, so that figure is often 0 on the offline default).

Example:
    python benchmarks/synth_throughput.py --n 16 --baseline-n 4 --max-new-tokens 128 --threads 2
The last line of the output is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

from editflow.infer.engine import Generated
from editflow.synth import snippets
from editflow.synth.cli import load_generator
from editflow.synth.generation import synthesize
from editflow.synth.settings import SynthSettings


class OneAtATime:
    """The baseline generator: `model.generate` per prompt, sampled, EOS or budget ends it."""

    def __init__(self, backend):
        self.backend, self.tokenizer = backend, backend.tokenizer
        self.count_tokens, self.context_window = backend.count_tokens, backend.context_window

    def generate(self, prompts, budgets, seed=0):
        import torch

        model, tok = self.backend.model, self.tokenizer
        out = []
        for i, (prompt, budget) in enumerate(zip(prompts, budgets)):
            torch.manual_seed(seed + i)
            enc = tok(prompt, return_tensors="pt").to(next(model.parameters()).device)
            with torch.inference_mode():
                ids = model.generate(**enc, max_new_tokens=budget, do_sample=True, temperature=self.backend.temperature,
                                     top_p=self.backend.top_p, top_k=0, pad_token_id=tok.pad_token_id,
                                     eos_token_id=self.backend.eos_ids)
            new = ids[0, enc["input_ids"].shape[1]:].tolist()
            reason = "eos" if new and new[-1] in self.backend.eos_ids else "length"
            out.append([Generated(tok.decode(new, skip_special_tokens=True), len(new), reason)])
        return out


def arm(gen, pairs, settings) -> dict:
    t0 = time.perf_counter()
    outcomes, rounds = synthesize(gen, pairs, settings)
    seconds = time.perf_counter() - t0
    tokens = sum(r.new_tokens for r in rounds.values())
    parsed = sum(o.drop_reason is None for o in outcomes)
    return {"pairs": len(pairs), "seconds": round(seconds, 2), "new_tokens": tokens,
            "tokens_per_s": round(tokens / seconds, 2), "pairs_per_s": round(len(pairs) / seconds, 4),
            "triplets": parsed, "triplets_per_s": round(parsed / seconds, 4),
            "round2_prompts": rounds["round2"].prompts,
            "drop_reasons": sorted({o.drop_reason for o in outcomes if o.drop_reason})}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="resources/models/smollm2-135m-instruct")
    p.add_argument("--repos", nargs="+", default=["."], help="repositories to draw seed snippets from")
    p.add_argument("--n", type=int, default=16, help="snippet pairs for the batched arm")
    p.add_argument("--baseline-n", type=int, default=4, help="snippet pairs for the one-at-a-time arm")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    settings = SynthSettings(n=args.n, seed=args.seed, batch_size=args.batch_size,
                             max_new_tokens=args.max_new_tokens, dtype=args.dtype)
    pairs = snippets.draw_pairs([snippets.read_repo(r) for r in args.repos], args.n, args.seed)
    backend = load_generator(args.model, settings, args.device)
    baseline = arm(OneAtATime(backend), pairs[:args.baseline_n], replace(settings, batch_size=1))
    batched = arm(backend, pairs, settings)
    result = {"benchmark": "synth_throughput", "model": args.model, "device": args.device, "threads": args.threads,
              "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
              "load_average": round(os.getloadavg()[0], 2), "baseline_one_at_a_time": baseline, "editflow_batched": batched,
              "speedup_tokens_per_s": round(batched["tokens_per_s"] / baseline["tokens_per_s"], 2),
              "speedup_pairs_per_s": round(batched["pairs_per_s"] / baseline["pairs_per_s"], 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The paper tables: per-system means, spread over runs, bootstrap CIs and significance.

A *system* is what a table row compares: a base model at k shots, a fine-tuned model
(zero-shot) whose runs run1..runK are averaged, or `copy_input`: the pre-edit code itself
scored as the prediction, so that a model which copies its input cannot look good. The fine-tuned mean is the mean of the run
means; its spread is the sample standard deviation of the run means; its confidence interval
resamples examples, each scored by its mean over the runs. Rows are rendered to CSV (full
precision to 4 decimals) and Markdown (2 decimals) with a provenance footer, in a fixed
order, so that reruns are byte-identical.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from itertools import combinations
from typing import Any, Iterable, Sequence

import numpy as np

from editflow.metrics.bootstrap import paired_bootstrap, percentile_ci, rng_for
from editflow.metrics.scorefiles import LABELS, METRICS, Provenance, ScoresFile, label

BASE, FINETUNED, COPY_INPUT = "base", "finetuned", "copy_input"
# Metrics of the first Markdown table (the ipynb-edit / Coeditor headline numbers).
HEADLINE = ("em", "em_normalized", "bleu", "codebleu", "edit_sim", "rouge_l_f", "diff_em", "diff_bleu",
            "changed")
# Libraries whose versions a table must carry when the scores files do not record them.
METRIC_LIBRARIES = ("sacrebleu", "nltk", "rapidfuzz", "rouge", "codebleu", "tree-sitter",
                    "tree-sitter-python", "numpy", "editflow")


@dataclass
class System:
    model: str
    task: str
    shots: int
    name: str                                   # BASE, FINETUNED, or an unusual checkpoint name
    files: list[ScoresFile] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.model, self.task, self.shots, self.name)

    @property
    def label(self) -> str:
        return f"{self.model} {self.task} {self.name} {self.shots}-shot"

    def metrics(self) -> list[str]:
        seen: list[str] = []
        for f in self.files:
            seen += [m for m in f.values if m not in seen]
        return seen

    def example_ids(self) -> list[str]:
        return sorted({ex for f in self.files for ex in f.example_ids})

    def matrix(self, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(example_ids, values): one row per example, one column per metric, each cell the
        mean over the runs that scored it (NaN where none did)."""
        ids = self.example_ids()
        pos = {ex: i for i, ex in enumerate(ids)}
        total = np.zeros((len(ids), len(metrics)))
        count = np.zeros((len(ids), len(metrics)))
        for f in self.files:
            rows = np.fromiter((pos[ex] for ex in f.example_ids), dtype=np.int64, count=len(f.example_ids))
            for j, metric in enumerate(metrics):
                v = f.values.get(metric)
                if v is None:
                    continue
                ok = ~np.isnan(v)
                total[rows[ok], j] += v[ok]   # example ids are unique within a file
                count[rows[ok], j] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return ids, np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def per_example(self, metric: str) -> dict[str, float]:
        """example_id -> the metric, averaged over the runs that scored the example."""
        ids, values = self.matrix([metric])
        return {ex: float(v) for ex, v in zip(ids, values[:, 0]) if not math.isnan(v)}

    def run_means(self, metric: str) -> list[float]:
        out = []
        for f in self.files:
            if metric in f.values:
                v = f.values[metric]
                v = v[~np.isnan(v)]
                out.append(float(v.mean()) if v.size else math.nan)
        return out


def _system_order(name: str) -> int:
    return {BASE: 0, FINETUNED: 1, COPY_INPUT: 3}.get(name, 2)


# ---------------------------------------------------------------- the copy-input baseline


def _copy_input_pairs(files: Sequence[ScoresFile]) -> list[tuple[str, str, str]]:
    """(example_id, source, reference) of every example of these files that has a source,
    sorted by example_id; the first file (by path) that holds an example gives its texts."""
    seen: dict[str, tuple[str, str]] = {}
    for f in sorted(files, key=lambda f: f.path):
        if f.table is None or not {"source", "reference"} <= set(f.table.column_names):
            continue
        ids = f.table.column("example_id").to_pylist()
        for ex, src, ref in zip(ids, f.table.column("source").to_pylist(), f.table.column("reference").to_pylist()):
            if src is not None and str(ex) not in seen:
                seen[str(ex)] = (src, "" if ref is None else ref)
    return [(ex, *seen[ex]) for ex in sorted(seen)]


def _load_tokenizer_of(files: Sequence[ScoresFile]):
    """The tokenizer the files were scored with (their `tokenizer` metadata), else whitespace."""
    import logging

    from editflow.metrics.tokenize import WHITESPACE, load_tokenizer, whitespace_tokenizer

    names = sorted({f.provenance.tokenizer for f in files if f.provenance.tokenizer})
    if not names or names[0] == WHITESPACE:
        return whitespace_tokenizer()
    spec = names[0][3:] if names[0].startswith("hf:") else names[0]
    try:
        return load_tokenizer(spec)
    except FileNotFoundError as exc:
        logging.getLogger(__name__).warning("copy_input: %s; scoring with whitespace tokens", exc)
        return whitespace_tokenizer()


def copy_input_files(files: Sequence[ScoresFile], workers: int = 1) -> list[ScoresFile]:
    """One `copy_input` scores file per model x task: every metric of prediction = source
    (the pre-edit code) against the reference, on the examples the model's files scored,
    with the tokenizer they were scored with. Scored once per (task, tokenizer, examples)
    and shared by the models that match. Model x task pairs whose files have no `source`
    column get no row."""
    from editflow.metrics.batch import Pair, column_values, score_examples
    from editflow.metrics.bleu import corpus_bleu

    groups: dict[tuple[str, str], list[ScoresFile]] = {}
    for f in files:
        groups.setdefault((f.model, f.task), []).append(f)
    cache: dict[tuple, tuple[dict[str, np.ndarray], Provenance]] = {}
    out = []
    for (model, task), members in sorted(groups.items()):
        triples = _copy_input_pairs(members)
        if not triples:
            continue
        tokenizer = _load_tokenizer_of(members)
        key = (task, tokenizer.name, tuple(triples))
        if key not in cache:
            sources = [src for _, src, _ in triples]
            references = [ref for _, _, ref in triples]
            pairs = [Pair(src, ref, st, rt, src) for src, ref, st, rt in
                     zip(sources, references, tokenizer.batch(sources), tokenizer.batch(references))]
            rows, _ = score_examples(pairs, workers=workers)
            values = {m: np.array([np.nan if v is None else float(v) for v in column_values(rows, m)])
                      for m in METRICS}
            bleu, signature = corpus_bleu(sources, references)
            cache[key] = values, Provenance(tokenizer=tokenizer.name, corpus_bleu=bleu,
                                            sacrebleu_signature=signature)
        values, provenance = cache[key]
        out.append(ScoresFile(path=f"{COPY_INPUT}:{model}/{task}", model=model, task=task, shots=0,
                              checkpoint=COPY_INPUT, example_ids=[ex for ex, _, _ in triples],
                              values=values, n_rows=len(triples), n_truncated=0, provenance=provenance))
    return out


def group_systems(files: Iterable[ScoresFile]) -> list[System]:
    """Group scores files into systems, in table order; duplicate checkpoints are an error."""
    systems: dict[tuple[str, str, int, str], System] = {}
    seen: dict[tuple[str, str, int, str], str] = {}
    for f in files:
        ident = (f.model, f.task, f.shots, f.checkpoint)
        if ident in seen:
            raise ValueError(f"{f.path} and {seen[ident]} are both {f.model}/{f.task}/{f.shots}shot/"
                             f"{f.checkpoint}; pass each scores file once")
        seen[ident] = f.path
        name = BASE if f.checkpoint == BASE else FINETUNED if f.run is not None else f.checkpoint
        key = (f.model, f.task, f.shots, name)
        systems.setdefault(key, System(*key)).files.append(f)
    for s in systems.values():
        s.files.sort(key=lambda f: (f.run or 0, f.checkpoint))
    return sorted(systems.values(), key=lambda s: (s.model, s.task, _system_order(s.name), s.name, s.shots))


# ---------------------------------------------------------------- rows


def main_rows(systems: Sequence[System], metrics: Sequence[str], n_samples: int, seed: int) -> list[dict[str, Any]]:
    """One row per system: n, runs, truncated, corpus BLEU, and per metric mean/std/CI."""
    rows = []
    for s in systems:
        row: dict[str, Any] = {
            "model": s.model, "task": s.task, "shots": s.shots, "system": s.name,
            "n_examples": len(s.example_ids()), "n_runs": len(s.files),
            "truncated": sum(f.n_truncated for f in s.files),
            "hit_max_new_tokens": sum(f.n_length for f in s.files),
            "n_predictions": sum(f.n_rows for f in s.files),
        }
        bleus = [f.provenance.corpus_bleu for f in s.files if f.provenance.corpus_bleu is not None]
        row["corpus_bleu"] = float(np.mean(bleus)) if len(bleus) == len(s.files) else math.nan
        # One set of resampled examples for every metric of the system.
        _, values = s.matrix(metrics)
        low, high = percentile_ci(values, n_samples, rng_for(seed, "ci", *s.key))
        for j, metric in enumerate(metrics):
            run_means = s.run_means(metric)
            row[f"{metric}_mean"] = float(np.mean(run_means)) if run_means else math.nan
            row[f"{metric}_std"] = float(np.std(run_means, ddof=1)) if len(run_means) > 1 else math.nan
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = float(low[j]), float(high[j])
        rows.append(row)
    return rows


def per_run_rows(systems: Sequence[System], metrics: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for s in systems:
        for f in s.files:
            row: dict[str, Any] = {
                "model": f.model, "task": f.task, "shots": f.shots, "system": s.name,
                "checkpoint": f.checkpoint, "n_examples": len(f.example_ids),
                "n_predictions": f.n_rows, "truncated": f.n_truncated, "hit_max_new_tokens": f.n_length,
                "corpus_bleu": f.provenance.corpus_bleu if f.provenance.corpus_bleu is not None else math.nan,
            }
            for metric in metrics:
                v = f.values.get(metric)
                v = v[~np.isnan(v)] if v is not None else np.array([])
                row[f"{metric}_mean"] = float(v.mean()) if v.size else math.nan
            rows.append(row)
    return rows


def comparisons(systems: Sequence[System]) -> list[tuple[str, System, System]]:
    """(name, A, B) pairs to test: fine-tuned vs base zero-shot, and each shots pair of a system."""
    by_key = {s.key: s for s in systems}
    out = []
    for s in systems:
        if s.name == FINETUNED and (s.model, s.task, 0, BASE) in by_key:
            out.append((f"{FINETUNED} {s.shots}-shot vs {BASE} 0-shot", s, by_key[(s.model, s.task, 0, BASE)]))
        if s.name == FINETUNED and (s.model, s.task, 0, COPY_INPUT) in by_key:
            out.append((f"{FINETUNED} {s.shots}-shot vs {COPY_INPUT}", s, by_key[(s.model, s.task, 0, COPY_INPUT)]))
    groups: dict[tuple[str, str, str], list[System]] = {}
    for s in systems:
        if s.name == COPY_INPUT:
            continue
        groups.setdefault((s.model, s.task, s.name), []).append(s)
    for (_, _, name), members in groups.items():
        for low, high in combinations(sorted(members, key=lambda m: m.shots), 2):
            out.append((f"{name} {high.shots}-shot vs {name} {low.shots}-shot", high, low))
    return sorted(out, key=lambda c: (c[1].model, c[1].task, c[0]))


def significance_rows(systems: Sequence[System], metrics: Sequence[str], n_samples: int,
                      seed: int) -> list[dict[str, Any]]:
    """Paired bootstrap of A - B per metric on the example_ids both systems scored."""
    rows = []
    for name, a, b in comparisons(systems):
        ids_a, values_a = a.matrix(metrics)
        ids_b, values_b = b.matrix(metrics)
        common = sorted(set(ids_a) & set(ids_b))
        pos_a = {ex: i for i, ex in enumerate(ids_a)}
        pos_b = {ex: i for i, ex in enumerate(ids_b)}
        xa = values_a[[pos_a[ex] for ex in common]].reshape(len(common), len(metrics))
        xb = values_b[[pos_b[ex] for ex in common]].reshape(len(common), len(metrics))
        results = paired_bootstrap(xa, xb, n_samples, rng_for(seed, "paired", *a.key, *b.key))
        for metric, res in zip(metrics, results):
            rows.append({"model": a.model, "task": a.task, "comparison": name,
                         "system_a": f"{a.name} {a.shots}-shot", "system_b": f"{b.name} {b.shots}-shot",
                         "metric": metric, "n_paired": res.n, "mean_a": res.mean_a, "mean_b": res.mean_b,
                         "delta": res.delta, "delta_ci_low": res.ci_low, "delta_ci_high": res.ci_high,
                         "p_value": res.p_value})
    return rows


def table_metrics(systems: Sequence[System]) -> list[str]:
    present: list[str] = []
    for s in systems:
        present += [m for m in s.metrics() if m not in present]
    ordered = [m for m in METRICS if m in present]
    return ordered + sorted(m for m in present if m not in METRICS)


# ---------------------------------------------------------------- rendering


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV with a fixed column order, 4 decimals, empty cells for missing values, LF endings."""
    columns = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, math.nan), 4) for c in columns])
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], body: Iterable[Sequence[str]], align: Sequence[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(map(_md_escape, header)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(_md_escape, cells)) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def _stat_cell(row: dict[str, Any], metric: str) -> str:
    mean = row.get(f"{metric}_mean", math.nan)
    if mean is None or math.isnan(mean):
        return "–"
    text = f"{mean:.2f}"
    std = row.get(f"{metric}_std", math.nan)
    if std is not None and not math.isnan(std):
        text += f" ± {std:.2f}"
    low, high = row.get(f"{metric}_ci_low", math.nan), row.get(f"{metric}_ci_high", math.nan)
    if not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:.2f}, {high:.2f}]"
    return text


def _system_cells(row: dict[str, Any]) -> list[str]:
    return [row["model"], row["task"], str(row["shots"]), row["system"]]


def main_markdown(rows: Sequence[dict[str, Any]], metrics: Sequence[str], footer: str) -> str:
    head = [m for m in HEADLINE if m in metrics] + [m for m in metrics if m.startswith("pass@")]
    rest = [m for m in metrics if m not in head]
    right = ["---", "---", "--:", "---"]
    parts = ["# Results\n",
             "Per-example metrics (0–100; keystrokes, Levenshtein and lines changed are counts) "
             "averaged over the test examples. Cells are *mean* [95% bootstrap CI]; fine-tuned rows "
             "average runs run1..runK and show *mean ± std over runs* when K > 1. "
             "`copy_input` scores the unchanged pre-edit code as the prediction: a model must beat it "
             "to have edited anything (the diff-level columns are 0 there by construction). "
             "Significance tests: significance.md.\n"]
    body = []
    for r in rows:
        corpus = "–" if math.isnan(r["corpus_bleu"]) else f"{r['corpus_bleu']:.2f}"
        body.append(_system_cells(r) + [str(r["n_examples"]), str(r["n_runs"])]
                    + [_stat_cell(r, m) for m in head] + [corpus])
    parts.append("## Accuracy\n")
    parts.append(md_table(["model", "task", "shots", "system", "n", "runs"] + [label(m) for m in head]
                          + [LABELS["corpus_bleu"]], body, right + ["--:"] * (len(head) + 3)))
    if rest:
        body = [_system_cells(r) + [_stat_cell(r, m) for m in rest]
                + [f"{r['truncated']} / {r['n_predictions']}", f"{r['hit_max_new_tokens']} / {r['n_predictions']}"]
                for r in rows]
        parts.append("\n## ROUGE-L precision/recall and edit distances\n")
        parts.append(md_table(["model", "task", "shots", "system"] + [label(m) for m in rest]
                              + ["prompt truncated", "hit max_new_tokens"], body, right + ["--:"] * (len(rest) + 2)))
    parts.append("\n" + footer)
    return "\n".join(parts)


def significance_markdown(rows: Sequence[dict[str, Any]], footer: str, n_samples: int) -> str:
    parts = ["# Paired bootstrap significance\n",
             f"System A minus system B on the examples both scored ({n_samples} resamples of the "
             "paired differences, two-sided p-value of the shifted null, +1 corrected). "
             "`*` marks p < 0.05. Headline metrics here; every metric in significance.csv.\n"]
    if not rows:
        parts.append("No comparable pairs of systems (needs base 0-shot with a fine-tuned model "
                     "or a second shots setting).\n")
    else:
        body = [[r["model"], r["task"], r["comparison"], label(r["metric"]), str(r["n_paired"]),
                 f"{r['mean_a']:.2f}", f"{r['mean_b']:.2f}", f"{r['delta']:+.2f}",
                 f"[{r['delta_ci_low']:+.2f}, {r['delta_ci_high']:+.2f}]",
                 f"{r['p_value']:.4f}" + (" *" if r["p_value"] < 0.05 else "")]
                for r in rows if not math.isnan(r["delta"])
                and (r["metric"] in HEADLINE or r["metric"].startswith("pass@"))]
        parts.append(md_table(["model", "task", "A vs B", "metric", "n", "A", "B", "Δ", "95% CI of Δ", "p"],
                              body, ["---"] * 4 + ["--:"] * 6))
    if footer:
        parts.append("\n" + footer)
    return "\n".join(parts)


def _installed_version(name: str) -> str | None:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


def provenance_footer(systems: Sequence[System], n_samples: int, seed: int,
                      dataset_lines: Sequence[str] = ()) -> str:
    """Versions, tokenizer, sacrebleu signature, truncation and bootstrap settings."""
    files = [f for s in systems if s.name != COPY_INPUT for f in s.files]
    tokenizers = sorted({f.provenance.tokenizer for f in files if f.provenance.tokenizer})
    signatures = sorted({f.provenance.sacrebleu_signature for f in files if f.provenance.sacrebleu_signature})
    recorded: dict[str, set[str]] = {}
    for f in files:
        for lib, version in f.provenance.versions:
            recorded.setdefault(lib, set()).add(version)
    lines = ["## Provenance\n"]
    if recorded:
        libs = "; ".join(f"{lib} {', '.join(sorted(v))}" for lib, v in sorted(recorded.items()))
        lines.append(f"- Metric libraries (recorded by `editflow score`): {libs}")
    else:
        installed = [(n, _installed_version(n)) for n in METRIC_LIBRARIES]
        libs = "; ".join(f"{n} {v}" for n, v in installed if v)
        lines.append(f"- Metric libraries (not recorded in the scores files; installed now): {libs}")
    lines.append(f"- Tokenizer: {', '.join(tokenizers) if tokenizers else 'not recorded'}")
    lines.append(f"- sacrebleu signature: {' / '.join(f'`{s}`' for s in signatures) if signatures else 'not recorded'}")
    truncated = sum(f.n_truncated for f in files)
    length = sum(f.n_length for f in files)
    total = sum(f.n_rows for f in files)
    lines.append(f"- Truncated: {truncated} of {total} predictions had a prompt that left no room to generate "
                 f"(`truncated`, scored as empty); {length} hit max_new_tokens (`finish_reason` = length)")
    lines.append(f"- Bootstrap: {n_samples} resamples of the examples, seed {seed}, percentile 95% CI; "
                 f"{len(files)} scores files")
    lines += list(dataset_lines)
    return "\n".join(lines) + "\n"


def dataset_lines(stats: dict[str, Any], limit: int = 30) -> list[str]:
    """What the tables were computed on, from the dataset's stats.json (editflow.dataset's
    layout when it is there, else a few scalar entries)."""
    try:
        return _known_dataset_lines(stats)
    except (KeyError, TypeError, AttributeError):
        return _generic_dataset_lines(stats, limit)


def _known_dataset_lines(stats: dict[str, Any]) -> list[str]:
    inputs, test = stats["inputs"], stats["splits"]["test"]
    per_task = ", ".join(f"{task} {v['examples']}" for task, v in sorted(test["by_task"].items()))
    lines = [f"- Dataset (stats.json): {inputs['repositories']} repositories, {inputs['commits']} commits, "
             f"{inputs['edits']} edits; split: {stats.get('split_method', '?')}; "
             f"test examples per task: {per_task}"]
    if stats.get("demo_data"):
        lines.append("- **Demo data**: the dataset comes from the generated demo repositories, not from real "
                     "developer history; these numbers test the pipeline, they are not results (dataset card).")
    return lines


def _generic_dataset_lines(stats: dict[str, Any], limit: int) -> list[str]:
    flat: list[tuple[str, Any]] = []
    for key, value in sorted(stats.items()):
        if isinstance(value, dict):
            flat += [(f"{key}.{k}", v) for k, v in sorted(value.items())
                     if isinstance(v, (int, float, str, bool)) and not isinstance(v, bool)]
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            flat.append((key, value))
    if not flat:
        return []
    shown = ", ".join(f"{k}: {_cell(v, 2) if isinstance(v, float) else v}" for k, v in flat[:limit])
    more = f" (and {len(flat) - limit} more in stats.json)" if len(flat) > limit else ""
    return [f"- Dataset (stats.json): {shown}{more}"]

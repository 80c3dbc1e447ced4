"""Build a self-contained HTML page of example diffs: prediction vs reference, side by side.

For every system of the tables (base model at k shots; fine-tuned model, shown by its first
run) the page shows N test examples chosen deterministically by edit similarity: always the
best, the median and the worst, then evenly spaced ranks in between. Each example has the
commit message of its prompt, its metrics, a side-by-side line diff (difflib.HtmlDiff), and
the full prompt and raw output folded away. Everything model- or repository-made is
HTML-escaped: predictions are untrusted text. No scripts, no external resources, so the page
embeds in `snakemake --report` and opens offline.

With --markdown it instead renders a Markdown file (the dataset card) as one self-contained
HTML page with its images embedded: the Snakemake report shows HTML inline, Markdown only as
a download.

Example:
  editflow report --scores results/default/metrics/smollm2-135m/nb-cell/*/*.parquet \\
      --out results/default/report/examples.html --n 8
  editflow report --markdown results/default/dataset/README.md --out results/default/report/dataset_card.html
"""
from __future__ import annotations

import argparse
import difflib
import html
import logging
import math
import re
from pathlib import Path
from typing import Any, Sequence

log = logging.getLogger(__name__)

RANK_METRIC = "edit_sim"
WRAP_COLUMN = 72
_MESSAGE = re.compile(r'Commit Message:\s?"\s?(.*?)"\n', re.DOTALL)
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 2px solid #ccc; margin-top: 2em; }
h3 { font-size: 1em; margin-bottom: .3em; }
nav li { margin: .15em 0; }
article { border: 1px solid #ddd; border-radius: 4px; padding: .6em .8em; margin: 1em 0; }
.msg { background: #f5f5f0; padding: .3em .6em; white-space: pre-wrap; font-family: monospace; }
table.metrics { border-collapse: collapse; font-size: .85em; margin: .4em 0; }
table.metrics td, table.metrics th { border: 1px solid #ccc; padding: 1px 6px; text-align: right; }
table.diff { font-family: monospace; font-size: .8em; border: 1px solid #bbb; border-collapse: collapse;
             width: 100%; table-layout: fixed; }
table.diff td { overflow-wrap: anywhere; }
table.diff col:nth-child(1), table.diff col:nth-child(4) { width: 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .8em; margin: .5em 0; }
.pair > div { min-width: 0; } h4 { margin: .3em 0; font-size: .9em; }
body { max-width: 100%; overflow-x: hidden; }
table.diff td:nth-child(3), table.diff td:nth-child(6) { width: 50%; }
table.diff td { padding: 0 4px; vertical-align: top; white-space: pre-wrap; }
.diff_header { background: #e0e0e0; color: #555; text-align: right; }
th.diff_header { text-align: center; padding: 2px 6px; }
td.diff_next, th.diff_next { display: none; }
.diff_add { background: #aaffaa; } .diff_chg { background: #ffff77; } .diff_sub { background: #ffaaaa; }
pre { background: #f8f8f8; padding: .5em; overflow-x: auto; font-size: .8em; white-space: pre-wrap; }
.tag { display: inline-block; padding: 0 .4em; border-radius: 3px; background: #def; font-size: .85em; }
.warn { background: #fdd; }
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", nargs="+", metavar="SCORES.parquet",
                        help="scores files from `editflow score` (any order)")
    source.add_argument("--markdown", metavar="FILE.md",
                        help="instead: render this Markdown file (e.g. the dataset card) as one "
                             "self-contained HTML page, its local images embedded")
    parser.add_argument("--out", default="results/default/report/examples.html", help="the HTML page to write (default: %(default)s)")
    parser.add_argument("--n", type=int, default=None,
                        help="examples per system (default: report.n_examples of the config)")
    parser.add_argument("--config", default=None, help="a full config file (default config/config.yaml)")
    parser.add_argument("--settings", default=None, help="the `report` section as JSON")


def pick_positions(m: int, n: int) -> list[int]:
    """n positions in a ranking of m examples: best, median, worst, then evenly spaced ranks."""
    if m <= 0 or n <= 0:
        return []
    if n >= m:
        return list(range(m))
    must = [(m - 1) // 2] if n == 1 else [0, m - 1] if n == 2 else [0, (m - 1) // 2, m - 1]
    chosen = list(dict.fromkeys(must))
    spaced = [(i * (m - 1)) // (n - 1) for i in range(n)] if n > 1 else []
    for p in spaced + list(range(m)):
        if len(chosen) >= n:
            break
        if p not in chosen:
            chosen.append(p)
    return sorted(chosen)


def position_label(p: int, m: int) -> str:
    if p == 0:
        return "best"
    if p == m - 1:
        return "worst"
    if p == (m - 1) // 2:
        return "median"
    return f"rank {p + 1}"


def commit_message(row: dict[str, Any]) -> str | None:
    """The query's commit message: a `message` column, else the last one in the prompt."""
    if row.get("message"):
        return str(row["message"])
    found = _MESSAGE.findall(str(row.get("prompt") or ""))
    return found[-1] if found else None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.2f}"
    return html.escape(str(value))


def _diff_table(before: str, after: str, fromdesc: str = "prediction", todesc: str = "reference",
                context: bool = False) -> str:
    # HtmlDiff numbers its anchors with a class-level counter; reset it so reruns are identical.
    difflib.HtmlDiff._default_prefix = 0
    differ = difflib.HtmlDiff(tabsize=4, wrapcolumn=WRAP_COLUMN)
    table = differ.make_table(before.splitlines(), after.splitlines(), fromdesc=fromdesc, todesc=todesc,
                              context=context, numlines=3)
    return table.replace('nowrap="nowrap"', "")


def _edit_diffs(row: dict[str, Any]) -> str:
    """What the edit did (old -> reference) beside what the model did (old -> prediction):
    a model that copied its input shows an empty right-hand diff, whatever its BLEU."""
    source = row.get("source")
    if source is None:  # scores files written before predictions carried the pre-edit code
        return ""
    prediction = str(row.get("applied_code") if row.get("applied_code") is not None else row.get("prediction") or "")
    reference, source = str(row.get("reference") or ""), str(source)
    return ('<div class="pair">'
            f'<div><h4>the edit: old → reference</h4>{_diff_table(source, reference, "old", "reference", True)}</div>'
            f'<div><h4>the model: old → prediction</h4>{_diff_table(source, prediction, "old", "prediction", True)}</div>'
            "</div>")


def _example_html(row: dict[str, Any], metrics: Sequence[str], position: int, m: int, anchor: str) -> str:
    title = f"{position_label(position, m)} by {RANK_METRIC} — rank {position + 1} of {m}"
    example_id = html.escape(str(row["example_id"]), quote=True)
    parts = [f'<article id="{anchor}-{position + 1}" data-example="{example_id}">',
             f"<h3>{html.escape(title)} · <code>{html.escape(str(row['example_id']))}</code>"
             + (' <span class="tag warn">prompt truncated: nothing generated</span>' if row.get("truncated") else "")
             + (' <span class="tag warn">hit max_new_tokens</span>' if row.get("finish_reason") == "length" else "")
             + (' <span class="tag warn">copied its input</span>'
                if row.get("source") is not None and not row.get("truncated")
                and str(row.get("applied_code", row.get("prediction")) or "") == str(row["source"])
                and row.get("source") != row.get("reference") else "")
             + "</h3>"]
    message = commit_message(row)
    parts.append(f'<div class="msg">Commit message: {html.escape(message) if message is not None else "(not found in the prompt)"}</div>')
    parts.append('<table class="metrics"><tr>' + "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
                 + "</tr><tr>" + "".join(f"<td>{_fmt(row.get(m))}</td>" for m in metrics) + "</tr></table>")
    parts.append(_edit_diffs(row))
    parts.append("<details open><summary>prediction vs reference</summary>"
                 + _diff_table(str(row.get("prediction") or ""), str(row.get("reference") or "")) + "</details>")
    parts.append(f"<details><summary>prompt ({_fmt(row.get('prompt_tokens', '?'))} tokens)</summary>"
                 f"<pre>{html.escape(str(row.get('prompt') or ''))}</pre></details>")
    parts.append(f"<details><summary>raw output ({_fmt(row.get('output_tokens', '?'))} tokens)</summary>"
                 f"<pre>{html.escape(str(row.get('raw_output') or ''))}</pre></details>")
    parts.append("</article>")
    return "\n".join(parts)


def render(score_paths: Sequence[str | Path], n: int) -> str:
    """The whole page as a string (deterministic for the same files and n)."""
    from editflow.metrics.scorefiles import load_scores
    from editflow.metrics.tables import group_systems

    systems = group_systems(load_scores(p) for p in sorted(set(map(str, score_paths))))
    toc, sections = [], []
    for i, s in enumerate(systems):
        f = s.files[0]  # base: its only file; fine-tuned: the first run
        shown = f"{s.name} {s.shots}-shot" + (f" ({f.checkpoint})" if f.checkpoint != s.name else "")
        heading = f"{s.model} · {s.task} · {shown}"
        anchor = f"system-{i}"
        toc.append(f'<li><a href="#{anchor}">{html.escape(heading)}</a></li>')
        metrics = list(f.values)
        if RANK_METRIC in f.values:
            score = dict(zip(f.example_ids, f.values[RANK_METRIC]))
            ranked = sorted(f.example_ids, key=lambda ex: (-(score[ex] if not math.isnan(score[ex]) else -1.0), ex))
        else:
            ranked = list(f.example_ids)
        positions = pick_positions(len(ranked), n)
        body = [_example_html(f.row(ranked[p]), metrics, p, len(ranked), anchor) for p in positions]
        sections.append(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>'
                        f"<p>{len(ranked)} examples in <code>{html.escape(f.path)}</code>; "
                        f"{len(positions)} shown, ranked by {RANK_METRIC} (ties by example_id).</p>\n"
                        + "\n".join(body) + "</section>")
    intro = ("For each example: what the edit did (old code → reference) beside what the model did "
             "(old code → prediction) — a model that copied its input shows no change on the right — "
             "then the prediction (left) against the reference (right), line by line: "
             '<span class="diff_sub">removed or changed in the prediction</span>, '
             '<span class="diff_add">only in the reference</span>, '
             '<span class="diff_chg">changed characters</span>. '
             "Metrics are 0–100 except keystrokes, Levenshtein and lines changed (counts).")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>editflow: example diffs</title>"
            f"<style>{_CSS}</style></head><body>\n<h1>editflow: example predictions vs references</h1>\n"
            f"<p>{intro}</p>\n<nav><ul>{''.join(toc)}</ul></nav>\n" + "\n".join(sections)
            + ("" if systems else "<p>No scores files.</p>") + "\n</body></html>\n")


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import write_text
    from editflow.config import ConfigError, section_from_args

    if args.markdown:
        from editflow.metrics.mdhtml import markdown_file_to_html
        if not Path(args.markdown).is_file():
            raise ConfigError(f"--markdown {args.markdown}: file not found")
        write_text(markdown_file_to_html(args.markdown), args.out)
        log.info("wrote %s from %s", args.out, args.markdown)
        return 0
    n = args.n
    if n is None:
        n = int(section_from_args(args.config, args.settings, "report")["n_examples"])
    if n < 0:
        raise ConfigError(f"--n must be >= 0, got {n}")
    try:
        page = render(args.scores, n)
    except ConfigError:
        raise
    except ValueError as exc:  # a scores file that cannot be used: the message names it
        log.error("%s", exc)
        return 1
    write_text(page, args.out)
    log.info("wrote %s (%d bytes)", args.out, len(page.encode("utf-8")))
    return 0

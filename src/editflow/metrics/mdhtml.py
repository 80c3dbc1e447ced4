"""Render the Markdown subset of our tables (headings, pipe tables, lists, paragraphs) as HTML.

`snakemake --report` shows images, HTML and PDF inline but only offers CSV and Markdown as
downloads, so the tables also go out as one self-contained HTML page made from the very
same Markdown text (no second rendering path whose numbers could drift). Only the subset
that editflow.metrics.tables writes is supported; all text is HTML-escaped.
"""
from __future__ import annotations

import html
import re

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em; color: #222; font-size: 14px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: 2px 7px; }
th { background: #eef; } tr:nth-child(even) td { background: #fafafa; }
th, td { white-space: nowrap; } td.r, th.r { text-align: right; }
.ci { color: #666; font-size: .85em; }
code { background: #f3f3f3; padding: 0 .2em; }
hr { border: 0; border-top: 1px solid #ccc; margin: 2em 0; }
"""
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_EM = re.compile(r"\*([^*\s][^*]*)\*")


def _inline(text: str) -> str:
    out, last = [], 0
    for m in _CODE.finditer(text):  # code spans first: nothing inside them is formatted
        out.append(_format(text[last:m.start()]))
        out.append(f"<code>{html.escape(m.group(1))}</code>")
        last = m.end()
    out.append(_format(text[last:]))
    return "".join(out)


def _format(text: str) -> str:
    text = html.escape(text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _EM.sub(r"<em>\1</em>", text)


def _cells(line: str) -> list[str]:
    body = line.strip()[1:-1]
    cells, cur, i = [], "", 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if body[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += body[i]
        i += 1
    cells.append(cur.strip())
    return cells


_WITH_CI = re.compile(r"^(.*\S) \[([^\]]*)\]$")


def _number_cell(text: str) -> str:
    """`mean ± std [low, high]` on two lines, the interval smaller, so wide tables fit a screen."""
    m = _WITH_CI.match(text)
    if not m:
        return _inline(text)
    return f'{_inline(m.group(1))}<br><span class="ci">[{_inline(m.group(2))}]</span>'


def _table(lines: list[str]) -> str:
    header, align, rows = _cells(lines[0]), _cells(lines[1]), [_cells(x) for x in lines[2:]]
    right = [a.endswith(":") for a in align]
    cls = lambda j: ' class="r"' if j < len(right) and right[j] else ""  # noqa: E731
    out = ["<table><thead><tr>" + "".join(f"<th{cls(j)}>{_inline(c)}</th>" for j, c in enumerate(header))
           + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td{cls(j)}>{_number_cell(c) if cls(j) else _inline(c)}</td>" for j, c in enumerate(r))
            + "</tr>" for r in rows]
    return "\n".join(out) + "\n</tbody></table>"


def markdown_to_html(text: str) -> str:
    """HTML body for one Markdown document of the supported subset."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            blocks.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j]))
            i = j
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "- ")):
                para.append(lines[i])
                i += 1
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(blocks)


def html_page(title: str, markdown_docs: list[str]) -> str:
    """A self-contained page (inline CSS, no scripts) of several Markdown documents."""
    body = "\n<hr>\n".join(markdown_to_html(doc) for doc in markdown_docs)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")

"""Render the Markdown subset our pages use (headings, pipe tables, lists, quotes, images) as HTML.

`snakemake --report` shows images, HTML and PDF inline but only offers CSV and Markdown as
downloads, so the result tables and the dataset card also go out as self-contained HTML
pages made from the very same Markdown text (no second rendering path whose numbers could
drift). Only the subset that editflow.metrics.tables and editflow.dataset.card write is
supported; all text is HTML-escaped; local images are embedded as data URIs.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

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
blockquote { border-left: 4px solid #e0b000; background: #fff8e0; margin: .6em 0; padding: .3em .8em; }
img { max-width: 100%; display: block; margin: .5em 0; }
"""
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_EM = re.compile(r"\*([^*\s][^*]*)\*")


def _image(alt: str, target: str, image_dir: Path | None) -> str:
    """A local image as a data URI; anything else (remote, missing) as its alt text."""
    path = (image_dir / target).resolve() if image_dir is not None and "://" not in target else None
    mime = _MIME.get(Path(target).suffix.lower())
    if (path is None or mime is None or not path.is_file()
            or not path.is_relative_to(image_dir.resolve())):  # only the document's own folder
        return f"<em>[{html.escape(alt or target)}]</em>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt, quote=True)}" src="data:{mime};base64,{data}">'


def _inline(text: str, image_dir: Path | None = None) -> str:
    out, last = [], 0
    spans = sorted([(m.start(), m.end(), "code", m) for m in _CODE.finditer(text)]
                   + [(m.start(), m.end(), "img", m) for m in _IMAGE.finditer(text)], key=lambda t: t[0])
    for start, end, kind, m in spans:  # code spans and images first: nothing inside them is formatted
        if start < last:
            continue
        out.append(_format(text[last:start]))
        out.append(f"<code>{html.escape(m.group(1))}</code>" if kind == "code"
                   else _image(m.group(1), m.group(2), image_dir))
        last = end
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


def _number_cell(text: str, image_dir: Path | None = None) -> str:
    """`mean ± std [low, high]` on two lines, the interval smaller, so wide tables fit a screen."""
    m = _WITH_CI.match(text)
    if not m:
        return _inline(text, image_dir)
    return f'{_inline(m.group(1))}<br><span class="ci">[{_inline(m.group(2))}]</span>'


def _table(lines: list[str], image_dir: Path | None = None) -> str:
    header, align, rows = _cells(lines[0]), _cells(lines[1]), [_cells(x) for x in lines[2:]]
    right = [a.endswith(":") for a in align]
    cls = lambda j: ' class="r"' if j < len(right) and right[j] else ""  # noqa: E731
    out = ["<table><thead><tr>" + "".join(f"<th{cls(j)}>{_inline(c, image_dir)}</th>" for j, c in enumerate(header))
           + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td{cls(j)}>{_number_cell(c, image_dir) if cls(j) else _inline(c, image_dir)}</td>"
                     for j, c in enumerate(r))
            + "</tr>" for r in rows]
    return "\n".join(out) + "\n</tbody></table>"


def markdown_to_html(text: str, image_dir: Path | None = None) -> str:
    """HTML body for one Markdown document of the supported subset; images under image_dir
    (relative paths, as the document writes them) are embedded."""
    blocks: list[str] = []
    lines = text.splitlines()
    inline = lambda t: _inline(t, image_dir)  # noqa: E731
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            blocks.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j], image_dir))
            i = j
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        elif line.startswith(">"):
            quote = []
            while i < len(lines) and lines[i].startswith(">"):
                quote.append(lines[i][1:].strip())
                i += 1
            blocks.append(f"<blockquote>{inline(' '.join(quote))}</blockquote>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "- ", ">")):
                para.append(lines[i])
                i += 1
            blocks.append(f"<p>{inline(' '.join(para))}</p>")
    return "\n".join(blocks)


def html_page(title: str, markdown_docs: list[str], image_dir: Path | None = None) -> str:
    """A self-contained page (inline CSS, no scripts) of several Markdown documents."""
    body = "\n<hr>\n".join(markdown_to_html(doc, image_dir) for doc in markdown_docs)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


def markdown_file_to_html(path: str | Path) -> str:
    """A Markdown file (e.g. the dataset card) as one page, its local images embedded."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    title = next((ln.lstrip("#").strip() for ln in text.splitlines() if ln.startswith("#")), path.name)
    return html_page(title, [text], image_dir=path.parent)

"""The crawl's output table: typed rows, REPO_SCHEMA, and the frozen-list check.

Every source (local paths, GitHub search, a frozen list) ends here, so repos.parquet has
one shape and one order (sorted by full_name) whatever produced it.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from editflow.records import REPO_SCHEMA, repo_slug

_SHA = re.compile(r"^[0-9a-f]{40}$")


class CrawlError(RuntimeError):
    """The crawl cannot go on; the message names the input at fault and the fix."""


@dataclasses.dataclass(frozen=True)
class RepoRow:
    """One repository to mine: where to get it and the commit to stop at (head_sha)."""

    full_name: str
    clone_url: str
    stars: int
    license: str | None
    default_branch: str | None
    head_sha: str | None
    pushed_at: str | None
    n_notebooks: int | None

    @property
    def slug(self) -> str:
        return repo_slug(self.full_name)

    def as_record(self) -> dict:
        record = dataclasses.asdict(self)
        record["slug"] = self.slug
        return {name: record[name] for name in REPO_SCHEMA.names}


def iso_utc(when: datetime | int | float | None) -> str | None:
    """A timestamp (datetime or epoch seconds) as ISO 8601 UTC, GitHub's style: 2024-01-02T03:04:05Z."""
    if when is None:
        return None
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, tz=timezone.utc)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows_to_table(rows: list[RepoRow]) -> pa.Table:
    """REPO_SCHEMA table sorted by full_name; duplicate full names (or slugs) are an error."""
    rows = sorted(rows, key=lambda r: r.full_name)
    _check_unique([r.full_name for r in rows], "full_name")
    _check_unique([r.slug for r in rows], "slug")
    return pa.Table.from_pylist([r.as_record() for r in rows], schema=REPO_SCHEMA)


def _check_unique(values: list[str], column: str) -> None:
    seen: set[str] = set()
    dups = sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]
    if dups:
        raise CrawlError(f"repository list has duplicate {column} values: {', '.join(dups)}; "
                         f"each repository must appear once (rename one of the directories)")


def read_frozen_list(path: str | Path) -> pa.Table:
    """Read and validate a repos.parquet from an earlier crawl; return it in REPO_SCHEMA order.

    A frozen list is what makes a rerun a month later mine the same commits, so it is
    checked strictly: every REPO_SCHEMA column present with a compatible type, unique
    full names, slugs that match the names, and head SHAs that are 40 hex digits (or null).
    """
    path = Path(path)
    fix = "point crawl.frozen_list at a repos.parquet written by `editflow crawl`, or set it to null"
    if not path.exists():
        raise CrawlError(f"crawl.frozen_list: {path} does not exist; {fix}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CrawlError(f"crawl.frozen_list: {path} is not a readable Parquet file ({exc}); {fix}") from exc
    missing = [n for n in REPO_SCHEMA.names if n not in table.column_names]
    if missing:
        raise CrawlError(f"crawl.frozen_list: {path} lacks column(s) {', '.join(missing)} "
                         f"(expected {', '.join(REPO_SCHEMA.names)}); {fix}")
    try:
        table = table.select(REPO_SCHEMA.names).cast(REPO_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise CrawlError(f"crawl.frozen_list: {path} has columns of the wrong type ({exc}); {fix}") from exc
    rows = table.to_pylist()
    for i, row in enumerate(rows):
        name = row["full_name"]
        if not name:
            raise CrawlError(f"crawl.frozen_list: {path} row {i} has an empty full_name; {fix}")
        if row["slug"] != repo_slug(name):
            raise CrawlError(f"crawl.frozen_list: {path} row {i} ({name}) has slug {row['slug']!r}, "
                             f"expected {repo_slug(name)!r}; {fix}")
        if row["head_sha"] is not None and not _SHA.match(row["head_sha"]):
            raise CrawlError(f"crawl.frozen_list: {path} row {i} ({name}) has head_sha "
                             f"{row['head_sha']!r}, not 40 lower-case hex digits; {fix}")
    _check_unique([r["full_name"] for r in rows], "full_name")
    order = sorted(range(len(rows)), key=lambda i: rows[i]["full_name"])
    return table.take(pa.array(order, type=pa.int64()))
